"""What every catalog source yields: one ``Track`` per song, plus a skip report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SPLITS = ("training", "validation", "test")


@dataclass(frozen=True)
class Track:
    """One catalog song. ``track_id`` is a stable positive integer (< 2**53)."""

    track_id: int
    title: str
    artist: str
    album: str
    genre: str
    split: str  # one of SPLITS
    audio_path: str  # absolute path of a decodable audio file
    source: str  # "demo" | "fma" | "folder" | "upload"
    duration: float | None = None  # seconds, when the source knows it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SourceReport:
    """Tracks a source could not use, with the reason for each (never fatal)."""

    skipped: dict[str, str] = field(default_factory=dict)  # audio path or id -> reason

    def skip(self, what: str, reason: str) -> None:
        self.skipped[str(what)] = reason
