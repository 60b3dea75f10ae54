"""Parallel, resumable extraction of log-mel features into an on-disk cache.

The cache keeps one float16 ``.npy`` per track, ``(n_mels, n_frames)``, below a folder
named after the ``AudioConfig`` that made it (``features/<config key>/``), with that
config saved beside as ``config.json``. Files are written to a temporary name and
renamed into place, so a build killed at any moment (even by SIGKILL) never leaves a
half-written file under a valid name, and the next build computes only what is missing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import multiprocessing as mp
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recommender.audio import mel_for_file
from recommender.config import DEFAULT_AUDIO, AudioConfig
from recommender.errors import AudioError, NotBuiltError, WriteError
from recommender.sources.base import Track

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


def atomic_write(path: Path, write: Callable[[Path], None], *, suffix: str = "") -> None:
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


class FeatureCache:
    """Log-mel features of tracks, keyed by track id, for one ``AudioConfig``."""

    def __init__(self, root: Path, config: AudioConfig = DEFAULT_AUDIO):
        self.config = config
        self.dir = Path(root) / config.key()

    def path(self, track_id: int) -> Path:
        # Shard by the last three digits so no folder holds more than ~1/1000 of the catalog.
        return self.dir / f"{int(track_id) % 1000:03d}" / f"{int(track_id)}.npy"

    def has(self, track_id: int) -> bool:
        return self.path(track_id).is_file()

    def get(self, track_id: int) -> np.ndarray:
        """Log-mel of a track: float32 ``(n_mels, n_frames)``."""
        try:
            return np.load(self.path(track_id), allow_pickle=False).astype(np.float32)
        except FileNotFoundError:
            raise NotBuiltError(f"no cached features for track {track_id}; run the build again") from None

    def put(self, track_id: int, mel: np.ndarray) -> None:
        self._write_config()
        atomic_write(self.path(track_id), lambda tmp: _save_npy(tmp, mel.astype(np.float16)))

    def ids(self) -> list[int]:
        if not self.dir.is_dir():
            return []
        return sorted(int(p.stem) for p in self.dir.glob("*/*.npy"))

    def _write_config(self) -> None:
        cfg = self.dir / "config.json"
        if not cfg.is_file():
            atomic_write_text(cfg, json.dumps(self.config.to_dict(), indent=2))


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would append ".npy" to a bare name
        np.save(f, array, allow_pickle=False)


@dataclass
class ExtractReport:
    """What an extraction did: tracks now cached, computed this run, and failures with reasons."""

    ok: list[int] = field(default_factory=list)
    computed: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def cached(self) -> int:
        return len(self.ok) - self.computed


def _extract_one(task: tuple[int, str, dict, str]) -> tuple[int, str | None]:
    """Worker: compute and store one track's features. Returns ``(track_id, error or None)``."""
    track_id, audio_path, config_dict, root = task
    cache = FeatureCache(Path(root).parent, AudioConfig.from_dict(config_dict))
    try:
        mel = mel_for_file(audio_path, config=cache.config)
    except AudioError as e:
        return track_id, str(e)
    except Exception as e:  # a decoder crashing on a hostile file must not end the build
        return track_id, f"{Path(audio_path).name}: could not be processed ({type(e).__name__}: {e})"
    cache.put(track_id, mel)
    return track_id, None


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def extract(
    tracks: Sequence[Track],
    cache: FeatureCache,
    *,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = True,
) -> ExtractReport:
    """Compute features for every track not yet in ``cache``.

    ``workers`` processes (default: all cores; 1 = in this process). ``progress``: True
    for a tqdm bar on stderr, or a callable ``(done, total)`` (the app's progress bar).
    Tracks whose audio fails are reported in ``failed`` with the reason, never fatal.
    """
    report = ExtractReport()
    _remove_stale_temps(cache.dir)
    todo = []
    config, root = cache.config.to_dict(), str(cache.dir)  # shared by every task: memory flat in tracks
    for t in tracks:
        if cache.has(t.track_id):
            report.ok.append(t.track_id)
        else:
            todo.append((t.track_id, t.audio_path, config, root))
    cache._write_config()
    workers = default_workers() if workers is None else max(1, workers)
    bar = tqdm(total=len(todo), desc="features", unit="track", file=sys.stderr, disable=progress is not True)
    try:
        for done, (track_id, error) in enumerate(_run(todo, workers), start=1):
            if error is None:
                report.ok.append(track_id)
                report.computed += 1
            else:
                report.failed[track_id] = error
            bar.update()
            if callable(progress):
                progress(done, len(todo))
    finally:
        bar.close()
    return report


def _remove_stale_temps(root: Path) -> None:
    """Delete temporary files a killed build left behind (they never carry a valid name)."""
    remove_stale_temps(root, "*/.*")
    remove_stale_temps(root, ".*")


def _run(tasks: list, workers: int) -> Iterable[tuple[int, str | None]]:
    if workers == 1 or len(tasks) <= 1:
        yield from map(_extract_one, tasks)
        return
    # spawn: the parent may hold TensorFlow or a DuckDB handle, which must not be forked.
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=ctx, initializer=_init_worker
    ) as pool:
        yield from pool.map(_extract_one, tasks, chunksize=4)


def _init_worker() -> None:
    """One BLAS/OpenMP thread per worker: the workers already fill the cores.

    Left at its default, each worker's OpenBLAS starts a thread per core for the mel
    filterbank product, and on two cores the oversubscribed threads spin against each
    other: steady extraction ran at 16 clips/s with two workers against 36 with this
    (bench/ingest.py, 30-s 44.1 kHz stereo MP3s, serial 20 clips/s).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
