"""One way into a database file per process: a shared DuckDB connection, taken and given back in turns.

DuckDB lets one *process* open a file read-write, or any number of processes open it
read-only, never both; a process that tries anyway gets "Could not set lock". Inside
one process, one connection serves every thread: each call gets its own cursor and
transaction, and DuckDB runs them side by side. So every process holds at most one
connection per file, in a ``Database``:

- A call that writes needs the file open read-write, under an exclusive advisory lock
  on ``<database>.lock`` (``fcntl.flock``). A call that only reads is served by
  whatever connection is open; with none open, it opens the file read-only under a
  *shared* lock, so processes that only read never wait for one another. A write that
  finds a read-only connection lets the reads in progress finish, then reopens.
- The connection lingers ``LINGER_S`` after the last call, so a burst of calls (a page
  rerun, a loop of plays) opens the file once. A process waiting for the lock file
  says so with a shared lock on ``<database>.wait``; a holder that sees it gives the
  file back after ``TURN_S`` of use, at the next moment no call is running, and pauses
  ``PAUSE_S`` before taking it again (in the same mode), so every process gets turns.
- The lock file keeps the hand-over clean: without it, DuckDB 2.0 was seen to lose a
  committed write when processes opened and closed the file in quick succession.

A ``Database`` also counts this process's writes and keeps small cached reads
(``cached``), valid while neither this process nor any other wrote: other processes'
commits show in the size and time stamps of the database file and its write-ahead log.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb

try:
    import fcntl
except ImportError:  # Windows: DuckDB's own lock and the retries alone
    fcntl = None

from recommender.errors import RecommenderError

T = TypeVar("T")

LINGER_S = 0.2  # keep the file open this long after the last call
TURN_S = 0.5  # while another process waits: give it back after this long, at the next quiet moment
PAUSE_S = 0.02  # how long this process waits before taking the file again after giving it back


class Busy(Exception):
    """The file could not be opened before the deadline (locked by another process)."""


def is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "could not set lock" in str(exc).lower()


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class Database:
    """The process's connection to one database file (see the module docstring); one per file, via ``at``."""

    _all: dict[str, Database] = {}
    _all_lock = threading.Lock()

    @classmethod
    def at(cls, path: Path) -> Database:
        key = str(Path(path).resolve())
        with cls._all_lock:
            if key not in cls._all:
                cls._all[key] = cls(Path(key))
            return cls._all[key]

    def __init__(self, path: Path):
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.writes = 0  # transactions this process committed in write mode
        self.opened = 0  # times the file was opened (benchmarks and tests read it)
        self.on_open: Callable[[duckdb.DuckDBPyConnection], None] | None = None  # e.g. check the schema
        self.writable = True  # False: this process may not write the file (a read-only home): it only reads
        self._cond = threading.Condition()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._writable = False
        self._fd: int | None = None
        self._active = 0  # calls running on the connection now
        self._draining = False  # no new calls until the running ones end: the connection will close
        self._opening = False  # a thread is opening the file (outside the condition's lock)
        self._opened_at = 0.0
        self._idle_since: float | None = None
        self._not_before = 0.0  # after giving the file back: the moment this process may take it again
        self._closer: threading.Thread | None = None
        self._cache: dict[str, tuple[tuple, object]] = {}
        self._schema_checked = False
        self._reopen_writable = False
        self._wait_fd: int | None = (
            None  # other processes hold a shared lock on ``<database>.wait`` while they wait
        )
        self._checked_waiting = (0.0, False)

    # ------------------------------------------------------------------ calls
    @contextlib.contextmanager
    def cursor(self, *, write: bool, deadline: float) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the shared connection, writable if ``write``; ``Busy`` after ``deadline``."""
        cur = self._enter(write, deadline)
        try:
            yield cur
        finally:
            self._leave(cur)

    def committed(self) -> None:
        """Called after a write transaction committed: cached reads are stale."""
        with self._cond:
            self.writes += 1
            self._cache.clear()

    def cached(self, key: str, read: Callable[[], T]) -> T:
        """``read()``, remembered until this process or another writes to the database."""
        stamp = self._stamp()
        with self._cond:
            hit = self._cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]  # type: ignore[return-value]
        value = read()
        with self._cond:
            if stamp[0] == self.writes:  # no write of ours since the stamp was taken
                self._cache[key] = (stamp, value)
        return value

    def _stamp(self) -> tuple:
        """What changes with every commit: this process's write count, the file's and its log's stamps."""
        return self.writes, _stamp(self.path), _stamp(self.path.with_name(self.path.name + ".wal"))

    def _enter(self, write: bool, deadline: float) -> duckdb.DuckDBPyConnection:
        with self._cond:
            while True:
                now = time.monotonic()
                con = self._con
                if (
                    con is not None
                    and not self._draining
                    and now - self._opened_at > TURN_S
                    and self._wanted()
                ):
                    self._draining = True  # its turn is over: let the running calls finish, then give it back
                if con is not None and not self._draining and (self._writable or not write):
                    return self._cursor_locked()
                if con is not None and not self._draining:
                    self._draining = True  # a write needs the file read-write: reopen once the reads end
                if con is not None and self._active == 0:
                    turn_over = self._writable or not write  # not an upgrade: another process's turn
                    self._reopen_writable = self._writable
                    self._close_locked()
                    if turn_over:
                        self._not_before = now + PAUSE_S
                    continue
                if con is None and not self._opening and now >= self._not_before:
                    self._opening = True
                    break
                if now > deadline:
                    raise Busy("another thread kept the database busy")
                wait = min(deadline - now, 0.05)
                if con is None and not self._opening:
                    wait = min(wait, max(self._not_before - now, 0.001))
                self._cond.wait(max(wait, 0.001))
        # Open outside the condition's lock: waiting for the lock file can take a while.
        try:
            con, writable = self._open(write, deadline)
        except BaseException:
            with self._cond:
                self._opening = False
                self._cond.notify_all()
            raise
        with self._cond:
            self._opening = False
            self._con, self._writable, self._draining = con, writable, False
            self._opened_at = time.monotonic()
            self.opened += 1
            self._cond.notify_all()
            return self._cursor_locked()

    def _cursor_locked(self) -> duckdb.DuckDBPyConnection:
        cur = self._con.cursor()  # its own transactions; DuckDB runs cursors of one connection side by side
        self._active += 1
        self._idle_since = None
        return cur

    def _leave(self, cur: duckdb.DuckDBPyConnection) -> None:
        with self._cond:
            with contextlib.suppress(duckdb.Error):
                cur.close()
            self._active -= 1
            if self._active == 0:
                self._idle_since = time.monotonic()
                if self._closer is None:
                    self._closer = threading.Thread(target=self._close_when_idle, daemon=True)
                    self._closer.start()
            self._cond.notify_all()

    # ------------------------------------------------------------------ opening and closing
    def _open(self, write: bool, deadline: float) -> tuple[duckdb.DuckDBPyConnection, bool]:
        # The first opening of a process checks (and migrates) the schema: that needs the file read-write.
        # After a turn, the file is taken back as it was given up: a busy writer stays a writer.
        write = write or self._reopen_writable or not self.path.is_file()
        write = write or (self.on_open is not None and not self._schema_checked and self.writable)
        self._reopen_writable = False
        self._lock(exclusive=write, deadline=deadline)
        try:
            try:
                con = duckdb.connect(str(self.path), read_only=not write)
            except duckdb.IOException:
                raise
            except duckdb.Error as exc:
                raise RecommenderError(f"{self.path} is not a usable musicrec database: {exc}") from exc
            if self.on_open is not None and not self._schema_checked:  # read-only: a check without changes
                try:
                    self.on_open(con)
                except BaseException:
                    con.close()
                    raise
                self._schema_checked = True
            return con, write
        except BaseException:
            self._unlock()
            raise

    def _close_locked(self) -> None:
        con, self._con = self._con, None
        writable, self._writable = self._writable, False
        self._draining = False
        try:
            before = self._stamp()
            if con is not None:
                with contextlib.suppress(duckdb.Error):
                    con.close()
            if writable:  # closing wrote a checkpoint, under our lock: the cached reads are still true
                after = self._stamp()
                self._cache = {k: (after, v) for k, (st, v) in self._cache.items() if st == before}
        finally:
            self._unlock()
            self._cond.notify_all()

    def _close_when_idle(self) -> None:
        """The closer thread: gives the file back once no call has run for ``LINGER_S``."""
        with self._cond:
            while self._con is not None:
                if self._active == 0 and self._idle_since is not None:
                    left = self._idle_since + LINGER_S - time.monotonic()
                    if left <= 0:
                        self._close_locked()
                        break
                    self._cond.wait(left)
                else:
                    self._cond.wait(LINGER_S)
            self._closer = None

    def close(self) -> None:
        """Give the file back now (waits for running calls)."""
        with self._cond:
            while self._active or self._opening:
                self._cond.wait(0.05)
            if self._con is not None:
                self._close_locked()

    def _lock(self, *, exclusive: bool, deadline: float) -> None:
        if fcntl is None:
            return
        if self._fd is None:
            try:
                self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
                self._wait_fd = os.open(self.wait_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:  # read-only folder: DuckDB will say what is wrong
                return
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        waiting = False
        try:
            while True:
                try:
                    fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if not waiting:  # tell the holder: it gives the file back at its next quiet moment
                        fcntl.flock(self._wait_fd, fcntl.LOCK_SH)
                        waiting = True
                    if time.monotonic() > deadline:
                        raise Busy("another musicrec process kept it open") from None
                    time.sleep(random.uniform(0.001, 0.005))
        finally:
            if waiting:
                fcntl.flock(self._wait_fd, fcntl.LOCK_UN)

    @property
    def wait_path(self) -> Path:
        return self.path.with_name(self.path.name + ".wait")

    def _wanted(self) -> bool:
        """Whether another process waits for the file (asked at most every 20 ms)."""
        if fcntl is None or self._wait_fd is None:
            return True  # no way to know: take turns anyway
        now = time.monotonic()
        at, wanted = self._checked_waiting
        if now - at < 0.02:
            return wanted
        try:
            fcntl.flock(self._wait_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(self._wait_fd, fcntl.LOCK_UN)
            wanted = False
        except BlockingIOError:
            wanted = True
        self._checked_waiting = (now, wanted)
        return wanted

    def _unlock(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


@atexit.register
def close_all() -> None:
    """Give every database file of this process back now (a checkpoint: the file alone is whole)."""
    for db in list(Database._all.values()):
        with contextlib.suppress(Exception):
            db.close()
