"""recommender/features.py: the resumable, parallel feature cache."""

import contextlib
import errno
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from recommender.config import AudioConfig
from recommender.errors import WriteError
from recommender.features import FeatureCache, extract
from recommender.files import atomic_write, atomic_write_text, check_writable, is_stale_temp
from recommender.sources.base import Track
from tests.fixtures import (
    as_another_user,
    dead_pid,
    give_to_another_user,
    mode_of,
    take_from_another_user,
    tone,
    write_audio,
)

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


def test_files_get_the_process_umask_mode(tmp_path, rng, umask):
    cache = FeatureCache(tmp_path / "features")
    cache.put(7, rng.uniform(-80, 0, (128, 50)).astype(np.float32))
    atomic_write_text(tmp_path / "build.json", "{}")
    for path in (cache.path(7), cache.dir / "config.json", tmp_path / "build.json"):
        assert mode_of(path) == 0o666 & ~umask, path.name


def test_a_failed_write_names_the_folder_and_leaves_nothing(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(WriteError) as error:
        atomic_write_text(tmp_path / "catalog" / "metrics.json", "{}")
    assert str(error.value) == (
        f"cannot write metrics.json in {tmp_path / 'catalog'} (permission denied); "
        "make the folder writable for this user, or use another home folder"
    )
    assert list((tmp_path / "catalog").iterdir()) == []


def test_a_folder_another_user_cannot_write_is_named(shared_folder):
    locked = shared_folder / "catalog"
    locked.mkdir()
    take_from_another_user(locked)
    with pytest.raises(WriteError, match=f"cannot write to {locked} \\(permission denied\\)"):
        as_another_user(check_writable, locked)
    with pytest.raises(WriteError, match=f"cannot write x.npy in {locked} \\(permission denied\\)"):
        as_another_user(atomic_write, locked / "x.npy", lambda tmp: tmp.write_bytes(b"x"))
    give_to_another_user(locked)
    as_another_user(check_writable, locked / "new")
    assert (locked / "new").is_dir() and list((locked / "new").iterdir()) == []


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


def test_temporary_names_carry_the_writers_pid(tmp_path):
    seen = []
    atomic_write(tmp_path / "file.npy", lambda tmp: seen.append(tmp.name) or tmp.write_bytes(b"x"))
    assert re.fullmatch(rf"\.file\.npy\.{os.getpid()}\.[0-9a-f]{{8}}\.tmp", seen[0])
    atomic_write(
        tmp_path / "m.keras", lambda tmp: seen.append(tmp.name) or tmp.write_bytes(b"x"), suffix=".keras"
    )
    assert re.fullmatch(rf"\.m\.keras\.{os.getpid()}\.[0-9a-f]{{8}}\.tmp\.keras", seen[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.npy", "m.keras"]


def test_stale_temp_files_are_removed_and_never_read(tmp_path):
    tracks = _tracks(tmp_path / "audio", 1)
    cache = FeatureCache(tmp_path / "features")
    shard = cache.path(1).parent
    shard.mkdir(parents=True)
    stale = [
        shard / f".1.npy.{dead_pid()}.0123abcd.tmp",
        shard / ".1.npy.abc.tmp",
        cache.dir / ".config.json.x.tmp",
    ]
    live = shard / f".2.npy.{os.getppid()}.0123abcd.tmp"  # another process, still writing
    for path in [*stale, live]:
        path.write_bytes(b"half a file")
    assert cache.ids() == []
    extract(tracks, cache, workers=1, progress=False)
    assert not any(path.exists() for path in stale) and cache.ids() == [1]
    assert live.exists()


@pytest.mark.parametrize(
    ("name", "stale"),
    [
        (".build.json.{dead}.0a1b2c3d.tmp", True),
        (".build.json.{live}.0a1b2c3d.tmp", False),
        (".m.keras.{dead}.0a1b2c3d.tmp.keras", True),
        (".m.keras.{live}.0a1b2c3d.tmp.keras", False),
        (".tmp-{dead}-m.keras", True),  # model.py's former naming
        (".tmp-{live}-m.keras", False),
        ("index-m.npz.tmp", True),  # index.py's former naming: no writer recorded
        (".catalog-m.npz.k2j_x9ab.tmp", True),  # mkstemp's former naming
        ("index-m.npz", False),
        (".musicrec.duckdb.lock", False),
    ],
)
def test_stale_temporaries_are_those_of_gone_writers(name, stale):
    assert is_stale_temp(name.format(dead=dead_pid(), live=os.getppid())) is stale


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
    """The log-mel files of the build's tracks."""
    return list(FeatureCache(home / "features").dir.glob("*/*.npy"))


def _done(home: Path) -> set[str]:
    """Tracks with both their log-mel and their backbone sound features cached."""
    from recommender.backbone import DEFAULT_SOUND

    sounds = {f.name for f in FeatureCache(home / "features", DEFAULT_SOUND).dir.glob("*/*.npy")}
    return {f.name for f in _feature_files(home)} & sounds


def _workers_once_features_appear(proc: subprocess.Popen, home: Path, *, at_least: int = 3) -> list:
    """Wait until the build has cached ``at_least`` tracks; return its worker processes (psutil)."""
    import psutil

    deadline = time.time() + 300  # generous: the machine may be busy
    while len(_done(home)) < at_least and time.time() < deadline and proc.poll() is None:
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
    done_before = len(_done(home))
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
    assert len(files) == n and len(_done(home)) == n
    assert not list((home / "features").glob("*/*/.*.tmp"))
    import json

    info = json.loads((home / "build.json").read_text())
    assert info["features"] == {"computed": n - done_before, "cached": done_before}
    assert all(np.load(f).shape == (128, 1292) for f in files)


def test_ctrl_c_cancels_the_build_and_closes_its_local_cluster(tmp_path):
    n = 40
    cmd, env, home = _folder_build(tmp_path, n)
    # A session of its own, so the test can press Ctrl-C as a terminal does: to the build and its workers.
    # The build starts as from a terminal, with SIGINT's default action, even where this test run was
    # started in the background by a script (which leaves SIGINT ignored, and children inherit that).
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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
