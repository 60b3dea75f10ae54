"""The catalog plan: artists, albums, splits and every song's seed, tempo, key and energy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recommender.errors import UserInputError
from recommender.sources.base import SPLITS
from recommender.sources.demo.names import (
    ALBUM_PATTERNS,
    ARTIST_EXTRA,
    ARTIST_PATTERNS,
    TAG_ALBUM,
    TAG_ARTIST,
    TAG_NAME,
    TAG_SONG,
    TAG_SPLIT,
    TAG_SUBSTYLE,
    TAG_TITLE,
    TITLE_EXTRA,
    TITLE_PATTERNS,
    seeded_rng,
    unique_name,
)
from recommender.sources.demo.sequencing import SubStyle
from recommender.sources.demo.songs import DEFAULT_TRACKS, STYLES, DemoSong
from recommender.sources.demo.styles import substyles


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
    rng = seeded_rng(seed, TAG_ARTIST, genre, j)
    return int(rng.integers(3, 8)), float(rng.uniform()), int(rng.integers(2**31)), float(rng.uniform())


def _artist_substyles(seed: int, genre: int, j: int, n_albums: int) -> list[SubStyle]:
    """The sub-style of each of an artist's albums.

    Every run of as many artists as the genre has sub-styles covers them all (so each
    sub-style has artists in any catalog of a few dozen songs per genre); a second album
    stays in the first one's sub-style or, one time in three, moves to another.
    """
    options = substyles(STYLES[genre])
    block, offset = divmod(j, len(options))
    first = int(seeded_rng(seed, TAG_SUBSTYLE, genre, block).permutation(len(options))[offset])
    rng = seeded_rng(seed, TAG_SUBSTYLE, genre, block, offset)
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
            name = unique_name(ARTIST_PATTERNS + ARTIST_EXTRA[style], taken, seed, TAG_NAME, g, j)
            if j < len(shapes[g]):
                n_songs, tempo, timbre, energy = shapes[g][j]
                artists[g].append(_Artist(name, n_songs, tempo, energy, timbre))
    for g, row in enumerate(artists):
        for j, artist in enumerate(row):
            sizes = [artist.n_songs] if artist.n_songs < 5 else [3, artist.n_songs - 3]
            own: set[str] = set()
            artist.album_substyles = _artist_substyles(seed, g, j, len(sizes))
            artist.albums = [
                f"{unique_name(ALBUM_PATTERNS, own, seed, TAG_ALBUM, g, j, k)} ({sub.name})"
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
        val, test = (int(x) for x in seeded_rng(seed, TAG_SPLIT, genre, block).choice(10, 2, replace=False))
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
        title = unique_name(TITLE_PATTERNS + TITLE_EXTRA[style], taken, seed, TAG_TITLE, g, j, i)
        album = 0 if i < artist.album_sizes[0] else len(artist.albums) - 1
        sub = artist.album_substyles[album]
        rng = seeded_rng(seed, TAG_SONG, track_id)
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
