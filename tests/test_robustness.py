"""What a build and the commands do when things go wrong: killed builds, a wrong scheduler, odd homes.

Each case runs the command line in a process of its own and checks what a user sees:
the one-line message, the exit code, and what is left behind (processes, locks, files).
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recommender.config import Paths
from recommender.locks import build_lock
from tests.fixtures import as_another_user, take_from_another_user, tone, write_audio

ROOT = Path(__file__).resolve().parents[1]


def _env(home: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MUSICREC_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MUSICREC_SCHEDULER", None)
    return env


def _cli(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recommender", *args, "--home", str(home)],
        cwd=ROOT, env=_env(home), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    """The command failed with exactly one line on stderr, ``error: …``; that line."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# ---- processes read from /proc (psutil is optional) ----------------------------------------------------
def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of ``pid``, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], fields[19]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``: pid → its start time (so that a reused pid is not mistaken for it)."""
    children: dict[int, list[int]] = {}
    starts = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[0], []).append(int(entry.name))
            starts[int(entry.name)] = stat[2]
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def _still_running(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == start and stat[1] != "Z":
            alive.append(pid)
    return alive


def _kill_all(processes: dict[int, str]) -> None:
    for pid in _still_running(processes):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_during_demo_synthesis_leaves_no_process_behind(tmp_path):
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "recommender", "build", "--source", "demo", "--tracks", "24", "--workers", "2",
           "--no-train", "--home", str(home)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            seen.update(_descendants(proc.pid))
            if sum("spawn_main" in _cmdline(pid) for pid in _still_running(seen)) >= 2:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # the workers are rendering
        seen.update(_descendants(proc.pid))
        songs = list((home / "audio" / "demo").glob("*.mp3")) + list((home / "audio" / "demo").glob("*.ogg"))
        assert proc.poll() is None and len(songs) < 24, "the build must be killed while it synthesises"
        workers = [pid for pid in _still_running(seen) if "spawn_main" in _cmdline(pid)]
        assert len(workers) == 2, "the demo synthesis runs in two worker processes"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 20
        while _still_running(seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {pid: _cmdline(pid) for pid in _still_running(seen)}
        assert not left, f"processes outlived the killed build: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_all(seen)


# ---- a --scheduler that is not a Dask scheduler ----------------------------------------------------------
class _SilentServer:
    """A TCP server on a free loopback port that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self.socket.accept()
                self.connections.append(connection)
                self.accepted.set()

    def close(self) -> None:
        for connection in [*self.connections, self.socket]:
            connection.close()


class _WebServer(http.server.ThreadingHTTPServer):
    """A plain HTTP server on a free loopback port (a dashboard, a proxy: not Dask)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
        self.port = self.server_address[1]
        self.accepted = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def verify_request(self, request, client_address) -> bool:
        self.accepted.set()
        return True

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.mark.parametrize("server", [_SilentServer, _WebServer], ids=["silent-port", "http-server"])
def test_a_scheduler_that_is_not_dask_fails_within_10_s_and_holds_no_lock(tmp_path, server):
    home = tmp_path / "home"
    other = server()
    cmd = [sys.executable, "-m", "recommender", "build", "--source", "demo", "--tracks", "4", "--no-train",
           "--scheduler", f"tcp://127.0.0.1:{other.port}", "--home", str(home)]  # fmt: skip
    try:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert other.accepted.wait(30), "the build never tried the scheduler"
            tried = time.monotonic()  # the time Python takes to start is not the scheduler's to answer for
            with build_lock(Paths.at(home)):  # another build could start meanwhile
                pass
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        elapsed = time.monotonic() - tried
    finally:
        other.close()
    line = _one_error_line(subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr))
    assert f"tcp://127.0.0.1:{other.port}" in line and "Dask scheduler" in line, line
    assert elapsed <= 10, f"the build gave up {elapsed:.1f} s after it tried the scheduler"
    assert not (home / "build.json").exists()


# ---- a catalog of one song, and what may happen to a home ------------------------------------------------
@pytest.fixture(scope="module")
def one_song(tmp_path_factory):
    """A folder holding one song, built into a home with the command line: (home, the build's process)."""
    root = tmp_path_factory.mktemp("one-song")
    write_audio(root / "music" / "Jazz" / "only.wav", tone(8.0, freq=330.0), 22_050)
    home = root / "home"
    built = _cli(
        home, "build", "--source", "folder", "--audio", str(root / "music"), "--workers", "1", "--json"
    )
    return home, built


def _copy(home: Path, to: Path) -> Path:
    shutil.copytree(home, to, ignore=shutil.ignore_patterns("*.lock", "*.wait"))
    return to


def _json(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_a_folder_of_one_song_builds_a_catalog_of_one_song(one_song):
    home, built = one_song
    summary = _json(built)
    assert summary["tracks"] == 1 and summary["genres"] == {"Jazz": 1}
    (song,) = _json(_cli(home, "search", "--json"))["results"]
    assert song["title"] == "only"
    similar = _json(_cli(home, "similar", "--track", str(song["track_id"]), "--json"))
    assert similar["query"]["track_id"] == song["track_id"] and similar["results"] == []


def _run_cli_in_process(*args: str) -> tuple[int, str, str]:
    """``cli.main(args)`` in this process: its exit code, stdout and stderr."""
    from recommender import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_a_home_this_user_cannot_write_still_answers_info_search_and_similar(one_song, shared_folder):
    home, built = one_song
    assert built.returncode == 0, built.stderr
    writable = _copy(home, shared_folder / "writable")
    read_only = _copy(home, shared_folder / "read-only")
    for path in [read_only, *read_only.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    take_from_another_user(read_only)
    (song,) = _json(_cli(home, "search", "--json"))["results"]
    asked = [("info",), ("search", "--query", "only"), ("similar", "--track", str(song["track_id"]))]
    # Once here, by this user, so that every module the commands need is loaded before the other user runs them.
    expected = [_run_cli_in_process(*args, "--json", "--home", str(writable)) for args in asked]
    for args, (code, out, _) in zip(asked, expected, strict=True):
        assert code == 0
        answer = as_another_user(_run_cli_in_process, *args, "--json", "--home", str(read_only))
        assert answer[0] == 0 and answer[2] == "", answer
        seen = json.loads(answer[1])
        # the same answer, but for the home and its catalogs' paths
        assert seen == json.loads(out.replace(str(writable), str(read_only)))
    assert json.loads(expected[1][1])["results"][0]["title"] == "only"


def test_a_database_without_its_schema_version_is_refused_on_one_line(one_song, tmp_path):
    home, built = one_song
    assert built.returncode == 0, built.stderr
    home = _copy(home, tmp_path / "home")
    import duckdb

    with duckdb.connect(str(home / "musicrec.duckdb")) as con:
        con.execute("DROP TABLE schema_version")
    for args in (("info",), ("search", "--query", "only")):
        line = _one_error_line(_cli(home, *args))
        assert (
            "musicrec.duckdb is not a musicrec database, or is damaged" in line and "schema_version" in line
        )
    with duckdb.connect(str(home / "musicrec.duckdb")) as con:  # left as it was: nothing half-migrated
        assert "schema_version" not in {row[0] for row in con.execute("SHOW TABLES").fetchall()}


def test_a_damaged_build_json_is_repaired_from_the_database_or_said_on_one_line(one_song, tmp_path):
    home, built = one_song
    original = json.loads((_copy(home, tmp_path / "original") / "build.json").read_text())
    home = _copy(home, tmp_path / "home")
    (home / "build.json").write_text('{"build_id": "demo-2026', encoding="utf-8")  # cut short
    assert _json(_cli(home, "info", "--json"))["tracks"] == 1
    assert json.loads((home / "build.json").read_text()) == original

    (home / "build.json").write_text("[]", encoding="utf-8")
    (home / "musicrec.duckdb").unlink()  # nothing to repair it from
    line = _one_error_line(_cli(home, "info"))
    assert line.startswith(f"error: {home / 'build.json'} is damaged (not a build description)"), line


def test_a_model_that_is_not_a_keras_file_is_refused_before_any_work(tmp_path):
    home = tmp_path / "home"
    started = time.monotonic()
    result = _cli(home, "build", "--source", "demo", "--tracks", "4", "--model", "/etc/passwd", "--no-train")
    line = _one_error_line(result)
    assert line.startswith("error: /etc/passwd is not a Keras model file"), line
    assert not list(home.rglob("*.mp3")) and not list(home.rglob("*.ogg")), "the demo was synthesised first"
    assert not list(home.rglob("*.npy")), "features were computed first"
    assert time.monotonic() - started < 60


_ADD = """
import os, sys
from recommender.catalog import Catalog
from recommender.store import Store

if sys.argv[3] == "killed before the commit":
    Store.add_track = lambda self, track: os._exit(9)  # as a kill -9 between the index and the database write
data = open(sys.argv[2], "rb").read()
print(Catalog.open(sys.argv[1]).add_upload(data, filename="clip.wav", title="Second song", artist="Someone"))
"""


@pytest.mark.slow  # listens to the clip twice, in two processes: about a minute
def test_an_add_killed_before_its_commit_leaves_the_clip_out_and_it_can_be_added_again(one_song, tmp_path):
    home, built = one_song
    assert built.returncode == 0, built.stderr
    home = _copy(home, tmp_path / "home")
    clip = write_audio(tmp_path / "clip.wav", tone(6.0, freq=520.0, seed=3), 22_050)

    def add(how: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", _ADD, str(home), str(clip), how],
            cwd=ROOT, env=_env(home), capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    killed = add("killed before the commit")
    assert killed.returncode == 9, killed.stderr
    assert _json(_cli(home, "info", "--json"))["tracks"] == 1
    assert _json(_cli(home, "search", "--query", "Second song", "--json"))["results"] == []

    again = add("whole")
    assert again.returncode == 0, again.stderr
    track_id = int(again.stdout.strip().splitlines()[-1])
    assert _json(_cli(home, "info", "--json"))["tracks"] == 2
    (found,) = _json(_cli(home, "search", "--query", "Second song", "--json"))["results"]
    assert found["track_id"] == track_id
    similar = _json(_cli(home, "similar", "--track", str(track_id), "--json"))["results"]
    assert [r["title"] for r in similar] == ["only"]


_FULL_DISK = """
import errno

import recommender.features as features


def _no_space(path, array):
    raise OSError(errno.ENOSPC, "No space left on device")


features._save_npy = _no_space  # every cached feature file: the disk is full
"""


@pytest.mark.slow  # starts a cluster of two workers that load the backbone: about a minute
def test_a_full_disk_during_the_features_gives_only_the_one_line_message(tmp_path):
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(_FULL_DISK, encoding="utf-8")  # in the build and its workers
    for i in range(16):  # 16 songs or more: the features are computed on a local cluster
        write_audio(
            tmp_path / "music" / f"g{i % 2}" / f"{i}.wav", tone(3.5, freq=200.0 + 25 * i, seed=i), 22_050
        )
    home = tmp_path / "home"
    env = {**_env(home), "PYTHONPATH": os.pathsep.join([str(inject), str(ROOT)])}
    cmd = [sys.executable, "-m", "recommender", "build", "--source", "folder", "--audio", str(tmp_path / "music"),
           "--workers", "2", "--no-train", "--home", str(home)]  # fmt: skip
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    progress = ("features", "scan folder")  # the stages' progress bars
    errors = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(progress)]
    assert result.returncode == 1 and len(errors) == 1, result.stderr
    assert errors[0].startswith("error: cannot write ") and "no space left on device" in errors[0], errors
    assert "free some space" in errors[0]
