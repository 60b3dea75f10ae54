"""Uploaded clips from many sessions at once: turns in one queue, one model, one analysis per clip."""

from __future__ import annotations

import threading
import time

import pytest

from recommender import uploads
from recommender.catalog import Catalog
from recommender.config import Paths
from recommender.errors import AudioError
from recommender.uploads import WorkQueue, analyse_upload, analysis_slots


def run_threads(targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(fn):
        try:
            fn()
        except BaseException as exc:  # collected: an exception in a thread would not fail the test
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(fn,)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return errors


def test_jobs_take_turns_in_order_of_arrival_and_each_learns_its_place():
    queue = WorkQueue(slots=1)
    release = threading.Event()
    started: list[str] = []
    seen: dict[str, list[int]] = {"b": [], "c": []}

    def first():
        with queue.turn():
            started.append("a")
            release.wait(10)

    release_b = threading.Event()

    def later(name):
        def job():
            with queue.turn(on_wait=seen[name].append, poll_s=0.02):
                started.append(name)
                if name == "b":
                    release_b.wait(10)

        return job

    a = threading.Thread(target=first)
    a.start()
    while queue.running == 0:
        time.sleep(0.005)
    b = threading.Thread(target=later("b"))
    b.start()
    while queue.waiting < 1:
        time.sleep(0.005)
    c = threading.Thread(target=later("c"))
    c.start()
    while queue.waiting < 2:
        time.sleep(0.005)
    time.sleep(0.1)
    assert started == ["a"]
    assert seen == {"b": [1], "c": [2]}  # b is next, c second in line
    release.set()
    deadline = time.monotonic() + 10
    while seen["c"] != [2, 1] and time.monotonic() < deadline:
        time.sleep(0.005)
    assert started == ["a", "b"] and seen == {"b": [1, 0], "c": [2, 1]}  # c moved up
    release_b.set()
    for t in (a, b, c):
        t.join(timeout=10)
    assert started == ["a", "b", "c"]
    assert seen == {"b": [1, 0], "c": [2, 1, 0]}  # then started
    assert queue.running == 0 and queue.waiting == 0


def test_two_slots_run_two_jobs_at_once():
    queue = WorkQueue(slots=2)
    inside, most = [0], [0]
    lock = threading.Lock()

    def job():
        with queue.turn():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    assert run_threads([job] * 6) == []
    assert most[0] == 2


def test_a_waiter_that_gives_up_leaves_the_line():
    queue = WorkQueue(slots=1)
    release = threading.Event()

    class SessionEnded(Exception):
        pass

    def give_up(position):
        raise SessionEnded

    def holder():
        with queue.turn():
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    while queue.running == 0:
        time.sleep(0.005)
    with pytest.raises(SessionEnded), queue.turn(on_wait=give_up):
        pass
    assert queue.waiting == 0
    release.set()
    t.join(timeout=10)
    with queue.turn():  # the line still moves
        assert queue.running == 1


@pytest.mark.parametrize(("env", "cores", "expected"), [("", 2, 1), ("", 8, 4), ("3", 2, 3), ("zero", 1, 1)])
def test_analysis_slots_follow_the_cores_or_the_setting(monkeypatch, env, cores, expected):
    monkeypatch.setenv(uploads.ANALYSIS_SLOTS_ENV, env)
    monkeypatch.setattr(uploads.os, "cpu_count", lambda: cores)
    assert analysis_slots() == expected


@pytest.fixture
def bare_catalog(tmp_path) -> Catalog:
    """A Catalog object with no files behind it: what is tested here never reads them."""
    return Catalog(Paths.at(tmp_path / "home"), {"model": {"name": "m", "genres": [], "path": "m.keras"}})


def test_sessions_that_need_the_model_at_once_share_one_load(bare_catalog, monkeypatch):
    loads = []

    def slow_load(path, *, config, genres=None):
        time.sleep(0.2)
        model = object()
        loads.append(model)
        return model

    monkeypatch.setattr("recommender.embedding.load_model", slow_load)
    monkeypatch.setattr(Catalog, "config", property(lambda self: None))
    got = []
    assert run_threads([lambda: got.append(bare_catalog.model)] * 4) == []
    assert len(loads) == 1
    assert all(m is loads[0] for m in got) and len(got) == 4


def test_a_clip_many_sessions_upload_is_listened_to_once(bare_catalog, monkeypatch):
    heard = []

    def analyse(self, path):
        time.sleep(0.1)
        heard.append(path.name)
        return f"analysis of {path.suffix}"

    monkeypatch.setattr(Catalog, "analyse", analyse)
    got = []
    upload = lambda: got.append(analyse_upload(bare_catalog, b"same bytes", filename="class example.wav"))  # noqa: E731
    assert run_threads([upload] * 3) == []
    assert heard == ["class_example.wav"] and got == ["analysis of .wav"] * 3
    analyse_upload(bare_catalog, b"other bytes", filename="mine.wav")
    assert heard == ["class_example.wav", "mine.wav"]


def test_a_file_that_is_no_audio_is_refused_without_waiting(bare_catalog, monkeypatch):
    monkeypatch.setattr(uploads, "ANALYSES", WorkQueue(slots=1))
    with uploads.ANALYSES.turn():  # the queue is full: a refusal must not wait for it
        start = time.monotonic()
        with pytest.raises(AudioError, match="notes.txt: not a supported audio file"):
            analyse_upload(bare_catalog, b"hello", filename="notes.txt")
        assert time.monotonic() - start < 1
