"""How many test songs each figure of the model rests on, its 95 % interval, and the small-catalog caveat."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from app_runner import open_page

from recommender.intervals import MIN_TEST_SONGS, too_small_message, wilson, with_intervals

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("rate", "n", "low", "high"),
    [(0.5, 2, 0.0945, 0.9055), (1.0, 2, 0.3424, 1.0), (0.5, 100, 0.4038, 0.5962), (0.0, 10, 0.0, 0.2775)],
)
def test_wilson_interval_matches_the_textbook(rate, n, low, high):
    assert wilson(rate, n) == pytest.approx((low, high), abs=1e-3)


def test_no_songs_no_interval():
    assert wilson(0.5, 0) is None


METRICS = {
    "classifier": {"test_accuracy": 0.5, "val_accuracy": 1.0, "n_test": 2, "val_n": 1, "per_genre": {}},
    "retrieval": {"cnn": {"genre_precision_at_10": 0.4}, "random": {"genre_precision_at_10": 0.6}},
    "classifiers": {"backbone_head": {"test_accuracy": 0.5, "val_accuracy": 1.0, "n_test": 2}},
}


def test_every_figure_gets_its_songs_and_interval_and_keeps_its_keys():
    out = with_intervals(METRICS, n_queries=2)
    assert out["classifier"]["test_accuracy"] == 0.5 and out["classifier"]["n_test"] == 2
    assert out["classifier"]["test_interval"] == pytest.approx([0.0945, 0.9055], abs=1e-3)
    assert out["retrieval"]["cnn"]["genre_precision_at_10"] == 0.4
    assert out["retrieval"]["cnn"]["n"] == 2
    assert out["retrieval"]["random"]["interval"][0] < 0.4 < 0.6 < out["retrieval"]["random"]["interval"][1]
    assert out["classifiers"]["backbone_head"]["test_interval"] == out["classifier"]["test_interval"]
    assert out["too_small"] is True and out["min_test_songs"] == MIN_TEST_SONGS
    assert "too small to judge the model" in too_small_message(out)
    assert "2 test songs" in too_small_message(out)


def test_a_catalog_with_enough_test_songs_is_not_called_too_small():
    out = with_intervals(METRICS, n_queries=MIN_TEST_SONGS)
    assert out["too_small"] is False and too_small_message(out) is None


def test_a_catalog_without_labels_is_not_called_too_small():
    note = {"classifier": None, "retrieval": {}, "classifiers": {}, "note": "no genre labels"}
    assert with_intervals(note)["too_small"] is False


def test_evaluate_json_carries_the_songs_and_the_interval(built_home):
    env = {**os.environ, "MUSICREC_HOME": str(built_home)}
    done = subprocess.run(
        [sys.executable, "-m", "recommender", "evaluate", "--json"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)
    c = metrics["classifier"]
    assert "test_accuracy" in c and "n_test" in c  # the keys it always had
    low, high = c["test_interval"]
    assert low <= c["test_accuracy"] <= high
    for figures in metrics["retrieval"].values():
        assert figures["n"] == c["n_test"]
        assert figures["interval"][0] <= figures["genre_precision_at_10"] <= figures["interval"][1]
    assert metrics["too_small"] is (c["n_test"] < MIN_TEST_SONGS)

    text = subprocess.run(
        [sys.executable, "-m", "recommender", "evaluate"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    ).stdout  # fmt: skip
    assert f"on {c['n_test']} tracks" in text
    if metrics["too_small"]:
        assert "too small to judge the model" in text


@pytest.fixture
def model_page(built_home, monkeypatch):
    return open_page(built_home, "model", monkeypatch)


def test_model_page_says_how_many_songs_and_when_too_few(model_page, built_home):
    from recommender.catalog import Catalog

    metrics = Catalog.open(built_home).metrics()
    n = metrics["classifier"]["n_test"]
    assert n < MIN_TEST_SONGS  # the tiny demo: the caveat must show
    captions = " ".join(c.value for c in model_page.main.caption)
    low, high = metrics["classifier"]["test_interval"]
    assert f"rests on {n} test songs" in captions and f"between {low:.0%} and {high:.0%}" in captions
    assert "95 % ranges over the" in captions
    warnings = " ".join(w.value for w in model_page.main.warning)
    assert "too small to judge the model" in warnings and f"{n} test song" in warnings
