"""recommender/cluster.py: batches, the LocalCluster, a real scheduler with its workers, the shared home."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from recommender import cluster
from recommender.build import BuildOptions, build
from recommender.errors import RecommenderError, UserInputError
from recommender.features import FeatureCache, extract
from recommender.sources.base import Track
from tests.fixtures import tone, write_audio

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("n_items", "n_slots", "size"),
    [
        (24, 2, 12),  # too few for 50-track batches: one batch per slot, every worker works
        (3, 2, 2),
        (1, 4, 1),
        (0, 2, 1),
        (400, 2, 50),  # about eight batches per slot, at least 50 tracks each
        (1_600, 2, 100),
        (8_000, 2, 200),  # at most 200
        (106_574, 64, 200),
        (10_000, 64, 50),
    ],
)
def test_batch_size(n_items, n_slots, size):
    assert cluster.batch_size(n_items, n_slots) == size


def test_split_keeps_every_item_once_in_order():
    batches = cluster.split(list(range(10)), 4)
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert cluster.split([], 4) == []


def test_per_process_makes_once_per_key_even_from_many_threads():
    made = []

    def make():
        time.sleep(0.05)  # a slow load: other threads must wait for it, not load again
        made.append(1)
        return object()

    key = ("model", uuid.uuid4().hex)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cluster.per_process(key, make))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len({id(g) for g in got}) == 1
    assert cluster.per_process(("model", "other"), object) is not got[0]


def test_scheduler_address_from_the_option_else_the_environment(monkeypatch):
    monkeypatch.delenv(cluster.SCHEDULER_ENV, raising=False)
    assert cluster.scheduler_address(None) is None
    monkeypatch.setenv(cluster.SCHEDULER_ENV, "tcp://example:8786")
    assert cluster.scheduler_address(None) == "tcp://example:8786"
    assert cluster.scheduler_address("tcp://other:8786") == "tcp://other:8786"


# ---- batch functions run on the workers (importable: workers import this module) ----------
def load_once_batch(items: list[int]) -> list[tuple[int, int, str]]:
    """Each item with this worker's pid and the token of the 'model' it loaded (once per process)."""
    token = cluster.per_process("test model", lambda: uuid.uuid4().hex)
    time.sleep(0.05)  # long enough that both workers get batches
    return [(item, os.getpid(), token) for item in items]


def cancel_probe_batch(items: list[str]) -> list[str]:
    """``["first", folder]`` returns once the second has started; ``["second", folder]`` runs until cancelled.

    The second leaves a note in ``folder`` saying whether it saw ``cluster.cancelled()``.
    """
    role, folder = items[0], Path(items[1])
    deadline = time.monotonic() + 20
    if role == "first":
        while not (folder / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return items
    (folder / "started").touch()
    while not cluster.cancelled() and time.monotonic() < deadline:
        time.sleep(0.02)
    (folder / "note").write_text("cancelled" if cluster.cancelled() else "never cancelled")
    return items


def test_local_cluster_runs_every_batch_and_loads_once_per_worker(monkeypatch, tmp_path):
    monkeypatch.delenv(cluster.SCHEDULER_ENV, raising=False)
    monkeypatch.delenv(cluster.DASHBOARD_ENV, raising=False)
    with cluster.connect(None, workers=2) as client:
        assert cluster.slots(client) == 2
        assert cluster.dashboard_link == (client.dashboard_link if cluster._dashboard_wanted() else None)
        batches = cluster.split(list(range(40)), 5)
        results = [row for rows in cluster.map_batches(client, load_once_batch, batches) for row in rows]

        # Leaving the loop early cancels the batch still running; it notices before its next item.
        probes = cluster.map_batches(
            client, cancel_probe_batch, [["first", str(tmp_path)], ["second", str(tmp_path)]]
        )
        assert next(probes)[0] == "first"
        probes.close()
        deadline = time.monotonic() + 10
        while not (tmp_path / "note").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sorted(item for item, _, _ in results) == list(range(40))
    tokens = {}
    for _, pid, token in results:
        tokens.setdefault(pid, set()).add(token)
    assert len(tokens) == 2  # both workers worked
    assert all(len(t) == 1 for t in tokens.values())  # each loaded its "model" once
    assert (tmp_path / "note").read_text() == "cancelled"
    assert cluster.cancelled() is False  # outside Dask


def poison_batch(items: list[str]) -> list[str]:
    """Kills its worker process on the item "poison", as a crashing decoder or an exhausted memory would."""
    if "poison" in items:
        os._exit(1)
    return items


def test_an_item_that_kills_every_worker_it_meets_is_reported_lost_and_the_rest_completes():
    import dask

    # Dask gives up on a task after this many worker deaths (default 3: slower, same path).
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        cluster.connect(None, workers=2) as client,
    ):
        batches = [["a", "b"], ["c", "poison", "d"]]
        results = list(
            cluster.map_batches(client, poison_batch, batches, lost=lambda batch, why: [f"lost {batch[0]}"])
        )
        with pytest.raises(Exception, match="poison|died|KilledWorker"):
            list(cluster.map_batches(client, poison_batch, [["poison"]]))  # without lost: raised
    assert sorted(item for batch in results for item in batch) == ["a", "b", "c", "d", "lost poison"]


def test_a_cluster_left_without_workers_stops_the_batches_with_a_message(monkeypatch):
    monkeypatch.setattr(cluster, "WORKERS_TIMEOUT_S", 2)
    with cluster.connect(None, workers=1) as client:
        client.retire_workers(list(client.scheduler_info()["workers"]), close_workers=True)
        deadline = time.monotonic() + 30
        while client.nthreads() and time.monotonic() < deadline:  # gone, and no nanny brings it back
            time.sleep(0.05)
        start = time.monotonic()
        with pytest.raises(RecommenderError, match="no workers for 2 s.*run the build again"):
            list(cluster.map_batches(client, load_once_batch, [[1, 2]]))
        assert time.monotonic() - start < 15


def test_a_worker_that_cannot_see_the_home_or_import_the_project_stops_the_build(monkeypatch, tmp_path):
    from distributed import LocalCluster

    audio = tmp_path / "audio" / "Genre"
    for i in range(3):
        write_audio(audio / f"song {i}.wav", tone(4, freq=300 + 50 * i, seed=i), 22_050)
    home = tmp_path / "home"
    # Workers in this process (threads), so they see the patched read: a worker with another mount.
    with LocalCluster(
        n_workers=2, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as local:
        elsewhere = tmp_path / "another disk mounted at the same path"
        elsewhere.mkdir()
        answer = cluster._answer_token
        # The workers' home is another folder: they neither see the token nor write where the build reads.
        monkeypatch.setattr(cluster, "_answer_token", lambda path: answer(str(elsewhere / Path(path).name)))
        options = BuildOptions(
            source="folder", audio=audio.parent, no_train=True, scheduler=local.scheduler_address
        )
        with pytest.raises(UserInputError) as err:
            build(options, home=home)
        monkeypatch.undo()
        with cluster.connect(local.scheduler_address) as client:
            cluster.check_shared(client, home)  # the same home, visible: no error

            def without_the_project(path):
                raise ModuleNotFoundError("No module named 'recommender'")

            monkeypatch.setattr(cluster, "_answer_token", without_the_project)
            with pytest.raises(UserInputError, match="cannot import the project.*PYTHONPATH"):
                cluster.check_shared(client, home)
    message = str(err.value)
    assert "\n" not in message
    assert str(home.resolve()) in message and "shared folder" in message and "2 of 2" in message
    assert not list((home / "features").glob("*/*/*.npy"))  # nothing computed
    assert not list(home.glob(".musicrec-shared-*"))  # the token and the replies are cleaned up


# ---- a real cluster: `dask scheduler` and `dask worker` processes on loopback ---------------
COUNTING_PRELOAD = """
import os
import recommender.features as features

original = getattr(features.clip_features, "original", features.clip_features)  # Dask imports, then reloads


def counted(path, **kwargs):
    with open(os.environ["MUSICREC_TEST_COUNT_LOG"], "a") as log:
        log.write(f"{os.getpid()} {path}\\n")
    return original(path, **kwargs)


counted.original = original
features.clip_features = counted
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def real_cluster(tmp_path: Path, n_workers: int = 2):
    """A scheduler and ``n_workers`` nanny-managed workers, each its own session (killable as a group).

    Yields ``(address, workers, count_log)``: the worker ``Popen``s and the file where each
    worker writes a line ``pid path`` per track it computes.
    """
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    preload = tmp_path / "counting_preload.py"
    preload.write_text(COUNTING_PRELOAD)
    count_log = tmp_path / "computed.log"
    count_log.touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MUSICREC_TEST_COUNT_LOG": str(count_log)}
    dask = [sys.executable, "-m"]
    with open(tmp_path / "cluster.log", "w") as logs:
        procs = [
            subprocess.Popen(
                [*dask, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"],
                cwd=tmp_path, env=env, stdout=logs, stderr=logs, start_new_session=True,
            )
        ]  # fmt: skip
        workers = [
            subprocess.Popen(
                [*dask, "distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--host", "127.0.0.1", "--preload", str(preload),
                 "--local-directory", str(tmp_path / f"worker-{i}")],
                cwd=tmp_path, env=env, stdout=logs, stderr=logs, start_new_session=True,
            )
            for i in range(n_workers)
        ]  # fmt: skip
        try:
            with Client(address, timeout="30s") as client:
                client.wait_for_workers(n_workers, timeout=60)
            yield address, workers, count_log
        finally:
            for p in procs + workers:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _clips(folder: Path, n: int, *, seconds: float = 4.0) -> list[Track]:
    tracks = []
    for i in range(n):
        path = write_audio(folder / f"song {i:02d}.wav", tone(seconds, freq=180 + 25 * i, seed=i), 22_050)
        tracks.append(Track(i + 1, f"song {i}", "artist", "album", "g", "training", str(path), "folder"))
    return tracks


def test_a_real_cluster_computes_each_track_once_and_as_this_machine_does(tmp_path):
    tracks = _clips(tmp_path / "audio", 20)
    bad = tmp_path / "audio" / "bad.mp3"
    bad.write_text("not audio")
    tracks.append(Track(99, "bad", "a", "b", "g", "training", str(bad), "folder"))
    local = FeatureCache(tmp_path / "local")
    extract(tracks, local, workers=1, progress=False)

    shared = FeatureCache(tmp_path / "shared" / "features")
    seen = []
    with real_cluster(tmp_path) as (address, _, count_log):
        report = extract(
            tracks,
            shared,
            scheduler=address,
            home=tmp_path / "shared",
            progress=lambda d, t: seen.append((d, t)),
        )
        computed = count_log.read_text().splitlines()
        again = extract(tracks, shared, scheduler=address, home=tmp_path / "shared", progress=False)
    paths = [line.split(" ", 1)[1] for line in computed]
    assert sorted(paths) == sorted(t.audio_path for t in tracks)  # each once, the bad file too
    assert len({line.split(" ", 1)[0] for line in computed}) == 2  # on both workers
    assert sorted(report.ok) == list(range(1, 21)) and report.computed == 20
    assert list(report.failed) == [99] and "bad.mp3" in report.failed[99]
    assert seen[-1] == (21, 21) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert again.computed == 0 and again.cached == 20  # only the bad file was tried again
    for t in tracks[:-1]:
        np.testing.assert_array_equal(shared.get(t.track_id), local.get(t.track_id))


def test_a_worker_killed_mid_extraction_loses_no_track(tmp_path):
    tracks = _clips(tmp_path / "audio", 40, seconds=30.0)
    cache = FeatureCache(tmp_path / "home" / "features")
    with real_cluster(tmp_path) as (address, workers, count_log):
        killed = {}

        def kill_a_busy_worker():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not count_log.read_text():
                time.sleep(0.02)
            lines = count_log.read_text().splitlines()
            pid = int(lines[0].split()[0])  # a worker in the middle of a batch
            victim = next(w for w in workers if os.getpgid(pid) == w.pid)
            killed.update(done=len(cache.ids()), pid=pid)
            os.killpg(victim.pid, signal.SIGKILL)  # its nanny and its worker process, as a machine lost

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        report = extract(tracks, cache, scheduler=address, home=tmp_path / "home", progress=False)
        killer.join()
    assert killed["done"] < len(tracks), "the worker must be killed in the middle"
    assert sorted(report.ok) == [t.track_id for t in tracks] and report.computed == len(tracks)
    assert not report.failed
    assert cache.ids() == [t.track_id for t in tracks]
    assert all(cache.get(t.track_id).shape == (128, 1292) for t in tracks)
    assert not list(cache.dir.glob("*/.*.tmp"))
    survivors = {int(line.split()[0]) for line in count_log.read_text().splitlines()} - {killed["pid"]}
    assert survivors, "the surviving worker took over the lost batch"
