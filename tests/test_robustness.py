"""What a build and the commands do when things go wrong: killed builds, a wrong scheduler, odd homes.

Each case runs the command line in a process of its own and checks what a user sees:
the one-line message, the exit code, and what is left behind (processes, locks, files).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recommender.config import Paths
from recommender.jobs import build_lock

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
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert other.accepted.wait(30), "the build never tried the scheduler"
            with build_lock(Paths.at(home)):  # another build could start meanwhile
                pass
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        elapsed = time.monotonic() - started
    finally:
        other.close()
    line = _one_error_line(subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr))
    assert f"tcp://127.0.0.1:{other.port}" in line and "Dask scheduler" in line, line
    assert elapsed <= 10, f"the build took {elapsed:.1f} s to give up"
    assert not (home / "build.json").exists()
