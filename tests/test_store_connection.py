"""Many sessions and processes on one database: nothing lost, reads never queue behind writes, caches follow."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_store import catalog_tracks, subprocess_env

from recommender.errors import RecommenderError
from recommender.store import Store
from recommender.store.connection import LINGER_S, Database


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "musicrec.duckdb")
    s.write_tracks(catalog_tracks())
    return s


def let_go(store: Store) -> None:
    """Wait until this process has given the file back (it lingers briefly after the last call)."""
    Database.at(store.path).close()


def _plays_from_threads(path: str, prefix: str, threads: int, n: int, barrier) -> None:
    """Process worker: ``threads`` threads each record ``n`` plays as their own profile."""
    store = Store(Path(path))
    store.users()
    barrier.wait()
    errors = []

    def work(user):
        try:
            for i in range(n):
                store.record_play(user, 1 + i % 10, source="cli")
        except Exception as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(f"{prefix}-{t}",)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


def test_processes_and_their_threads_write_at_once_and_lose_nothing(store):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)  # three processes and this one
    workers = [
        ctx.Process(target=_plays_from_threads, args=(str(store.path), f"p{i}", 3, 20, barrier))
        for i in range(3)
    ]
    for w in workers:
        w.start()
    barrier.wait()
    mine = [
        threading.Thread(target=lambda t=t: [store.record_play(f"app-{t}", 2) for _ in range(20)])
        for t in range(3)
    ]
    for t in mine:
        t.start()
    for t in mine:
        t.join()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert int(store.play_counts()["plays"].sum()) == 12 * 20
    assert {u: len(store.history(u)) for u in store.users()} == {
        f"{p}-{t}": 20 for p in ("p0", "p1", "p2", "app") for t in range(3)
    }


def test_a_read_does_not_wait_for_a_write_in_progress(store):
    """One thread is inside a long write transaction; another thread's reads answer meanwhile."""
    inside, finish = threading.Event(), threading.Event()

    def slow_write(con):
        con.execute("INSERT INTO users (name, name_key, created_at) VALUES ('slow', 'slow', now())")
        inside.set()
        finish.wait(10)

    writer = threading.Thread(target=store._run, args=(slow_write,))
    writer.start()
    try:
        assert inside.wait(10)
        start = time.monotonic()
        assert store.users() == []  # the write is not committed yet
        assert store.track(4)["title"] == "So What"
        assert store.search("hendrix")["title"].tolist()[:3] == ["Hendrix", "Purple Haze", "Little Wing"]
        assert time.monotonic() - start < 1.0
    finally:
        finish.set()
        writer.join()
    assert store.users() == ["slow"]


HOLD_SHARED = """
import fcntl, os, sys, time, duckdb
fd = os.open(sys.argv[1] + ".lock", os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_SH)
con = duckdb.connect(sys.argv[1], read_only=True)
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_processes_that_read_share_the_file_and_a_write_waits_for_them(store):
    store.record_play("ann", 1)
    let_go(store)
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_SHARED, str(store.path), "2"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "reading"
        start = time.monotonic()
        assert store.history("ann")["track_id"].tolist() == [1]  # read alongside the other reader
        assert time.monotonic() - start < 1.0
        let_go(store)
        with pytest.raises(RecommenderError, match="database is busy"):
            Store(store.path, timeout=0.3).record_play("ann", 2)
        store.record_play("ann", 3)  # waits until the reader is done
    finally:
        reader.kill()
        reader.wait()
    assert store.history("ann")["track_id"].tolist() == [3, 1]


CREATE_PROFILE = """
import sys
from pathlib import Path
from recommender.store import Store
print(Store(Path(sys.argv[1])).create_user(sys.argv[2]))
"""


def test_the_profile_list_is_cached_until_this_or_another_process_writes(store):
    store.create_user("ann")
    db = Database.at(store.path)
    assert store.users() == ["ann"]
    let_go(store)
    opened = db.opened
    for _ in range(20):
        assert store.users() == ["ann"]  # a page rerun: no database opening
    assert db.opened == opened

    store.create_user("bea")  # this process writes: seen at once
    assert store.users() == ["ann", "bea"]
    let_go(store)
    done = subprocess.run(
        [sys.executable, "-c", CREATE_PROFILE, str(store.path), "Cy"],
        env=subprocess_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert store.users() == ["ann", "bea", "Cy"]  # another process wrote: seen on the next read


def test_cached_profiles_answer_while_another_process_holds_the_lock(store):
    store.create_user("ann")
    assert store.users() == ["ann"]
    let_go(store)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1] + '.lock', os.O_RDWR);"
         " fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(5)", str(store.path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        assert Store(store.path, timeout=0.5).users() == ["ann"]
        assert time.monotonic() - start < 0.2
    finally:
        holder.kill()
        holder.wait()


def test_students_creating_profiles_at_the_same_moment_each_get_theirs(store):
    names = [f"Student {i}" for i in range(12)] + ["Ann", "ann", " ANN ", "Ann"]
    got: dict[int, str] = {}
    errors = []
    barrier = threading.Barrier(len(names))

    def create(i, name):
        try:
            barrier.wait()
            got[i] = store.create_user(name)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [got[i] for i in range(12)] == names[:12]
    ann = {got[i] for i in range(12, 16)}
    assert len(ann) == 1 and ann.pop().casefold() == "ann"  # one profile, whichever spelling came first
    assert len(store.users()) == 13 and set(names[:12]) <= set(store.users())


def test_the_file_is_given_back_after_a_short_linger(store):
    store.record_play("ann", 1)
    time.sleep(LINGER_S + 0.3)
    child = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close(); print('ok')", str(store.path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert child.stdout.strip() == "ok", child.stderr  # DuckDB itself could open it: nobody holds it
