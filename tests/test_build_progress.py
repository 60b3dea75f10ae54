"""Build progress is typed data: every stage has a label, events carry the time left, the page shows it."""

from __future__ import annotations

import ast
import json
import os
import time
from pathlib import Path

import pytest

from recommender import jobs
from recommender.config import Paths
from recommender.progress import STAGES, USABLE, EpochMetrics, Estimate, ProgressEvent, label, stage

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


def _reported_stages() -> set[str]:
    """Every stage name the code reports: the string constants in the first argument of ``*.stage(...)``."""
    names = set()
    for path in (ROOT / "recommender").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "stage"
                and node.args
            ):
                names |= {c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant)}
    return {n for n in names if isinstance(n, str)}


def test_every_stage_a_build_reports_has_a_label_people_read():
    reported = _reported_stages()
    assert {"synthesise", "features", "map", "added clips", "training", "fitting the head"} <= reported
    missing = reported - set(STAGES)
    assert not missing, f"stages without a label: {missing}"
    for name in reported:
        assert label(name)[0].isupper() and label(name) != name.capitalize(), name
    assert label("features") == "Computing log-mel spectrograms"
    with pytest.raises(KeyError):
        stage("no such stage")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_counted_stage_estimates_its_time_left_from_its_own_rate():
    clock = Clock()
    estimate = Estimate([("features", 100), ("map", 100)], clock=clock)
    estimate.start("features", 100)
    clock.now += 20  # a cluster starting: no song yet
    first = estimate.event(10, 100)
    clock.now += 10  # then 10 songs in 10 s: 1 song/s
    event = estimate.event(20, 100)
    assert first.stage == event.stage == "features" and event.done == 20 and event.total == 100
    assert event.stage_eta_s == pytest.approx(80.0)  # 80 songs left at 1 song/s
    assert event.eta_s == pytest.approx(80.0 + stage("map").cost(100))
    assert event.elapsed_s == pytest.approx(30.0)
    assert event.usable_eta_s is None  # not a tiered build


def test_a_tiered_plan_says_when_the_first_catalog_is_usable():
    clock = Clock()
    plan = [("synthesise", 48), ("features", 48), (USABLE, 0), ("synthesise", 400), ("features", 400)]
    estimate = Estimate(plan, clock=clock)
    estimate.start("synthesise", 48)
    event = estimate.event(0, 48)
    until_usable = stage("synthesise").cost(48) + stage("features").cost(48)
    assert event.usable_eta_s == pytest.approx(until_usable, abs=0.1)
    assert event.eta_s == pytest.approx(
        until_usable + stage("synthesise").cost(400) + stage("features").cost(400)
    )
    estimate.start("features", 48)
    clock.now += 5
    estimate.start("synthesise", 400)  # the first catalog is in use
    assert estimate.event(0, 400).usable_eta_s is None


def test_events_travel_as_data_through_the_status_file(tmp_path):
    paths = Paths.at(tmp_path)
    progress = jobs.FileProgress(paths, {"source": "demo", "tracks": 24, "arch": "cnn1d"})
    progress.stage("training", 3)
    progress.advance(1, 3, EpochMetrics(epoch=1, accuracy=0.5, val_accuracy=0.25, loss=1.2, val_loss=1.5))
    state = json.loads((tmp_path / jobs.STATUS_FILE).read_text())
    event = ProgressEvent.from_dict(state["progress"])
    assert (event.stage, event.done, event.total, event.label) == ("training", 1, 3, "Training the genre CNN")
    assert event.eta_s is not None and event.eta_s > 0
    assert event.metrics == EpochMetrics(epoch=1, accuracy=0.5, val_accuracy=0.25, loss=1.2, val_loss=1.5)
    assert state["epochs"] == [
        {"epoch": 1, "accuracy": 0.5, "val_accuracy": 0.25, "loss": 1.2, "val_loss": 1.5}
    ]


def test_the_bar_moves_between_events_and_counts_the_time_left_down():
    from pages import _build

    event = ProgressEvent(stage="map", elapsed_s=30.0, eta_s=30.0, at=1000.0)
    state = {"progress": event.to_dict()}
    early, later = _build._fraction(event, 1000.0), _build._fraction(event, 1002.0)
    assert early == pytest.approx(0.5) and later > early
    assert _build.progress_words(state, now=1000.0) == "Building: Laying out the map (UMAP), about 30 s left"
    assert _build.progress_words(state, now=1020.0) == "Building: Laying out the map (UMAP), about 10 s left"
    assert _build.progress_words(state, now=1100.0) == "Building: Laying out the map (UMAP), almost done"


def test_the_home_page_shows_the_time_left_of_a_running_build(tmp_path, monkeypatch):
    """The status file as a build writes it: the Home page's bar says the stage, the count and the time left."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MUSICREC_HOME", str(tmp_path))
    progress = jobs.FileProgress(Paths.at(tmp_path), {"source": "demo", "tracks": 400, "arch": "musicnn"})
    progress.state["pid"] = os.getpid()  # alive: the page shows it running
    progress.stage("synthesise", 400)
    time.sleep(0.35)  # the status file is written at most every 0.3 s
    progress.advance(40, 400)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    bars = [p.proto.text for p in at.get("progress")]
    assert len(bars) == 1 and bars[0].startswith("Synthesising the demo songs: 40 / 400 · about "), bars
    assert bars[0].endswith(" left")


@pytest.mark.slow
def test_the_home_page_building_a_small_demo_shows_its_time_left(tmp_path, monkeypatch):
    """Build pressed on Home: while the build process runs, the bar shows the time left."""
    from streamlit.testing.v1 import AppTest

    home = tmp_path / "fresh"
    monkeypatch.setenv("MUSICREC_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["owner"] = True
    at.run()
    at.number_input(key="home_tracks").set_value(24)
    at.button(key="home_build").click().run()
    texts: list[str] = []
    deadline = time.monotonic() + 600
    while (jobs.status(home) or {}).get("state") == "running" and time.monotonic() < deadline:
        at.run()
        texts += [p.proto.text for p in at.get("progress")]
        if any(t.endswith(" left") or t.endswith("almost done") for t in texts):
            break
        time.sleep(1)
    jobs.cancel(home)
    assert any(" · about " in t or t.endswith("almost done") for t in texts), texts


def test_features_progress_moves_song_by_song_while_a_batch_runs(tmp_path, monkeypatch):
    """A batch reports when all its songs are done; the count of features written moves the bar meanwhile."""
    import numpy as np

    from recommender import features
    from recommender.config import DEFAULT_AUDIO

    monkeypatch.setattr(features, "WATCH_EVERY_S", 0.05)
    cache = features.FeatureCache(tmp_path, DEFAULT_AUDIO)
    todo = [(i, f"/music/{i}.flac", f"key{i}") for i in range(1, 6)]
    calls: list[tuple[int, int]] = []
    watch = features.FeaturesWatch(todo, [cache], lambda done, total: calls.append((done, total)))
    try:
        for track_id in (1, 2):  # a worker writes two songs' features; its batch has not returned
            cache.put(track_id, np.zeros((2, 3), np.float32), f"key{track_id}")
        deadline = time.monotonic() + 10
        while (2, 5) not in calls and time.monotonic() < deadline:
            time.sleep(0.05)
        assert calls and calls[-1] == (2, 5)
        watch.report(1)  # a batch that returned late never moves the bar back
        assert calls[-1] == (2, 5)
        watch.report(5)
        assert calls[-1] == (5, 5)
    finally:
        watch.stop()
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_home_says_when_a_tiered_demo_will_be_usable_and_then_that_it_is(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MUSICREC_HOME", str(tmp_path))
    progress = jobs.FileProgress(Paths.at(tmp_path), {"source": "demo", "tracks": 400, "arch": "musicnn"})
    progress.state["pid"] = os.getpid()
    progress.plan([("synthesise", 48), ("features", 48), (USABLE, 0), ("synthesise", 400), ("features", 400)])
    progress.stage("synthesise", 48)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    heading = [m.value for m in at.markdown if m.value.startswith("**Building the demo catalog")]
    assert len(heading) == 1 and " · its first songs in use in about " in heading[0], heading
    progress.usable(48, 400)
    progress.stage("synthesise", 400)
    at.run()
    shown = " ".join(m.value for m in at.markdown)
    assert (
        "**The demo catalog is in use with its first 48 songs**; the build is adding the other 352" in shown
    )
