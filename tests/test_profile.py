"""Tests of personal recommendations: profile vectors, "for you", continuing a playlist, song paths."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np
import pytest

from recommender.catalog import Catalog
from recommender.errors import UserInputError
from recommender.index import SimilarityIndex
from recommender.profile import (
    LIKE_WEIGHT,
    Recommendation,
    continue_playlist,
    profile_vector,
    recommend_for_user,
)
from recommender.song_path import song_path
from recommender.sources.base import Track
from recommender.store import Store

GENRES = ("Jazz", "Pop", "Rock")
ARTISTS_PER_GENRE = 3
SONGS_PER_ARTIST = 4
DIM = 16
NOW = datetime(2025, 6, 1, 12, 0)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.fixture
def world(tmp_path, rng):
    """A catalog of 36 songs: 3 genres far apart, 3 artists per genre close together, 4 songs each.

    Returns ``(store, index, info)`` where info maps track_id -> (genre, artist) and holds the centres.
    """
    genre_centres = unit(rng.standard_normal((len(GENRES), DIM))) * 3.0
    vectors, ids, genres, tracks, info = [], [], [], [], {}
    track_id = 100
    for g, genre in enumerate(GENRES):
        for a in range(ARTISTS_PER_GENRE):
            artist_centre = genre_centres[g] + rng.standard_normal(DIM)
            artist = f"{genre} Artist {a}"
            for s in range(SONGS_PER_ARTIST):
                track_id += 1
                vectors.append(artist_centre + 0.15 * rng.standard_normal(DIM))
                ids.append(track_id)
                genres.append(genre)
                info[track_id] = (genre, artist)
                tracks.append(
                    Track(
                        track_id,
                        f"{artist} song {s}",
                        artist,
                        "LP",
                        genre,
                        "training",
                        "/x.wav",
                        "demo",
                        30.0,
                    )
                )
    index = SimilarityIndex().fit(unit(np.array(vectors)).astype(np.float32), np.array(ids), np.array(genres))
    store = Store(tmp_path / "musicrec.duckdb")
    store.write_tracks(tracks)
    info["centres"] = {genre: unit(genre_centres[g]) for g, genre in enumerate(GENRES)}
    return store, index, info


def songs(info, genre: str) -> list[int]:
    return sorted(t for t, v in info.items() if t != "centres" and v[0] == genre)


def closest_genre(vector: np.ndarray, info) -> str:
    return max(GENRES, key=lambda g: float(vector @ info["centres"][g]))


# ---------------------------------------------------------------------------- profile vector
def test_no_history_means_no_profile_vector(world):
    store, index, _ = world
    assert profile_vector(store, index, "newcomer") is None


def test_profile_vector_weights_recent_plays_likes_and_playlists(world):
    store, index, info = world
    jazz, pop, rock = songs(info, "Jazz"), songs(info, "Pop"), songs(info, "Rock")
    store.record_play("ann", rock[0], at=NOW)
    store.record_play("ann", rock[0], at=NOW - timedelta(days=14))  # one half-life ago: weight 0.5
    store.record_play("ann", pop[0], at=NOW - timedelta(days=28))  # two half-lives: 0.25
    store.like("ann", jazz[0])
    store.create_playlist("ann", "mix", [jazz[1], rock[0]])

    vector = profile_vector(store, index, "ann", now=NOW, half_life_days=14.0)

    weights = {rock[0]: 1.0 + 0.5 + 1.0, pop[0]: 0.25, jazz[0]: LIKE_WEIGHT, jazz[1]: 1.0}
    expected = unit(sum(w * index.vector(t).astype(np.float64) for t, w in weights.items()))
    assert vector.dtype == np.float32 and vector.shape == (DIM,)
    np.testing.assert_allclose(vector, expected, atol=1e-5)


def test_recent_plays_outweigh_old_ones_and_likes_outweigh_plays(world):
    store, index, info = world
    jazz, rock = songs(info, "Jazz"), songs(info, "Rock")
    for t in jazz[:3]:
        store.record_play("old", t, at=NOW - timedelta(days=120))
    store.record_play("old", rock[0], at=NOW)
    assert closest_genre(profile_vector(store, index, "old", now=NOW), info) == "Rock"

    store.record_play("fan", rock[0], at=NOW)
    store.record_play("fan", rock[1], at=NOW)
    store.like("fan", jazz[0])  # one like (3x) beats two plays of today
    assert closest_genre(profile_vector(store, index, "fan", now=NOW), info) == "Jazz"


def test_profiles_are_isolated(world):
    store, index, info = world
    store.record_play("ann", songs(info, "Pop")[0], at=NOW)
    before = profile_vector(store, index, "ann", now=NOW)
    for t in songs(info, "Rock"):
        store.record_play("bob", t, at=NOW)
        store.like("bob", t)
    np.testing.assert_array_equal(profile_vector(store, index, "ann", now=NOW), before)
    assert closest_genre(before, info) == "Pop"


# ---------------------------------------------------------------------------- for you
def test_recommendations_exclude_recent_plays_and_likes_but_not_old_plays(world):
    store, index, info = world
    rock = songs(info, "Rock")
    store.record_play("ann", rock[0], at=NOW)
    store.record_play("ann", rock[1], at=NOW - timedelta(days=40))  # older than recent_days=30
    store.like("ann", rock[2])

    recs, cold = recommend_for_user(store, index, "ann", k=12, genre="Rock", recent_days=30, now=NOW)

    ids = [r.track_id for r in recs]
    assert cold is False
    assert rock[0] not in ids and rock[2] not in ids
    assert rock[1] in ids
    assert sorted(ids) == sorted(set(rock) - {rock[0], rock[2]})  # all the rest of the genre, no repeats
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    assert all(isinstance(r, Recommendation) and r.reason for r in recs)


def test_recommendations_are_near_the_profile_and_say_why(world):
    store, index, info = world
    liked = songs(info, "Pop")[0]
    store.like("ann", liked)
    recs, cold = recommend_for_user(store, index, "ann", k=3, now=NOW)
    assert not cold
    assert [info[r.track_id][0] for r in recs] == ["Pop"] * 3
    assert info[recs[0].track_id][1] == info[liked][1]  # the liked song's artist sounds closest
    title = store.track(liked)["title"]
    assert recs[0].reason == f'because you liked "{title}"'
    profile = profile_vector(store, index, "ann", now=NOW)
    assert recs[0].score == pytest.approx(float(profile @ index.vector(recs[0].track_id)), abs=1e-5)


def test_genre_filter_applies_even_against_the_profile(world):
    store, index, info = world
    store.record_play("ann", songs(info, "Rock")[0], at=NOW)
    recs, _ = recommend_for_user(store, index, "ann", k=5, genre="Jazz", now=NOW)
    assert len(recs) == 5
    assert {info[r.track_id][0] for r in recs} == {"Jazz"}
    with pytest.raises(UserInputError, match="unknown genre 'Polka'"):
        recommend_for_user(store, index, "ann", genre="Polka")


def test_one_per_artist_keeps_each_artists_best_song_and_still_returns_k(world):
    store, index, info = world
    store.like("ann", songs(info, "Jazz")[0])
    plain, _ = recommend_for_user(store, index, "ann", k=4, now=NOW)
    assert len({info[r.track_id][1] for r in plain}) < 4  # without the option, artists repeat

    recs, _ = recommend_for_user(store, index, "ann", k=4, one_per_artist=True, now=NOW)
    artists = [info[r.track_id][1] for r in recs]
    assert len(recs) == 4 and len(set(artists)) == 4
    assert recs[0] == plain[0]  # the best song is still first
    best_by_artist = {}
    for r in recommend_for_user(store, index, "ann", k=35, now=NOW)[0]:
        best_by_artist.setdefault(info[r.track_id][1], r.track_id)
    assert all(best_by_artist[info[r.track_id][1]] == r.track_id for r in recs)


def test_cold_start_picks_popular_songs_round_robin_across_genres(world):
    store, index, info = world
    jazz, pop, rock = songs(info, "Jazz"), songs(info, "Pop"), songs(info, "Rock")
    for user in ("x", "y", "z"):
        store.record_play(user, rock[5])
    store.record_play("x", jazz[7])
    store.record_play("y", jazz[7])
    store.record_play("x", pop[2])

    recs, cold = recommend_for_user(store, index, "newcomer", k=6, now=NOW)

    assert cold is True
    assert [r.track_id for r in recs[:3]] == [rock[5], jazz[7], pop[2]]  # most played genre first
    assert all("popular" in r.reason and "no history" in r.reason for r in recs[:3])
    assert [info[r.track_id][0] for r in recs] == ["Rock", "Jazz", "Pop"] * 2  # round-robin
    assert all("typical" in r.reason for r in recs[3:])


def test_cold_start_without_any_plays_is_diverse_and_deterministic(world):
    store, index, info = world
    first, cold = recommend_for_user(store, index, "newcomer", k=6)
    again, _ = recommend_for_user(store, index, "newcomer", k=6)
    assert cold and first == again
    assert sorted(info[r.track_id][0] for r in first[:3]) == sorted(GENRES)
    one_artist_each, _ = recommend_for_user(store, index, "newcomer", k=9, one_per_artist=True)
    assert len({info[r.track_id][1] for r in one_artist_each}) == 9
    rock_only, _ = recommend_for_user(store, index, "newcomer", k=4, genre="Rock")
    assert {info[r.track_id][0] for r in rock_only} == {"Rock"}


def test_cold_start_still_excludes_likes_of_songs_outside_the_index(world, tmp_path):
    store, index, info = world
    store.add_track(Track(999, "Not embedded", "Nobody", "LP", "Rock", "test", "/y.wav", "upload"))
    store.like("ann", 999)  # a song the index does not know: no profile vector
    recs, cold = recommend_for_user(store, index, "ann", k=36)
    assert cold and 999 not in [r.track_id for r in recs]
    assert len(recs) == 36


@pytest.mark.parametrize("k", [0, -1, 2.5, "3", None])
def test_bad_k_is_rejected(world, k):
    store, index, _ = world
    with pytest.raises(UserInputError, match="k must be"):
        recommend_for_user(store, index, "ann", k=k)


# ---------------------------------------------------------------------------- playlists
def test_continue_playlist_follows_its_songs_and_excludes_them(world):
    store, index, info = world
    jazz = songs(info, "Jazz")
    store.create_playlist("ann", "Late Night", jazz[:3])
    recs = continue_playlist(store, index, "ann", "late night", k=5)
    ids = [r.track_id for r in recs]
    assert len(ids) == 5 and not set(ids) & set(jazz[:3])
    assert {info[t][0] for t in ids} == {"Jazz"}
    assert all(r.reason.endswith('in playlist "late night"') for r in recs)
    pop_only = continue_playlist(store, index, "ann", "Late Night", k=3, genre="Pop")
    assert {info[r.track_id][0] for r in pop_only} == {"Pop"}


def test_continue_playlist_errors(world):
    store, index, _ = world
    store.create_playlist("ann", "empty")
    with pytest.raises(UserInputError, match="is empty"):
        continue_playlist(store, index, "ann", "empty")
    with pytest.raises(UserInputError, match="no playlist named 'nope'"):
        continue_playlist(store, index, "ann", "nope")
    with pytest.raises(UserInputError, match="no playlist named 'empty'"):
        continue_playlist(store, index, "bob", "empty")  # another profile's playlist


# ---------------------------------------------------------------------------- song path
@pytest.fixture
def curve_index(rng):
    """150 songs along a smooth closed curve in 12-D (plus noise), ids in curve order from 1."""
    t = np.linspace(0, 2 * np.pi, 150, endpoint=False)
    freqs = rng.integers(1, 3, size=12)
    phases = rng.uniform(0, 2 * np.pi, size=12)
    points = np.cos(t[:, None] * freqs[None, :] + phases[None, :]) + 0.05 * rng.standard_normal((150, 12))
    points += 2.0 * unit(rng.standard_normal(12))  # keep every point away from the origin
    order = rng.permutation(150)  # the index must not rely on the ids' order
    return SimilarityIndex().fit(unit(points[order]).astype(np.float32), order + 1, None)


def mean_step_distance(index, path: list[int]) -> float:
    vectors = np.stack([index.vector(t) for t in path]).astype(np.float64)
    return float(np.mean(1.0 - np.sum(vectors[1:] * vectors[:-1], axis=1)))


def test_song_path_walks_smoothly_from_start_to_end(curve_index, rng):
    path = song_path(curve_index, 1, 40, steps=10)
    ids = [t for t, _ in path]
    assert ids[0] == 1 and ids[-1] == 40
    assert len(ids) == 10 and len(set(ids)) == 10
    assert path[0][1] == 1.0
    for (prev, _), (cur, score) in zip(path, path[1:], strict=False):
        assert score == pytest.approx(float(curve_index.vector(prev) @ curve_index.vector(cur)), abs=1e-5)

    middle = [t for t in range(2, 151) if t != 40]
    random_paths = [[1, *rng.choice(middle, size=8, replace=False).tolist(), 40] for _ in range(50)]
    random_mean = np.mean([mean_step_distance(curve_index, p) for p in random_paths])
    assert mean_step_distance(curve_index, ids) < 0.5 * random_mean
    # The walk follows the curve: its songs come from the stretch between the two ends, in order.
    assert np.corrcoef(np.arange(10), ids)[0, 1] > 0.9


def test_song_path_of_two_steps_and_between_opposite_songs():
    assert [t for t, _ in song_path(_opposites_index(), 1, 2, steps=2)] == [1, 2]
    path = song_path(_opposites_index(), 1, 2, steps=4)
    assert [t for t, _ in path][0] == 1 and path[-1][0] == 2 and len({t for t, _ in path}) == 4


def test_a_path_longer_than_the_catalog_is_refused():
    with pytest.raises(UserInputError, match="needs a catalog of at least 6; it has 5"):
        song_path(_opposites_index(), 1, 2, steps=6)


def _opposites_index() -> SimilarityIndex:
    v = np.eye(4, dtype=np.float32)
    vectors = np.stack([v[0], -v[0], v[1], -v[1], v[2]])
    return SimilarityIndex().fit(vectors, np.arange(1, 6), None)


@pytest.mark.parametrize(
    ("from_id", "to_id", "steps", "message"),
    [
        (1, 1, 5, "two different songs"),
        (1, 9999, 5, "no track with id 9999"),
        (9999, 1, 5, "no track with id 9999"),
        (1, 2, 1, "at least 2 steps"),
        (1, 2, 101, "at most 100 songs"),
    ],
)
def test_song_path_errors(curve_index, from_id, to_id, steps, message):
    with pytest.raises(UserInputError, match=message):
        song_path(curve_index, from_id, to_id, steps=steps)


def lowest_score(path: list[tuple[int, float]]) -> float:
    """The path's largest step: the lowest cosine between two songs in a row."""
    return min(score for _, score in path[1:])


@pytest.fixture
def arc_index(rng):
    """61 songs evenly spaced on a half circle of latitude (angle 0 to 180°) in 8-D; ids 1..61 in arc order.

    The great circle between the two ends runs over the pole, far from every song: a path that
    follows the songs must bend along the arc. Two songs 3° of arc apart have cosine
    0.36·cos(3°) + 0.64 (the circle has radius 0.6 at height 0.8).
    """
    theta = np.linspace(0.0, np.pi, 61)
    points = np.zeros((61, 8))
    points[:, 0], points[:, 1], points[:, 2] = 0.6 * np.cos(theta), 0.6 * np.sin(theta), 0.8
    points[:, 3:] = 0.01 * rng.standard_normal((61, 5))
    order = rng.permutation(61)  # the index must not rely on the ids' order
    return SimilarityIndex().fit(unit(points[order]).astype(np.float32), order + 1, None)


@pytest.mark.parametrize("steps", [3, 5, 8, 12])
def test_a_path_follows_a_curved_arc_of_songs_in_even_steps(arc_index, steps):
    path = song_path(arc_index, 1, 61, steps=steps)
    ids = [t for t, _ in path]
    assert ids == sorted(ids)  # along the arc, never back
    # The best a path of equal steps along the arc can do, one grid step (3°) of slack:
    ideal = 0.36 * np.cos(np.pi / (steps - 1) + np.radians(3)) + 0.64
    direct = float(arc_index.vector(1) @ arc_index.vector(61))
    assert direct == pytest.approx(0.28, abs=0.01)
    assert lowest_score(path) >= ideal > direct + 0.3


def test_a_path_on_the_demo_catalog_steps_through_the_songs_between(built_home):
    """On the tiny demo catalog (3 songs per genre, one artist per genre)."""
    catalog = Catalog.open(built_home)
    index, store = catalog.index, catalog.store
    tracks = catalog.tracks().set_index("track_id")
    artist, genre = tracks["artist"].str.casefold(), tracks["genre"]
    ids = index.track_ids_.tolist()
    vectors = {t: index.vector(t).astype(np.float64) for t in ids}

    def cos(u: int, v: int) -> float:
        return float(vectors[u] @ vectors[v])

    improved = 0
    for a, b in itertools.combinations(ids, 2):
        # Three songs: the largest step is the best that any one song in between gives (the search is exact).
        best = max(min(cos(a, w), cos(w, b)) for w in ids if w not in (a, b))
        if best > cos(a, b):
            assert lowest_score(song_path(index, a, b, steps=3)) == pytest.approx(best, abs=1e-6)
            improved += 1
        # Eight songs from one genre to another, no artist twice in a row: wherever the catalog has
        # the six songs in between, the largest step is clearly smaller than the direct jump.
        between = [
            w
            for w in ids
            if w not in (a, b)
            and artist[w] not in (artist[a], artist[b])
            and min(cos(a, w), cos(w, b)) > cos(a, b)
        ]
        if genre[a] != genre[b] and len(between) >= 6 and (a + b) % 2:  # half of them: the test stays fast
            path = song_path(index, a, b, steps=8, store=store)
            assert lowest_score(path) > cos(a, b) + 0.1, (a, b)
            assert all(artist[u] != artist[v] for (u, _), (v, _) in zip(path, path[1:], strict=False))
            improved += 1
    assert improved > 100


def test_no_artist_twice_in_a_row_where_the_catalog_allows(world, tmp_path):
    store, index, info = world
    start, end = songs(info, "Jazz")[0], songs(info, "Rock")[0]
    by = {t: v[1] for t, v in info.items() if t != "centres"}
    anyone = [t for t, _ in song_path(index, start, end, steps=12)]
    assert any(
        by[u] == by[v] for u, v in zip(anyone, anyone[1:], strict=False)
    )  # the songs of an artist are close
    path = [t for t, _ in song_path(index, start, end, steps=12, store=store)]
    assert path[0] == start and path[-1] == end and len(set(path)) == 12
    assert all(by[u] != by[v] for u, v in zip(path, path[1:], strict=False))
    # One artist only: the catalog allows nothing else, and the path is still made.
    alone = Store(tmp_path / "alone.duckdb")
    alone.write_tracks(
        [Track(t, f"song {t}", "Solo", "LP", v[0], "training", "/x.wav", "demo") for t, v in by.items()]
    )
    assert len(song_path(index, start, end, steps=12, store=alone)) == 12


# ---------------------------------------------------------------------------- exact copies
@pytest.fixture
def copies_world(tmp_path, rng):
    """3 genres, each 6 identical files (one song) plus 6 distinct songs: ids g*100 + 1..6 are the copies."""
    vectors, ids, genres, tracks = [], [], [], []
    for g, genre in enumerate(GENRES):
        centre = rng.standard_normal(DIM) * 2.0
        song = centre + 0.3 * rng.standard_normal(DIM)
        for i in range(12):
            track_id = (g + 1) * 100 + i + 1
            vectors.append(song if i < 6 else centre + 0.3 * rng.standard_normal(DIM))
            ids.append(track_id)
            genres.append(genre)
            tracks.append(
                Track(
                    track_id, f"{genre} {i}", f"{genre} artist {i}", "LP", genre, "training", "/x.wav", "demo"
                )
            )
    index = SimilarityIndex().fit(unit(np.array(vectors)).astype(np.float32), np.array(ids), np.array(genres))
    store = Store(tmp_path / "musicrec.duckdb")
    store.write_tracks(tracks)
    return store, index


def copy_of(track_id: int) -> bool:
    return track_id % 100 <= 6


def test_a_copy_of_a_played_or_liked_song_is_not_recommended(copies_world):
    store, index = copies_world
    store.record_play("ann", 101, at=NOW)
    recs, cold = recommend_for_user(store, index, "ann", k=10, now=NOW)
    assert not cold and len(recs) == 10
    assert not [r.track_id for r in recs if 100 < r.track_id <= 106]  # the 5 other copies of the song played
    store.like("bob", 204)
    recs, _ = recommend_for_user(store, index, "bob", k=20, now=NOW)
    assert len(recs) == 20 and not [r.track_id for r in recs if 200 < r.track_id <= 206]


@pytest.mark.parametrize("one_per_artist", [False, True])
def test_no_list_holds_two_copies_of_a_song(copies_world, one_per_artist):
    store, index = copies_world
    store.record_play("ann", 110, at=NOW)  # a distinct Jazz song: the Jazz copies are near the profile
    recs, _ = recommend_for_user(store, index, "ann", k=15, one_per_artist=one_per_artist, now=NOW)
    cold, is_cold = recommend_for_user(store, index, "newcomer", k=15, one_per_artist=one_per_artist)
    assert is_cold
    for found in (recs, cold):
        ids = [r.track_id for r in found]
        assert len(ids) == 15
        assert len({t // 100 for t in ids if copy_of(t)}) == len([t for t in ids if copy_of(t)])


def test_continuing_a_playlist_never_offers_a_copy_of_its_songs(copies_world):
    store, index = copies_world
    store.create_playlist("ann", "Mix", [102, 204])
    ids = [r.track_id for r in continue_playlist(store, index, "ann", "Mix", k=10)]
    assert len(ids) == 10 and not [t for t in ids if copy_of(t) and t // 100 in (1, 2)]


def test_a_path_never_steps_onto_a_copy_of_a_song_it_used(copies_world):
    store, index = copies_world
    path = [t for t, _ in song_path(index, 101, 301, steps=12)]
    assert len(path) == 12 and path[0] == 101 and path[-1] == 301
    groups = [t // 100 for t in path if copy_of(t)]
    assert len(groups) == len(set(groups))  # 101 and 301 only: no copy of either in between
    with pytest.raises(UserInputError, match="needs 25 different songs"):
        song_path(index, 101, 301, steps=25)  # 36 songs, but 15 of them copies: 21 different ones
