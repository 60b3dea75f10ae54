"""Parallel, resumable extraction of log-mel features into an on-disk cache.

The cache keeps one float16 ``.npy`` per track and audio content, ``(n_mels, n_frames)``,
below a folder named after the ``AudioConfig`` that made it (``features/<config key>/``),
with that config saved beside as ``config.json``. A file is named by its track id and
the content key of the audio it was computed from (``content_key``: path, size and
modification time), so another song under the same id (a demo of another seed, a file
replaced in place) is computed anew and never overwrites the features of the catalog in
use. Files are written to a temporary name and renamed into place, so a build killed at
any moment (even by SIGKILL) never leaves a half-written file under a valid name, and
the next build computes only what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from recommender import cluster
from recommender.audio import decode, log_mel, prepare
from recommender.config import DEFAULT_AUDIO, AudioConfig
from recommender.errors import AudioError, NotBuiltError, RecommenderError
from recommender.files import (
    atomic_write,
    atomic_write_text,
    remove_stale_temps,
)
from recommender.sources.base import Track

if TYPE_CHECKING:
    from recommender.backbone import SoundConfig


def content_key(path: str | os.PathLike) -> str | None:
    """A short key of an audio file's content as the file system tells it; None: no such file.

    Made of the file's name, size and modification time in nanoseconds (hashing every
    file's bytes would read a whole collection at each build): a file rewritten or
    replaced in place gets another key, the same untouched file always the same one,
    also in a home folder that was moved or copied with its times (``cp -a``).
    """
    try:
        stat = os.stat(path)
    except OSError:
        return None
    text = f"{Path(path).name}\0{stat.st_size}\0{stat.st_mtime_ns}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


class FeatureCache:
    """Features of tracks, by track id and audio content, for one configuration that names the folder.

    An ``AudioConfig``: log-mels ``(n_mels, n_frames)``; a ``backbone.SoundConfig``: the
    backbone's sound features ``(width,)``. Stored as float16, read back as float32.

    ``keys`` maps a track id to the ``content_key`` of its audio: the features a catalog
    uses are those of its own songs. ``extract`` adds the keys of the tracks it saw.
    ``locate(track_id)`` (optional) gives the audio path of a track without a key, whose
    key is then read from the file. A cache without keys (``keys=None``) reads and writes
    the files of catalogs built before features had content keys (``<id>.npy``).
    """

    def __init__(
        self,
        root: Path,
        config: AudioConfig | SoundConfig = DEFAULT_AUDIO,
        *,
        keys: Mapping[int, str] | None = None,
        locate: Callable[[int], str | os.PathLike] | None = None,
    ):
        self.config = config
        self.dir = Path(root) / config.key()
        self.keys: dict[int, str] | None = (
            None if keys is None and locate is None else {int(k): str(v) for k, v in (keys or {}).items()}
        )
        self._locate = locate

    @property
    def keyed(self) -> bool:
        """Whether files are named by content (False: a catalog built before, ``<id>.npy``)."""
        return self.keys is not None

    def remember(self, keys: Mapping[int, str]) -> None:
        """Use the features of these contents for these tracks from now on."""
        if self.keys is None:
            self.keys = {}
        self.keys.update({int(k): str(v) for k, v in keys.items()})

    def key(self, track_id: int) -> str | None:
        if self.keys is None:
            return None
        key = self.keys.get(int(track_id))
        if key is None and self._locate is not None:
            with contextlib.suppress(RecommenderError, OSError, KeyError, ValueError):
                key = content_key(self._locate(int(track_id)))
        return key

    def path(self, track_id: int, key: str | None = None) -> Path:
        # Shard by the last three digits so no folder holds more than ~1/1000 of the catalog.
        key = key or self.key(track_id)
        name = f"{int(track_id)}-{key}.npy" if key else f"{int(track_id)}.npy"
        return self.dir / f"{int(track_id) % 1000:03d}" / name

    def has(self, track_id: int, key: str | None = None) -> bool:
        return self.path(track_id, key).is_file()

    def get(self, track_id: int) -> np.ndarray:
        """A track's features as float32 (a log-mel ``(n_mels, n_frames)``, or sound features ``(width,)``)."""
        try:
            return np.load(self.path(track_id), allow_pickle=False).astype(np.float32)
        except FileNotFoundError:
            raise NotBuiltError(f"no cached features for track {track_id}; run the build again") from None

    def put(self, track_id: int, features: np.ndarray, key: str | None = None) -> None:
        self._write_config()
        atomic_write(self.path(track_id, key), lambda tmp: _save_npy(tmp, features.astype(np.float16)))

    def put_for(self, track_id: int, audio_path: str | os.PathLike, features: np.ndarray) -> None:
        """``put`` the features of the audio file at ``audio_path`` (an uploaded clip's, once saved)."""
        key = content_key(audio_path) if self.keyed else None
        if key is not None:
            self.remember({int(track_id): key})
        self.put(track_id, features, key)

    def ids(self) -> list[int]:
        """Track ids with features here (for any content)."""
        if not self.dir.is_dir():
            return []
        return sorted(
            {int(p.stem.split("-")[0]) for p in self.dir.glob("*/*.npy") if _FEATURE_NAME.match(p.name)}
        )

    def prune(self, keep: Mapping[int, str]) -> int:
        """Delete the features of other contents of the tracks in ``keep`` (id -> key); returns how many.

        Called once a build is the catalog: what its songs replaced is not needed any more.
        Tracks not in ``keep`` (a cancelled build's, an upload's) are left alone.
        """
        removed = 0
        for track_id, key in keep.items():
            shard = self.dir / f"{int(track_id) % 1000:03d}"
            for entry in shard.glob(f"{int(track_id)}*.npy"):
                match = _FEATURE_NAME.match(entry.name)
                if match and int(match["id"]) == int(track_id) and match["key"] != key:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                        removed += 1
        return removed

    def _write_config(self) -> None:
        cfg = self.dir / "config.json"
        if not cfg.is_file():
            atomic_write_text(cfg, json.dumps(self.config.to_dict(), indent=2))


_FEATURE_NAME = re.compile(r"^(?P<id>\d+)(?:-(?P<key>[0-9a-f]{16}))?\.npy$")


def keys_of(tracks: Iterable[Track]) -> dict[int, str | None]:
    """The ``content_key`` of each track's audio (None: the file is not there)."""
    return {int(t.track_id): content_key(t.audio_path) for t in tracks}


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


def clip_features(
    path: str | os.PathLike, *, config: AudioConfig | None, sound: SoundConfig | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The one feature path, for the catalog, for training and for an uploaded clip.

    Decodes ``path`` once and returns its log-mel ``(n_mels, n_frames)`` for ``config``
    and musicnn's log-mel ``(n_frames, 96)`` for the backbone of ``sound`` (None: not
    wanted). ``backbone.sound_features`` turns the latter into the song's sound features.
    Raises ``AudioError`` for a file that cannot be used.
    """
    from recommender.backbone import musicnn_mel

    seconds = max(c.clip_seconds for c in (config, sound and sound.preprocessing) if c is not None)
    data, sr = decode(path, max_seconds=seconds)
    name = Path(path).name
    mel = None if config is None else log_mel(prepare(data, sr, config=config, name=name), config=config)
    heard = None if sound is None else musicnn_mel(prepare(data, sr, config=sound.preprocessing, name=name))
    return mel, heard


SOUND_BATCH_SONGS = 8  # songs whose patches go through the backbone together (5 patches each)


def extract_batch(
    items: list[tuple[int, str, str | None]],
    config: dict,
    folder: str,
    sound_config: dict | None = None,
    sound_folder: str | None = None,
) -> list[tuple[int, str | None]]:
    """Worker: features of a batch of ``(track_id, audio path, content key)`` into the caches at ``folder``
    (and ``sound_folder``).

    Each file is decoded once for both caches: its log-mel, and (with ``sound_config``)
    the backbone's sound features, run over the patches of several songs at a time. A
    file whose content key changed since the build looked (rewritten meanwhile) fails
    rather than store features under a key they do not belong to. Returns ``(track_id,
    error or None)`` per track. Runs on a Dask worker, maybe twice (a batch of a lost
    worker runs again): a track already cached is reported as done, not computed again.
    A cancelled batch stops after its current track (the tracks it did stay cached for
    the next build).
    """
    from recommender.backbone import SoundConfig, sound_features

    cache = FeatureCache(Path(folder).parent, AudioConfig.from_dict(config))
    sounds = None
    if sound_config is not None and sound_folder is not None:
        sounds = FeatureCache(Path(sound_folder).parent, SoundConfig.from_dict(sound_config))
    out: list[tuple[int, str | None]] = []
    pending: list[tuple[int, str | None, np.ndarray]] = []

    def hear_pending() -> None:
        heard = sound_features(
            [m for _, _, m in pending],
            names=sounds.config.backbones,
            max_patches=sounds.config.max_patches,
            layout=sounds.config.layout,
        )
        for (track_id, key, _), features in zip(pending, heard, strict=True):
            sounds.put(track_id, features, key)
            out.append((track_id, None))
        pending.clear()

    for item in items:
        track_id, audio_path, key = _item(item)
        if cluster.cancelled():
            return out  # the clips heard so far keep their log-mels; their sound features come next time
        gone = key is None and not os.path.isfile(audio_path)  # the decoder says why, nothing stale is used
        need_mel = gone or not cache.has(track_id, key)
        need_sound = sounds is not None and (gone or not sounds.has(track_id, key))
        if not (need_mel or need_sound):
            out.append((track_id, None))
            continue
        try:
            mel, heard = clip_features(
                audio_path,
                config=cache.config if need_mel else None,
                sound=sounds.config if need_sound else None,
            )
        except AudioError as e:
            out.append((track_id, str(e)))
            continue
        except Exception as e:  # a decoder crashing on a hostile file must not end the build
            out.append(
                (track_id, f"{Path(audio_path).name}: could not be processed ({type(e).__name__}: {e})")
            )
            continue
        if key is not None and content_key(audio_path) != key:
            out.append((track_id, f"{Path(audio_path).name}: changed while it was read; build again"))
            continue
        if mel is not None:
            cache.put(track_id, mel, key)
        if heard is None:
            out.append((track_id, None))
        else:
            pending.append((track_id, key, heard))
            if len(pending) >= SOUND_BATCH_SONGS:
                hear_pending()
    if pending:
        hear_pending()
    return out


def _item(item: Sequence) -> tuple[int, str, str | None]:
    """``(track_id, audio path, content key)`` of a work item (a pair: a cache without keys)."""
    track_id, audio_path, *rest = item
    return int(track_id), str(audio_path), (rest[0] if rest else None)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


IN_PROCESS_BELOW = 16  # fewer tracks than this are computed here: a LocalCluster takes ~2 s to start


def extract(
    tracks: Sequence[Track],
    cache: FeatureCache,
    *,
    sounds: FeatureCache | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    home: Path | None = None,
    progress: bool | Callable[[int, int], None] = True,
) -> ExtractReport:
    """Compute features for every track not yet in ``cache`` (log-mels) or ``sounds`` (backbone sound
    features, a cache for a ``backbone.SoundConfig``; None: none wanted), on Dask (``recommender.cluster``).

    ``scheduler``: a Dask scheduler's address (default ``$MUSICREC_SCHEDULER``), whose
    workers must see ``home`` (default: the cache's folder), checked first. Without
    one, a LocalCluster of ``workers`` processes (default: all cores) starts for the
    extraction; with ``workers=1``, or fewer than ``IN_PROCESS_BELOW`` tracks to
    compute, they are computed in this process. ``progress``: True for a tqdm bar on
    stderr, or a callable ``(done, total)`` (the app's progress bar), called as batches
    complete. Tracks whose audio fails are reported in ``failed``, never fatal; each
    track is reported once, even when Dask ran its batch twice.

    Features are looked up by the content key of each track's audio now (``content_key``),
    and the caches remember those keys (``FeatureCache.remember``): reading them back
    gives the features of exactly these files.
    """
    report = ExtractReport()
    caches = [c for c in (cache, sounds) if c is not None]
    todo = []
    for c in caches:
        _remove_stale_temps(c.dir)
        c._write_config()
    keys = keys_of(tracks)
    for c in caches:
        c.remember({i: k for i, k in keys.items() if k is not None})
    for t in tracks:
        key = keys[int(t.track_id)]
        if key is not None and all(c.has(t.track_id, key) for c in caches):
            report.ok.append(t.track_id)
        else:
            # absolute: workers have other cwds; no key (no file): the decoder says why
            todo.append((t.track_id, os.path.abspath(t.audio_path), key))
    bar = tqdm(total=len(todo), desc="features", unit="track", file=sys.stderr, disable=progress is not True)
    seen: set[int] = set()
    watch = FeaturesWatch(todo, caches, progress if callable(progress) else None)
    batches = _run(todo, cache, sounds, workers=workers, scheduler=scheduler, home=home or cache.dir)
    try:
        for results in batches:
            for track_id, error in results:
                if track_id in seen:
                    continue
                seen.add(track_id)
                if error is None:
                    report.ok.append(track_id)
                    report.computed += 1
                else:
                    report.failed[track_id] = error
                bar.update()
            watch.report(len(seen))
    finally:
        watch.stop()
        batches.close()  # now, not when the traceback is freed: cancels the work, closes a LocalCluster
        bar.close()
    return report


WATCH_EVERY_S = 1.0  # how often the features written so far are counted while batches run


class FeaturesWatch:
    """Calls ``progress(done, total)`` every ``WATCH_EVERY_S`` with the tracks whose features are written.

    A batch reports only when all its songs are done (50-200 of them: minutes); the
    workers write each song's features as soon as they have them, so counting the files
    moves the progress bar song by song. Never backwards, never past the batches' own count
    once they have reported.
    """

    def __init__(self, todo: list[tuple[int, str, str | None]], caches: list[FeatureCache], progress) -> None:
        self.todo = [(track_id, key) for track_id, _, key in todo if key is not None]
        self.total, self.caches, self.progress = len(todo), caches, progress
        self.done = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = None
        if progress is not None and self.total:
            self.thread = threading.Thread(target=self._run, name="features-watch", daemon=True)
            self.thread.start()

    def report(self, done: int) -> None:
        if self.progress is None:
            return
        with self.lock:
            self.done = max(self.done, done)
            self.progress(self.done, self.total)

    def _run(self) -> None:
        while not self.stopped.wait(WATCH_EVERY_S):
            written = sum(all(c.has(track_id, key) for c in self.caches) for track_id, key in self.todo)
            with self.lock:
                if written > self.done and not self.stopped.is_set():
                    self.done = written
                    self.progress(self.done, self.total)

    def stop(self) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()


def _remove_stale_temps(root: Path) -> None:
    """Delete temporary files a killed build left behind (they never carry a valid name)."""
    remove_stale_temps(root, "*/.*")
    remove_stale_temps(root, ".*")


def _run(
    todo: list[tuple[int, str, str | None]],
    cache: FeatureCache,
    sounds: FeatureCache | None,
    *,
    workers: int | None,
    scheduler: str | None,
    home: Path,
) -> Iterator[list[tuple[int, str | None]]]:
    """Results of ``todo``, a list per finished batch: here, on a LocalCluster or on a scheduler's workers."""
    address = cluster.scheduler_address(scheduler)
    workers = default_workers() if workers is None else max(1, workers)
    if not todo:
        return
    args = [cache.config.to_dict(), str(cache.dir.resolve())]
    if sounds is not None:
        args += [sounds.config.to_dict(), str(sounds.dir.resolve())]
    if address is None and (workers == 1 or len(todo) < IN_PROCESS_BELOW):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # as on a worker: faster, and the very same features
            for batch in cluster.split(todo, SOUND_BATCH_SONGS):
                yield extract_batch(batch, *args)
        return
    local_batches = cluster.split(todo, cluster.batch_size(len(todo), workers))
    with cluster.connect(address, workers=min(workers, len(local_batches))) as client:
        cluster.check_shared(client, home)
        batches = cluster.split(todo, cluster.batch_size(len(todo), cluster.slots(client)))
        yield from cluster.map_batches(client, extract_batch, batches, *args, lost=_lost)


def _lost(items: list[tuple[int, str, str | None]], reason: str) -> list[tuple[int, str | None]]:
    """The failure of tracks whose processing killed the worker (a crashing decoder, no memory left)."""
    return [
        (track_id, f"{Path(path).name}: could not be processed ({reason})") for track_id, path, *_ in items
    ]
