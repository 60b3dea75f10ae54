"""A demo built where there is no catalog yet is usable after its first songs; the rest swaps in whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender import build as build_module
from recommender.build import BuildOptions, SilentProgress, build, demo_tiers
from recommender.catalog import Catalog
from recommender.config import Paths


def test_only_a_large_demo_built_from_nothing_comes_in_two(tmp_path):
    paths = Paths.at(tmp_path)
    first = build_module.FIRST_TIER_PER_GENRE * 8
    tiers = demo_tiers(BuildOptions(source="demo"), paths)
    assert [t.tracks for t in tiers] == [first, 400]
    assert [t.tracks for t in demo_tiers(BuildOptions(source="demo", tracks=2 * first - 1), paths)] == [
        2 * first - 1
    ]
    assert len(demo_tiers(BuildOptions(source="folder", audio=tmp_path), paths)) == 1


def _whole(home: Path) -> dict:
    """What a user sees of the catalog in use, checked to be one build's: songs, audio, map and neighbours agree."""
    catalog = Catalog.open(home)
    ids = sorted(int(t) for t in catalog.search(k=None)["track_id"])
    assert catalog.summary()["tracks"] == len(ids)
    for track_id in ids:
        assert Path(catalog.audio_path(track_id)).is_file()
        similar = catalog.similar(track_id, k=3)["track_id"].tolist()
        assert len(similar) == 3 and set(similar) <= set(ids) and track_id not in similar
    assert sorted(int(t) for t in catalog.map_frame()["track_id"]) == ids  # the map has every song, no other
    assert sorted(int(t) for t in catalog.index.track_ids_) == ids
    return {"ids": ids, "build": catalog.info_["build_id"], "model": catalog.model_info["name"]}


class Watch(SilentProgress):
    """Records the stages and the moment the first catalog is in use; opens the catalog mid-growth."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.events: list[tuple] = []
        self.mid_growth: dict | None = None

    def stage(self, name: str, total: int | None = None) -> None:
        self.events.append(("stage", name, total))
        if name == "map" and any(e[0] == "usable" for e in self.events):
            # The whole catalog's songs and features are written: the one in use is still the first, whole.
            self.mid_growth = _whole(self.home)

    def usable(self, songs: int, total: int) -> None:
        self.events.append(("usable", songs, total))
        self.first = _whole(self.home)


@pytest.mark.slow
def test_a_demo_built_from_nothing_is_usable_before_it_is_complete(tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "FIRST_TIER_PER_GENRE", 2)
    watch = Watch(tmp_path)
    result = build(BuildOptions(source="demo", tracks=32, seed=0, workers=1), home=tmp_path, progress=watch)
    usable = watch.events.index(("usable", 16, 32))
    assert ("stage", "evaluation", None) in watch.events[:usable]  # the first catalog was complete
    assert ("stage", "synthesise", 32) in watch.events[usable:]  # then the rest was added
    assert watch.first["ids"] == list(range(1, 17))
    assert watch.mid_growth is not None and watch.mid_growth["ids"] == list(range(1, 17))
    assert watch.mid_growth["build"] == watch.first["build"]
    final = _whole(tmp_path)
    assert final["ids"] == list(range(1, 33)) and result.info["tracks"] == 32
    assert final["build"] != watch.first["build"] and final["model"] != watch.first["model"]
    # With a catalog in use, the next demo build is one build: the catalog keeps serving until it is done.
    assert len(demo_tiers(BuildOptions(source="demo"), Paths.at(tmp_path))) == 1
