"""The demo catalog: songs synthesised here, in numpy, in eight genres of four sub-styles each.

Nothing is downloaded and nothing is recorded. Every song of the demo catalog is
synthesised from a seed by the code below: drum kits (a kick with a pitch drop, a
snare made of a noise burst and a tuned body, hats, rides, claps, toms), bass lines,
chord progressions and melodies played by small synthesised instruments (plucked
strings, banjo, electric piano, organ, pads, bells, flute, fiddle, horns, distorted
guitar), arranged, mixed, and given a little room reverb and noise. Titles, artists and
albums are generated names: no real artist or recording is involved, and the catalog is
labelled as synthesised wherever it is shown.

A catalog is more than one blot per genre, so each genre (``STYLES``, the label the
model learns) has sub-styles (``SUBSTYLES``) that differ audibly in tempo range,
rhythm, instruments, key and density: Rock is hard rock, punk, rock ballads and folk
rock. The last sub-style of every genre is a hybrid, labelled with its own genre only
but borrowing rhythm or instruments from another (jazz-hop, folk rock, ambient techno,
jungle...). Inside a sub-style, key, tempo, energy (calm and sparse to driving and
bright), drum kit, instruments, mix and arrangement vary; an artist keeps one sound, and
each album one sub-style, named in the album's title. Tempo ranges and instruments
overlap between genres, so the model has real work to do.

Determinism: ``plan_catalog(n, seed=s)`` depends only on ``(n, s)``, and its first
``m`` songs are the same for every ``n >= m`` (same seed): genres are dealt
round-robin and every song, artist and split is drawn from its own seed.
``render(song)`` depends only on the song, ``sr`` and ``seconds``.
"""

from __future__ import annotations

import hashlib
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

from recommender.cluster import leave_with_parent
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
SYNTH_VERSION = 2  # bump whenever the sound changes: build_demo then re-renders the folder
PLAN_FILE = "plan.json"
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class SubStyle:
    """One kind of song inside a genre: the ranges its songs draw from, and its composer.

    A hybrid (``borrows`` set) is labelled with its ``genre`` only, but takes rhythm or
    instruments from the genre it borrows from, as jazz-hop (Hip-Hop) takes jazz's walking
    bass, piano and horn.
    """

    name: str
    genre: str  # the label, one of STYLES
    compose: Callable[[_Ctx], list[_Part]] = field(repr=False, compare=False)
    tempo: tuple[float, float]  # beats per minute
    p_minor: float  # probability of a minor key
    swing: tuple[float, float] = (0.5, 0.52)  # 0.5 = straight, 0.67 = triplet swing
    swing_unit: int = 1  # 1: swing 16ths, 2: swing 8ths
    humanise: float = 0.0  # timing jitter of played notes, seconds (standard deviation)
    reverb: tuple[float, float] = (0.6, 1.4)  # reverb decay time (T60) range, seconds
    borrows: str | None = None  # a hybrid's other parent genre


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


def plural_noun(noun: str) -> str:
    """The English plural of a title word ("Compass" → "Compasses", "Echo" → "Echoes", "Lullaby" → "Lullabies")."""
    lower = noun.lower()
    if lower.endswith(("s", "sh", "ch", "x", "z")) or (lower.endswith("o") and lower[-2:-1] not in "aeiou"):
        return noun + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


# Patterns use {adj} {plural} {place} {first} {last} {thing} {things}; extra ones per genre.
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
_TITLE_PATTERNS = ("{adj} {thing}", "The {thing}", "Under the {adj} {thing}", "{things}", "{adj}")
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
_TAG_ARTIST, _TAG_NAME, _TAG_SONG, _TAG_SPLIT, _TAG_TITLE, _TAG_ALBUM, _TAG_SUBSTYLE = range(1, 8)


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
        "things": tuple(plural_noun(t) for t in _THINGS),
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
    tempo: float  # where the artist likes to play inside a sub-style's tempo range, 0..1
    energy: float  # the artist's usual energy, 0..1
    timbre_seed: int
    albums: list[str] = field(default_factory=list)  # "Name (Sub-style)"
    album_sizes: list[int] = field(default_factory=list)
    album_substyles: list[SubStyle] = field(default_factory=list)


def _artist_shape(seed: int, genre: int, j: int) -> tuple[int, float, int, float]:
    rng = _rng(seed, _TAG_ARTIST, genre, j)
    return int(rng.integers(3, 8)), float(rng.uniform()), int(rng.integers(2**31)), float(rng.uniform())


def _artist_substyles(seed: int, genre: int, j: int, n_albums: int) -> list[SubStyle]:
    """The sub-style of each of an artist's albums.

    Every run of as many artists as the genre has sub-styles covers them all (so each
    sub-style has artists in any catalog of a few dozen songs per genre); a second album
    stays in the first one's sub-style or, one time in three, moves to another.
    """
    options = substyles(STYLES[genre])
    block, offset = divmod(j, len(options))
    first = int(_rng(seed, _TAG_SUBSTYLE, genre, block).permutation(len(options))[offset])
    rng = _rng(seed, _TAG_SUBSTYLE, genre, block, offset)
    picks = [first]
    for _ in range(n_albums - 1):
        picks.append(
            first if rng.random() < 2 / 3 else (first + int(rng.integers(1, len(options)))) % len(options)
        )
    return [options[i] for i in picks]


def _plan_artists(seed: int, songs_per_genre: list[int]) -> list[list[_Artist]]:
    """Artists of each genre, enough to cover its songs.

    Names are drawn in a fixed order over *all* genres for every artist index up to
    the largest genre's need, so an artist's name never depends on the catalog size.
    """
    shapes: list[list[tuple[int, float, int, float]]] = []
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
                n_songs, tempo, timbre, energy = shapes[g][j]
                artists[g].append(_Artist(name, n_songs, tempo, energy, timbre))
    for g, row in enumerate(artists):
        for j, artist in enumerate(row):
            sizes = [artist.n_songs] if artist.n_songs < 5 else [3, artist.n_songs - 3]
            own: set[str] = set()
            artist.album_substyles = _artist_substyles(seed, g, j, len(sizes))
            artist.albums = [
                f"{_unique(_ALBUM_PATTERNS, own, seed, _TAG_ALBUM, g, j, k)} ({sub.name})"
                for k, sub in enumerate(artist.album_substyles)
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
    has 3-7 songs on one or two albums, each album in one sub-style of the genre (its
    name ends with the sub-style's, "Cedar Lagoon (Deep House)"). Track ids are 1..n_tracks.
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
        album = 0 if i < artist.album_sizes[0] else len(artist.albums) - 1
        sub = artist.album_substyles[album]
        rng = _rng(seed, _TAG_SONG, track_id)
        lo, hi = sub.tempo
        songs.append(
            DemoSong(
                track_id=track_id,
                title=title,
                artist=artist.name,
                album=artist.albums[album],
                genre=style,
                substyle=sub.name,
                split=_split_of(int(seed), g, k),
                seed=int(rng.integers(2**31)),
                tempo=round(
                    _reflect(lo + artist.tempo * (hi - lo) + rng.normal(0, 0.15 * (hi - lo)), lo, hi), 1
                ),
                key=int(rng.integers(12)),
                mode="minor" if rng.random() < sub.p_minor else "major",
                swing=round(float(rng.uniform(*sub.swing)), 3),
                energy=round(_reflect(artist.energy + rng.normal(0, 0.2), 0.0, 1.0), 3),
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
    drop: float = 0.0  # semitones the pitch falls from at each attack (an 808's thump)

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
        if self.drop:  # the pitch starts high and falls back within ~40 ms
            warp = warp + np.cumsum(2.0 ** (self.drop * np.exp(-t / 0.04) / 12.0) - 1.0) / sr
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
    def tom(self) -> np.ndarray:
        """A low tom or frame drum (bodhrán): a kick's recipe, higher and less punchy."""
        r = self._rng(10)
        t = _seconds(0.4, self.sr)
        f = r.uniform(80, 140) * (1 + 0.3 * np.exp(-t / 0.03))
        body = np.sin(2 * np.pi * np.cumsum(f) / self.sr) * np.exp(-t / r.uniform(0.08, 0.2))
        skin = _filter(_noise(r, t), "band", (300, 2500), self.sr) * np.exp(-t / 0.02)
        return _unit(body + r.uniform(0.2, 0.5) * skin)

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
    style: SubStyle
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

    @property
    def energy(self) -> float:
        return self.song.energy

    def by_energy(self, options: list):
        """One of ``options`` (ordered calm to busy), the busier the more energetic the song."""
        i = round(self.energy * (len(options) - 1) + self.rng.normal(0.0, 0.5))
        return options[int(np.clip(i, 0, len(options) - 1))]

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


def _held_chords(ctx: _Ctx, *, lo: int, size: int, mask=None) -> _Score:
    """One chord per harmony change, held until the next."""
    held = np.arange(ctx.bars) % ctx.bars_per_chord == 0
    if mask is not None:
        held &= mask
    return _chords(ctx, [(0, 16.0 * ctx.bars_per_chord)], lo=lo, size=size, mask=held)


# ---------------------------------------------------------------------------- instruments
# Instruments several genres share, so that timbre alone never gives a genre away. Each
# draws its character from ``tim``, the artist's generator: an artist keeps its sound.


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


def _nylon(tim: np.random.Generator) -> _Pluck:
    """Nylon-string guitar: rounder and darker than steel strings."""
    return _Pluck(damping=tim.uniform(1.5, 2.5), brightness=tim.uniform(0.1, 0.2), position=0.2, partials=8)


def _banjo(tim: np.random.Generator) -> _Pluck:
    """Banjo: bright, plucked near the bridge, quickly damped."""
    return _Pluck(
        damping=tim.uniform(5.0, 8.0),
        brightness=tim.uniform(0.005, 0.02),
        position=tim.uniform(0.06, 0.1),
        partials=14,
        release=0.04,
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


def _flute(tim: np.random.Generator) -> _Synth:
    return _Synth((1.0, 0.12, 0.05, 0.02), attack=0.06, sustain=0.9, release=0.1, vibrato=tim.uniform(15, 30))


def _fiddle(tim: np.random.Generator) -> _Synth:
    return _Synth("saw", cutoff=tim.uniform(2000, 3200), attack=0.05, sustain=0.85, release=0.1, vibrato=35)


def _horn(tim: np.random.Generator) -> _Synth:
    """A saxophone or trumpet stand-in."""
    return _Synth(
        _pick(tim, ["saw", "square"]),
        cutoff=tim.uniform(1200, 2500),
        attack=0.04,
        decay=0.5,
        sustain=0.7,
        release=0.08,
        vibrato=tim.uniform(15, 35),
    )


def _bell(tim: np.random.Generator) -> _FM:
    return _FM(
        ratio=_pick(tim, [3.5, 2.0, 1.4, 2.76]),
        index=tim.uniform(1.0, 3.0),
        index_decay=tim.uniform(0.3, 1.0),
        decay=tim.uniform(1.5, 4.0),
        release=1.0,
    )


def _distorted_guitar(tim: np.random.Generator, *, drive: tuple[float, float] = (3, 12)) -> _Synth:
    """Overdriven power chords: root, fifth and octave through a saturating amp."""
    return _Synth(
        "saw",
        detune=(-7.0, 7.0),
        intervals=(0, 7, 12),
        drive=tim.uniform(*drive),
        cutoff=tim.uniform(2000, 4500),
        attack=0.003,
        decay=0.5,
        sustain=0.8,
        release=0.05,
    )


def _lead_guitar(tim: np.random.Generator) -> _Synth:
    return _Synth(
        "saw",
        drive=tim.uniform(2, 5),
        cutoff=tim.uniform(2500, 4000),
        attack=0.01,
        vibrato=30,
        sustain=0.8,
        release=0.1,
    )


def _synth_bass(tim: np.random.Generator) -> _Synth:
    return _Synth(
        _pick(tim, ["saw", "square", "saw"]),
        cutoff=tim.uniform(250, 900),
        bright=tim.uniform(0, 1.5),
        decay=0.15,
        sustain=0.5,
        release=0.03,
        sub=tim.uniform(0.0, 0.6),
    )


def _electric_bass(tim: np.random.Generator) -> _Synth:
    return _Synth(
        "saw",
        cutoff=tim.uniform(600, 1400),
        bright=0.8,
        bright_decay=0.05,
        decay=0.3,
        sustain=0.5,
        release=0.04,
    )


def _sub(tim: np.random.Generator, *, drop: float = 0.0) -> _Synth:
    """Sine sub bass; ``drop`` semitones of pitch fall at each note (the 808 of trap)."""
    return _Synth(
        "sine", attack=0.005, decay=0.4, sustain=0.6, release=0.06, drive=tim.uniform(0.5, 2.0), drop=drop
    )


# ---------------------------------------------------------------------------- parts
# Each function below plays one role (drums, bass, harmony, lead, texture) in the idiom
# of one genre. A sub-style (next section) is a handful of them; a hybrid takes some
# from its own genre and some from the genre it borrows from.


def _lead(
    ctx: _Ctx, voice: _Voice, *, level: float, send: float = 0.3, p: float = 1.0, **melody
) -> list[_Part]:
    """A melody (``_melody``'s options) played by ``voice``, with probability ``p``; busier when energetic."""
    if ctx.rng.random() >= p:
        return []
    melody["density"] = melody["density"] * (0.75 + 0.5 * ctx.energy)
    return [_Part(_play(ctx, _melody(ctx, **melody), voice), level, send)]


def _lo_fi(ctx: _Ctx, p: float) -> None:
    """With probability ``p``: a dull tape and vinyl crackle on the master."""
    if ctx.rng.random() < p:
        ctx.master_cutoff = ctx.rng.uniform(3500, 8000)
        ctx.crackle = ctx.rng.uniform(0.002, 0.01)


# -- Electronic


def _four_floor(ctx: _Ctx, *, clap: float = 0.85, soft: bool = False) -> tuple[list[_Part], list[float]]:
    """Kick on every beat, clap on 2 and 4, off-beat open hats, hats; and the kick times (s)."""
    r, kit = ctx.rng, ctx.kit
    drop = ctx.blocks(0.2, first=False)  # a breakdown block without kick
    kick, kick_times = _drums(ctx, kit.kick, "X...X...X...X...", ~drop)
    backbeat = _pick(r, [kit.clap, kit.clap, kit.snare, kit.rim])
    clap_part, _ = _drums(ctx, backbeat, "....x.......x...", ctx.blocks(clap))
    open_hats = _pick(r, ["..x...x...x...x.", "..x...x...x...xx"])
    open_hat, _ = _drums(ctx, kit.open_hat, open_hats, ctx.blocks(0.5 if soft else 0.8))
    hats = ctx.by_energy(["x.x.x.x.x.x.x.x.", "oo-ooo-ooo-ooo-o", "xoxoxoxoxoxoxoxo"])
    hat, _ = _drums(ctx, kit.hat, hats, ctx.blocks(0.7))
    quiet = 0.0
    if soft:  # a felt kick and far-away cymbals
        kick, quiet = _filter(kick, "low", 200, ctx.sr), -7.0
    parts = [
        _Part(kick, 0.0, 0.03, drums=True),
        _Part(clap_part, -7 + quiet, 0.25, drums=True),
        _Part(open_hat, -12 + quiet, 0.1, drums=True),
        _Part(hat, -14 + quiet, 0.05, drums=True),
    ]
    return parts, kick_times


def _synth_pop_drums(ctx: _Ctx) -> list[_Part]:
    """Drum machine with a backbeat: kick on 1 and 3, snare or clap on 2 and 4, 8th hats, fills."""
    r, kit = ctx.rng, ctx.kit
    kick, _ = _drums(ctx, kit.kick, _pick(r, ["X.......X.x.....", "X.......X.......", "X..x....X.x....."]))
    snare, _ = _drums(
        ctx, _pick(r, [kit.snare, kit.clap]), _fill_bars(ctx, "....X.......X...", "....X...X.X.XXXX", 0.4)
    )
    hat, _ = _drums(ctx, kit.hat, ctx.by_energy(["x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.xx"]))
    return [
        _Part(kick, 0.0, 0.05, drums=True),
        _Part(snare, -2, 0.3, drums=True),
        _Part(hat, -13, 0.1, drums=True),
    ]


def _dance_bass(
    ctx: _Ctx, voice: _Voice, steps: list[int], *, octave: tuple[int, ...] = (), gate: float = 1.5
):
    """The chord root on ``steps`` of every bar (an octave up on ``octave`` steps); signal (n,)."""
    bass = _Score()
    for bar in range(ctx.bars):
        for s in steps:
            bass.add(ctx.time(bar, s), ctx.sixteenth * gate, ctx.root(bar, 33) + 12 * (s in octave), 0.9)
    return _play(ctx, bass, voice)


def _acid(ctx: _Ctx) -> np.ndarray:
    """A squelchy 16th-note bass riff, one bar repeated (the 303 of acid techno); signal (n,)."""
    r, tim = ctx.rng, ctx.tim
    voice = _Synth(
        _pick(tim, ["saw", "square"]),
        cutoff=tim.uniform(300, 700),
        bright=tim.uniform(1.5, 3.0),
        bright_decay=tim.uniform(0.04, 0.12),
        drive=tim.uniform(1.5, 3.0),
        decay=0.15,
        sustain=0.4,
        release=0.03,
    )
    on = r.random(16) < 0.6
    on[0] = True
    shift = [int(_pick(r, [0, 0, 0, 12, 7, 3, 10])) for _ in range(16)]
    riff = _Score()
    for bar in range(ctx.bars):
        for s in np.flatnonzero(on):
            riff.add(
                ctx.time(bar, s), ctx.sixteenth * 0.8, ctx.root(bar, 33) + shift[s], 0.6 + 0.4 * (s % 4 == 0)
            )
    return _play(ctx, riff, voice)


def _stabs(ctx: _Ctx, voice: _Voice, *, size: int = 4, lo: int = 57, p: float = 0.8) -> np.ndarray:
    """Off-beat chord stabs of house and techno; signal (n,)."""
    rhythm = _pick(
        ctx.rng, [[(3, 1.0), (6, 1.0), (11, 1.0), (14, 1.0)], [(2, 1.0), (6, 1.0), (10, 1.0), (14, 1.0)]]
    )
    return _play(ctx, _chords(ctx, rhythm, lo=lo, size=size, mask=ctx.blocks(p)), voice)


def _saw_stab(tim: np.random.Generator) -> _Synth:
    return _Synth(
        "saw",
        detune=(-6.0, 6.0),
        cutoff=tim.uniform(1500, 4000),
        bright=1.0,
        decay=0.12,
        sustain=0.2,
        release=0.06,
    )


def _arpeggio(ctx: _Ctx, voice: _Voice, *, lo: int = 69, p: float = 0.6) -> list[_Part]:
    """16th-note arpeggio over the chord, in some blocks (with probability ``p``)."""
    r = ctx.rng
    if r.random() >= p:
        return []
    arp, mask = _Score(), ctx.blocks(0.6, first=False)
    pattern = _pick(r, [[0, 1, 2, 1], [0, 1, 2, 3], [2, 1, 0, 1]])
    for bar in np.flatnonzero(mask):
        tones = ctx.chord(bar, lo, 4)
        for s in range(16):
            arp.add(ctx.time(bar, s), ctx.sixteenth * 0.7, tones[pattern[s % 4]], 0.6 + 0.4 * (s % 4 == 0))
    return [_Part(_play(ctx, arp, voice), -12, 0.35)]


def _arp_voice(tim: np.random.Generator) -> _Voice:
    return _pick(
        tim,
        [
            _Pluck(damping=6.0, brightness=0.15, partials=8),
            _Synth("square", cutoff=3000, decay=0.1, sustain=0.0, release=0.03),
        ],
    )


# -- Hip-Hop

_BOOM_BAP_KICKS = [
    "X.....x...X.....",
    "X..x......X..x..",
    "X.....X..x.X....",
    "X.x.......X..x..",
    "X......x.xX.....",
]


def _boom_bap_drums(ctx: _Ctx, *, soft: bool = False, ride: bool = False) -> tuple[list[_Part], list[float]]:
    """Syncopated kick (two patterns, alternating bars), snare on 2 and 4, swung hats; and the kick times.

    ``soft``: a muffled kick, rim or brush for the snare (lo-fi, downtempo); ``ride``: a ride cymbal
    instead of the hats (jazz-hop).
    """
    r, kit = ctx.rng, ctx.kit
    a, b = _pick(r, _BOOM_BAP_KICKS), _pick(r, _BOOM_BAP_KICKS)
    kick, kick_times = _drums(ctx, kit.kick, [a if bar % 2 == 0 else b for bar in range(ctx.bars)])
    snare_pattern = _pick(r, ["....X.......X...", "....X.......X..o", "....X..o....X..."])
    snare, _ = _drums(ctx, _pick(r, [kit.rim, kit.brush, kit.snare]) if soft else kit.snare, snare_pattern)
    hats = ["x.o.x.o.x.o.x.o.", "x.x.x.x.x.x.x.x.", "x.xox.x.x.xox.xo"]
    hat, _ = _drums(ctx, kit.ride if ride else kit.hat, ctx.by_energy(hats))
    if soft:
        kick = _filter(kick, "low", r.uniform(150, 300), ctx.sr)
    parts = [
        _Part(kick, 0.0, 0.03, drums=True),
        _Part(snare, -3 if soft else -1, 0.15, drums=True),
        _Part(hat, -15 if ride else -11, 0.05, drums=True),
    ]
    if not soft:
        clap, _ = _drums(ctx, kit.clap, snare_pattern, ctx.blocks(0.3))
        parts.append(_Part(clap, -8, 0.15, drums=True))
    return parts, kick_times


def _trap_drums(ctx: _Ctx) -> tuple[list[_Part], list[float]]:
    """Half-time trap: sparse kicks, snare and clap on beat 3, hats with 32nd and triplet rolls; and kick times."""
    r, kit = ctx.rng, ctx.kit
    kicks = ["X.........X.....", "X......X..X.....", "X.....X.....X...", "X..X......X..X.."]
    a, b = _pick(r, kicks), _pick(r, kicks)
    kick, kick_times = _drums(ctx, kit.kick, [a if bar % 2 == 0 else b for bar in range(ctx.bars)])
    snare, _ = _drums(ctx, kit.snare, "........X.......")
    clap, _ = _drums(ctx, kit.clap, "........X.......")
    hat, _ = _drums(ctx, kit.hat, ctx.by_energy(["x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x.", "xoxoxoxoxoxoxoxo"]))
    times, velocities = [], []
    for bar in range(ctx.bars):  # a roll on the last beat of some bars
        if r.random() < 0.5:
            n, t0 = int(_pick(r, [6, 8])), ctx.time(bar, 12)
            times += [t0 + i * 4 * ctx.sixteenth / n for i in range(n)]
            velocities += [0.4 + 0.5 * i / n for i in range(n)]
    rolls = _hits(ctx, kit.hat, times, velocities)
    parts = [
        _Part(kick, 0.0, 0.03, drums=True),
        _Part(snare, -3, 0.2, drums=True),
        _Part(clap, -4, 0.2, drums=True),
        _Part(hat, -12, 0.05, drums=True),
        _Part(rolls, -14, 0.05, drums=True),
    ]
    return parts, kick_times


def _bass_on_kicks(
    ctx: _Ctx, kick_times: list[float], voice: _Voice, *, longest: float = 4, moves: float = 0.0
):
    """A bass note on every kick, held until the next (at most ``longest`` 16ths); signal (n,).

    ``moves``: probability that a note leaves the root for the fifth or the octave.
    """
    bass, kick_times = _Score(), sorted(kick_times)
    for i, t in enumerate(kick_times):
        bar = min(int(t / (16 * ctx.sixteenth)), ctx.bars - 1)
        gate = min((kick_times[i + 1] - t) if i + 1 < len(kick_times) else 1.0, longest * ctx.sixteenth) * 0.9
        shift = int(_pick(ctx.rng, [7, 12, -2])) if ctx.rng.random() < moves else 0
        bass.add(t, gate, ctx.root(bar, 28) + shift, 1.0)
    return _play(ctx, bass, voice)


def _keys_comp(ctx: _Ctx, voice: _Voice, *, lo: int = 55) -> np.ndarray:
    """Hip-hop keys: a sampled-sounding four-note chord in one of a few rhythms; signal (n,)."""
    rhythm = _pick(ctx.rng, [[(0, 6.0), (10, 4.0)], [(0, 14.0)], [(0, 3.0), (6, 3.0), (11, 4.0)]])
    return _play(ctx, _chords(ctx, rhythm, lo=lo, size=4, spread=0.01), voice)


# -- Rock

# kicks, snare pattern, fill, cymbal patterns
_ROCK_BEATS = {
    "rock": (
        ["X.......X.x.....", "X.x.....X.......", "X...X...X...X...", "X.......X..x.x.."],
        "....X.......X...",
        ["....X.......XxXX", "....X...XoXoXXXX", "....X.......X.XX"],
        ["x.x.x.x.x.x.x.x.", "X.x.X.x.X.x.X.x.", "x.x.x.x.x.x.x.xx"],
    ),
    "punk": (
        ["X.......X.......", "X.x.....X.x.....", "X...X...X...X..."],
        "....X.......X...",
        ["....X...XXXXXXXX", "....X.......XXXX"],
        ["x.x.x.x.x.x.x.x.", "X.X.X.X.X.X.X.X."],
    ),
    "ballad": (  # half time: the snare on beat 3
        ["X.........X.....", "X.......X.x.....", "X.....x...X....."],
        "........X.......",
        ["........X...XxXX", "........X.XXXXXX"],
        ["x.x.x.x.x.x.x.x.", "x...x...x...x..."],
    ),
    "light": (  # folk rock: brushes of a band playing softly
        ["X.......X.......", "X.....x.X.......", "X.......X..x...."],
        "....x.......x...",
        ["....x.......x.xx", "....x...x.x.x.xx"],
        ["x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.xx"],
    ),
    "funk": (  # fusion: syncopated kick, ghost notes, 16th hats
        ["X.....x...X..x..", "X..x......X....x", "X.x...x...X....."],
        "....X..o.o..X..o",
        ["....X..o.oXoXXXX", "....X..o.o..XxXx"],
        ["xoxoxoxoxoxoxoxo", "x.xxx.xxx.xxx.xx"],
    ),
}


def _rock_drums(ctx: _Ctx, kind: str) -> list[_Part]:
    """A drummer's kit: kick, backbeat snare with fills, hats or ride, a crash at every block (``_ROCK_BEATS``)."""
    r, kit = ctx.rng, ctx.kit
    kicks, backbeat, fills, cymbals = _ROCK_BEATS[kind]
    kick, _ = _drums(ctx, kit.kick, _pick(r, kicks))
    snare_sample = _pick(r, [kit.rim, kit.snare]) if kind == "light" else kit.snare
    snare, _ = _drums(ctx, snare_sample, _fill_bars(ctx, backbeat, _pick(r, fills), 0.6))
    cymbal = kit.shaker if kind == "light" else kit.ride if r.random() < 0.3 else kit.hat
    hat, _ = _drums(ctx, cymbal, ctx.by_energy(cymbals))
    crashes = ["X..............." if b % ctx.block_bars == 0 else None for b in range(ctx.bars)]
    crash, _ = _drums(ctx, kit.crash, crashes)
    soft = -4.0 if kind in ("light", "ballad") else 0.0
    return [
        _Part(kick, -1, 0.08, drums=True),
        _Part(snare, soft, 0.25, drums=True),
        _Part(hat, -12, 0.1, drums=True),
        _Part(crash, -12 + soft, 0.2, drums=True),
    ]


def _power_chords(ctx: _Ctx, voice: _Voice, *, palm: float = 0.5, eighths: bool = False, mask=None):
    """Power-chord riff: palm-muted 8ths in some blocks, open chords elsewhere (all 8ths when ``eighths``).

    ``mask`` (bars,) silences bars. Returns the signal (n,).
    """
    muted, riff = ctx.blocks(palm), _Score()
    for bar in range(ctx.bars):
        if mask is not None and not mask[bar]:
            continue
        root = ctx.root(bar, 40)
        if eighths or muted[bar]:
            for s in range(0, 16, 2):
                riff.add(ctx.time(bar, s), ctx.sixteenth * 1.1, root, 0.9 if s % 4 == 0 else 0.75)
        else:  # open chords, struck on 1 and the and of 2
            riff.add(ctx.time(bar, 0), ctx.sixteenth * 6, root, 1.0)
            riff.add(ctx.time(bar, 6), ctx.sixteenth * 10, root, 0.85)
    return _play(ctx, riff, voice)


def _root_notes(ctx: _Ctx, voice: _Voice, steps: list[tuple[int, float, int]], *, lo: int = 28) -> np.ndarray:
    """A bass line of (step, length in 16ths, semitones above the root) in every bar; signal (n,)."""
    bass = _Score()
    for bar in range(ctx.bars):
        for step, length, shift in steps:
            bass.add(ctx.time(bar, step), ctx.sixteenth * length, ctx.root(bar, lo) + shift, 0.9)
    return _play(ctx, bass, voice)


_EIGHTHS = [(s, 1.6, 0) for s in range(0, 16, 2)]


def _broken_chords(ctx: _Ctx, voice: _Voice, *, lo: int, order: list[int], step: int = 2, gate: float = 4.0):
    """Arpeggiated chords: chord tones (two octaves) in ``order``, one every ``step`` 16ths; signal (n,)."""
    score = _Score()
    for bar in range(ctx.bars):
        tones = ctx.chord(bar, lo, 3) + ctx.chord(bar, lo + 12, 3)
        for i, s in enumerate(range(0, 16, step)):
            score.add(
                ctx.time(bar, s), ctx.sixteenth * gate, tones[order[i % len(order)]], 0.9 - 0.2 * (i % 2)
            )
    return _play(ctx, score, voice)


# -- Jazz


def _swing_drums(ctx: _Ctx, *, brushes: bool = False) -> list[_Part]:
    """Ride 'spang-a-lang' (or brushes), hi-hat foot on 2 and 4, snare comping, feathered kick."""
    r, kit = ctx.rng, ctx.kit
    if brushes:  # a brush stirring on every 8th, a slap on 2 and 4
        ride, _ = _drums(ctx, kit.brush, "--x---x---x---x-" if r.random() < 0.5 else "-.x.-.x.-.x.-.x.")
    else:
        cymbal = _pick(r, [kit.ride, kit.ride, kit.hat])
        ride, _ = _drums(ctx, cymbal, _pick(r, ["x...X.x.x...X.x.", "x...x.o.x...x.o."]))
    foot, _ = _drums(ctx, kit.hat, "....o.......o...")
    p_comp = 0.1 if brushes else 0.18
    comp = [
        "".join("o" if s % 2 == 0 and r.random() < p_comp else "." for s in range(16))
        for _ in range(ctx.bars)
    ]
    snare, _ = _drums(ctx, _pick(r, [kit.brush, kit.snare]), comp)
    feather, _ = _drums(ctx, kit.kick, "-...-...-...-...", ctx.blocks(0.5))
    return [
        _Part(ride, -16 if brushes else -14, 0.2, drums=True),
        _Part(foot, -16, 0.1, drums=True),
        _Part(snare, -14, 0.2, drums=True),
        _Part(feather, -10, 0.05, drums=True),
    ]


def _walking_bass(ctx: _Ctx, voice: _Voice, *, two_feel: bool = False) -> np.ndarray:
    """Quarter notes through the chord to a step from the next root (half notes when ``two_feel``)."""
    r, walk = ctx.rng, _Score()
    for bar in range(ctx.bars):
        tones, next_root = ctx.chord(bar, 36, 4), ctx.root(bar + 1, 36)
        line = [
            tones[0],
            _pick(r, tones[1:]),
            _pick(r, tones[1:] + [tones[0] + 12]),
            next_root + _pick(r, [-1, 1, 2]),
        ]
        beats = [0, 2] if two_feel else [0, 1, 2, 3]
        for beat in beats:
            walk.add(
                ctx.time(bar, 4 * beat),
                ctx.sixteenth * (7.5 if two_feel else 3.5),
                line[beat],
                0.85 + 0.15 * (beat == 0),
            )
    return _play(ctx, walk, voice)


_CHARLESTON = [[(0, 3.0), (6, 4.0)], [(2, 2.0), (10, 3.0)], [(6, 2.0), (14, 2.0)]]


def _bossa_drums(ctx: _Ctx) -> list[_Part]:
    """Bossa nova: rim click on the bossa clave, a soft surdo-like kick, shaker or hats in 8ths."""
    r, kit = ctx.rng, ctx.kit
    clave = _pick(r, ["x..x..x...x..x..", "x..x...x..x..x.."])
    rim, _ = _drums(ctx, kit.rim, clave)
    kick, _ = _drums(ctx, kit.kick, "X..xX..xX..xX..x")
    shaker, _ = _drums(
        ctx, _pick(r, [kit.shaker, kit.hat]), ctx.by_energy(["x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo"])
    )
    return [
        _Part(_filter(kick, "low", 250, ctx.sr), -6, 0.05, drums=True),
        _Part(rim, -10, 0.2, drums=True),
        _Part(shaker, -15, 0.1, drums=True),
    ]


# -- Ambient


def _swell_pads(ctx: _Ctx, *, cutoff: tuple[float, float] = (600, 2000), lo: int = 48) -> _Part:
    """Slowly swelling, detuned pad chords, held for each harmony."""
    tim = ctx.tim
    pad = _Synth(
        _pick(tim, ["saw", "triangle", "saw"]),
        detune=(-11.0, 0.0, 12.0),
        attack=tim.uniform(1.0, 3.0),
        sustain=1.0,
        release=tim.uniform(1.5, 3.0),
        cutoff=tim.uniform(*cutoff),
    )
    score = _Score()
    for bar in range(0, ctx.bars, ctx.bars_per_chord):
        for p in ctx.chord(bar, lo, 3) + ctx.chord(bar, lo + 12, 2)[1:]:
            score.add(ctx.time(bar, 0), 16 * ctx.sixteenth * ctx.bars_per_chord, p, 0.8)
    return _Part(_play(ctx, score, pad), 0.0, 0.6)


def _drone(ctx: _Ctx, *, fifth: bool = False, level: float | None = None) -> _Part:
    """The tonic held through the whole song (and its fifth), low."""
    tim = ctx.tim
    drone = _Score()
    drone.add(0.0, ctx.n / ctx.sr, ctx.pitch(0, 36), 1.0)
    if fifth:
        drone.add(0.0, ctx.n / ctx.sr, ctx.pitch(4, 36), 0.7)
    voice = _Synth(_pick(tim, ["sine", "triangle"]), attack=2.0, sustain=1.0, release=1.0)
    return _Part(_play(ctx, drone, voice), tim.uniform(-12, -4) if level is None else level, 0.3)


def _bells(ctx: _Ctx, voice: _Voice, *, p_note: float, lo: int = 72) -> _Part:
    """A few notes per bar, on the beats, from the chord."""
    r, bells = ctx.rng, _Score()
    for bar in range(ctx.bars):
        for s in range(0, 16, 4):
            if r.random() < p_note * _METRIC[s]:
                pitch = _pick(r, [*ctx.chord(bar, lo, 3), ctx.pitch(1, lo)])
                bells.add(ctx.time(bar, s), 4 * ctx.sixteenth, pitch)
    return _Part(_play(ctx, bells, voice), -8, 0.8)


def _wind(ctx: _Ctx, *, level: float = -20) -> _Part:
    """Band noise slowly breathing."""
    r = ctx.rng
    t = np.arange(ctx.n, dtype=np.float32) / np.float32(ctx.sr)
    lfo = 0.6 + 0.4 * np.sin(np.float32(2 * np.pi * r.uniform(0.05, 0.2)) * t + np.float32(r.uniform(0, 6)))
    band = (r.uniform(300, 800), r.uniform(1500, 4000))
    return _Part(_filter(_noise(r, t), "band", band, ctx.sr) * lfo, level, 0.5)


# -- Folk


def _fingerpick(ctx: _Ctx, voice: _Voice) -> np.ndarray:
    """Travis-style finger-picking in 8ths: alternating bass (root, then fifth) under the chord."""
    r, score = ctx.rng, _Score()
    order = _pick(r, [[0, 2, 1, 3, 0, 2, 1, 3], [0, 3, 2, 3, 1, 3, 2, 3], [0, 2, 3, 2, 1, 2, 3, 2]])
    for bar in range(ctx.bars):
        low = ctx.root(bar, 40)
        tones = [low, *ctx.chord(bar, 55, 3)]
        for i, s in enumerate(order):
            pitch = low + 7 if s == 0 and i >= 4 else tones[s]
            score.add(ctx.time(bar, 2 * i), ctx.sixteenth * 4, pitch, 0.9 if i % 2 == 0 else 0.7)
    return _play(ctx, score, voice)


def _strum(ctx: _Ctx, voice: _Voice) -> np.ndarray:
    """Strummed chords: down strokes low to high, up strokes high to low."""
    r, score = ctx.rng, _Score()
    strums = _pick(r, ["D.D.UDU.", "D.DUD.DU", "D..UD.DU", "D.DU.UDU"])
    for bar in range(ctx.bars):
        tones = [ctx.root(bar, 40), *ctx.chord(bar, 47, 3), *ctx.chord(bar, 59, 2)]
        for i, stroke in enumerate(strums):
            if stroke == ".":
                continue
            t0 = ctx.time(bar, 2 * i)
            for j, p in enumerate(tones if stroke == "D" else tones[::-1][:4]):
                score.add(t0 + j * 0.012, ctx.sixteenth * 3, p, 0.85 if stroke == "D" else 0.55)
    return _play(ctx, score, voice)


def _folk_percussion(ctx: _Ctx) -> list[_Part]:
    """Stomp and clap, a shaker, or nothing."""
    r, kit = ctx.rng, ctx.kit
    percussion = r.random()
    if percussion < 0.3:
        stomp, _ = _drums(ctx, kit.kick, "X.......X.......")
        clap, _ = _drums(ctx, kit.clap, "....x.......x...")
        return [
            _Part(_filter(stomp, "low", 300, ctx.sr), -6, 0.15, drums=True),
            _Part(clap, -10, 0.3, drums=True),
        ]
    if percussion < 0.6:
        shaker, _ = _drums(ctx, kit.shaker, "x.o.x.o.x.o.x.o.")
        return [_Part(shaker, -16, 0.2, drums=True)]
    return []


# -- Reggae


def _one_drop(ctx: _Ctx, *, steppers: float = 0.3, echo: tuple[float, float] = (0.3, 0.5)) -> list[_Part]:
    """One drop (kick and rim together on beat 3) or steppers (kick on every beat), hats, dub echo on the rim."""
    r, kit = ctx.rng, ctx.kit
    kick, _ = _drums(ctx, kit.kick, "X...X...X...X..." if r.random() < steppers else "........X.......")
    backbeat = _fill_bars(ctx, "........X.......", "........X.....o.", 0.4)
    rim, _ = _drums(ctx, _pick(r, [kit.rim, kit.rim, kit.snare]), backbeat)
    hat, _ = _drums(ctx, kit.hat, _pick(r, ["x.x.x.x.x.x.x.x.", "x.xox.xox.xox.xo", "o.x.o.x.o.x.o.x."]))
    dub = _echo(ctx, rim, 3 * ctx.sixteenth, r.uniform(*echo))
    return [
        _Part(kick, -1, 0.05, drums=True),
        _Part(dub, -4, 0.35, drums=True),
        _Part(hat, -13, 0.1, drums=True),
    ]


def _skank(ctx: _Ctx, voice: _Voice, steps: list[tuple[int, float]], *, mask=None) -> np.ndarray:
    """Short off-beat chords (the reggae 'skank', the ska 'upstroke')."""
    return _play(ctx, _chords(ctx, steps, lo=60, size=3, spread=0.006, mask=mask), voice)


def _bubble(ctx: _Ctx) -> _Part:
    """The organ 'bubble' on the 16th off-beats."""
    steps = [(s, 0.7) for s in (2, 3, 6, 7, 10, 11, 14, 15)]
    return _Part(_play(ctx, _chords(ctx, steps, lo=55, size=3), _organ(ctx.tim)), -11, 0.2)


def _reggae_bass(ctx: _Ctx, *, half_time: bool = False) -> np.ndarray:
    """A deep, melodic, syncopated bass riff over the chord roots; over two bars when ``half_time``."""
    r, tim = ctx.rng, ctx.tim
    voice = _Synth(
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
    stretch = 2 if half_time else 1  # in half time, a 16th of the riff lasts an 8th
    bass = _Score()
    for start in range(0, ctx.bars, stretch):
        for i, s in enumerate(onsets):
            nxt = onsets[i + 1] if i + 1 < len(onsets) else 18
            bar, step = divmod(s * stretch, 16)
            bar += start
            pitch = ctx.pitch(ctx.degree(bar) + offsets[i], 31) if offsets[i] != 7 else ctx.root(bar, 31) + 12
            bass.add(ctx.time(bar, step), min(nxt - s, 3) * stretch * ctx.sixteenth * 0.9, pitch, 0.9)
    return _play(ctx, bass, voice)


def _melodica(tim: np.random.Generator) -> _Synth:
    return _Synth(
        _pick(tim, ["square", "saw"]),
        cutoff=tim.uniform(1800, 3000),
        attack=0.03,
        sustain=0.8,
        release=0.08,
        vibrato=20,
    )


# -- Drum & Bass

_DNB_KICKS = ["X.........X.....", "X.........x.X...", "X.....X...X.....", "X.x.......X....."]
_DNB_SNARES = ["..o.X..o.o..X..o", "....X..o....X.o.", "....X.o..o..X..o", "o...X..o.o..X.oo"]


def _breakbeat(ctx: _Ctx, *, chop: float = 0.3, ride: float = 0.35) -> list[_Part]:
    """Fast two-step breakbeat with ghost snares, re-chopped in a share ``chop`` of the bars; 16th hats."""
    r, kit = ctx.rng, ctx.kit
    ka, sa = _pick(r, _DNB_KICKS), _pick(r, _DNB_SNARES)
    chopped = [
        (_pick(r, _DNB_KICKS), _pick(r, _DNB_SNARES)) if r.random() < chop else (ka, sa)
        for _ in range(ctx.bars)
    ]
    kick, _ = _drums(ctx, kit.kick, [k for k, _ in chopped])
    snare, _ = _drums(ctx, kit.snare, [s for _, s in chopped])
    hats = ["x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.xx", "xoxoxoxoxoxoxoxo"]
    hat, _ = _drums(ctx, kit.hat, ctx.by_energy(hats))
    parts = [
        _Part(kick, 0.0, 0.05, drums=True),
        _Part(snare, 0.0, 0.2, drums=True),
        _Part(hat, -11, 0.08, drums=True),
    ]
    if r.random() < ride:
        cymbal, _ = _drums(ctx, kit.ride, "x...x...x...x...", ctx.blocks(0.6))
        parts.append(_Part(cymbal, -16, 0.2, drums=True))
    return parts


def _reese(tim: np.random.Generator) -> _Synth:
    """Detuned saws, dark and growling."""
    return _Synth(
        "saw",
        detune=(-tim.uniform(12, 25), tim.uniform(12, 25)),
        cutoff=tim.uniform(300, 800),
        drive=tim.uniform(1.0, 2.5),
        attack=0.02,
        sustain=1.0,
        release=0.1,
        sub=0.5,
    )


def _dnb_bass(ctx: _Ctx, voice: _Voice) -> np.ndarray:
    """Long notes over two bars: the root, then a push an octave, fifth or third away."""
    bass = _Score()
    for bar in range(0, ctx.bars, 2):
        root = ctx.root(bar, 28)
        bass.add(ctx.time(bar, 0), ctx.sixteenth * 22, root, 1.0)
        bass.add(ctx.time(bar + 1, 8), ctx.sixteenth * 6, root + _pick(ctx.rng, [0, 12, 7, 3]), 0.9)
    return _play(ctx, bass, voice)


# ---------------------------------------------------------------------------- sub-styles
# One composer per sub-style: it sets the harmony and returns the song's parts.


def _deep_house(ctx: _Ctx) -> list[_Part]:
    """Deep house: four-on-the-floor, off-beat bass, warm organ or electric-piano stabs, sometimes a pad."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 6), (0, 3), (1, 4), (0, 5, 3, 4), (1, 0)])
    ctx.bars_per_chord = _pick(r, [1, 2, 2])
    parts, kicks = _four_floor(ctx, clap=0.7)
    pump = _duck(ctx, kicks, depth=r.uniform(0.2, 0.5))
    rolling = r.random() < 0.3
    steps = [2, 3, 6, 10, 11, 14] if rolling else [2, 6, 10, 14]
    parts.append(_Part(_dance_bass(ctx, _synth_bass(tim), steps) * pump, -3, 0.02))
    keys = _pick(tim, [_organ(tim), _epiano(tim), _epiano(tim)])
    parts.append(_Part(_stabs(ctx, keys, size=4) * pump, -8, 0.3))
    if r.random() < 0.4:
        parts.append(_Part(_play(ctx, _held_chords(ctx, lo=57, size=4), _pad(tim)) * pump, -12, 0.4))
    return parts


def _techno(ctx: _Ctx) -> list[_Part]:
    """Techno: relentless kick, 16th hats, an acid riff or a dark rolling bass, little harmony, a hypnotic sequence."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0,), (0,), (0, 6), (0, 5)])
    ctx.bars_per_chord = 4
    parts, kicks = _four_floor(ctx, clap=0.5)
    ride, _ = _drums(ctx, ctx.kit.ride, "..x...x...x...x.", ctx.blocks(0.5))
    parts.append(_Part(ride, -17, 0.1, drums=True))
    pump = _duck(ctx, kicks, depth=r.uniform(0.4, 0.8))
    if r.random() < 0.5:
        parts.append(_Part(_acid(ctx), -5, 0.1))
    else:
        rumble = _dance_bass(ctx, _synth_bass(tim), [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15], gate=0.8)
        parts.append(_Part(_filter(rumble, "low", 300, ctx.sr) * pump, -3, 0.05))
    if r.random() < 0.5:  # one minor chord stab through a long echo (dub techno)
        stab = _echo(ctx, _stabs(ctx, _saw_stab(tim), size=3, p=0.7), 3 * ctx.sixteenth, 0.55, taps=6)
        parts.append(_Part(stab, -11, 0.4))
    parts += _arpeggio(
        ctx, _Synth("square", cutoff=tim.uniform(1200, 2500), decay=0.08, sustain=0.0), lo=57, p=0.4
    )
    return parts


def _synth_pop(ctx: _Ctx) -> list[_Part]:
    """Synth-pop: drum machine with a backbeat, 8th-note octave bass, bright pad, arpeggio, a singable lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (0, 3, 4, 4)])
    ctx.bars_per_chord = 1
    parts = _synth_pop_drums(ctx)
    parts.append(
        _Part(
            _dance_bass(ctx, _synth_bass(tim), list(range(0, 16, 2)), octave=(2, 6, 10, 14), gate=1.2),
            -4,
            0.05,
        )
    )
    parts.append(_Part(_play(ctx, _held_chords(ctx, lo=60, size=3), _pad(tim, attack=(0.01, 0.1))), -9, 0.3))
    parts += _arpeggio(ctx, _arp_voice(tim), p=0.5)
    lead = _pick(
        tim,
        [
            _Synth("square", cutoff=tim.uniform(2500, 5000), attack=0.01, sustain=0.8, vibrato=12),
            _saw_stab(tim),
        ],
    )
    parts += _lead(ctx, lead, level=-6, lo=67, density=0.45, mask=ctx.blocks(0.7, first=False), p=0.85)
    return parts


def _ambient_techno(ctx: _Ctx) -> list[_Part]:
    """Ambient techno (Electronic + Ambient): a felt four-on-the-floor under swelling pads, a drone and bells."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 5), (0, 3), (5, 3), (0, 2, 3, 5)])
    ctx.bars_per_chord = 2
    parts, kicks = _four_floor(ctx, clap=0.3, soft=True)
    pump = _duck(ctx, kicks, depth=r.uniform(0.2, 0.5), release=0.25)
    parts.append(
        _Part(
            _dance_bass(ctx, _Synth("sine", decay=0.2, sustain=0.6, release=0.05), [2, 6, 10, 14]) * pump,
            -5,
            0.05,
        )
    )
    pads = _swell_pads(ctx, cutoff=(800, 2500))
    parts.append(_Part(pads.signal * pump, -2, 0.6))
    parts.append(_drone(ctx))
    parts.append(_bells(ctx, _pick(tim, [_bell(tim), _epiano(tim)]), p_note=r.uniform(0.1, 0.3)))
    return parts


def _boom_bap(ctx: _Ctx) -> list[_Part]:
    """Boom-bap: swung hats, syncopated kick, hard snare on 2 and 4, sub bass, jazzy keys, sometimes lo-fi."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3), (1, 4), (0, 5), (5, 4), (0, 6, 5, 3)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    parts, kicks = _boom_bap_drums(ctx)
    parts.append(_Part(_bass_on_kicks(ctx, kicks, _sub(tim)), -2, 0.0))
    keys = _pick(tim, [_epiano(tim), _epiano(tim), _piano(tim), _guitar(tim), _organ(tim)])
    parts.append(_Part(_keys_comp(ctx, keys), -7, 0.2))
    lead = _pick(
        tim,
        [
            _FM(ratio=3.5, index=1.5, index_decay=0.2, decay=1.0),
            _Synth("triangle", attack=0.03, sustain=0.8, vibrato=20, cutoff=3000),
        ],
    )
    parts += _lead(
        ctx, lead, level=-11, lo=67, density=0.25, mask=ctx.blocks(0.6, first=False), span=7, p=0.6
    )
    _lo_fi(ctx, 0.4)
    return parts


def _lo_fi_hip_hop(ctx: _Ctx) -> list[_Part]:
    """Lo-fi hip-hop: lazy soft drums, warbling electric piano in 7th chords, tape and vinyl, a sparse melody."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(1, 4, 0, 0), (0, 5, 1, 4), (3, 2, 1, 0), (1, 4), (3, 4, 2, 5)])
    ctx.bars_per_chord = 1
    parts, kicks = _boom_bap_drums(ctx, soft=True)
    parts.append(_Part(_bass_on_kicks(ctx, kicks, _pick(tim, [_sub(tim), _upright(tim)])), -4, 0.0))
    keys = _pick(tim, [_epiano(tim), _piano(tim), _nylon(tim)])
    chords = _play(ctx, _chords(ctx, [(0, 15.0)], lo=55, size=4, spread=0.03), keys)
    wobble = 1.0 + 0.15 * np.sin(
        2 * np.pi * r.uniform(0.3, 0.8) * np.arange(ctx.n, dtype=np.float32) / ctx.sr
    )
    parts.append(_Part(chords * wobble.astype(np.float32), -4, 0.3))
    parts += _lead(
        ctx,
        _pick(tim, [_epiano(tim), _nylon(tim), _flute(tim)]),
        level=-12,
        lo=67,
        density=0.18,
        span=7,
        p=0.5,
    )
    ctx.master_cutoff = r.uniform(2500, 5000)
    ctx.crackle = r.uniform(0.005, 0.015)
    return parts


def _trap(ctx: _Ctx) -> list[_Part]:
    """Trap: half-time drums with hat rolls, a long distorted 808 on the kicks, a dark bell or pluck loop."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0,), (0, 5), (0, 5, 6, 5), (0, 3)])
    ctx.bars_per_chord = 2
    parts, kicks = _trap_drums(ctx)
    parts.append(
        _Part(_bass_on_kicks(ctx, kicks, _sub(tim, drop=tim.uniform(2, 7)), longest=12, moves=0.2), 0.0, 0.0)
    )
    loop = _pick(tim, [_bell(tim), _Pluck(damping=4.0, brightness=0.1, partials=8), _flute(tim)])
    parts += _lead(ctx, loop, level=-9, lo=67, density=0.3, span=7, p=0.9, phrase_bars=2)
    if r.random() < 0.5:
        parts.append(_Part(_play(ctx, _held_chords(ctx, lo=55, size=3), _pad(tim)), -14, 0.4))
    return parts


def _jazz_hop(ctx: _Ctx) -> list[_Part]:
    """Jazz-hop (Hip-Hop + Jazz): boom-bap drums with a ride, walking upright bass, jazz piano, a horn."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4)])
    ctx.bars_per_chord = 1
    parts, _ = _boom_bap_drums(ctx, ride=r.random() < 0.6)
    parts.append(_Part(_walking_bass(ctx, _upright(tim)), -3, 0.1))
    comping = _pick(tim, [_piano(tim), _epiano(tim)])
    parts.append(
        _Part(_play(ctx, _chords(ctx, _pick(r, _CHARLESTON), lo=53, size=4, spread=0.004), comping), -7, 0.2)
    )
    parts += _lead(ctx, _horn(tim), level=-8, lo=62, density=0.35, legato=0.85, mask=ctx.blocks(0.6), p=0.7)
    _lo_fi(ctx, 0.5)
    return parts


def _hard_rock(ctx: _Ctx) -> list[_Part]:
    """Hard rock: backbeat drums with crashes and fills, distorted power chords, picked bass, a guitar solo."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4), (0, 6, 5, 6), (0, 3, 0, 4)])
    ctx.bars_per_chord = 1
    parts = _rock_drums(ctx, "rock")
    parts.append(_Part(_power_chords(ctx, _distorted_guitar(tim)), -4, 0.15))
    parts.append(_Part(_root_notes(ctx, _electric_bass(tim), _EIGHTHS), -5, 0.02))
    if r.random() < 0.3:  # organ or piano behind the guitars
        keys = _pick(tim, [_organ(tim), _piano(tim)])
        parts.append(
            _Part(_play(ctx, _held_chords(ctx, lo=55, size=3, mask=ctx.blocks(0.6)), keys), -12, 0.2)
        )
    parts += _lead(
        ctx, _lead_guitar(tim), level=-8, lo=64, density=0.35, mask=ctx.blocks(0.6, first=False), p=0.6
    )
    return parts


def _punk(ctx: _Ctx) -> list[_Part]:
    """Punk: fast and loud, downpicked 8th-note power chords, 8th bass, few solos."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3, 4, 3), (0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    parts = _rock_drums(ctx, "punk")
    parts.append(_Part(_power_chords(ctx, _distorted_guitar(tim, drive=(8, 20)), eighths=True), -2, 0.1))
    parts.append(_Part(_root_notes(ctx, _electric_bass(tim), _EIGHTHS), -5, 0.02))
    parts += _lead(
        ctx, _lead_guitar(tim), level=-9, lo=64, density=0.3, mask=ctx.blocks(0.4, first=False), p=0.25
    )
    return parts


def _rock_ballad(ctx: _Ctx) -> list[_Part]:
    """Rock ballad: slow half-time drums, piano or clean guitar arpeggios, held organ, a singing guitar lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 2, 3, 4)])
    ctx.bars_per_chord = 1
    parts = _rock_drums(ctx, "ballad")
    arpeggio = _pick(tim, [_piano(tim), _guitar(tim, mute=0.3)])
    order = _pick(r, [[0, 1, 2, 3, 4, 3, 2, 1], [0, 2, 1, 3, 2, 4, 3, 5]])
    parts.append(_Part(_broken_chords(ctx, arpeggio, lo=52, order=order), -3, 0.3))
    parts.append(_Part(_root_notes(ctx, _electric_bass(tim), [(0, 7.5, 0), (8, 7.5, 0)]), -6, 0.05))
    if r.random() < 0.6:
        pad = _pick(tim, [_organ(tim), _pad(tim, attack=(0.3, 1.0))])
        parts.append(_Part(_play(ctx, _held_chords(ctx, lo=55, size=3, mask=ctx.blocks(0.6)), pad), -13, 0.3))
    if r.random() < 0.5:  # the chorus kicks in: distorted chords in some blocks
        riff = _power_chords(
            ctx, _distorted_guitar(tim, drive=(2, 6)), palm=0.0, mask=ctx.blocks(0.4, first=False)
        )
        parts.append(_Part(riff, -8, 0.3))
    parts += _lead(
        ctx,
        _lead_guitar(tim),
        level=-7,
        lo=64,
        density=0.25,
        legato=1.0,
        max_beats=4,
        mask=ctx.blocks(0.6),
        p=0.7,
    )
    return parts


def _folk_rock(ctx: _Ctx) -> list[_Part]:
    """Folk rock (Rock + Folk): a band's light backbeat under strummed acoustic guitar, electric bass, fiddle or organ."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3, 4, 0), (0, 4, 5, 3), (0, 3, 0, 4), (5, 3, 0, 4)])
    ctx.bars_per_chord = 1
    parts = _rock_drums(ctx, "light")
    parts.append(_Part(_strum(ctx, _guitar(tim)), -2, 0.2))
    parts.append(
        _Part(
            _root_notes(ctx, _electric_bass(tim), [(0, 3.5, 0), (6, 1.5, 0), (8, 3.5, 7), (12, 3.5, 0)]),
            -5,
            0.05,
        )
    )
    if r.random() < 0.4:  # a lightly driven electric guitar in the choruses
        riff = _power_chords(ctx, _distorted_guitar(tim, drive=(1.5, 4)), palm=0.0, mask=ctx.blocks(0.5))
        parts.append(_Part(riff, -10, 0.2))
    tune = _pick(tim, [_fiddle(tim), _organ(tim), _lead_guitar(tim), _flute(tim)])
    parts += _lead(
        ctx, tune, level=-6, lo=67, density=0.35, legato=0.95, mask=ctx.blocks(0.7, first=False), p=0.8
    )
    return parts


def _swing(ctx: _Ctx) -> list[_Part]:
    """Swing: ride 'spang-a-lang', hi-hat on 2 and 4, walking bass, comping piano, a horn."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4), (0, 3, 1, 4)])
    ctx.bars_per_chord = 1
    parts = _swing_drums(ctx)
    parts.append(_Part(_walking_bass(ctx, _upright(tim)), -3, 0.1))
    comping = _pick(tim, [_piano(tim), _piano(tim), _epiano(tim), _guitar(tim)])
    parts.append(
        _Part(_play(ctx, _chords(ctx, _pick(r, _CHARLESTON), lo=53, size=4, spread=0.004), comping), -8, 0.2)
    )
    first = r.random() < 0.5
    parts += _lead(
        ctx,
        _horn(tim),
        level=-7,
        send=0.25,
        lo=62,
        density=0.45,
        legato=0.85,
        mask=ctx.blocks(0.7, first=first),
        p=0.75,
    )
    return parts


def _jazz_ballad(ctx: _Ctx) -> list[_Part]:
    """Jazz ballad: slow brushes, bass in two, rolled piano chords held over the bar, a breathy horn."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4), (3, 2, 1, 4)])
    ctx.bars_per_chord = 1
    parts = _swing_drums(ctx, brushes=True)
    parts.append(_Part(_walking_bass(ctx, _upright(tim), two_feel=True), -4, 0.15))
    piano = _pick(tim, [_piano(tim), _piano(tim), _epiano(tim)])
    rolled = _chords(
        ctx, _pick(r, [[(0, 14.0)], [(0, 7.0), (8, 7.0)], [(0, 10.0), (10, 5.0)]]), lo=53, size=4, spread=0.03
    )
    parts.append(_Part(_play(ctx, rolled, piano), -5, 0.35))
    horn = _pick(tim, [_horn(tim), _flute(tim)])
    parts += _lead(
        ctx,
        horn,
        level=-6,
        send=0.4,
        lo=62,
        density=0.2,
        legato=1.0,
        max_beats=4,
        mask=ctx.blocks(0.7),
        p=0.85,
    )
    return parts


def _bossa_nova(ctx: _Ctx) -> list[_Part]:
    """Bossa nova: rim clave and shaker, root-fifth bass, syncopated nylon-guitar chords, a flute."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 1, 4, 0), (1, 4, 0, 0), (0, 3, 1, 4), (1, 4, 2, 5)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    parts = _bossa_drums(ctx)
    parts.append(
        _Part(
            _root_notes(ctx, _upright(tim), [(0, 5.5, 0), (6, 1.5, 7), (8, 5.5, 7), (14, 1.5, 0)], lo=33),
            -3,
            0.1,
        )
    )
    comp = [(0, 2.0), (3, 2.0), (6, 2.0), (10, 2.0), (13, 2.0)]
    guitar = _pick(tim, [_nylon(tim), _nylon(tim), _epiano(tim)])
    parts.append(_Part(_play(ctx, _chords(ctx, comp, lo=55, size=4, spread=0.008), guitar), -5, 0.2))
    parts += _lead(
        ctx,
        _pick(tim, [_flute(tim), _horn(tim)]),
        level=-8,
        lo=67,
        density=0.3,
        legato=0.95,
        mask=ctx.blocks(0.7),
        p=0.7,
    )
    return parts


def _jazz_fusion(ctx: _Ctx) -> list[_Part]:
    """Jazz fusion (Jazz + Rock): funky rock drums, busy electric bass, electric piano, an overdriven lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3), (1, 4), (0, 6), (5, 4), (1, 2, 3, 4)])
    ctx.bars_per_chord = 2
    parts = _rock_drums(ctx, "funk")
    line = [(0, 1.5, 0), (3, 1.0, 12), (6, 1.5, 7), (8, 1.0, 0), (10, 1.5, 10), (13, 1.0, 12), (14, 1.5, 7)]
    parts.append(_Part(_root_notes(ctx, _electric_bass(tim), line), -3, 0.05))
    rhythm = [(0, 3.0), (6, 2.0), (10, 4.0)]
    parts.append(_Part(_play(ctx, _chords(ctx, rhythm, lo=53, size=4, spread=0.005), _epiano(tim)), -6, 0.25))
    lead = _pick(
        tim,
        [_lead_guitar(tim), _Synth("square", cutoff=3500, attack=0.01, sustain=0.8, vibrato=20, drive=2.0)],
    )
    parts += _lead(ctx, lead, level=-6, lo=64, density=0.6, span=12, mask=ctx.blocks(0.7, first=False), p=0.9)
    return parts


def _ethereal(ctx: _Ctx) -> list[_Part]:
    """Ethereal ambient: slowly swelling pads, a low drone, sparse bells, wind; rarely a soft pulse."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 3), (0, 5), (5, 3), (0, 4), (0, 2, 3, 5)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    parts = [_swell_pads(ctx), _drone(ctx)]
    parts.append(
        _bells(ctx, _pick(tim, [_bell(tim), _epiano(tim), _guitar(tim)]), p_note=r.uniform(0.1, 0.4))
    )
    if r.random() < 0.5:
        parts.append(_wind(ctx))
    if r.random() < 0.2:  # a soft pulse
        pulse, _ = _drums(ctx, _pick(r, [kit.shaker, kit.brush, kit.rim]), "x.......o.......")
        parts.append(_Part(pulse, -18, 0.7, drums=True))
    return parts


def _drone_ambient(ctx: _Ctx) -> list[_Part]:
    """Drone: a deep tonic and fifth held throughout, dark slow pads, wind; almost nothing moves."""
    r = ctx.rng
    ctx.progression = _pick(r, [(0,), (0, 5), (0, 3)])
    ctx.bars_per_chord = 4
    parts = [
        _drone(ctx, fifth=True, level=-2),
        _swell_pads(ctx, cutoff=(300, 800), lo=43),
        _wind(ctx, level=-18),
    ]
    if r.random() < 0.3:  # a distant bell now and then
        parts.append(_bells(ctx, _bell(ctx.tim), p_note=0.05, lo=60))
    return parts


def _new_age(ctx: _Ctx) -> list[_Part]:
    """New age: harp-like broken chords in a major key, a soft pad, a slow flute, bells."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3, 4, 0), (0, 4, 5, 3), (3, 4, 0, 0), (0, 5, 3, 4)])
    ctx.bars_per_chord = 2
    harp = _pick(
        tim, [_guitar(tim, mute=0.5), _piano(tim), _Pluck(damping=1.0, brightness=0.03, position=0.3)]
    )
    order = _pick(r, [[0, 1, 2, 3, 4, 5, 4, 3], [0, 2, 4, 5, 3, 1, 2, 4]])
    parts = [_Part(_broken_chords(ctx, harp, lo=55, order=order, gate=8.0), -2, 0.5)]
    parts.append(_Part(_play(ctx, _held_chords(ctx, lo=48, size=3), _pad(tim, attack=(0.5, 1.5))), -9, 0.6))
    parts += _lead(
        ctx,
        _flute(tim),
        level=-7,
        send=0.6,
        lo=72,
        density=0.15,
        legato=1.0,
        max_beats=4,
        mask=ctx.blocks(0.6),
        p=0.6,
    )
    if r.random() < 0.5:
        parts.append(_bells(ctx, _bell(tim), p_note=r.uniform(0.05, 0.2), lo=79))
    return parts


def _downtempo(ctx: _Ctx) -> list[_Part]:
    """Downtempo (Ambient + Hip-Hop): a soft, swung hip-hop beat and sub bass under pads and electric piano."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 5), (1, 4), (0, 3), (5, 3, 0, 4)])
    ctx.bars_per_chord = 2
    parts, kicks = _boom_bap_drums(ctx, soft=True)
    parts.append(_Part(_bass_on_kicks(ctx, kicks, _sub(tim)), -4, 0.0))
    parts.append(_swell_pads(ctx, cutoff=(800, 2500)))
    parts.append(_Part(_keys_comp(ctx, _epiano(tim)), -7, 0.4))
    if r.random() < 0.5:
        parts.append(_bells(ctx, _pick(tim, [_bell(tim), _guitar(tim)]), p_note=r.uniform(0.1, 0.3)))
    return parts


def _fingerstyle(ctx: _Ctx) -> list[_Part]:
    """Fingerstyle folk: a finger-picked guitar (or piano), sometimes upright bass, a flute or harmonium tune."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3, 4, 0), (0, 4, 5, 3), (0, 3, 0, 4), (5, 3, 0, 4), (0, 5, 3, 4)])
    ctx.bars_per_chord = 1
    strings = _piano(tim) if tim.random() < 0.2 else _guitar(tim)
    parts = [_Part(_fingerpick(ctx, strings), 0.0, 0.2)]
    if r.random() < 0.4:
        parts.append(_Part(_root_notes(ctx, _upright(tim), [(0, 6, 0), (8, 6, 7)], lo=33), -6, 0.1))
    tune = _pick(tim, [_flute(tim), _organ(tim)])  # flute, or a harmonium stand-in
    parts += _lead(
        ctx,
        tune,
        level=-6,
        send=0.25,
        lo=67,
        density=0.35,
        legato=0.95,
        mask=ctx.blocks(0.7, first=False),
        p=0.6,
    )
    if r.random() < 0.3:
        shaker, _ = _drums(ctx, ctx.kit.shaker, "x.o.x.o.x.o.x.o.")
        parts.append(_Part(shaker, -18, 0.2, drums=True))
    return parts


def _celtic(ctx: _Ctx) -> list[_Part]:
    """Celtic: a jig's lilt, bodhrán, droning guitar strums, a busy fiddle tune doubled by a whistle."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 6), (0, 3, 0, 4), (0, 6, 0, 4), (5, 3, 0, 4), (0, 0, 6, 6)])
    ctx.bars_per_chord = 1
    bodhran, _ = _drums(ctx, kit.tom, _pick(r, ["X.o.x.o.X.o.x.o.", "X.x.o.x.X.x.o.x.", "X...x.o.X...x.o."]))
    parts = [_Part(bodhran, -6, 0.2, drums=True)]
    parts.append(_Part(_strum(ctx, _guitar(tim)), -6, 0.2))
    melody = _melody(
        ctx, lo=67, density=0.75, legato=0.95, span=9, mask=ctx.blocks(0.85, first=r.random() < 0.6)
    )
    parts.append(_Part(_play(ctx, melody, _fiddle(tim)), -3, 0.3))
    if r.random() < 0.5:  # the whistle doubles the tune an octave up
        whistle = _Score()
        whistle.notes = [(t, g, p + 12, v * 0.8) for t, g, p, v in melody.notes]
        parts.append(_Part(_play(ctx, whistle, _flute(tim)), -10, 0.3))
    return parts


def _bluegrass(ctx: _Ctx) -> list[_Part]:
    """Bluegrass: banjo rolls, mandolin chops on 2 and 4, upright bass on 1 and 3, a fiddle; no drums."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3, 0, 4), (0, 0, 3, 4), (0, 4, 0, 0), (0, 3, 4, 0)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    roll = _pick(r, [[0, 1, 2, 0, 1, 2, 0, 1], [0, 2, 4, 0, 2, 4, 3, 1], [2, 1, 0, 2, 1, 0, 4, 3]])
    banjo = _Score()
    for bar in range(ctx.bars):
        tones = ctx.chord(bar, 55, 3) + ctx.chord(bar, 67, 2)
        for s in range(16):
            banjo.add(ctx.time(bar, s), ctx.sixteenth * 2, tones[roll[s % 8]], 0.9 if s % 4 == 0 else 0.7)
    parts = [_Part(_play(ctx, banjo, _banjo(tim)), -3, 0.15)]
    chop = _Pluck(damping=12.0, brightness=0.02, position=0.15, partials=10, release=0.02)
    parts.append(
        _Part(_play(ctx, _chords(ctx, [(4, 1.0), (12, 1.0)], lo=62, size=3, spread=0.004), chop), -7, 0.15)
    )
    parts.append(_Part(_root_notes(ctx, _upright(tim), [(0, 3.5, 0), (8, 3.5, 7)], lo=33), -4, 0.1))
    parts += _lead(
        ctx,
        _fiddle(tim),
        level=-6,
        lo=67,
        density=0.55,
        legato=0.95,
        mask=ctx.blocks(0.6, first=False),
        p=0.75,
    )
    return parts


def _folktronica(ctx: _Ctx) -> list[_Part]:
    """Folktronica (Folk + Electronic): finger-picked guitar over a drum machine, a pulsing synth bass and pads."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 5, 3, 4), (5, 3, 0, 4), (0, 3), (0, 4, 5, 3)])
    ctx.bars_per_chord = 2
    parts = [_Part(_fingerpick(ctx, _pick(tim, [_guitar(tim), _nylon(tim)])), -1, 0.25)]
    if r.random() < 0.5:  # a soft four-on-the-floor, or a drum machine's backbeat
        drums, kicks = _four_floor(ctx, clap=0.6, soft=True)
    else:
        drums, kicks = _synth_pop_drums(ctx), []
    parts += drums
    pump = _duck(ctx, kicks, depth=r.uniform(0.2, 0.5))
    parts.append(_Part(_dance_bass(ctx, _synth_bass(tim), [0, 3, 6, 8, 11, 14], gate=1.0) * pump, -6, 0.05))
    parts.append(_Part(_play(ctx, _held_chords(ctx, lo=57, size=3), _pad(tim)) * pump, -12, 0.4))
    parts += _arpeggio(ctx, _arp_voice(tim), p=0.4)
    return parts


def _roots(ctx: _Ctx) -> list[_Part]:
    """Roots reggae: one-drop drums, off-beat skank and organ bubble, deep melodic bass, dub echo, a melodica."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 3), (0, 4), (0, 3, 0, 4), (5, 3), (0, 6)])
    ctx.bars_per_chord = _pick(r, [1, 2])
    parts = _one_drop(ctx)
    skank = _pick(tim, [_guitar(tim, mute=0.03), _epiano(tim), _piano(tim)])
    parts.append(_Part(_skank(ctx, skank, [(4, 0.8), (12, 0.8)]), -5, 0.3))
    if r.random() < 0.65:
        parts.append(_bubble(ctx))
    parts.append(_Part(_reggae_bass(ctx), 0.0, 0.02))
    parts += _lead(
        ctx, _melodica(tim), level=-9, send=0.4, lo=67, density=0.3, mask=ctx.blocks(0.6, first=False), p=0.45
    )
    return parts


def _dub(ctx: _Ctx) -> list[_Part]:
    """Dub: the bass up front, drums and skank dropping in and out through long echoes and a big spring."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0,), (0, 3), (0, 6), (0, 4)])
    ctx.bars_per_chord = _pick(r, [2, 4])
    parts = _one_drop(ctx, steppers=0.4, echo=(0.55, 0.75))
    skank = _skank(
        ctx, _pick(tim, [_guitar(tim, mute=0.03), _piano(tim)]), [(4, 0.8), (12, 0.8)], mask=ctx.blocks(0.5)
    )
    delay = _pick(r, [3, 6]) * ctx.sixteenth
    parts.append(_Part(_echo(ctx, skank, delay, r.uniform(0.5, 0.7), taps=6), -8, 0.6))
    parts.append(_Part(_reggae_bass(ctx), 2.0, 0.0))
    if r.random() < 0.3:
        parts += _lead(
            ctx, _melodica(tim), level=-12, send=0.7, lo=67, density=0.2, mask=ctx.blocks(0.4, first=False)
        )
    ctx.master_cutoff = r.uniform(3000, 7000) if r.random() < 0.5 else None
    return parts


def _ska(ctx: _Ctx) -> list[_Part]:
    """Ska: upbeat chords on every off-beat, walking bass, a driving backbeat, a horn section."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 3, 4, 0), (0, 5, 3, 4), (0, 4), (0, 3, 0, 4)])
    ctx.bars_per_chord = 1
    kick, _ = _drums(ctx, kit.kick, "X.......X.......")
    snare, _ = _drums(ctx, kit.snare, _fill_bars(ctx, "....X.......X...", "....X...X.XXXXXX", 0.4))
    hat, _ = _drums(ctx, kit.hat, ctx.by_energy(["x.x.x.x.x.x.x.x.", "x.X.x.X.x.X.x.X."]))
    parts = [
        _Part(kick, -2, 0.05, drums=True),
        _Part(snare, -2, 0.25, drums=True),
        _Part(hat, -12, 0.1, drums=True),
    ]
    upstroke = _pick(tim, [_guitar(tim, mute=0.02), _piano(tim), _organ(tim)])
    parts.append(_Part(_skank(ctx, upstroke, [(2, 0.8), (6, 0.8), (10, 0.8), (14, 0.8)]), -4, 0.25))
    parts.append(_Part(_walking_bass(ctx, _pick(tim, [_upright(tim), _electric_bass(tim)])), -3, 0.05))
    section = _Synth(
        "saw", intervals=(0, -5), cutoff=tim.uniform(1800, 3000), attack=0.03, sustain=0.7, release=0.06
    )
    parts += _lead(ctx, section, level=-6, lo=64, density=0.4, mask=ctx.blocks(0.7, first=False), p=0.85)
    return parts


def _dancehall(ctx: _Ctx) -> list[_Part]:
    """Dancehall (Reggae + Hip-Hop): hip-hop drums and 808 with the riddim's 3-3-2 rim, reggae bass and skank."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0, 5), (0, 6), (0, 3, 5, 4), (0,)])
    ctx.bars_per_chord = 2
    parts, kicks = _boom_bap_drums(ctx)
    riddim, _ = _drums(ctx, kit.rim, _pick(r, ["...x..x....x..x.", "...x..x.....x..."]))
    parts.append(_Part(riddim, -9, 0.2, drums=True))
    parts.append(_Part(_bass_on_kicks(ctx, kicks, _sub(tim, drop=tim.uniform(0, 4))), -4, 0.0))
    parts.append(_Part(_reggae_bass(ctx), -2, 0.02))
    stab = _pick(
        tim, [_guitar(tim, mute=0.03), _organ(tim), _Synth("square", cutoff=2500, decay=0.1, sustain=0.1)]
    )
    parts.append(_Part(_skank(ctx, stab, [(4, 0.8), (12, 0.8)], mask=ctx.blocks(0.8)), -6, 0.25))
    lead = _pick(tim, [_melodica(tim), _bell(tim)])
    parts += _lead(ctx, lead, level=-10, lo=67, density=0.3, mask=ctx.blocks(0.5, first=False), p=0.4)
    return parts


def _neurofunk(ctx: _Ctx) -> list[_Part]:
    """Neurofunk: tight, precise breaks, a heavily driven reese bass, metallic stabs; dark, no pads."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0,), (0, 5), (0, 6)])
    ctx.bars_per_chord = _pick(r, [2, 4])
    parts = _breakbeat(ctx, chop=0.15, ride=0.2)
    parts.append(_Part(_dnb_bass(ctx, _reese(tim)), -1, 0.02))
    if r.random() < 0.6:  # metallic stabs in the gaps
        metal = _FM(
            ratio=_pick(tim, [1.41, 2.76, 3.5]),
            index=tim.uniform(4, 8),
            index_decay=0.05,
            decay=0.2,
            release=0.05,
        )
        steps = [(int(s), 1.0) for s in sorted(r.choice([3, 6, 7, 11, 14, 15], size=3, replace=False))]
        parts.append(
            _Part(_play(ctx, _chords(ctx, steps, lo=60, size=1, mask=ctx.blocks(0.6)), metal), -10, 0.2)
        )
    return parts


def _liquid(ctx: _Ctx) -> list[_Part]:
    """Liquid drum & bass: rolling breaks with a ride, round sub bass, lush pads or electric piano, a soft lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 5), (1, 4, 0, 5), (0, 3, 5, 6), (0, 5, 6, 4)])
    ctx.bars_per_chord = 2
    parts = _breakbeat(ctx, chop=0.25, ride=0.7)
    parts.append(
        _Part(
            _dnb_bass(
                ctx, _Synth("sine", drive=tim.uniform(0.5, 1.5), attack=0.01, sustain=1.0, release=0.08)
            ),
            -3,
            0.02,
        )
    )
    keys = _pick(tim, [_pad(tim, attack=(0.2, 0.8)), _epiano(tim)])
    parts.append(_Part(_play(ctx, _held_chords(ctx, lo=57, size=4), keys), -7, 0.5))
    parts += _lead(
        ctx,
        _Synth("triangle", attack=0.05, sustain=0.8, vibrato=25, cutoff=3000),
        level=-10,
        send=0.5,
        lo=67,
        density=0.25,
        mask=ctx.blocks(0.5, first=False),
        p=0.5,
    )
    return parts


def _halftime(ctx: _Ctx) -> list[_Part]:
    """Halftime: drum & bass tempo with the snare on beat 3 only, sparse hats, a wobbling bass."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = _pick(r, [(0,), (0, 5), (0, 6)])
    ctx.bars_per_chord = 4
    kick, _ = _drums(ctx, kit.kick, _pick(r, ["X.........X.....", "X.......X.X.....", "X..........X...."]))
    snare, _ = _drums(ctx, kit.snare, _fill_bars(ctx, "........X.......", "........X.....XX", 0.3))
    hat, _ = _drums(ctx, kit.hat, ctx.by_energy(["x...x...x...x...", "x.x.x.x.x.x.x.x."]))
    parts = [
        _Part(kick, 0.0, 0.05, drums=True),
        _Part(snare, 0.0, 0.3, drums=True),
        _Part(hat, -13, 0.1, drums=True),
    ]
    t = np.arange(ctx.n, dtype=np.float32) / np.float32(ctx.sr)
    rate = _pick(r, [1, 2, 3]) / (4 * ctx.sixteenth)  # wobbles per beat
    wobble = (0.55 + 0.45 * np.sin(np.float32(2 * np.pi * rate) * t)).astype(np.float32)
    parts.append(_Part(_dnb_bass(ctx, _reese(tim)) * wobble, -1, 0.02))
    if r.random() < 0.4:
        parts.append(_Part(_play(ctx, _held_chords(ctx, lo=57, size=3), _pad(tim)), -13, 0.5))
    return parts


def _jungle(ctx: _Ctx) -> list[_Part]:
    """Jungle (Drum & Bass + Reggae): chopped breaks under a half-time reggae bass, skank and dub echoes."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = _pick(r, [(0, 5), (0, 3, 5, 6), (0, 6), (0, 3)])
    ctx.bars_per_chord = 2
    parts = _breakbeat(ctx, chop=0.7, ride=0.3)
    parts.append(_Part(_reggae_bass(ctx, half_time=True), 0.0, 0.02))
    voice = _pick(tim, [_guitar(tim, mute=0.03), _organ(tim), _piano(tim)])
    skank = _skank(ctx, voice, [(4, 0.8), (12, 0.8)], mask=ctx.blocks(0.8))
    parts.append(_Part(_echo(ctx, skank, 3 * ctx.sixteenth, r.uniform(0.4, 0.6)), -5, 0.4))
    lead = _melodica(tim)
    parts += _lead(
        ctx, lead, level=-9, send=0.5, lo=67, density=0.25, mask=ctx.blocks(0.5, first=False), p=0.5
    )
    return parts


_S = SubStyle
# Tempo ranges overlap on purpose, across genres as well as inside them: tempo alone
# must not give a genre away. Four sub-styles per genre, the last one a hybrid.
SUBSTYLES: tuple[SubStyle, ...] = (
    _S("Deep House", "Electronic", _deep_house, (118, 125), 0.6, (0.52, 0.58), reverb=(0.8, 1.6)),
    _S("Techno", "Electronic", _techno, (126, 138), 0.9),
    _S("Synth-pop", "Electronic", _synth_pop, (100, 124), 0.3),
    _S(
        "Ambient Techno", "Electronic", _ambient_techno, (110, 124), 0.7, reverb=(2.0, 3.5), borrows="Ambient"
    ),
    _S("Boom Bap", "Hip-Hop", _boom_bap, (84, 98), 0.6, (0.54, 0.64), humanise=0.006, reverb=(0.4, 1.0)),
    _S("Lo-fi", "Hip-Hop", _lo_fi_hip_hop, (68, 86), 0.5, (0.58, 0.66), humanise=0.008),
    _S("Trap", "Hip-Hop", _trap, (130, 150), 0.9, reverb=(0.4, 1.0)),
    _S("Jazz-Hop", "Hip-Hop", _jazz_hop, (82, 96), 0.4, (0.58, 0.66), humanise=0.007, borrows="Jazz"),
    _S("Hard Rock", "Rock", _hard_rock, (108, 140), 0.5, humanise=0.005, reverb=(0.5, 1.2)),
    _S("Punk", "Rock", _punk, (160, 196), 0.3, humanise=0.004, reverb=(0.3, 0.8)),
    _S("Rock Ballad", "Rock", _rock_ballad, (60, 78), 0.4, (0.5, 0.54), 2, 0.006, (1.2, 2.2)),
    _S("Folk Rock", "Rock", _folk_rock, (96, 128), 0.25, (0.5, 0.56), 2, 0.007, borrows="Folk"),
    _S("Swing", "Jazz", _swing, (130, 200), 0.3, (0.6, 0.68), 2, 0.007),
    _S("Jazz Ballad", "Jazz", _jazz_ballad, (54, 76), 0.4, (0.6, 0.68), 2, 0.01, (1.0, 2.0)),
    _S("Bossa Nova", "Jazz", _bossa_nova, (116, 144), 0.4, humanise=0.005, reverb=(0.6, 1.3)),
    _S(
        "Jazz Fusion",
        "Jazz",
        _jazz_fusion,
        (100, 128),
        0.5,
        humanise=0.004,
        reverb=(0.6, 1.2),
        borrows="Rock",
    ),
    _S("Ethereal", "Ambient", _ethereal, (60, 90), 0.5, (0.5, 0.5), reverb=(2.5, 4.5)),
    _S("Drone", "Ambient", _drone_ambient, (50, 70), 0.7, (0.5, 0.5), reverb=(3.0, 5.0)),
    _S("New Age", "Ambient", _new_age, (66, 92), 0.15, (0.5, 0.52), 2, 0.006, (1.5, 3.0)),
    _S(
        "Downtempo",
        "Ambient",
        _downtempo,
        (78, 98),
        0.6,
        (0.54, 0.6),
        1,
        0.005,
        (1.5, 3.0),
        borrows="Hip-Hop",
    ),
    _S("Fingerstyle", "Folk", _fingerstyle, (72, 108), 0.35, (0.5, 0.58), 2, 0.008, (0.6, 1.5)),
    _S("Celtic", "Folk", _celtic, (100, 126), 0.4, (0.62, 0.67), 2, 0.006, (0.8, 1.6)),
    _S("Bluegrass", "Folk", _bluegrass, (104, 138), 0.1, humanise=0.004, reverb=(0.4, 1.0)),
    _S(
        "Folktronica",
        "Folk",
        _folktronica,
        (98, 122),
        0.5,
        (0.5, 0.56),
        1,
        0.004,
        (1.0, 2.2),
        borrows="Electronic",
    ),
    _S("Roots", "Reggae", _roots, (66, 84), 0.4, (0.52, 0.62), 1, 0.005, (0.6, 1.5)),
    _S("Dub", "Reggae", _dub, (62, 80), 0.6, (0.52, 0.6), 1, 0.004, (1.5, 3.0)),
    _S("Ska", "Reggae", _ska, (112, 150), 0.3, (0.52, 0.58), 2, 0.006),
    _S(
        "Dancehall",
        "Reggae",
        _dancehall,
        (88, 104),
        0.7,
        (0.5, 0.54),
        1,
        0.003,
        (0.4, 1.0),
        borrows="Hip-Hop",
    ),
    _S("Neurofunk", "Drum & Bass", _neurofunk, (172, 178), 0.95, reverb=(0.5, 1.2)),
    _S("Liquid", "Drum & Bass", _liquid, (168, 176), 0.5, (0.5, 0.54), reverb=(1.0, 2.0)),
    _S("Halftime", "Drum & Bass", _halftime, (168, 176), 0.9, (0.5, 0.5)),
    _S(
        "Jungle", "Drum & Bass", _jungle, (160, 170), 0.7, (0.5, 0.56), 1, 0.003, (0.8, 1.8), borrows="Reggae"
    ),
)
_SUBSTYLE = {s.name: s for s in SUBSTYLES}
assert len(_SUBSTYLE) == len(SUBSTYLES) and {s.genre for s in SUBSTYLES} == set(STYLES)


def substyles(genre: str) -> tuple[SubStyle, ...]:
    """The sub-styles of one genre (one of ``STYLES``), hybrids last."""
    return tuple(s for s in SUBSTYLES if s.genre == genre)


# ---------------------------------------------------------------------------- mixing and render


def _reverb_ir(ctx: _Ctx) -> np.ndarray:
    """Exponentially decaying, darkened noise: a plausible room; float32, unit energy."""
    t60 = ctx.rng.uniform(*ctx.style.reverb)
    t = _seconds(min(t60, 3.0), ctx.sr)
    tail = _filter(_noise(ctx.rng, t), "low", ctx.rng.uniform(2500, 7000), ctx.sr) * np.exp(-6.9 * t / t60)
    ir = np.concatenate([np.zeros(int(ctx.rng.uniform(0.005, 0.03) * ctx.sr)), tail]).astype(np.float32)
    return ir / np.sqrt(np.sum(ir**2))


def _mix(ctx: _Ctx, parts: list[_Part]) -> np.ndarray:
    """Sum parts at their levels (each varied a little), add reverb, noise, master; (n,) peak <= 1.

    The song's energy pushes the drums forward, dries the mix, brightens and compresses the
    master; a calm song sits back, darker and roomier.
    """
    push = ctx.energy - 0.5  # -0.5 .. 0.5
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
        level = part.level + ctx.rng.normal(0.0, 2.0) + (8.0 * push if part.drums else 0.0)
        gain = np.float32(10.0 ** (level / 20.0) / rms)
        dry += gain * x
        send += (gain * part.send * (1.0 - 0.8 * push)) * x
    y = dry + 0.5 * signal.fftconvolve(send, _reverb_ir(ctx))[: ctx.n]
    # Every record is mastered differently: tilt the spectrum, sometimes dull the top.
    low, high = 10.0 ** ((ctx.rng.uniform(-4.0, 4.0, 2) + [0.0, 8.0 * push]) / 20.0) - 1.0
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
    drive = ctx.rng.uniform(1.0, 2.0) + 1.5 * push  # glue compression, different per song
    return np.tanh(np.float32(drive) * y) / np.float32(np.tanh(drive) / ctx.rng.uniform(0.6, 0.95))


def render(song: DemoSong, *, sr: int = 22_050, seconds: float = 30.0) -> np.ndarray:
    """Synthesise one song: float32 mono (round(sr * seconds),), peak <= 1, deterministic."""
    style = _SUBSTYLE.get(song.substyle)
    if style is None or style.genre != song.genre:
        raise UserInputError(
            f"Unknown demo style {song.genre!r} / {song.substyle!r}; expected a genre of "
            f"{', '.join(STYLES)} and one of its sub-styles."
        )
    if sr < 8000 or seconds <= 0:
        raise UserInputError(f"Cannot render at sr={sr} Hz for {seconds} s (need sr >= 8000, seconds > 0).")
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
    y = _mix(ctx, style.compose(ctx))
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


def _plan(seed: int, sr: int, seconds: float) -> dict:
    """What the songs' sound depends on (their files are the same for the same plan)."""
    return {
        "seed": int(seed),
        "sr": int(sr),
        "seconds": float(seconds),
        "version": SYNTH_VERSION,
        "format": audio_format(),
        "source": "demo (synthesised)",
    }


def plan_folder(root: Path, *, seed: int = 0, sr: int = 22_050, seconds: float = 30.0) -> Path:
    """The folder below ``root`` for the songs of one plan: ``seed-<seed>-<digest of the plan>``.

    A build renders into the folder of its own plan, beside the one the catalog in use
    plays from, never into it: a cancelled build leaves the catalog's songs as they were,
    and a build of the same plan finds its songs already there.
    """
    plan = json.dumps(_plan(seed, sr, seconds), sort_keys=True)
    return Path(root) / f"seed-{int(seed)}-{hashlib.sha256(plan.encode()).hexdigest()[:10]}"


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
    # Its workers end with this process, even when it is killed (they would wait for ever).
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=leave_with_parent,
        initargs=(os.getpid(),),
    )  # fmt: skip
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
    plan = _plan(seed, sr, seconds)
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
