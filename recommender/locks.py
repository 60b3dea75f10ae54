"""One build per home: ``<home>/build.lock``, held by the build that runs (from the app or the command line)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from recommender.config import Paths
from recommender.errors import UserInputError

try:
    import fcntl
except ImportError:  # Windows: no lock, builds must not overlap
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "build.lock"


@contextlib.contextmanager
def build_lock(paths: Paths) -> Iterator[None]:
    """Hold ``<home>/build.lock`` for a build, or raise ``UserInputError`` if another build holds it."""
    paths.home.mkdir(parents=True, exist_ok=True)
    path = paths.home / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None and not _lock(fd, wait=1.0):  # a reader's probe holds it for microseconds
            holder = _holder(path)
            raise UserInputError(
                f"another build of {paths.home} is running (process {holder.get('pid', '?')}, "
                f"started {holder.get('started_at', 'a moment ago')}); wait for it or cancel it"
            )
        os.ftruncate(fd, 0)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.write(fd, json.dumps({"pid": os.getpid(), "started_at": started}).encode())
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock(fd: int, *, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def is_building(paths: Paths) -> bool:
    """Whether a build of this home is running now (its lock is held)."""
    path = paths.home / LOCK_FILE
    if fcntl is None or not path.is_file():
        return False
    with open(path, "rb") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def _holder(path) -> dict:
    """What the lock file says of the build holding it (pid, start), or nothing."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
