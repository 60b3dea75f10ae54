"""recommender/features.py: the resumable, parallel feature cache."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recommender.config import AudioConfig
from recommender.features import FeatureCache, atomic_write, extract
from recommender.sources.base import Track
from tests.fixtures import tone, write_audio

ROOT = Path(__file__).resolve().parents[1]


def _tracks(folder: Path, n: int, *, seconds: float = 4.0) -> list[Track]:
    out = []
    for i in range(n):
        path = write_audio(folder / f"song {i}.wav", tone(seconds, freq=200 + 40 * i, seed=i), 22_050)
        out.append(Track(i + 1, f"song {i}", "artist", "album", "g", "training", str(path), "folder"))
    return out


def test_put_get_roundtrip_and_config_saved(tmp_path, rng):
    cache = FeatureCache(tmp_path, AudioConfig())
    mel = rng.uniform(-80, 0, (128, 300)).astype(np.float32)
    cache.put(1234, mel)
    assert cache.has(1234) and not cache.has(1)
    np.testing.assert_allclose(cache.get(1234), mel, atol=0.05)  # stored as float16
    assert cache.get(1234).dtype == np.float32
    assert cache.ids() == [1234]
    assert (cache.dir / "config.json").is_file()


def test_another_config_is_another_cache(tmp_path, rng):
    a = FeatureCache(tmp_path, AudioConfig())
    b = FeatureCache(tmp_path, AudioConfig(n_mels=64))
    a.put(1, rng.uniform(-80, 0, (128, 200)).astype(np.float32))
    assert a.dir != b.dir and not b.has(1)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x" / "file.npy"

    def fail(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_extract_reports_bad_files_and_resumes(tmp_path):
    tracks = _tracks(tmp_path / "audio", 4)
    bad = tmp_path / "audio" / "bad.mp3"
    bad.write_text("not audio")
    tracks.append(Track(99, "bad", "a", "b", "g", "training", str(bad), "folder"))
    cache = FeatureCache(tmp_path / "features")

    first = extract(tracks, cache, workers=2, progress=False)
    assert sorted(first.ok) == [1, 2, 3, 4] and first.computed == 4
    assert list(first.failed) == [99] and "bad.mp3" in first.failed[99]

    seen = []
    second = extract(tracks, cache, workers=1, progress=lambda done, total: seen.append((done, total)))
    assert second.computed == 0 and second.cached == 4 and list(second.failed) == [99]
    assert seen == [(1, 1)]  # only the failed track was tried again
    assert cache.get(3).shape == (128, 1 + 4 * 22_050 // 512)


def test_stale_temp_files_are_removed_and_never_read(tmp_path):
    tracks = _tracks(tmp_path / "audio", 1)
    cache = FeatureCache(tmp_path / "features")
    stale = cache.path(1).parent / ".1.npy.abc.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a file")
    assert cache.ids() == []
    extract(tracks, cache, workers=1, progress=False)
    assert not stale.exists() and cache.ids() == [1]


def _folder_build(tmp_path: Path, n: int) -> tuple[list[str], dict, Path]:
    """The command of a features-only build of ``n`` 30-s clips on a LocalCluster of 2 workers."""
    audio = tmp_path / "audio" / "Genre A"
    for i in range(n):
        write_audio(audio / f"track {i:02d}.wav", tone(30, freq=150 + 20 * i, seed=i), 22_050)
    home = tmp_path / "home"
    cmd = [
        sys.executable, "-m", "recommender", "build", "--source", "folder", "--audio", str(audio.parent),
        "--home", str(home), "--no-train", "--workers", "2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MUSICREC_SCHEDULER", None)
    return cmd, env, home


def _feature_files(home: Path) -> list[Path]:
    return list((home / "features").glob("*/*/*.npy"))


def _workers_once_features_appear(proc: subprocess.Popen, home: Path, *, at_least: int = 3) -> list:
    """Wait until the build has cached ``at_least`` tracks; return its worker processes (psutil)."""
    import psutil

    deadline = time.time() + 300  # generous: the machine may be busy
    while len(_feature_files(home)) < at_least and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
    assert len(workers) == 2, "the build runs a LocalCluster of two worker processes"
    return children


@contextlib.contextmanager
def _never_left_running(proc: subprocess.Popen):
    """Whatever the test's outcome, the build and the processes it started do not outlive it."""
    import psutil

    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(proc.pid).children(recursive=True):
                    child.kill()
            proc.kill()
            proc.wait()


def _left_alive(processes: list, *, within: float) -> list:
    import psutil

    deadline = time.time() + within
    while True:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.1)


def test_sigkill_mid_build_leaves_no_worker_and_the_rerun_computes_only_the_rest(tmp_path):
    n = 40
    cmd, env, home = _folder_build(tmp_path, n)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with _never_left_running(proc):
        children = _workers_once_features_appear(proc, home)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not _left_alive(children, within=30), "workers outlived the killed build"
    done_before = len(_feature_files(home))
    everything = sorted((home / "features").rglob("*"))
    time.sleep(1.0)
    assert sorted((home / "features").rglob("*")) == everything, "files still being written"
    assert 3 <= done_before < n, "the build must be killed in the middle"
    assert not (home / "build.json").exists()

    # The rerun in one process: which tracks it computes does not depend on where (and it is faster).
    rerun_cmd = [*cmd[:-1], "1", "--json"]
    rerun = subprocess.run(rerun_cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    files = _feature_files(home)
    assert len(files) == n and len({f.name for f in files}) == n
    assert not list((home / "features").glob("*/*/.*.tmp"))
    import json

    info = json.loads((home / "build.json").read_text())
    assert info["features"] == {"computed": n - done_before, "cached": done_before}
    cache = FeatureCache(home / "features")
    assert all(cache.get(int(f.stem)).shape == (128, 1292) for f in files)


def test_ctrl_c_cancels_the_build_and_closes_its_local_cluster(tmp_path):
    n = 40
    cmd, env, home = _folder_build(tmp_path, n)
    # A session of its own, so the test can press Ctrl-C as a terminal does: to the build and its workers.
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    with _never_left_running(proc):
        children = _workers_once_features_appear(proc, home)
        done_at_interrupt = len(_feature_files(home))
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert stderr.strip().splitlines()[-1] == "error: interrupted"
    assert "Traceback" not in stderr and "distributed." not in stderr, stderr  # no noise from Dask
    assert not _left_alive(children, within=30)
    assert len(_feature_files(home)) <= done_at_interrupt + 4, "batches stop after their current track"
