"""Files written whole or not at all, and the temporaries that make it so.

Every file of a home is written under a temporary name beside it and renamed into place
(``atomic_write``), so a killed writer never leaves half a file under the final name. The
temporaries are named ``.<name>.<pid>.<random>.tmp``: a later build removes those whose
writer is gone (``remove_stale_temps``) and keeps those still being written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from recommender.errors import WriteError

TEMP_SUFFIX = ".tmp"
# ".<name>.<pid>.<random>.tmp", optionally followed by the final name's suffix (Keras insists on ".keras").
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp(?:\.[A-Za-z0-9]+)?$")
_OLD_TEMP_NAME = re.compile(r"^\.tmp-(?P<pid>\d+)-.+$")  # model.py's temporaries before this helper


def temp_path(path: Path, *, suffix: str = "") -> Path:
    """A new temporary name beside ``path``: ``.<name>.<pid>.<random>.tmp<suffix>``.

    Every temporary file of a home is named this way, so that a later build can tell
    the leftovers of a killed writer (its pid is gone) from files still being written.
    """
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}{suffix}")


def atomic_write(path: Path, write: Callable[[Path], object], *, suffix: str = "") -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    ``tmp`` is named by ``temp_path`` (``suffix`` appended) and exists, empty, when
    ``write`` is called; it is removed if anything fails. The file gets the mode any new
    file of the process gets (0o666 less the umask, as DuckDB's and Keras's files do), so
    a home shared by a team or a cluster is readable as its umask says. An ``OSError``
    (a folder not writable, a full disk) becomes a ``WriteError`` naming the file's folder.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(path, suffix=suffix)
        write(tmp)
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise write_error(path.parent, error, what=path.name) from error
        raise


def _create_temp(path: Path, *, suffix: str) -> Path:
    while True:
        tmp = temp_path(path, suffix=suffix)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # minus the umask
            return tmp
        except FileExistsError:  # 32 random bits: practically never
            continue


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and make sure a file can be created in it; else ``WriteError``.

    Tried, not asked (``os.access``): a read-only mount, an ACL or a full disk all show.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _create_temp(folder / "write-check", suffix="").unlink()
    except OSError as error:
        raise write_error(folder, error) from error


def write_error(folder: Path, error: OSError, *, what: str | None = None) -> WriteError:
    """A one-line ``WriteError`` naming ``folder`` (and the file ``what``) and what to do about it."""
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "permission denied" if error.errno != errno.EROFS else "read-only file system"
        advice = "make the folder writable for this user, or use another home folder"
    else:
        why = (error.strerror or str(error)).lower()
        advice = "free some space" if error.errno == errno.ENOSPC else "check the folder"
    target = f"{what} in {folder}" if what else f"to {folder}"
    return WriteError(f"cannot write {target} ({why}); {advice}")


def is_stale_temp(name: str) -> bool:
    """True for the name of a temporary file whose writer is gone (see ``temp_path``).

    A temporary named with a pid is stale once no process has that pid; ``.tmp`` files
    named without one (by older versions) are always stale. Other names are not temporaries.
    """
    match = _TEMP_NAME.match(name) or _OLD_TEMP_NAME.match(name)
    if match:
        return not _pid_alive(int(match["pid"]))
    return name.endswith(TEMP_SUFFIX)


def remove_stale_temps(folder: Path, pattern: str = "*") -> int:
    """Delete the stale temporary files among ``folder.glob(pattern)``; returns how many.

    Temporaries of live writers (another build, the app adding a clip) are kept.
    """
    removed = 0
    for entry in Path(folder).glob(pattern):
        if is_stale_temp(entry.name) and entry.is_file():
            with contextlib.suppress(OSError):  # a folder we may not write: the build says so later
                entry.unlink()
                removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def savez(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` into exactly ``path`` (meant for ``atomic_write``'s temporary)."""
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a bare name
        named: dict[str, Any] = dict(arrays)  # the names are the arrays' own, never savez's options
        np.savez(f, **named)
