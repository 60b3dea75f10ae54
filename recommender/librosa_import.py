"""librosa, imported by one process at a time.

librosa compiles its numba functions when its modules are imported and caches the machine
code beside its own files. Two processes compiling the same GUFuncs at once can write cache
files that disagree with each other (numba issue #10128), and from then on every process that
imports librosa dies with a segmentation fault. On a fresh install the first build's Dask
workers, the app and the command line may all import librosa at once, so each process loads
librosa's compiled modules under an exclusive lock on a file in the temporary folder: the first
process compiles and writes the cache, the others wait and then read it.

Every module of musicrec gets librosa from ``load_librosa()``, never by ``import librosa``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

COMPILED = (
    "librosa.core.audio", "librosa.core.spectrum", "librosa.core.pitch", "librosa.core.constantq",
    "librosa.core.notation", "librosa.filters", "librosa.util.utils", "librosa.util.matching",
    "librosa.feature.utils", "librosa.sequence", "librosa.beat", "librosa.onset",
)  # fmt: skip
"""librosa's modules that compile cached numba functions when imported (and ``onset``, which uses them)."""

LOCK_FILE = Path(tempfile.gettempdir()) / "musicrec-librosa-import.lock"

_loaded: ModuleType | None = None
_thread_lock = threading.Lock()


@contextlib.contextmanager
def import_lock(path: Path = LOCK_FILE) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` that every musicrec process takes to import librosa.

    Where the lock file cannot be opened (another user's, a read-only folder), or there is no
    ``fcntl`` (Windows), librosa is imported without it.
    """
    try:
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock, as does the process ending


def load_librosa() -> ModuleType:
    """The ``librosa`` module, its compiled modules imported under ``import_lock`` (once per process)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _thread_lock, import_lock():
        if _loaded is None:
            for name in COMPILED:
                importlib.import_module(name)
            _loaded = importlib.import_module("librosa")
    return _loaded
