"""recommender/jobs.py: builds in the background, one per home, watched and cancelled."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from recommender import jobs
from recommender.build import BuildOptions, build
from recommender.catalog import Catalog
from recommender.config import Paths
from recommender.errors import UserInputError
from recommender.locks import build_lock
from tests.fixtures import two_genre_folder


def _wait(home: Path, until, *, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = jobs.status(home)
        if state and until(state):
            return state
        time.sleep(0.1)
    raise AssertionError(f"the background build did not get there: {jobs.status(home)}")


def test_a_second_build_of_a_home_is_refused_while_one_runs(tmp_path):
    home = tmp_path / "home"
    with build_lock(Paths.at(home)):
        assert jobs.is_building(Paths.at(home))
        with pytest.raises(UserInputError, match="another build of .* is running"):
            build(
                BuildOptions(source="folder", audio=two_genre_folder(tmp_path / "music", 4), workers=1),
                home=home,
            )
        with pytest.raises(UserInputError, match="already running"):
            jobs.start(BuildOptions(source="demo", tracks=24), home=home)
    assert not jobs.is_building(Paths.at(home))


def test_a_background_build_reports_its_stages_then_serves_the_catalog(tmp_path):
    home = tmp_path / "home"
    music = two_genre_folder(tmp_path / "music", 6)
    pid = jobs.start(BuildOptions(source="folder", audio=music, workers=1), home=home)
    assert pid > 0
    state = _wait(home, lambda s: s["state"] != "running")
    assert state["state"] == "done", state
    assert [s["name"] for s in state["stages"]][:2] == ["scan folder", "features"]
    assert state["options"]["audio"] == str(music)
    assert Catalog.open(home).summary()["tracks"] == 6
    assert not jobs.is_building(Paths.at(home))


@pytest.mark.parametrize("server", ["started-in-a-terminal", "started-in-the-background-by-a-script"])
def test_cancel_stops_the_build_and_the_previous_catalog_stays(tmp_path, server):
    home = tmp_path / "home"
    build(BuildOptions(source="folder", audio=two_genre_folder(tmp_path / "small", 4), workers=1), home=home)
    before = Catalog.open(home).summary()["tracks"]
    # A shell starts a background job (`streamlit run app.py &` in a script) with SIGINT ignored, and
    # the server's children inherit that; the terminal's server passes Python's own handler on as default.
    disposition = signal.SIG_IGN if server.startswith("started-in-the-background") else signal.SIG_DFL
    previous = signal.signal(signal.SIGINT, disposition)
    try:
        jobs.start(
            BuildOptions(source="folder", audio=two_genre_folder(tmp_path / "big", 40), workers=1), home=home
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    _wait(home, lambda s: s.get("stage") == "features" and s.get("done", 0) >= 8)
    assert jobs.cancel(home)
    state = _wait(home, lambda s: s["state"] != "running", timeout=60)
    assert state["state"] == "cancelled" and state["error"] is None
    assert Catalog.open(home).summary()["tracks"] == before
    assert not jobs.is_building(Paths.at(home))
    assert not jobs.cancel(home)  # nothing left to cancel


def test_the_build_view_links_to_the_dask_dashboard_while_a_cluster_serves_one(tmp_path, monkeypatch):
    from recommender import cluster

    progress = jobs.FileProgress(Paths.at(tmp_path / "home"), {"source": "demo"})
    assert jobs.status(tmp_path / "home")["dashboard"] is None  # no cluster yet: no link
    monkeypatch.setattr(cluster, "dashboard_link", "http://127.0.0.1:8787/status")
    progress.stage("features", total=10)
    assert jobs.status(tmp_path / "home")["dashboard"] == "http://127.0.0.1:8787/status"


@pytest.mark.parametrize(
    ("env", "bokeh", "wanted"),
    [(None, True, "127.0.0.1:0"), (":8787", True, ":8787"), ("off", True, None), (":8787", False, None),
     (None, False, None)],
)  # fmt: skip
def test_a_local_cluster_serves_the_dashboard_when_bokeh_can_draw_it(monkeypatch, env, bokeh, wanted):
    import importlib.util

    from recommender import cluster

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (object() if bokeh else None) if name == "bokeh" else real(name, *a),
    )
    if env is None:
        monkeypatch.delenv(cluster.DASHBOARD_ENV, raising=False)
    else:
        monkeypatch.setenv(cluster.DASHBOARD_ENV, env)
    assert cluster._dashboard_wanted() == wanted
