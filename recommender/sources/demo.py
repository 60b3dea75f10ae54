"""The demo catalog: songs synthesised here, in numpy, one musical style per genre.

Nothing is downloaded and nothing is recorded. Every song of the demo catalog is
synthesised from a seed by the code below: drum kits (a kick with a pitch drop, a
snare made of a noise burst and a tuned body, hats, rides, claps), bass lines,
chord progressions and melodies played by small synthesised instruments (plucked
strings, electric piano, organ, pads, bells, distorted guitar), arranged, mixed,
and given a little room reverb and noise. Titles, artists and albums are generated
names: no real artist or recording is involved, and the catalog is labelled as
synthesised wherever it is shown.

Each style is a genre a small CNN can learn from log-mel spectrograms. Inside a
style, key, tempo, drum kit, instruments, mix levels and arrangement vary; between
styles, some tempo ranges and instruments overlap, so the model has real work to do.

Determinism: ``plan_catalog(n, seed=s)`` depends only on ``(n, s)``, and its first
``m`` songs are the same for every ``n >= m`` (same seed): genres are dealt
round-robin and every song, artist and split is drawn from its own seed.
``render(song)`` depends only on the song, ``sr`` and ``seconds``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal
from tqdm import tqdm

from recommender.errors import SourceError, UserInputError
from recommender.sources.base import SPLITS, SourceReport, Track

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
SYNTH_VERSION = 1  # bump whenever the sound changes: build_demo then re-renders the folder
PLAN_FILE = "plan.json"
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class _Style:
    """Ranges a style draws its songs from."""

    tempo: tuple[float, float]  # beats per minute
    p_minor: float  # probability of a minor key
    swing: tuple[float, float]  # 0.5 = straight, 0.67 = triplet swing
    swing_unit: int  # 1: swing 16ths, 2: swing 8ths
    humanise: float  # timing jitter of played notes, seconds (standard deviation)
    reverb: tuple[float, float]  # reverb decay time (T60) range, seconds


# Tempo ranges overlap on purpose (Hip-Hop/Reggae/Ambient/Folk, Rock/Electronic/Jazz,
# Jazz/Drum & Bass): tempo alone must not give the genre away.
_STYLE: dict[str, _Style] = {
    "Electronic": _Style((118, 132), 0.75, (0.5, 0.56), 1, 0.0, (0.6, 1.4)),
    "Hip-Hop": _Style((80, 98), 0.6, (0.54, 0.64), 1, 0.006, (0.4, 1.0)),
    "Rock": _Style((100, 145), 0.4, (0.5, 0.52), 1, 0.005, (0.5, 1.2)),
    "Jazz": _Style((110, 190), 0.3, (0.6, 0.68), 2, 0.007, (0.6, 1.4)),
    "Ambient": _Style((60, 90), 0.5, (0.5, 0.5), 1, 0.0, (2.5, 4.5)),
    "Folk": _Style((84, 126), 0.25, (0.5, 0.6), 2, 0.008, (0.6, 1.5)),
    "Reggae": _Style((66, 86), 0.4, (0.52, 0.62), 1, 0.005, (0.6, 1.5)),
    "Drum & Bass": _Style((160, 178), 0.85, (0.5, 0.54), 1, 0.0, (0.6, 1.4)),
}
assert tuple(_STYLE) == STYLES


@dataclass(frozen=True)
class DemoSong:
    """One planned song: its catalog metadata and everything ``render`` needs."""

    track_id: int  # 1..n_tracks
    title: str
    artist: str
    album: str
    genre: str  # one of STYLES
    split: str  # one of SPLITS
    seed: int  # drives every choice of arrangement and performance
    tempo: float  # beats per minute
    key: int  # tonic pitch class, 0 = C
    mode: str  # "major" | "minor"
    swing: float  # 0.5 = straight
    timbre_seed: int  # the artist's sound: drum kit and instruments, shared by their songs

    @property
    def key_name(self) -> str:
        return f"{_NOTE_NAMES[self.key]} {self.mode}"


# ---------------------------------------------------------------------------- plan: names

_ADJECTIVES = (
    "Velvet", "Neon", "Silver", "Golden", "Paper", "Quiet", "Amber", "Crimson", "Hollow",
    "Midnight", "Lunar", "Wild", "Gentle", "Distant", "Copper", "Indigo", "Scarlet", "Cobalt",
    "Wandering", "Fading", "Slow", "Bright", "Hidden", "Northern", "Coastal", "Summer",
    "Winter", "Autumn", "Morning", "Ivory", "Pale", "Cedar", "Sunlit", "Electric", "Marble",
    "Saffron", "Emerald", "Dusty", "Tender", "Restless", "Lucky", "Honey", "Violet", "Rusty",
    "Sleepy", "Static", "Velour", "Faraway", "Secret", "Patient", "Ember", "Moonlit",
)  # fmt: skip
_PLURALS = (
    "Lanterns", "Sparrows", "Satellites", "Comets", "Kites", "Foxes", "Pines", "Mirrors",
    "Signals", "Tides", "Echoes", "Harbors", "Lights", "Rivers", "Engines", "Ferries",
    "Anchors", "Feathers", "Parades", "Meadows", "Islands", "Radios", "Postcards", "Bicycles",
    "Owls", "Herons", "Canyons", "Streetlights", "Telegrams", "Orchards", "Wolves", "Lilies",
)  # fmt: skip
_PLACES = (
    "Harbor", "Static", "Avenue", "Orchard", "Meridian", "Lagoon", "Boulevard", "Canyon",
    "Junction", "Lighthouse", "Valley", "Garden", "Station", "Archive", "Riverside", "Terrace",
    "Hollow", "Pier", "Observatory", "Greenhouse", "Coast", "Highway", "Plaza", "Quarry",
)  # fmt: skip
_FIRST = (
    "Mara", "Otto", "Ines", "Felix", "Nora", "Jonah", "Lena", "Arlo", "Cleo", "Ruben", "Iris",
    "Milo", "Tess", "Hugo", "Ada", "Silas", "June", "Elio", "Wren", "Theo", "Lou", "Nina",
    "Basil", "Dora", "Emil", "Greta", "Ivo", "Kit",
)  # fmt: skip
_LAST = (
    "Quill", "Fenwick", "Marlow", "Ashby", "Calder", "Lindqvist", "Okafor", "Castellan",
    "Hart", "Vance", "Bellamy", "Moreau", "Sandoval", "Thorne", "Winslow", "Abara", "Kessler",
    "Oduya", "Pryce", "Rosales", "Strand", "Tamsin", "Varga", "Yoon", "Delacroix", "Holm",
)  # fmt: skip
_THINGS = (
    "Rain", "Heartbeat", "Window", "Morning", "Signal", "River", "Daydream", "Horizon",
    "Letter", "Coastline", "Orbit", "Lantern", "Echo", "Compass", "Satellite", "Paper Moon",
    "Wildfire", "Tide", "Streetlight", "Porch", "Skyline", "Ferris Wheel", "Postcard",
    "Hummingbird", "Kite", "Meadow", "Harbor", "Snowfall", "Lullaby", "Weekend", "Afterglow",
    "Carousel", "Sunday", "Silhouette", "Blue Hour", "Rooftop", "Current", "Mirage",
)  # fmt: skip

# Patterns use {adj} {plural} {place} {first} {last} {thing}; extra ones per genre.
_ARTIST_PATTERNS = ("The {adj} {plural}", "{adj} {place}", "{first} {last}", "{first} & the {plural}")
_ARTIST_EXTRA = {
    "Electronic": ("{adj} {place} Machines", "DJ {first}"),
    "Hip-Hop": ("{first} {adj}", "MC {last}"),
    "Rock": ("The {plural}", "{adj} {plural}"),
    "Jazz": ("{first} {last} Trio", "{first} {last} Quartet", "The {last} Quintet"),
    "Ambient": ("{adj} {thing}", "{place} Drift"),
    "Folk": ("{first} {last} & the {plural}", "The {place} Band"),
    "Reggae": ("{place} Sound System", "{first} {last} & the {adj} Roots"),
    "Drum & Bass": ("{adj} Circuit", "{last} & {last}"),
}
_TITLE_PATTERNS = ("{adj} {thing}", "The {thing}", "Under the {adj} {thing}", "{thing}s", "{adj}")
_TITLE_EXTRA = {
    "Electronic": ("{thing} ({adj} Mix)",),
    "Hip-Hop": ("{thing} Tape",),
    "Rock": ("{adj} Highway",),
    "Jazz": ("{thing} Blues", "Waltz for {first}"),
    "Ambient": ("{thing} at Dusk",),
    "Folk": ("Ode to the {thing}", "Ballad of {first}"),
    "Reggae": ("{thing} Dub",),
    "Drum & Bass": ("{thing} Pressure",),
}
_ALBUM_PATTERNS = ("{adj} {place}", "Songs from the {place}", "{thing} Sessions", "{plural} & {plural}")

# Seed-sequence tags, so each kind of draw has its own stream.
_TAG_ARTIST, _TAG_NAME, _TAG_SONG, _TAG_SPLIT, _TAG_TITLE, _TAG_ALBUM = range(1, 7)


def _rng(*words: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(w) for w in words]))


def _fill(rng: np.random.Generator, patterns: tuple[str, ...]) -> str:
    """One generated name: a random pattern with random words."""
    words = {
        "adj": _ADJECTIVES,
        "plural": _PLURALS,
        "place": _PLACES,
        "first": _FIRST,
        "last": _LAST,
        "thing": _THINGS,
    }
    text = str(patterns[rng.integers(len(patterns))])
    while "{" in text:  # each placeholder draws its own word ("{last} & {last}")
        key = text[text.index("{") + 1 : text.index("}")]
        text = text.replace("{" + key + "}", str(words[key][rng.integers(len(words[key]))]), 1)
    return text


def _unique(patterns: tuple[str, ...], taken: set[str], *words: int) -> str:
    """A name from ``patterns`` not in ``taken`` (then added to it), drawn from seed ``words``."""
    for attempt in range(40):
        name = _fill(_rng(*words, attempt), patterns)
        if name not in taken:
            taken.add(name)
            return name
    number = 2
    while f"{name} {number}" in taken:
        number += 1
    taken.add(f"{name} {number}")
    return f"{name} {number}"


@dataclass
class _Artist:
    name: str
    n_songs: int
    tempo: float  # the artist's preferred tempo inside the style's range
    timbre_seed: int
    albums: list[str] = field(default_factory=list)
    album_sizes: list[int] = field(default_factory=list)


def _artist_shape(seed: int, genre: int, j: int) -> tuple[int, float, int]:
    rng = _rng(seed, _TAG_ARTIST, genre, j)
    lo, hi = _STYLE[STYLES[genre]].tempo
    return int(rng.integers(3, 8)), float(rng.uniform(lo, hi)), int(rng.integers(2**31))


def _plan_artists(seed: int, songs_per_genre: list[int]) -> list[list[_Artist]]:
    """Artists of each genre, enough to cover its songs.

    Names are drawn in a fixed order over *all* genres for every artist index up to
    the largest genre's need, so an artist's name never depends on the catalog size.
    """
    shapes: list[list[tuple[int, float, int]]] = []
    for g, need in enumerate(songs_per_genre):
        row, covered = [], 0
        while covered < need:
            row.append(_artist_shape(seed, g, len(row)))
            covered += row[-1][0]
        shapes.append(row)
    depth = max(len(row) for row in shapes)
    taken: set[str] = set()
    artists: list[list[_Artist]] = [[] for _ in STYLES]
    for j in range(depth):
        for g, style in enumerate(STYLES):
            name = _unique(_ARTIST_PATTERNS + _ARTIST_EXTRA[style], taken, seed, _TAG_NAME, g, j)
            if j < len(shapes[g]):
                n_songs, tempo, timbre = shapes[g][j]
                artists[g].append(_Artist(name, n_songs, tempo, timbre))
    for g, row in enumerate(artists):
        for j, artist in enumerate(row):
            sizes = [artist.n_songs] if artist.n_songs < 5 else [3, artist.n_songs - 3]
            own: set[str] = set()
            artist.albums = [
                _unique(_ALBUM_PATTERNS, own, seed, _TAG_ALBUM, g, j, k) for k in range(len(sizes))
            ]
            artist.album_sizes = sizes
    return artists


def _split_of(seed: int, genre: int, k: int) -> str:
    """Split of the k-th song of a genre: 8/1/1 of every 10, the first 3 covering all splits."""
    block, offset = divmod(k, 10)
    if block == 0:
        val, test = 1, 2
    else:
        val, test = (int(x) for x in _rng(seed, _TAG_SPLIT, genre, block).choice(10, 2, replace=False))
    return SPLITS[1] if offset == val else SPLITS[2] if offset == test else SPLITS[0]


def _reflect(x: float, lo: float, hi: float) -> float:
    """x folded back into [lo, hi] (no pile-up of values at the bounds, as clipping gives)."""
    x = 2 * lo - x if x < lo else x
    return float(min(2 * hi - x, hi) if x > hi else max(x, lo))


def plan_catalog(n_tracks: int = DEFAULT_TRACKS, *, seed: int = 0) -> list[DemoSong]:
    """The demo catalog's songs, ``n_tracks`` long, deterministic by ``seed``.

    Genres are dealt round-robin over ``STYLES`` (balanced); within a genre every
    10 songs hold 8 training, 1 validation and 1 test song, and the first three
    songs of each genre cover the three splits. Each artist plays one genre and
    has 3-7 songs on one or two albums. Track ids are 1..n_tracks.
    """
    if isinstance(n_tracks, bool) or not isinstance(n_tracks, int | np.integer) or n_tracks < 1:
        raise UserInputError(f"The demo catalog needs at least 1 track (got {n_tracks!r}).")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UserInputError(f"The demo seed must be a whole number >= 0 (got {seed!r}).")
    n_genres = len(STYLES)
    per_genre = [len(range(g, n_tracks, n_genres)) for g in range(n_genres)]
    artists = _plan_artists(int(seed), per_genre)
    # Position of the k-th song of each genre: (artist index, song index within the artist).
    slots = [[(j, i) for j, a in enumerate(row) for i in range(a.n_songs)] for row in artists]
    titles: dict[tuple[int, int], set[str]] = {}
    songs = []
    for track_id in range(1, n_tracks + 1):
        g, k = (track_id - 1) % n_genres, (track_id - 1) // n_genres
        style, (j, i) = STYLES[g], slots[g][k]
        artist = artists[g][j]
        taken = titles.setdefault((g, j), set())
        title = _unique(_TITLE_PATTERNS + _TITLE_EXTRA[style], taken, seed, _TAG_TITLE, g, j, i)
        album = artist.albums[0] if i < artist.album_sizes[0] else artist.albums[-1]
        rng = _rng(seed, _TAG_SONG, track_id)
        lo, hi = _STYLE[style].tempo
        songs.append(
            DemoSong(
                track_id=track_id,
                title=title,
                artist=artist.name,
                album=album,
                genre=style,
                split=_split_of(int(seed), g, k),
                seed=int(rng.integers(2**31)),
                tempo=round(_reflect(artist.tempo + rng.normal(0, 4), lo, hi), 1),
                key=int(rng.integers(12)),
                mode="minor" if rng.random() < _STYLE[style].p_minor else "major",
                swing=round(float(rng.uniform(*_STYLE[style].swing)), 3),
                timbre_seed=artist.timbre_seed,
            )
        )
    return songs


# ---------------------------------------------------------------------------- synthesis: primitives

_TABLE_SIZE = 2048


def _hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def _sos(kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    nyq = 0.5 * sr
    if isinstance(cutoff, tuple):
        cutoff = (max(cutoff[0], 20.0), min(cutoff[1], 0.9 * nyq))
    else:
        cutoff = min(max(cutoff, 20.0), 0.9 * nyq)
    return signal.butter(order, cutoff, btype=kind, fs=sr, output="sos")


def _filter(x: np.ndarray, kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2):
    """Butterworth low/high/band-pass of a signal (n,) -> (n,)."""
    return signal.sosfilt(_sos(kind, cutoff, sr, order), x)


def _unit(x: np.ndarray) -> np.ndarray:
    """Scale to peak 1 (silence stays silence)."""
    peak = np.max(np.abs(x)) if len(x) else 0.0
    return x / peak if peak > 0 else x


@lru_cache(maxsize=512)
def _table(shape: str | tuple[float, ...], n_harmonics: int) -> np.ndarray:
    """One band-limited cycle (_TABLE_SIZE,) of a waveform with at most n_harmonics partials."""
    k = np.arange(1, n_harmonics + 1)
    if isinstance(shape, tuple):  # explicit partial amplitudes (organ drawbars)
        amps = np.zeros(n_harmonics)
        amps[: min(len(shape), n_harmonics)] = shape[:n_harmonics]
    elif shape == "saw":
        amps = 1.0 / k
    elif shape == "square":
        amps = (k % 2 == 1) / k
    elif shape == "triangle":
        amps = (k % 2 == 1) / k**2.0
    else:  # sine
        amps = (k == 1).astype(float)
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    return _unit((amps[:, None] * np.sin(2 * np.pi * k[:, None] * phase)).sum(axis=0)).astype(np.float32)


def _osc(shape: str | tuple[float, ...], freq: float, cycles: np.ndarray, sr: int) -> np.ndarray:
    """Wavetable oscillator: ``cycles`` (n,) is the phase in periods; band-limited below sr/2."""
    n_harmonics = int(np.clip(0.45 * sr / freq, 1, 48))
    table = _table(shape, n_harmonics)
    return table.take((cycles * _TABLE_SIZE).astype(np.int64) & (_TABLE_SIZE - 1))


def _envelope(gate: int, total: int, sr: int, *, attack: float, decay: float, sustain: float, release: float):
    """Attack-decay-sustain envelope held for ``gate`` samples, then released; float32 (total,)."""
    t = np.arange(total, dtype=np.float32) / np.float32(sr)
    attack = max(attack, 1e-3)
    env = np.minimum(t / np.float32(attack), np.float32(1.0))
    if sustain < 1.0:
        env *= sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / np.float32(decay))
    if gate < total:
        env[gate:] = env[max(gate - 1, 0)] * np.exp(-(t[gate:] - t[gate]) / release)
    return env


@dataclass(frozen=True)
class _Synth:
    """Subtractive voice: detuned wavetable oscillators, drive, low-pass, envelope."""

    shape: str | tuple[float, ...] = "saw"
    detune: tuple[float, ...] = (0.0,)  # cents of each oscillator
    intervals: tuple[int, ...] = (0,)  # semitones played together (power chords)
    attack: float = 0.005
    decay: float = 0.3
    sustain: float = 0.7
    release: float = 0.08
    cutoff: float | None = None  # static low-pass, Hz
    bright: float = 0.0  # extra unfiltered brightness fading with bright_decay (a pluck)
    bright_decay: float = 0.08
    vibrato: float = 0.0  # cents
    drive: float = 0.0  # tanh saturation
    sub: float = 0.0  # sine one octave below

    def note(self, pitch: float, gate: int, sr: int) -> np.ndarray:
        """Samples (gate + release tail,) of one note."""
        total = gate + int(3 * self.release * sr)
        t = np.arange(total) / sr  # float64: phases of long notes need the precision
        f0 = _hz(pitch)
        if self.vibrato:  # delayed vibrato, as a player does on a held note
            depth = (2.0 ** (self.vibrato / 1200.0) - 1.0) * np.clip(t / 0.4 - 0.5, 0.0, 1.0)
            warp = np.cumsum(1.0 + depth * np.sin(2 * np.pi * 5.3 * t)) / sr
        else:
            warp = t
        y = np.zeros(total, dtype=np.float32)
        for semis in self.intervals:
            for cents in self.detune:
                f = f0 * 2.0 ** (semis / 12.0 + cents / 1200.0)
                y += _osc(self.shape, f, 0.37 * semis + 0.013 * cents + f * warp, sr)
        y /= len(self.intervals) * len(self.detune)
        if self.sub:
            y += self.sub * np.sin((np.pi * f0 * warp).astype(np.float32))
        if self.drive:
            y = np.tanh(np.float32(self.drive) * y) / np.float32(np.tanh(self.drive))
        if self.cutoff:
            dark = _filter(y, "low", self.cutoff, sr).astype(np.float32)
            if self.bright:
                fade = np.exp(-np.arange(total, dtype=np.float32) / np.float32(self.bright_decay * sr))
                y = dark + np.float32(self.bright) * (y - dark) * fade
            else:
                y = dark
        env = _envelope(
            gate, total, sr, attack=self.attack, decay=self.decay, sustain=self.sustain, release=self.release
        )
        return y * env


@dataclass(frozen=True)
class _Pluck:
    """Plucked or struck string: additive partials, higher ones dying faster."""

    damping: float = 2.0  # 1/s decay rate of the fundamental
    brightness: float = 0.05  # how much faster each higher partial decays
    position: float = 0.2  # pluck position on the string (sets the partial amplitudes)
    partials: int = 10
    stretch: float = 0.0  # inharmonicity (piano strings)
    release: float = 0.06

    def note(self, pitch: float, gate: int, sr: int) -> np.ndarray:
        f0 = _hz(pitch)
        ring = int(sr * min(6.9 / self.damping, 4.0))  # natural -60 dB time
        total = min(gate + int(4 * self.release * sr), ring)
        k = np.arange(1, self.partials + 1, dtype=np.float32)
        f = f0 * k * np.sqrt(1.0 + self.stretch * k**2)
        keep = f < 0.45 * sr
        k, f = k[keep], f[keep]
        amps = np.abs(np.sin(np.pi * k * self.position)) / k
        rates = self.damping * (1.0 + self.brightness * (k - 1) ** 2)
        t = (np.arange(total, dtype=np.float32) / sr)[None, :]
        y = (amps[:, None] * np.exp(-rates[:, None] * t) * np.sin(2 * np.pi * f[:, None] * t)).sum(axis=0)
        y *= np.minimum(t[0] / 0.002, 1.0)  # pick attack without a click
        if gate < total:
            y[gate:] *= np.exp(-(t[0, gate:] - t[0, gate]) / self.release)
        return y


@dataclass(frozen=True)
class _FM:
    """Two-operator FM voice: electric piano (ratio 1) or bell (ratio ~3.5)."""

    ratio: float = 1.0
    index: float = 2.0  # modulation index at the attack
    index_decay: float = 0.4  # seconds
    attack: float = 0.002
    decay: float = 1.5
    release: float = 0.15
    tine: float = 0.0  # short high partial of an electric piano

    def note(self, pitch: float, gate: int, sr: int) -> np.ndarray:
        f = _hz(pitch)
        total = gate + int(4 * self.release * sr)
        t = np.arange(total, dtype=np.float32) / np.float32(sr)
        w = np.float32(2 * np.pi * f)
        index = np.float32(self.index) * np.exp(-t / np.float32(self.index_decay))
        y = np.sin(w * t + index * np.sin(w * np.float32(self.ratio) * t))
        if self.tine and 7 * f < 0.45 * sr:
            y += np.float32(self.tine) * np.sin(7 * w * t) * np.exp(-t / np.float32(0.05))
        env = _envelope(
            gate, total, sr, attack=self.attack, decay=self.decay, sustain=0.0, release=self.release
        )
        return y * env


_Voice = _Synth | _Pluck | _FM


# ---------------------------------------------------------------------------- synthesis: drum kit


def _seconds(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr), dtype=np.float32) / np.float32(sr)


def _noise(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    return rng.standard_normal(len(t), dtype=np.float32)


def _kick(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Sine with a fast pitch drop, a click, some drive."""
    t = _seconds(rng.uniform(0.3, 0.5), sr)
    f_hi, f_lo = rng.uniform(110, 220), rng.uniform(42, 62)
    f = f_lo + (f_hi - f_lo) * np.exp(-t / rng.uniform(0.02, 0.06))
    body = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / rng.uniform(0.12, 0.35))
    click = _filter(_noise(rng, t), "high", 1500, sr) * np.exp(-t / 0.004)
    return _unit(np.tanh(rng.uniform(1.0, 3.0) * (body + rng.uniform(0.1, 0.5) * click)))


def _snare(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Band-passed noise burst plus a tuned body with a little pitch drop."""
    t = _seconds(0.35, sr)
    noise = _filter(_noise(rng, t), "band", (rng.uniform(700, 2000), rng.uniform(6e3, 1e4)), sr)
    tone = rng.uniform(160, 250) * (1 + 0.4 * np.exp(-t / 0.01))
    body = np.sin(2 * np.pi * np.cumsum(tone) / sr) * np.exp(-t / rng.uniform(0.04, 0.1))
    burst = _unit(noise) * np.exp(-t / rng.uniform(0.06, 0.18))
    return _unit(rng.uniform(0.6, 1.0) * burst + rng.uniform(0.3, 0.9) * body)


def _clap(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A few noise bursts a few ms apart, then a short tail."""
    t = _seconds(0.4, sr)
    gaps = np.cumsum(rng.uniform(0.007, 0.014, 4)) - 0.007
    env = sum(np.where(t >= g, np.exp(-np.maximum(t - g, 0) / 0.005), 0.0) for g in gaps[:3])
    env = env + np.where(t >= gaps[3], np.exp(-np.maximum(t - gaps[3], 0) / rng.uniform(0.06, 0.15)), 0.0)
    return _unit(_filter(_noise(rng, t), "band", (rng.uniform(800, 1200), 3500), sr) * env)


def _cymbal(rng: np.random.Generator, sr: int, *, seconds: float, cutoff: float, tau: float, metal: float):
    """Six inharmonic square waves (the classic metallic source) and noise, high-passed, decaying."""
    t = _seconds(seconds, sr)
    ratios = np.array([1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523], dtype=np.float32)
    squares = np.sign(np.sin(np.float32(2 * np.pi * rng.uniform(280, 460)) * ratios[:, None] * t[None, :]))
    source = metal * squares.mean(axis=0) + (1 - metal) * _noise(rng, t)
    return _unit(_filter(source, "high", cutoff, sr, order=4) * np.exp(-t / tau))


def _rim(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A short click and a woody tone."""
    t = _seconds(0.08, sr)
    click = _filter(_noise(rng, t), "band", (1500, 5000), sr) * np.exp(-t / 0.006)
    return _unit(click + np.sin(2 * np.pi * rng.uniform(700, 1200) * t) * np.exp(-t / 0.015))


def _swish(rng: np.random.Generator, sr: int, *, band: tuple[float, float], attack: float, tau: float):
    """Band noise with a soft attack: shaker (high band) or brush (wide band)."""
    t = _seconds(0.3, sr)
    env = np.minimum(t / attack, 1) * np.exp(-t / tau)
    return _unit(_filter(_noise(rng, t), "band", band, sr) * env)


class _Kit:
    """An artist's drum kit: one-shot samples (n_i,) with peak 1, each made on first use.

    Every piece has its own seed, so a piece sounds the same whichever others a song uses.
    """

    def __init__(self, seed: int, sr: int) -> None:
        self.seed, self.sr = seed, sr

    def _rng(self, piece: int) -> np.random.Generator:
        return _rng(self.seed, 100 + piece)

    @cached_property
    def kick(self) -> np.ndarray:
        return _kick(self._rng(0), self.sr)

    @cached_property
    def snare(self) -> np.ndarray:
        return _snare(self._rng(1), self.sr)

    @cached_property
    def clap(self) -> np.ndarray:
        return _clap(self._rng(2), self.sr)

    @cached_property
    def hat(self) -> np.ndarray:
        r = self._rng(3)
        return _cymbal(
            r,
            self.sr,
            seconds=0.15,
            cutoff=r.uniform(6000, 8500),
            tau=r.uniform(0.015, 0.05),
            metal=r.uniform(0.2, 0.7),
        )

    @cached_property
    def open_hat(self) -> np.ndarray:
        r = self._rng(4)
        return _cymbal(
            r,
            self.sr,
            seconds=0.6,
            cutoff=r.uniform(6000, 8000),
            tau=r.uniform(0.12, 0.3),
            metal=r.uniform(0.2, 0.7),
        )

    @cached_property
    def ride(self) -> np.ndarray:
        r = self._rng(5)
        return _cymbal(
            r,
            self.sr,
            seconds=1.5,
            cutoff=r.uniform(2000, 3500),
            tau=r.uniform(0.5, 1.0),
            metal=r.uniform(0.6, 0.9),
        )

    @cached_property
    def crash(self) -> np.ndarray:
        r = self._rng(6)
        return _cymbal(
            r, self.sr, seconds=2.0, cutoff=r.uniform(2500, 4500), tau=r.uniform(0.7, 1.3), metal=0.3
        )

    @cached_property
    def rim(self) -> np.ndarray:
        return _rim(self._rng(7), self.sr)

    @cached_property
    def shaker(self) -> np.ndarray:
        r = self._rng(8)
        return _swish(r, self.sr, band=(4000, 9000), attack=0.012, tau=r.uniform(0.03, 0.06))

    @cached_property
    def brush(self) -> np.ndarray:
        r = self._rng(9)
        return _swish(r, self.sr, band=(800, 6000), attack=0.02, tau=r.uniform(0.08, 0.15))


# ---------------------------------------------------------------------------- sequencing

_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.4, "-": 0.22}
_METRIC = np.array([1.0, 0.2, 0.5, 0.25, 0.85, 0.2, 0.5, 0.25, 0.95, 0.2, 0.5, 0.25, 0.85, 0.2, 0.5, 0.3])


@dataclass
class _Part:
    """One mixed part: signal (n,), level in dB before random mix variation, reverb send."""

    signal: np.ndarray
    level: float
    send: float = 0.15
    drums: bool = False


@dataclass
class _Ctx:
    """Everything a style needs while composing one song."""

    song: DemoSong
    style: _Style
    sr: int
    n: int  # samples to render
    bars: int  # bars composed (at least 30 s worth, so shorter renders are prefixes of the plan)
    block_bars: int  # bars per arrangement block (a phrase of ~4-10 s)
    rng: np.random.Generator  # arrangement and performance of this song
    tim: np.random.Generator  # the artist's sound
    kit: _Kit
    progression: tuple[int, ...] = (0,)
    bars_per_chord: int = 1
    master_cutoff: float | None = None
    crackle: float = 0.0

    @property
    def sixteenth(self) -> float:
        return 15.0 / self.song.tempo

    def time(self, bar: int, step: float) -> float:
        """Seconds of 16th-note ``step`` in ``bar``, with the song's swing and a player's jitter."""
        unit, swing = self.style.swing_unit, self.song.swing
        pair = 2 * unit
        k, r = divmod(step, pair)
        r = r / unit * swing * pair if r < unit else swing * pair + (r - unit) / unit * (1 - swing) * pair
        t = (bar * 16 + k * pair + r) * self.sixteenth
        if self.style.humanise:
            t += self.rng.normal(0.0, self.style.humanise)
        return max(t, 0.0)

    def degree(self, bar: int) -> int:
        """Scale degree (0 = tonic) of the chord played in ``bar``."""
        return self.progression[(bar // self.bars_per_chord) % len(self.progression)]

    def pitch(self, degree: int, lo: int) -> int:
        """MIDI pitch of a scale degree (any integer), counted from the first tonic >= lo."""
        tonic = lo + (self.song.key - lo) % 12
        return tonic + 12 * (degree // 7) + _SCALES[self.song.mode][degree % 7]

    def chord(self, bar: int, lo: int, size: int = 3) -> list[int]:
        """Chord tones of ``bar`` (stacked thirds), folded into the octave [lo, lo + 12)."""
        degree = self.degree(bar)
        return sorted(lo + (self.pitch(degree + 2 * i, 0) - lo) % 12 for i in range(size))

    def root(self, bar: int, lo: int) -> int:
        return self.chord(bar, lo, 1)[0]

    def blocks(self, p: float, *, first: bool | None = None) -> np.ndarray:
        """Bool (bars,): each arrangement block on with probability p; ``first`` forces block 0."""
        n_blocks = -(-self.bars // self.block_bars)
        on = self.rng.random(n_blocks) < p
        if first is not None:
            on[0] = first
        return np.repeat(on, self.block_bars)[: self.bars]

    def last_of_block(self, bar: int) -> bool:
        return bar % self.block_bars == self.block_bars - 1


class _Score:
    """Notes of one part: (start s, gate s, MIDI pitch, velocity 0..1)."""

    def __init__(self) -> None:
        self.notes: list[tuple[float, float, float, float]] = []

    def add(self, start: float, gate: float, pitch: float, velocity: float = 1.0) -> None:
        self.notes.append((start, gate, pitch, velocity))


def _play(ctx: _Ctx, score: _Score, voice: _Voice) -> np.ndarray:
    """Render a score with a voice into (n,); identical notes are synthesised once."""
    out = np.zeros(ctx.n, dtype=np.float32)
    cache: dict[tuple[float, int], np.ndarray] = {}
    for start, gate, pitch, velocity in score.notes:
        s = int(start * ctx.sr)
        if s >= ctx.n or velocity <= 0:
            continue
        key = (round(pitch, 2), max(int(round(gate * 100)) * ctx.sr // 100, 64))  # gate on a 10-ms grid
        wave = cache.get(key)
        if wave is None:
            wave = cache[key] = voice.note(key[0], key[1], ctx.sr)
        m = min(len(wave), ctx.n - s)
        out[s : s + m] += velocity * wave[:m]
    return out


def _hits(ctx: _Ctx, sample: np.ndarray, times: list[float], velocities: list[float]) -> np.ndarray:
    """One-shot ``sample`` placed at ``times`` (s) with ``velocities``; (n,)."""
    out = np.zeros(ctx.n)
    for t, v in zip(times, velocities, strict=True):
        s = int(t * ctx.sr)
        if s < ctx.n:
            m = min(len(sample), ctx.n - s)
            out[s : s + m] += v * sample[:m]
    return out


def _drums(ctx: _Ctx, sample: np.ndarray, patterns: str | list[str | None], mask=None):
    """Play 16-step patterns ('X' accent, 'x' hit, 'o' ghost, '-' whisper, '.' rest).

    ``patterns`` is one pattern for every bar or one per bar (None = silent bar);
    ``mask`` (bars,) silences bars. Returns (signal (n,), hit times in s).
    """
    per_bar = [patterns] * ctx.bars if isinstance(patterns, str) else patterns
    times, velocities = [], []
    for bar, pattern in enumerate(per_bar):
        if pattern is None or (mask is not None and not mask[bar]):
            continue
        for step, char in enumerate(pattern):
            if char in _VELOCITY:
                times.append(ctx.time(bar, step))
                velocities.append(_VELOCITY[char] * (1.0 + 0.12 * ctx.rng.standard_normal()))
    return _hits(ctx, sample, times, velocities), times


def _fill_bars(ctx: _Ctx, pattern: str, fill: str, p: float) -> list[str | None]:
    """``pattern`` every bar, ``fill`` in the last bar of some blocks (a drummer's fill)."""
    return [fill if ctx.last_of_block(b) and ctx.rng.random() < p else pattern for b in range(ctx.bars)]


def _duck(ctx: _Ctx, times: list[float], depth: float, release: float = 0.12) -> np.ndarray:
    """Side-chain gain (n,): dips at every kick and recovers (the 'pumping' of dance music)."""
    if not times:
        return np.ones(ctx.n)
    starts = np.sort((np.asarray(times) * ctx.sr).astype(np.int64))
    idx = np.arange(ctx.n)
    last = np.searchsorted(starts, idx, side="right") - 1
    since = (idx - starts[np.maximum(last, 0)]) / ctx.sr
    return np.where(last >= 0, 1.0 - depth * np.exp(-since / release), 1.0)


def _echo(ctx: _Ctx, x: np.ndarray, delay: float, feedback: float, taps: int = 4) -> np.ndarray:
    """Tape-style echo: delayed, darkened repeats of x (n,)."""
    d = int(delay * ctx.sr)
    wet = np.zeros_like(x)
    for i in range(1, taps + 1):
        if i * d < len(x):
            wet[i * d :] += feedback**i * x[: len(x) - i * d]
    return x + _filter(wet, "low", 2500, ctx.sr)


def _melody(
    ctx: _Ctx,
    *,
    lo: int,
    density: float,
    legato: float = 0.9,
    span: int = 10,
    max_beats: float = 2.0,
    mask: np.ndarray | None = None,
    phrase_bars: int = 4,
) -> _Score:
    """A phrase of ``phrase_bars`` bars, repeated with a varied last bar on every other pass.

    Pitches walk the scale (degrees 0..span above the first tonic >= lo) and land on
    chord tones on the beats; onsets favour strong 16ths (density ~ notes per beat / 4).
    """
    rng = ctx.rng

    def bar_notes(phrase_bar: int, degree: int) -> tuple[list[tuple[int, int]], int]:
        onsets = np.flatnonzero(rng.random(16) < density * _METRIC / _METRIC.mean() * 0.5)
        if len(onsets) == 0:
            onsets = np.array([0])
        notes = []
        chord = {(ctx.degree(phrase_bar) + 2 * i) % 7 for i in range(3)}
        for step in onsets:
            degree = int(np.clip(degree + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3]), 0, span))
            if step % 4 == 0 and degree % 7 not in chord:  # chord tone on the beat
                degree = min((d for d in range(span + 1) if d % 7 in chord), key=lambda d: abs(d - degree))
            notes.append((int(step), degree))
        return notes, degree

    phrase, degree = [], int(rng.integers(0, 5))
    for pb in range(phrase_bars):
        notes, degree = bar_notes(pb, degree)
        phrase.append(notes)
    variation, _ = bar_notes(phrase_bars - 1, degree)
    score = _Score()
    for bar in range(ctx.bars):
        if mask is not None and not mask[bar]:
            continue
        pb, repeat = bar % phrase_bars, (bar // phrase_bars) % 2
        notes = variation if repeat and pb == phrase_bars - 1 else phrase[pb]
        for i, (step, deg) in enumerate(notes):
            nxt = notes[i + 1][0] if i + 1 < len(notes) else 16
            beats = min((nxt - step) / 4.0, max_beats)
            gate = beats * 4 * ctx.sixteenth * legato
            score.add(ctx.time(bar, step), gate, ctx.pitch(deg, lo), 0.75 + 0.25 * rng.random())
    return score


def _chords(ctx: _Ctx, steps: list[tuple[int, float]], *, lo: int, size: int = 3, mask=None, spread=0.0):
    """Chords of each bar's harmony at (step, gate in 16ths) positions; ``spread`` strums (s)."""
    score = _Score()
    for bar in range(ctx.bars):
        if mask is not None and not mask[bar]:
            continue
        notes = ctx.chord(bar, lo, size)
        for step, length in steps:
            t = ctx.time(bar, step)
            for i, p in enumerate(notes):
                score.add(t + i * spread, length * ctx.sixteenth, p, 0.8 + 0.2 * ctx.rng.random())
    return score


def _pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


# ---------------------------------------------------------------------------- styles
# Instruments several styles share, so that timbre alone never gives a genre away.


def _epiano(tim: np.random.Generator) -> _FM:
    return _FM(
        ratio=1.0,
        index=tim.uniform(0.8, 2.5),
        index_decay=tim.uniform(0.3, 0.6),
        decay=tim.uniform(1.2, 2.0),
        tine=tim.uniform(0.05, 0.25),
    )


def _piano(tim: np.random.Generator) -> _Pluck:
    return _Pluck(
        damping=tim.uniform(1.4, 2.2),
        brightness=0.06,
        position=0.13,
        partials=10,
        stretch=tim.uniform(1e-4, 3e-4),
    )


def _guitar(tim: np.random.Generator, *, mute: float = 0.06) -> _Pluck:
    return _Pluck(
        damping=tim.uniform(1.2, 3.0),
        brightness=tim.uniform(0.02, 0.08),
        position=tim.uniform(0.12, 0.3),
        partials=12,
        release=mute,
    )


def _organ(tim: np.random.Generator) -> _Synth:
    drawbars = tuple(float(x) for x in tim.uniform(0.1, 1.0, 6) * [1.0, 0.8, 0.6, 0.5, 0.3, 0.3])
    return _Synth(drawbars, attack=0.005, decay=0.1, sustain=0.8, release=0.03)


def _pad(tim: np.random.Generator, *, attack: tuple[float, float] = (0.05, 0.8)) -> _Synth:
    return _Synth(
        _pick(tim, ["saw", "saw", "triangle"]),
        detune=(-10.0, 9.0),
        attack=tim.uniform(*attack),
        sustain=1.0,
        release=0.5,
        cutoff=tim.uniform(900, 3000),
    )


def _upright(tim: np.random.Generator) -> _Pluck:
    return _Pluck(damping=tim.uniform(2.5, 4.5), brightness=0.3, position=tim.uniform(0.15, 0.3), partials=6)


def _held_chords(ctx: _Ctx, *, lo: int, size: int, mask=None) -> _Score:
    """One chord per harmony change, held until the next."""
    held = np.arange(ctx.bars) % ctx.bars_per_chord == 0
    if mask is not None:
        held &= mask
    return _chords(ctx, [(0, 16.0 * ctx.bars_per_chord)], lo=lo, size=size, mask=held)


def _electronic(ctx: _Ctx) -> list[_Part]:
    """House/techno: four-on-the-floor kick, off-beat hats, clap, pumping bass and chords."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0,), (0, 6), (0, 5, 6, 5), (0, 3), (0, 3, 5, 4)])
    ctx.bars_per_chord = _pick(r, [1, 2, 2])
    drop = ctx.blocks(0.2, first=False)  # a breakdown block without kick
    kick, kick_times = _drums(ctx, kit.kick, "X...X...X...X...", ~drop)
    clap, _ = _drums(
        ctx, _pick(r, [kit.clap, kit.clap, kit.snare, kit.rim]), "....x.......x...", ctx.blocks(0.85)
    )
    open_hat, _ = _drums(
        ctx, kit.open_hat, _pick(r, ["..x...x...x...x.", "..x...x...x...xx"]), ctx.blocks(0.8)
    )
    hats = ["xoxoxoxoxoxoxoxo", "x.x.x.x.x.x.x.x.", "oo-ooo-ooo-ooo-o"]
    hat, _ = _drums(ctx, kit.hat, _pick(r, hats), ctx.blocks(0.7))
    pump = _duck(ctx, kick_times, depth=r.uniform(0.3, 0.8))
    parts = [
        _Part(kick, 0.0, 0.03, drums=True),
        _Part(clap, -7, 0.25, drums=True),
        _Part(open_hat, -12, 0.1, drums=True),
        _Part(hat, -14, 0.05, drums=True),
    ]

    bass_voice = _Synth(
        _pick(tim, ["saw", "square", "saw"]),
        cutoff=tim.uniform(250, 900),
        bright=tim.uniform(0, 1.5),
        decay=0.15,
        sustain=0.5,
        release=0.03,
        sub=tim.uniform(0.0, 0.6),
    )
    rolling = r.random() < 0.4
    steps = [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15] if rolling else [2, 6, 10, 14]
    bass = _Score()
    for bar in range(ctx.bars):
        for s in steps:
            octave = 12 if rolling and s % 4 == 3 else 0
            bass.add(
                ctx.time(bar, s), ctx.sixteenth * (0.8 if rolling else 1.5), ctx.root(bar, 33) + octave, 0.9
            )
    parts.append(_Part(_play(ctx, bass, bass_voice) * pump, -3, 0.02))

    if r.random() < 0.45:  # held pad, pumping
        parts.append(_Part(_play(ctx, _held_chords(ctx, lo=57, size=4), _pad(tim)) * pump, -9, 0.3))
    else:  # chord stabs: synth, house organ or electric piano
        stab = _pick(
            tim,
            [
                _Synth(
                    "saw",
                    detune=(-6.0, 6.0),
                    cutoff=tim.uniform(1500, 4000),
                    bright=1.0,
                    decay=0.12,
                    sustain=0.2,
                    release=0.06,
                ),
                _organ(tim),
                _epiano(tim),
            ],
        )
        rhythm = _pick(
            r, [[(3, 1.0), (6, 1.0), (11, 1.0), (14, 1.0)], [(2, 1.0), (6, 1.0), (10, 1.0), (14, 1.0)]]
        )
        parts.append(
            _Part(_play(ctx, _chords(ctx, rhythm, lo=57, size=4, mask=ctx.blocks(0.8)), stab), -8, 0.3)
        )
    if r.random() < 0.6:  # 16th arpeggio
        arp_voice = _pick(
            tim,
            [
                _Pluck(damping=6.0, brightness=0.15, partials=8),
                _Synth("square", cutoff=3000, decay=0.1, sustain=0.0, release=0.03),
            ],
        )
        arp, mask = _Score(), ctx.blocks(0.6, first=False)
        pattern = _pick(r, [[0, 1, 2, 1], [0, 1, 2, 3], [2, 1, 0, 1]])
        for bar in np.flatnonzero(mask):
            tones = ctx.chord(bar, 69, 4)
            for s in range(16):
                arp.add(
                    ctx.time(bar, s), ctx.sixteenth * 0.7, tones[pattern[s % 4]], 0.6 + 0.4 * (s % 4 == 0)
                )
        parts.append(_Part(_play(ctx, arp, arp_voice), -12, 0.35))
    return parts


def _hip_hop(ctx: _Ctx) -> list[_Part]:
    """Boom-bap: swung hats, syncopated kick, hard snare on 2 and 4, sub bass, jazzy keys."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 3), (1, 4), (0, 5), (5, 4), (0, 6, 5, 3)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    kicks = [
        "X.....x...X.....",
        "X..x......X..x..",
        "X.....X..x.X....",
        "X.x.......X..x..",
        "X......x.xX.....",
    ]
    a, b = _pick(r, kicks), _pick(r, kicks)
    kick, kick_times = _drums(ctx, kit.kick, [a if bar % 2 == 0 else b for bar in range(ctx.bars)])
    snare_pattern = _pick(r, ["....X.......X...", "....X.......X..o", "....X..o....X..."])
    snare, _ = _drums(ctx, kit.snare, snare_pattern)
    clap, _ = _drums(ctx, kit.clap, snare_pattern, ctx.blocks(0.3))
    hat, _ = _drums(ctx, kit.hat, _pick(r, ["x.x.x.x.x.x.x.x.", "x.o.x.o.x.o.x.o.", "x.xox.x.x.xox.xo"]))
    parts = [
        _Part(kick, 0.0, 0.03, drums=True),
        _Part(snare, -1, 0.15, drums=True),
        _Part(clap, -8, 0.15, drums=True),
        _Part(hat, -11, 0.05, drums=True),
    ]

    sub = _Synth("sine", attack=0.005, decay=0.4, sustain=0.6, release=0.06, drive=tim.uniform(0.5, 2.0))
    bass, kick_times = _Score(), sorted(kick_times)
    for i, t in enumerate(kick_times):
        bar = min(int(t / (16 * ctx.sixteenth)), ctx.bars - 1)
        gate = min((kick_times[i + 1] - t) if i + 1 < len(kick_times) else 1.0, 4 * ctx.sixteenth) * 0.9
        bass.add(t, gate, ctx.root(bar, 28), 1.0)
    parts.append(_Part(_play(ctx, bass, sub), -2, 0.0))

    keys = _pick(tim, [_epiano(tim), _epiano(tim), _piano(tim), _guitar(tim), _organ(tim)])
    rhythm = _pick(r, [[(0, 6.0), (10, 4.0)], [(0, 14.0)], [(0, 3.0), (6, 3.0), (11, 4.0)]])
    parts.append(_Part(_play(ctx, _chords(ctx, rhythm, lo=55, size=4, spread=0.01), keys), -7, 0.2))
    if r.random() < 0.6:
        lead = _pick(
            tim,
            [
                _FM(ratio=3.5, index=1.5, index_decay=0.2, decay=1.0),
                _Synth("triangle", attack=0.03, sustain=0.8, vibrato=20, cutoff=3000),
            ],
        )
        score = _melody(ctx, lo=67, density=0.25, mask=ctx.blocks(0.6, first=False), span=7)
        parts.append(_Part(_play(ctx, score, lead), -11, 0.3))
    if r.random() < 0.6:  # lo-fi: dull tape and vinyl crackle
        ctx.master_cutoff = r.uniform(3500, 8000)
        ctx.crackle = r.uniform(0.002, 0.01)
    return parts


def _rock(ctx: _Ctx) -> list[_Part]:
    """Rock: backbeat drums with crashes and fills, distorted power chords, picked bass, lead."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4), (0, 6, 5, 6), (0, 3, 0, 4)])
    ctx.bars_per_chord = 1
    kicks = ["X.......X.x.....", "X.x.....X.......", "X...X...X...X...", "X.......X..x.x.."]
    kick, _ = _drums(ctx, kit.kick, _pick(r, kicks))
    fill = _pick(r, ["....X.......XxXX", "....X...XoXoXXXX", "....X.......X.XX"])
    snare, _ = _drums(ctx, kit.snare, _fill_bars(ctx, "....X.......X...", fill, 0.6))
    cymbal = kit.ride if r.random() < 0.3 else kit.hat
    hat, _ = _drums(ctx, cymbal, _pick(r, ["x.x.x.x.x.x.x.x.", "X.x.X.x.X.x.X.x.", "x.x.x.x.x.x.x.xx"]))
    crashes = ["X..............." if b % ctx.block_bars == 0 else None for b in range(ctx.bars)]
    crash, _ = _drums(ctx, kit.crash, crashes)
    parts = [
        _Part(kick, -1, 0.08, drums=True),
        _Part(snare, 0.0, 0.25, drums=True),
        _Part(hat, -12, 0.1, drums=True),
        _Part(crash, -12, 0.2, drums=True),
    ]

    guitar = _Synth(
        "saw",
        detune=(-7.0, 7.0),
        intervals=(0, 7, 12),
        drive=tim.uniform(3, 12),
        cutoff=tim.uniform(2000, 4500),
        attack=0.003,
        decay=0.5,
        sustain=0.8,
        release=0.05,
    )
    muted, riff = ctx.blocks(0.5), _Score()
    for bar in range(ctx.bars):
        root = ctx.root(bar, 40)
        if muted[bar]:  # palm-muted 8ths
            for s in range(0, 16, 2):
                riff.add(ctx.time(bar, s), ctx.sixteenth * 1.1, root, 0.9 if s % 4 == 0 else 0.75)
        else:  # open chords, struck on 1 and the and of 2
            riff.add(ctx.time(bar, 0), ctx.sixteenth * 6, root, 1.0)
            riff.add(ctx.time(bar, 6), ctx.sixteenth * 10, root, 0.85)
    parts.append(_Part(_play(ctx, riff, guitar), -4, 0.15))
    bass_voice = _Synth(
        "saw",
        cutoff=tim.uniform(600, 1400),
        bright=0.8,
        bright_decay=0.05,
        decay=0.3,
        sustain=0.5,
        release=0.04,
    )
    bass = _Score()
    for bar in range(ctx.bars):
        for s in range(0, 16, 2):
            bass.add(ctx.time(bar, s), ctx.sixteenth * 1.6, ctx.root(bar, 28), 0.9)
    parts.append(_Part(_play(ctx, bass, bass_voice), -5, 0.02))
    if r.random() < 0.3:  # organ or piano behind the guitars
        keys = _pick(tim, [_organ(tim), _piano(tim)])
        parts.append(
            _Part(_play(ctx, _held_chords(ctx, lo=55, size=3, mask=ctx.blocks(0.6)), keys), -12, 0.2)
        )
    if r.random() < 0.6:
        lead = _Synth(
            "saw",
            drive=tim.uniform(2, 5),
            cutoff=tim.uniform(2500, 4000),
            attack=0.01,
            vibrato=30,
            sustain=0.8,
            release=0.1,
        )
        score = _melody(ctx, lo=64, density=0.35, mask=ctx.blocks(0.6, first=False))
        parts.append(_Part(_play(ctx, score, lead), -8, 0.3))
    return parts


def _jazz(ctx: _Ctx) -> list[_Part]:
    """Swing jazz: ride 'spang-a-lang', hi-hat on 2 and 4, walking bass, comping piano, horn."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4), (0, 3, 1, 4)])
    ctx.bars_per_chord = 1
    cymbal = _pick(r, [kit.ride, kit.ride, kit.hat])
    ride, _ = _drums(ctx, cymbal, _pick(r, ["x...X.x.x...X.x.", "x...x.o.x...x.o."]))
    foot, _ = _drums(ctx, kit.hat, "....o.......o...")
    comp = [
        "".join("o" if s % 2 == 0 and r.random() < 0.18 else "." for s in range(16)) for _ in range(ctx.bars)
    ]
    snare, _ = _drums(ctx, _pick(r, [kit.brush, kit.snare]), comp)
    feather, _ = _drums(ctx, kit.kick, "-...-...-...-...", ctx.blocks(0.5))
    parts = [
        _Part(ride, -14, 0.2, drums=True),
        _Part(foot, -16, 0.1, drums=True),
        _Part(snare, -14, 0.2, drums=True),
        _Part(feather, -10, 0.05, drums=True),
    ]

    walk = _Score()
    for bar in range(ctx.bars):
        tones, next_root = ctx.chord(bar, 36, 4), ctx.root(bar + 1, 36)
        line = [
            tones[0],
            _pick(r, tones[1:]),
            _pick(r, tones[1:] + [tones[0] + 12]),
            next_root + _pick(r, [-1, 1, 2]),
        ]
        for beat, p in enumerate(line):
            walk.add(ctx.time(bar, 4 * beat), ctx.sixteenth * 3.5, p, 0.85 + 0.15 * (beat == 0))
    parts.append(_Part(_play(ctx, walk, _upright(tim)), -3, 0.1))

    comping = _pick(tim, [_piano(tim), _piano(tim), _epiano(tim), _guitar(tim)])
    charleston = _pick(r, [[(0, 3.0), (6, 4.0)], [(2, 2.0), (10, 3.0)], [(6, 2.0), (14, 2.0)]])
    parts.append(_Part(_play(ctx, _chords(ctx, charleston, lo=53, size=4, spread=0.004), comping), -8, 0.2))
    if r.random() < 0.75:
        horn = _Synth(
            _pick(tim, ["saw", "square"]),
            cutoff=tim.uniform(1200, 2500),
            attack=0.04,
            decay=0.5,
            sustain=0.7,
            release=0.08,
            vibrato=tim.uniform(15, 35),
        )
        score = _melody(ctx, lo=62, density=0.45, legato=0.85, mask=ctx.blocks(0.7, first=r.random() < 0.5))
        parts.append(_Part(_play(ctx, score, horn), -7, 0.25))
    return parts


def _ambient(ctx: _Ctx) -> list[_Part]:
    """Ambient: slow swelling pads, a low drone, sparse bells, wind; long reverb, rarely a soft pulse."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 3), (0, 5), (5, 3), (0, 4), (0, 2, 3, 5)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    pad = _Synth(
        _pick(tim, ["saw", "triangle", "saw"]),
        detune=(-11.0, 0.0, 12.0),
        attack=tim.uniform(1.0, 3.0),
        sustain=1.0,
        release=tim.uniform(1.5, 3.0),
        cutoff=tim.uniform(600, 2000),
    )
    score = _Score()
    for bar in range(0, ctx.bars, ctx.bars_per_chord):
        for p in ctx.chord(bar, 48, 3) + ctx.chord(bar, 60, 2)[1:]:
            score.add(ctx.time(bar, 0), 16 * ctx.sixteenth * ctx.bars_per_chord, p, 0.8)
    parts = [_Part(_play(ctx, score, pad), 0.0, 0.6)]
    drone = _Score()
    drone.add(0.0, ctx.n / ctx.sr, ctx.pitch(0, 36), 1.0)
    drone_voice = _Synth(_pick(tim, ["sine", "triangle"]), attack=2.0, sustain=1.0, release=1.0)
    parts.append(_Part(_play(ctx, drone, drone_voice), tim.uniform(-12, -4), 0.3))
    bell = _pick(
        tim,
        [
            _FM(
                ratio=_pick(tim, [3.5, 2.0, 1.4, 2.76]),
                index=tim.uniform(1.0, 3.0),
                index_decay=tim.uniform(0.3, 1.0),
                decay=tim.uniform(1.5, 4.0),
                release=1.0,
            ),
            _epiano(tim),
            _guitar(tim),
        ],
    )
    bells, p_note = _Score(), r.uniform(0.1, 0.4)  # a few notes per bar, on the beats
    for bar in range(ctx.bars):
        for s in range(0, 16, 4):
            if r.random() < p_note * _METRIC[s]:
                pitch = _pick(r, [*ctx.chord(bar, 72, 3), ctx.pitch(1, 72)])
                bells.add(ctx.time(bar, s), 4 * ctx.sixteenth, pitch)
    parts.append(_Part(_play(ctx, bells, bell), -8, 0.8))
    if r.random() < 0.5:  # wind: band noise slowly breathing
        t = np.arange(ctx.n, dtype=np.float32) / np.float32(ctx.sr)
        lfo = 0.6 + 0.4 * np.sin(
            np.float32(2 * np.pi * r.uniform(0.05, 0.2)) * t + np.float32(r.uniform(0, 6))
        )
        band = (r.uniform(300, 800), r.uniform(1500, 4000))
        parts.append(_Part(_filter(_noise(r, t), "band", band, ctx.sr) * lfo, -20, 0.5))
    if r.random() < 0.2:  # a soft pulse (downtempo)
        pulse, _ = _drums(ctx, _pick(r, [kit.shaker, kit.brush, kit.rim]), "x.......o.......")
        parts.append(_Part(pulse, -18, 0.7, drums=True))
    return parts


def _folk(ctx: _Ctx) -> list[_Part]:
    """Folk: finger-picked or strummed acoustic guitar (or piano), flute or fiddle tune, light percussion."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 3, 4, 0), (0, 4, 5, 3), (0, 3, 0, 4), (5, 3, 0, 4), (0, 5, 3, 4)])
    ctx.bars_per_chord = 1
    strings = _piano(tim) if tim.random() < 0.2 else _guitar(tim)
    score = _Score()
    if r.random() < 0.55:  # Travis-style finger-picking in 8ths
        order = _pick(r, [[0, 2, 1, 3, 0, 2, 1, 3], [0, 3, 2, 3, 1, 3, 2, 3], [0, 2, 3, 2, 1, 2, 3, 2]])
        for bar in range(ctx.bars):
            low = ctx.root(bar, 40)
            tones = [low, *ctx.chord(bar, 55, 3)]
            for i, s in enumerate(order):
                pitch = low + 7 if s == 0 and i >= 4 else tones[s]  # alternating bass: root, then fifth
                score.add(ctx.time(bar, 2 * i), ctx.sixteenth * 4, pitch, 0.9 if i % 2 == 0 else 0.7)
    else:  # strummed: down strokes low to high, up strokes high to low
        strums = _pick(r, ["D.D.UDU.", "D.DUD.DU", "D..UD.DU", "D.DU.UDU"])
        for bar in range(ctx.bars):
            tones = [ctx.root(bar, 40), *ctx.chord(bar, 47, 3), *ctx.chord(bar, 59, 2)]
            for i, stroke in enumerate(strums):
                if stroke == ".":
                    continue
                t0 = ctx.time(bar, 2 * i)
                for j, p in enumerate(tones if stroke == "D" else tones[::-1][:4]):
                    score.add(t0 + j * 0.012, ctx.sixteenth * 3, p, 0.85 if stroke == "D" else 0.55)
    parts = [_Part(_play(ctx, score, strings), 0.0, 0.2)]
    if r.random() < 0.5:
        bass = _Score()
        for bar in range(ctx.bars):
            bass.add(ctx.time(bar, 0), ctx.sixteenth * 6, ctx.root(bar, 33), 0.9)
            bass.add(ctx.time(bar, 8), ctx.sixteenth * 6, ctx.root(bar, 33) + 7, 0.8)
        parts.append(_Part(_play(ctx, bass, _upright(tim)), -6, 0.1))
    if r.random() < 0.8:
        tune = _pick(
            tim,
            [
                _Synth(
                    (1.0, 0.12, 0.05, 0.02),
                    attack=0.06,
                    sustain=0.9,
                    release=0.1,
                    vibrato=tim.uniform(15, 30),
                ),
                _Synth(
                    "saw", cutoff=tim.uniform(2000, 3200), attack=0.05, sustain=0.85, release=0.1, vibrato=35
                ),
                _organ(tim),  # a harmonium / accordion stand-in
            ],
        )
        melody = _melody(ctx, lo=67, density=0.4, legato=0.95, mask=ctx.blocks(0.75, first=r.random() < 0.3))
        parts.append(_Part(_play(ctx, melody, tune), -5, 0.25))
    percussion = r.random()
    if percussion < 0.3:  # stomp and clap
        stomp, _ = _drums(ctx, kit.kick, "X.......X.......")
        clap, _ = _drums(ctx, kit.clap, "....x.......x...")
        parts += [
            _Part(_filter(stomp, "low", 300, ctx.sr), -6, 0.15, drums=True),
            _Part(clap, -10, 0.3, drums=True),
        ]
    elif percussion < 0.6:
        shaker, _ = _drums(ctx, kit.shaker, "x.o.x.o.x.o.x.o.")
        parts.append(_Part(shaker, -16, 0.2, drums=True))
    return parts


def _reggae(ctx: _Ctx) -> list[_Part]:
    """Reggae: one-drop (or steppers) drums, off-beat skank and organ bubble, deep melodic bass, dub echo."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 3), (0, 4), (0, 3, 0, 4), (5, 3), (0, 6)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    steppers = r.random() < 0.3
    kick, _ = _drums(ctx, kit.kick, "X...X...X...X..." if steppers else "........X.......")
    backbeat = _fill_bars(ctx, "........X.......", "........X.....o.", 0.4)
    rim, _ = _drums(ctx, _pick(r, [kit.rim, kit.rim, kit.snare]), backbeat)
    hat, _ = _drums(ctx, kit.hat, _pick(r, ["x.x.x.x.x.x.x.x.", "x.xox.xox.xox.xo", "o.x.o.x.o.x.o.x."]))
    dub = _echo(ctx, rim, 3 * ctx.sixteenth, r.uniform(0.3, 0.5))
    parts = [
        _Part(kick, -1, 0.05, drums=True),
        _Part(dub, -4, 0.35, drums=True),
        _Part(hat, -13, 0.1, drums=True),
    ]

    skank_voice = _pick(tim, [_guitar(tim, mute=0.03), _epiano(tim), _piano(tim)])
    skank = _chords(ctx, [(4, 0.8), (12, 0.8)], lo=60, size=3, spread=0.006)
    parts.append(_Part(_play(ctx, skank, skank_voice), -5, 0.3))
    if r.random() < 0.65:  # organ bubble on the 16th off-beats
        steps = [(s, 0.7) for s in (2, 3, 6, 7, 10, 11, 14, 15)]
        parts.append(_Part(_play(ctx, _chords(ctx, steps, lo=55, size=3), _organ(tim)), -11, 0.2))
    bass_voice = _Synth(
        _pick(tim, ["sine", "triangle"]),
        drive=tim.uniform(0.5, 1.5),
        decay=0.5,
        sustain=0.8,
        release=0.05,
        cutoff=800,
    )
    onsets = [2, 3, 4, 6, 7, 8, 10, 11, 12, 14]
    onsets = sorted(int(s) for s in r.choice(onsets, size=int(r.integers(4, 8)), replace=False))
    offsets = [int(_pick(r, [0, 0, 2, 4, 7])) for _ in onsets]  # scale steps above the chord root; 7 = octave
    bass = _Score()
    for bar in range(ctx.bars):
        for i, s in enumerate(onsets):
            nxt = onsets[i + 1] if i + 1 < len(onsets) else 18
            pitch = ctx.pitch(ctx.degree(bar) + offsets[i], 31) if offsets[i] != 7 else ctx.root(bar, 31) + 12
            bass.add(ctx.time(bar, s), min(nxt - s, 3) * ctx.sixteenth * 0.9, pitch, 0.9)
    parts.append(_Part(_play(ctx, bass, bass_voice), 0.0, 0.02))
    if r.random() < 0.45:  # melodica or horn line
        melodica = _Synth(
            _pick(tim, ["square", "saw"]),
            cutoff=tim.uniform(1800, 3000),
            attack=0.03,
            sustain=0.8,
            release=0.08,
            vibrato=20,
        )
        score = _melody(ctx, lo=67, density=0.3, mask=ctx.blocks(0.6, first=False))
        parts.append(_Part(_play(ctx, score, melodica), -9, 0.4))
    return parts


def _drum_and_bass(ctx: _Ctx) -> list[_Part]:
    """Drum & bass: fast two-step breakbeats with ghost snares, 16th hats, reese or sub bass, pads or keys."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 5), (0, 3, 5, 6), (0, 6), (0, 5, 6, 4)])
    ctx.bars_per_chord = 2
    kicks = ["X.........X.....", "X.........x.X...", "X.....X...X.....", "X.x.......X....."]
    snares = ["..o.X..o.o..X..o", "....X..o....X.o.", "....X.o..o..X..o", "o...X..o.o..X.oo"]
    ka, sa = _pick(r, kicks), _pick(r, snares)
    chopped = [(_pick(r, kicks), _pick(r, snares)) if r.random() < 0.3 else (ka, sa) for _ in range(ctx.bars)]
    kick, _ = _drums(ctx, kit.kick, [k for k, _ in chopped])
    snare, _ = _drums(ctx, kit.snare, [s for _, s in chopped])
    hat, _ = _drums(ctx, kit.hat, _pick(r, ["x.xxx.xxx.xxx.xx", "xoxoxoxoxoxoxoxo", "x.x.x.x.x.x.x.x."]))
    parts = [
        _Part(kick, 0.0, 0.05, drums=True),
        _Part(snare, 0.0, 0.2, drums=True),
        _Part(hat, -11, 0.08, drums=True),
    ]
    if r.random() < 0.35:
        ride, _ = _drums(ctx, kit.ride, "x...x...x...x...", ctx.blocks(0.6))
        parts.append(_Part(ride, -16, 0.2, drums=True))

    if r.random() < 0.6:  # reese: detuned saws, dark and growling
        voice = _Synth(
            "saw",
            detune=(-tim.uniform(12, 25), tim.uniform(12, 25)),
            cutoff=tim.uniform(300, 800),
            drive=tim.uniform(1.0, 2.5),
            attack=0.02,
            sustain=1.0,
            release=0.1,
            sub=0.5,
        )
    else:
        voice = _Synth("sine", drive=tim.uniform(1.0, 2.0), attack=0.01, sustain=1.0, release=0.08)
    bass = _Score()
    for bar in range(0, ctx.bars, 2):
        root = ctx.root(bar, 28)
        bass.add(ctx.time(bar, 0), ctx.sixteenth * 22, root, 1.0)
        bass.add(ctx.time(bar + 1, 8), ctx.sixteenth * 6, root + _pick(r, [0, 12, 7, 3]), 0.9)
    parts.append(_Part(_play(ctx, bass, voice), -2, 0.02))
    if r.random() < 0.65:  # pads, or the electric piano of 'liquid' drum & bass
        keys = _pick(tim, [_pad(tim, attack=(0.2, 0.8)), _pad(tim, attack=(0.2, 0.8)), _epiano(tim)])
        parts.append(_Part(_play(ctx, _held_chords(ctx, lo=57, size=4), keys), -10, 0.5))
    return parts


_COMPOSERS = {
    "Electronic": _electronic,
    "Hip-Hop": _hip_hop,
    "Rock": _rock,
    "Jazz": _jazz,
    "Ambient": _ambient,
    "Folk": _folk,
    "Reggae": _reggae,
    "Drum & Bass": _drum_and_bass,
}


# ---------------------------------------------------------------------------- mixing and render


def _reverb_ir(ctx: _Ctx) -> np.ndarray:
    """Exponentially decaying, darkened noise: a plausible room; float32, unit energy."""
    t60 = ctx.rng.uniform(*ctx.style.reverb)
    t = _seconds(min(t60, 3.0), ctx.sr)
    tail = _filter(_noise(ctx.rng, t), "low", ctx.rng.uniform(2500, 7000), ctx.sr) * np.exp(-6.9 * t / t60)
    ir = np.concatenate([np.zeros(int(ctx.rng.uniform(0.005, 0.03) * ctx.sr)), tail]).astype(np.float32)
    return ir / np.sqrt(np.sum(ir**2))


def _mix(ctx: _Ctx, parts: list[_Part]) -> np.ndarray:
    """Sum parts at their levels (each varied a little), add reverb, noise, master; (n,) peak <= 1."""
    dry, send = np.zeros(ctx.n, dtype=np.float32), np.zeros(ctx.n, dtype=np.float32)
    # Some songs open with a block without drums, as many records do.
    intro = int(ctx.block_bars * 16 * ctx.sixteenth * ctx.sr) if ctx.rng.random() < 0.25 else 0
    for part in parts:
        x = part.signal.astype(np.float32, copy=False)
        if part.drums and intro:
            x = x * np.clip((np.arange(ctx.n, dtype=np.float32) - intro) / (0.05 * ctx.sr), 0.0, 1.0)
        probe = np.abs(x[::8])  # every 8th sample is plenty to measure a level
        loud = probe > 1e-3 * (probe.max() + 1e-12)
        if not loud.any():
            continue
        rms = np.sqrt(np.mean(probe[loud] ** 2))  # loudness while playing, not diluted by rests
        gain = np.float32(10.0 ** ((part.level + ctx.rng.normal(0.0, 2.0)) / 20.0) / rms)
        dry += gain * x
        send += (gain * part.send) * x
    y = dry + 0.5 * signal.fftconvolve(send, _reverb_ir(ctx))[: ctx.n]
    # Every record is mastered differently: tilt the spectrum, sometimes dull the top.
    low, high = 10.0 ** (ctx.rng.uniform(-4.0, 4.0, 2) / 20.0) - 1.0
    y = y + low * _filter(y, "low", 250, ctx.sr) + high * _filter(y, "high", 4000, ctx.sr)
    if ctx.master_cutoff is None and ctx.rng.random() < 0.08:
        ctx.master_cutoff = ctx.rng.uniform(4000, 9000)
    if ctx.master_cutoff:
        y = _filter(y, "low", ctx.master_cutoff, ctx.sr)
    level = np.sqrt(np.mean(y[::8] ** 2)) + 1e-12
    y = y + np.float32(level * 10.0 ** (ctx.rng.uniform(-56, -40) / 20.0)) * _noise(ctx.rng, y)
    if ctx.crackle:  # vinyl: sparse clicks, a few hundred per minute
        pops = np.zeros(ctx.n, dtype=np.float32)
        where = ctx.rng.integers(0, ctx.n, size=int(3e-4 * ctx.n))
        pops[where] = ctx.rng.standard_normal(len(where))
        y = y + np.float32(level * 40 * ctx.crackle) * _filter(pops, "high", 2000, ctx.sr)
    y = _unit(y)
    drive = ctx.rng.uniform(1.0, 2.0)  # gentle glue compression, different per song
    return np.tanh(np.float32(drive) * y) / np.float32(np.tanh(drive) / ctx.rng.uniform(0.6, 0.95))


def render(song: DemoSong, *, sr: int = 22_050, seconds: float = 30.0) -> np.ndarray:
    """Synthesise one song: float32 mono (round(sr * seconds),), peak <= 1, deterministic."""
    if song.genre not in _STYLE:
        raise UserInputError(f"Unknown demo style {song.genre!r}; expected one of {', '.join(STYLES)}.")
    if sr < 8000 or seconds <= 0:
        raise UserInputError(f"Cannot render at sr={sr} Hz for {seconds} s (need sr >= 8000, seconds > 0).")
    style = _STYLE[song.genre]
    tim = np.random.default_rng(song.timbre_seed)
    bar = 240.0 / song.tempo
    ctx = _Ctx(
        song=song,
        style=style,
        sr=sr,
        n=int(round(sr * seconds)),
        bars=int(np.ceil(max(seconds, 30.0) / bar)) + 1,
        block_bars=int(min([2, 4, 8], key=lambda b: abs(b * bar - 7.0))),
        rng=np.random.default_rng(song.seed),
        tim=tim,
        kit=_Kit(song.timbre_seed, sr),
    )
    y = _mix(ctx, _COMPOSERS[song.genre](ctx))
    return y.astype(np.float32)


# ---------------------------------------------------------------------------- build the catalog's audio

_SONG_FILE = re.compile(r"^\d{6}\.(mp3|ogg)$")
_TEMP_FILE = re.compile(r"^\.\d{6}\..*\.part$")


@lru_cache(maxsize=1)
def audio_format() -> str:
    """'mp3' when this libsndfile can write MP3 (plays in every browser), else 'ogg'."""
    return "mp3" if "MP3" in sf.available_formats() else "ogg"


def song_path(audio_dir: Path, track_id: int) -> Path:
    return Path(audio_dir) / f"{track_id:06d}.{audio_format()}"


def _render_to_file(song: DemoSong, path: str, sr: int, seconds: float) -> str:
    """Render and write atomically: a temp name in the same folder, then os.replace."""
    final = Path(path)
    temp = final.with_name(f".{final.stem}.{os.getpid()}.part")
    y = render(song, sr=sr, seconds=seconds)
    try:
        sf.write(temp, y, sr, format=audio_format().upper())
        os.replace(temp, final)
    except Exception:
        temp.unlink(missing_ok=True)
        raise
    return path


def _prepare_folder(audio_dir: Path, plan: dict) -> None:
    """Remove stale temp files; wipe rendered songs when they came from another plan.

    Songs depend on (seed, sr, seconds, synthesiser version, format) but not on the
    catalog size: the first songs of a plan never change when it grows, so a larger
    or smaller build with the same seed keeps every file it can.
    """
    audio_dir.mkdir(parents=True, exist_ok=True)
    plan_file = audio_dir / PLAN_FILE
    try:
        old = json.loads(plan_file.read_text())
    except (OSError, ValueError):
        old = None
    same = isinstance(old, dict) and all(old.get(k) == v for k, v in plan.items())
    for entry in audio_dir.iterdir():
        if _TEMP_FILE.match(entry.name) or (not same and _SONG_FILE.match(entry.name)):
            entry.unlink(missing_ok=True)
    temp = audio_dir / f".{PLAN_FILE}.part"
    temp.write_text(json.dumps(plan, indent=1))
    os.replace(temp, plan_file)


def _render_all(
    songs: list[DemoSong], audio_dir: Path, *, sr: int, seconds: float, workers: int, tick: Callable[[], None]
) -> None:
    """Render songs to their files, in this process or in a pool of ``workers`` processes."""
    jobs = [(song, str(song_path(audio_dir, song.track_id)), sr, seconds) for song in songs]
    if workers == 1:
        for job in jobs:
            _render_to_file(*job)
            tick()
        return
    # spawn: the caller (the app, a build) may hold TensorFlow or DuckDB, which must not be forked.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    try:
        for future in as_completed([pool.submit(_render_to_file, *job) for job in jobs]):
            future.result()
            tick()
    finally:  # on an error or Ctrl-C, do not wait for the songs still queued
        pool.shutdown(wait=True, cancel_futures=True)


def build_demo(
    audio_dir: Path,
    *,
    n_tracks: int = DEFAULT_TRACKS,
    seed: int = 0,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = True,
    sr: int = 22_050,
    seconds: float = 30.0,
) -> tuple[list[Track], SourceReport]:
    """Render the demo catalog into ``audio_dir`` (one ``{track_id:06d}.mp3`` per song).

    Resumable: a song already present under its final name is complete (files are
    written under a temporary name and renamed) and is not rendered again. The
    folder's ``plan.json`` records seed, sample rate, length and synthesiser
    version; song files of any other plan are deleted first. Only files named like
    songs or temp files are ever deleted. Renders in ``workers`` processes
    (default: all cores), with a progress bar on stderr (``progress=True``) or calls
    of ``progress(done, total)`` (the app's progress bar).
    """
    songs = plan_catalog(n_tracks, seed=seed)
    audio_dir = Path(audio_dir).expanduser().resolve()
    plan = {
        "seed": int(seed),
        "sr": int(sr),
        "seconds": float(seconds),
        "version": SYNTH_VERSION,
        "format": audio_format(),
        "source": "demo (synthesised)",
    }
    try:
        _prepare_folder(audio_dir, plan)
    except OSError as e:
        raise SourceError(f"Cannot use {audio_dir} for the demo audio: {e}") from e
    todo = [s for s in songs if not song_path(audio_dir, s.track_id).exists()]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    bar = tqdm(
        total=len(songs),
        initial=len(songs) - len(todo),
        desc="demo audio",
        unit="song",
        file=sys.stderr,
        disable=progress is not True,
    )

    done = len(songs) - len(todo)

    def tick() -> None:
        nonlocal done
        done += 1
        bar.update()
        if callable(progress):
            progress(done, len(songs))

    try:
        _render_all(todo, audio_dir, sr=sr, seconds=seconds, workers=workers, tick=tick)
    except OSError as e:
        raise SourceError(f"Cannot write the demo audio into {audio_dir}: {e}") from e
    finally:
        bar.close()
    tracks = [
        Track(
            track_id=s.track_id,
            title=s.title,
            artist=s.artist,
            album=s.album,
            genre=s.genre,
            split=s.split,
            audio_path=str(song_path(audio_dir, s.track_id)),
            source="demo",
            duration=float(seconds),
        )
        for s in songs
    ]
    return tracks, SourceReport()
