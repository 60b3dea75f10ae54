"""The Catalog's own state changes only through its methods; BuildOptions has one JSON form."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.build import BuildOptions
from recommender.catalog import Catalog
from recommender.config import Paths


@pytest.fixture
def catalog(tmp_path) -> Catalog:
    return Catalog(Paths.at(tmp_path), {})


def test_a_change_is_a_new_revision_and_a_failed_one_is_not(catalog):
    with catalog.changing():
        pass
    assert catalog.revision == 1
    with pytest.raises(RuntimeError), catalog.changing():
        raise RuntimeError("disk full")
    assert catalog.revision == 1
    with catalog.changing():  # the failed change let go of the lock
        pass
    assert catalog.revision == 2


def test_the_map_arrays_in_use_are_the_ones_given(catalog):
    arrays = {"track_ids": [1, 2]}
    catalog.use_map_arrays(arrays)
    assert catalog.map_arrays is arrays


def test_only_the_most_recent_analyses_are_remembered(catalog):
    for n in range(5):
        catalog.remember_heard(n, f"analysis {n}", keep=3)
    assert [catalog.heard_before(n) for n in range(5)] == [
        None,
        None,
        "analysis 2",
        "analysis 3",
        "analysis 4",
    ]
    catalog.forget_heard()
    assert catalog.heard_before(4) is None


def test_build_options_round_trip_through_json_values():
    options = BuildOptions(source="folder", audio=Path("/music"), arch="cnn1d", epochs=5, workers=2)
    data = options.to_dict()
    assert data["audio"] == "/music" and "config" not in data
    assert BuildOptions.from_dict(data) == options
    assert BuildOptions.from_dict(
        {"source": "fma", "metadata": "", "model": "None", "retired": 1}
    ) == BuildOptions(source="fma")


def test_a_catalog_rebuilds_with_its_saved_options(tmp_path):
    saved = BuildOptions(source="folder", audio=Path("/music"), seed=7).to_dict()
    catalog = Catalog(Paths.at(tmp_path), {"options": saved, "config": BuildOptions().config.to_dict()})
    again = catalog.rebuild_options(arch="seed-2d")
    assert (again.source, again.audio, again.seed, again.arch) == ("folder", Path("/music"), 7, "seed-2d")
