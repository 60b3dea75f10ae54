"""What a demo song is: the genres and one planned song."""

from __future__ import annotations

from dataclasses import dataclass

STYLES: tuple[str, ...] = (
    "Electronic",
    "Hip-Hop",
    "Rock",
    "Jazz",
    "Ambient",
    "Folk",
    "Reggae",
    "Drum & Bass",
)
DEFAULT_TRACKS = 400
SYNTH_VERSION = 2  # bump whenever the sound changes: build_demo then re-renders the folder
PLAN_FILE = "plan.json"
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class DemoSong:
    """One planned song: its catalog metadata and everything ``render`` needs."""

    track_id: int  # 1..n_tracks
    title: str
    artist: str
    album: str
    genre: str  # one of STYLES
    substyle: str  # the name of one of the genre's SubStyles (also in the album's name)
    split: str  # one of SPLITS
    seed: int  # drives every choice of arrangement and performance
    tempo: float  # beats per minute
    key: int  # tonic pitch class, 0 = C
    mode: str  # "major" | "minor"
    swing: float  # 0.5 = straight
    energy: float  # 0 (calm, sparse, dark) .. 1 (driving, busy, bright)
    timbre_seed: int  # the artist's sound: drum kit and instruments, shared by their songs

    @property
    def key_name(self) -> str:
        return f"{_NOTE_NAMES[self.key]} {self.mode}"
