"""Tests for recommender.evaluate: classifier report, retrieval precision@k and its baselines."""

from __future__ import annotations

import json

import librosa
import numpy as np
import pytest

from recommender.evaluate import (
    classification_report,
    evaluation_summary,
    genre_precision_at_k,
    mfcc_baseline_vectors,
    mfcc_stats,
    random_precision_at_k,
    retrieval_report,
)

GENRES = ["Rock", "Jazz", "Folk"]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def one_hot_proba(predicted: list[str], genres: list[str]) -> np.ndarray:
    proba = np.full((len(predicted), len(genres)), 0.1)
    for i, g in enumerate(predicted):
        proba[i, genres.index(g)] = 0.8
    return proba


def test_classification_report_hand_made():
    truth = ["Rock", "Rock", "Rock", "Rock", "Jazz", "Jazz", "Folk"]
    guess = ["Rock", "Rock", "Jazz", "Folk", "Jazz", "Rock", "Folk"]
    report = classification_report(truth, one_hot_proba(guess, GENRES), GENRES)
    assert report["accuracy"] == pytest.approx(4 / 7)
    assert report["n"] == 7
    assert report["per_genre"] == {
        "Rock": {"accuracy": 0.5, "n": 4},
        "Jazz": {"accuracy": 0.5, "n": 2},
        "Folk": {"accuracy": 1.0, "n": 1},
    }
    #                         predicted: Rock Jazz Folk
    assert report["confusion"] == [[2, 1, 1], [1, 1, 0], [0, 0, 1]]
    assert report["genres"] == GENRES
    json.dumps(report)  # plain Python types only


def test_classification_report_genre_without_tracks_and_empty():
    report = classification_report(["Rock"], one_hot_proba(["Jazz"], GENRES), GENRES)
    assert report["accuracy"] == 0.0
    assert report["per_genre"]["Folk"] == {"accuracy": None, "n": 0}
    empty = classification_report([], np.zeros((0, 3)), GENRES)
    assert empty["accuracy"] is None and empty["n"] == 0
    assert empty["confusion"] == [[0] * 3] * 3


@pytest.mark.parametrize(
    ("truth", "proba", "match"),
    [
        (["Rock"], np.zeros((1, 2)), "shape"),
        (["Rock", "Jazz"], np.zeros((1, 3)), "shape"),
        (["Polka"], np.zeros((1, 3)), "Polka"),
    ],
)
def test_classification_report_rejects_bad_input(truth, proba, match):
    with pytest.raises(ValueError, match=match):
        classification_report(truth, proba, GENRES)


def test_evaluation_summary_shape():
    test = classification_report(["Rock", "Jazz"], one_hot_proba(["Rock", "Rock"], GENRES), GENRES)
    val = classification_report(["Folk"], one_hot_proba(["Folk"], GENRES), GENRES)
    retrieval = {
        "cnn": {"genre_precision_at_10": 0.9},
        "mfcc_baseline": {"genre_precision_at_10": 0.5},
        "random": {"genre_precision_at_10": 0.33},
    }
    summary = evaluation_summary(test, val, retrieval)
    classifier = summary["classifier"]
    assert classifier["test_accuracy"] == 0.5 and classifier["val_accuracy"] == 1.0
    assert classifier["n_test"] == 2 and classifier["val_n"] == 1
    assert classifier["per_genre"]["Jazz"] == {"accuracy": 0.0, "n": 1}
    assert classifier["confusion"] == test["confusion"] and classifier["genres"] == GENRES
    assert summary["retrieval"] == retrieval
    assert evaluation_summary(test, None, retrieval)["classifier"]["val_accuracy"] is None
    json.dumps(summary)


def clusters(rng, *, per: int, d: int = 8, spread: float = 0.05) -> np.ndarray:
    """Two tight clusters around orthogonal directions: ``(2 * per, d)``."""
    centres = np.eye(d)[:2]
    return np.repeat(centres, per, axis=0) + spread * rng.normal(size=(2 * per, d))


def test_precision_two_tight_clusters_is_one(rng):
    vectors = clusters(rng, per=20)
    genres = ["a"] * 20 + ["b"] * 20
    mask = np.zeros(40, dtype=bool)
    mask[::3] = True
    assert genre_precision_at_k(vectors, genres, mask, k=10) == 1.0
    # Scale does not matter to cosine.
    assert genre_precision_at_k(vectors * rng.uniform(0.1, 10, size=(40, 1)), genres, mask, k=10) == 1.0


def test_precision_known_fraction(rng):
    # Cluster A holds 6 tracks: 4 "a" and 2 "b"; cluster B 6 tracks all "b".
    # With k=5 the neighbours of a query in A are the other 5 tracks of A.
    vectors = clusters(rng, per=6, spread=0.01)
    genres = ["a", "a", "a", "a", "b", "b"] + ["b"] * 6
    mask = np.zeros(12, dtype=bool)
    mask[[0, 4]] = True  # an "a" query: 3/5 share; a "b" query: 1/5 share
    assert genre_precision_at_k(vectors, genres, mask, k=5) == pytest.approx((3 / 5 + 1 / 5) / 2)
    mask[:] = False
    mask[6] = True  # a B query: all 5 neighbours are "b"
    assert genre_precision_at_k(vectors, genres, mask, k=5) == 1.0


@pytest.mark.parametrize("query", [0, 1])
def test_precision_self_excluded_even_with_copies(query):
    # Two identical vectors of different genres: the query must see its copy, not itself,
    # whichever of the tied pair the neighbour search ranks first.
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    genres = ["a", "b", "b"]
    mask = np.arange(3) == query
    assert genre_precision_at_k(vectors, genres, mask, k=1) == 0.0


def test_precision_k_capped_at_catalog_size(rng):
    vectors = clusters(rng, per=3)
    genres = ["a"] * 3 + ["b"] * 3
    mask = np.ones(6, dtype=bool)
    # k=50 becomes 5: 2 of the 5 others share the genre.
    assert genre_precision_at_k(vectors, genres, mask, k=50) == pytest.approx(2 / 5)


@pytest.mark.parametrize(
    ("n", "mask", "k", "match"),
    [
        (5, np.zeros(5, dtype=bool), 3, "no query tracks"),
        (1, np.ones(1, dtype=bool), 3, "two tracks"),
        (5, np.ones(4, dtype=bool), 3, "one genre and one query flag"),
        (5, np.ones(5, dtype=bool), 0, "k must"),
    ],
)
def test_precision_rejects_bad_input(rng, n, mask, k, match):
    with pytest.raises(ValueError, match=match):
        genre_precision_at_k(rng.normal(size=(n, 3)), ["a"] * n, mask, k=k)


def test_random_precision_near_chance_on_balanced_data():
    n_genres, per = 5, 40
    genres = np.repeat([f"g{i}" for i in range(n_genres)], per)
    mask = np.ones(len(genres), dtype=bool)
    p = random_precision_at_k(genres, mask, k=10, seed=1)
    expected = (per - 1) / (len(genres) - 1)  # chance another track shares the genre
    assert p == pytest.approx(expected, abs=0.02)
    assert p == pytest.approx(1 / n_genres, abs=0.03)
    assert random_precision_at_k(genres, mask, k=10, seed=1) == p  # seeded
    # All neighbours of a one-genre catalog share it.
    assert random_precision_at_k(["x"] * 12, np.ones(12, dtype=bool), k=4) == 1.0


def test_random_precision_never_picks_itself():
    # Every track has its own genre: any neighbour, self excluded, misses.
    genres = [str(i) for i in range(15)]
    assert random_precision_at_k(genres, np.ones(15, dtype=bool), k=14) == 0.0


def test_mfcc_stats_matches_librosa(rng):
    mel_db = rng.uniform(-80, 20, size=(128, 64)).astype(np.float32)
    stats = mfcc_stats(mel_db)
    mfcc = librosa.feature.mfcc(S=mel_db, n_mfcc=20)
    assert stats.shape == (40,) and stats.dtype == np.float32
    np.testing.assert_allclose(stats[:20], mfcc.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(stats[20:], mfcc.std(axis=1), rtol=1e-5)
    assert mfcc_stats(mel_db, n_mfcc=13).shape == (26,)


def test_mfcc_baseline_vectors_standardised(rng):
    mels = [rng.uniform(-80, 20, size=(128, 40 + i)) * (1 + i % 3) for i in range(12)]
    vectors = mfcc_baseline_vectors(iter(mels))  # any iterable, e.g. a generator over the cache
    assert vectors.shape == (12, 40) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(vectors.std(axis=0), 1.0, atol=1e-4)
    with pytest.raises(ValueError, match="no spectrograms"):
        mfcc_baseline_vectors([])


def test_retrieval_report_orders_cnn_over_baselines(rng):
    per = 15
    genres = ["a"] * per + ["b"] * per
    cnn = clusters(rng, per=per, spread=0.05)
    mfcc = rng.normal(size=(2 * per, 8))  # uninformative
    mask = np.zeros(2 * per, dtype=bool)
    mask[::2] = True
    report = retrieval_report(cnn, mfcc, genres, mask, k=5, seed=3)
    assert set(report) == {"cnn", "mfcc_baseline", "random"}
    assert all(list(v) == ["genre_precision_at_5"] for v in report.values())
    assert report["cnn"]["genre_precision_at_5"] == 1.0
    assert report["random"]["genre_precision_at_5"] == pytest.approx((per - 1) / (2 * per - 1), abs=0.1)
    assert report["mfcc_baseline"]["genre_precision_at_5"] == genre_precision_at_k(mfcc, genres, mask, k=5)
