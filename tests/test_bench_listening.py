"""bench/listening.py's other draws of the query tracks: the figures' spread rests on them."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def listening(monkeypatch):
    """bench/listening.py, imported with bench/ on the path for this test only (sys.path restored after)."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return importlib.import_module("listening")


def _split(listening, rng):
    """Three albums of 4, 6 and 10 tracks, 1–3 clips per track; the first track of each a query."""
    known = {}
    for album, tracks in (("asc", 4), ("lincity", 6), ("wesnoth", 10)):
        for t in range(tracks):
            for clip in range(1 + t % 3):
                role = "queries" if t == 0 else "catalog"
                known[f"clips/{role}/{album}/track{t}-{clip}.ogg"] = rng.normal(size=(5, 7))
    return listening.Split(known, sorted(known))


def _track(name: str) -> str:
    return name.split("/")[2] + "/" + name.split("/")[3].rsplit("-", 1)[0]


def test_another_draw_moves_whole_tracks_and_keeps_every_clip_with_its_features(listening, rng):
    split = _split(listening, rng)
    features = dict(
        zip(split.cat_names + split.query_names, np.concatenate([split.cat, split.query]), strict=True)
    )
    draws = [split.repartitioned(seed) for seed in (1, 2, 3)]
    for drawn in draws:
        assert sorted(drawn.cat_names + drawn.query_names) == sorted(features)
        # A track is wholly a query or wholly in the catalog, and every album keeps both.
        assert not {_track(n) for n in drawn.cat_names} & {_track(n) for n in drawn.query_names}
        for album, tracks in (("asc", 4), ("lincity", 6), ("wesnoth", 10)):
            queried = {_track(n) for n in drawn.query_names if n.split("/")[2] == album}
            assert len(queried) == round(0.3 * tracks)
        assert list(drawn.cat_labels) == [n.split("/")[2] for n in drawn.cat_names]
        assert list(drawn.query_labels) == [n.split("/")[2] for n in drawn.query_names]
        for names, rows in ((drawn.cat_names, drawn.cat), (drawn.query_names, drawn.query)):
            assert all(np.array_equal(features[n], row) for n, row in zip(names, rows, strict=True))
    # The draws differ from each other and from the cut's own queries.
    queries = [frozenset(d.query_names) for d in draws] + [frozenset(split.query_names)]
    assert len(set(queries)) == len(queries)


def test_diffusion_follows_a_chain_of_neighbours_that_cosine_alone_misses(listening):
    # A chain of songs along an arc from the query, and a tight group off the arc, nearer by angle
    # than the arc's far end.
    chain = [np.array([np.cos(a), np.sin(a), 0.0]) for a in np.linspace(0.0, 1.2, 10)]
    group = [np.array([np.cos(0.7), 0.01 * i, np.sin(0.7)]) for i in range(5)]
    cat = np.array(chain + group)
    cat /= np.linalg.norm(cat, axis=1, keepdims=True)
    query = cat[:1]  # at the chain's start
    cosine = query @ cat.T
    diffused = listening.diffusion(cosine, cat @ cat.T, k=3, alpha=0.9)
    far_end, nearest_of_group = 9, 10 + int(np.argmax(cosine[0, 10:]))
    # By cosine the tight group is nearer than the chain's far end; along the chain it is not.
    assert cosine[0, nearest_of_group] > cosine[0, far_end]
    assert diffused[0, far_end] > diffused[0, nearest_of_group]
    assert diffused.shape == cosine.shape and np.all(diffused >= 0)
