"""Clips users upload: stable ids, and adding a clip to a built catalog at once (names: ``formats.safe_filename``).

An upload is first listened to (``Catalog.analyse_bytes``: the catalog's own feature
path and model). Added to the catalog, it is saved under a name made here, never the
user's, its features are cached, the index and the map arrays are extended and saved,
and its track row is written last: that row is the commit, so an interrupted upload
leaves nothing a user can see. A rebuild keeps uploads and never trains on their genres.

Adding a clip and switching a new build in take turns (``catalog_change``, a lock file
shared by every process of the home): a build that finishes while clips were added to
the catalog in use listens to them with its own model and keeps them
(``include_in_build``), and a clip whose catalog was replaced meanwhile is refused with
a message, before anything of it is saved.

Each profile may add at most ``upload_quota()`` clips and bytes (``$MUSICREC_UPLOAD_CLIPS``,
``$MUSICREC_UPLOAD_MB``; the owner is not limited), and the store remembers who added each
clip: that profile and the owner may delete it (``delete_upload``), which takes it out of
the index, the map, the database, the feature caches and the disk.

Listening is CPU-bound (about 3 s per clip on 2 cores), so the clips of all sessions
take turns in one process-wide queue (``ANALYSES``): at most ``analysis_slots()`` at
once, the others wait in order of arrival and learn how many clips are ahead of theirs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommender.errors import AccessError, AudioError, RecommenderError, UserInputError
from recommender.files import atomic_write, check_writable, savez
from recommender.formats import AUDIO_SUFFIXES, safe_filename

try:
    import fcntl
except ImportError:  # Windows: no lock between processes
    fcntl = None

if TYPE_CHECKING:
    from recommender.catalog import Catalog
    from recommender.clips import ClipAnalysis
    from recommender.config import Paths
    from recommender.sources.base import Track

ANALYSIS_SLOTS_ENV = "MUSICREC_ANALYSES"
UPLOADS_DIR = "uploads"
KEEP_HEARD = 16  # analyses remembered per catalog (about 0.7 MB each: mostly the clip's log-mel)
CHANGE_LOCK = "catalog.lock"
CHANGE_WAIT_S = 300.0  # a build switching in listens to the clips added meanwhile: seconds each
_UPLOAD_FILE = re.compile(r"^(?P<id>\d+)\.[A-Za-z0-9]+$")  # ``<track id><suffix>``, as add_upload names them


@contextlib.contextmanager
def catalog_change(paths: Paths, *, wait: float = CHANGE_WAIT_S) -> Iterator[None]:
    """Hold ``<home>/catalog.lock`` while the catalog changes: a clip is added, or a build is switched in.

    Shared by every process of the home (the app, the command line, a background build);
    a second changer waits up to ``wait`` seconds, then gets a ``UserInputError``.
    """
    paths.home.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.home / CHANGE_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise UserInputError(
                            "the catalog is busy (a build is being switched in); try again in a minute"
                        ) from None
                    time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


QUOTA_CLIPS_ENV = "MUSICREC_UPLOAD_CLIPS"
QUOTA_MB_ENV = "MUSICREC_UPLOAD_MB"
DEFAULT_QUOTA_CLIPS = 10
DEFAULT_QUOTA_MB = 100


def upload_quota() -> tuple[int, int]:
    """``(clips, bytes)`` one profile may add to the catalog: ``$MUSICREC_UPLOAD_CLIPS`` (10) and
    ``$MUSICREC_UPLOAD_MB`` (100 MB)."""

    def setting(name: str, default: int) -> int:
        value = os.environ.get(name, "").strip()
        return int(value) if value.isdigit() else default

    return setting(QUOTA_CLIPS_ENV, DEFAULT_QUOTA_CLIPS), setting(QUOTA_MB_ENV, DEFAULT_QUOTA_MB) * 10**6


def check_quota(catalog: Catalog, user: str | None, size: int) -> None:
    """``AccessError`` (no profile) or ``UserInputError`` (quota spent) unless ``user`` may add ``size`` bytes."""
    if user is None:
        raise AccessError("pick a profile to add clips to the catalog (or ask the owner to add it)")
    clips, limit = upload_quota()
    used = catalog.store.upload_usage(user)
    if used.clips + 1 > clips:
        raise UserInputError(
            f"{user} has added {used.clips} clips, the most a profile may add ({clips}); delete one of them first"
        )
    if used.bytes + size > limit:
        raise UserInputError(
            f"this clip ({size / 1e6:.1f} MB) would take {user}'s uploads to {(used.bytes + size) / 1e6:.1f} MB, "
            f"more than the {limit / 1e6:.0f} MB a profile may add; delete one of them first"
        )


def analysis_slots() -> int:
    """How many clips are listened to at once: ``$MUSICREC_ANALYSES``, else one per two cores.

    One analysis already keeps about two cores busy (TensorFlow's own threads), so more at
    once would only make every clip slower.
    """
    value = os.environ.get(ANALYSIS_SLOTS_ENV, "")
    if value.strip().isdigit() and int(value) >= 1:
        return int(value)
    return max(1, (os.cpu_count() or 2) // 2)


class WorkQueue:
    """Heavy work of many sessions in turns: ``slots`` at a time, the rest wait in order of arrival."""

    def __init__(self, slots: int = 1):
        self.slots = max(1, int(slots))
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()
        self._running = 0

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return self._running

    @contextlib.contextmanager
    def turn(self, *, on_wait: Callable[[int], None] | None = None, poll_s: float = 0.5) -> Iterator[None]:
        """Wait for a free slot and hold it for the ``with`` block.

        While waiting, ``on_wait(position)`` is called with this job's place in the line (1: the
        next to start), again whenever it changes (checked every ``poll_s``); then ``on_wait(0)``
        once, as this one starts. A waiter that gives up (an exception in ``on_wait``, e.g.
        the session ended) leaves the line.
        """
        ticket = object()
        told = None
        with self._cond:
            self._waiting.append(ticket)
        try:
            while True:
                with self._cond:
                    position = self._waiting.index(ticket) + 1
                    if position == 1 and self._running < self.slots:
                        self._waiting.popleft()
                        self._running += 1
                        break
                    if position == told:
                        self._cond.wait(poll_s)
                        continue
                told = position
                if on_wait is not None:
                    on_wait(position)  # outside the lock: it may draw on a page
        except BaseException:
            with self._cond:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            raise
        try:
            if on_wait is not None:
                on_wait(0)
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()


ANALYSES = WorkQueue(analysis_slots())  # every clip this process listens to takes its turn here


def add_upload(
    catalog: Catalog,
    data: bytes,
    *,
    filename: str,
    title: str,
    artist: str,
    genre: str | None = None,
    album: str = "Uploads",
    user: str | None = None,
    limited: bool = False,
) -> int:
    """Add an uploaded clip to ``catalog``; returns its new track id.

    ``genre``: one of the catalog's genres (default: the one the model hears most, or the
    catalog's only genre). The id is derived from the content: the same clip twice is refused.
    ``user``: the profile adding it (recorded: it may delete the clip); ``limited``: a
    visitor, who needs a profile and stays within ``upload_quota()``.
    """
    from recommender.features import content_key
    from recommender.sources.base import Track

    title, artist = " ".join(title.split()), " ".join(artist.split()) or "Unknown artist"
    if not title:
        raise UserInputError("give the clip a title")
    suffix = Path(safe_filename(filename)).suffix.lower()
    track_id = upload_track_id(data)
    known = catalog.store.tracks(track_ids=[track_id])
    if len(known):
        raise UserInputError(f"this clip is already in the catalog as “{known['title'].iloc[0]}”")
    if limited:
        check_quota(catalog, user, len(data))
    clip = catalog.analyse_bytes(data, filename=filename)
    genres = catalog.genres()
    genre = genre or next(iter(clip.genre_probabilities), None) or (genres[0] if genres else "Unknown")
    if genres and genre not in genres:
        raise UserInputError(f"unknown genre {genre!r}; choose one of {', '.join(genres)}")
    x, y = catalog.locate(clip)

    with catalog.changing(), catalog_change(catalog.paths):
        _check_current(catalog)
        if limited:  # again: another session of this profile may have added a clip meanwhile
            check_quota(catalog, user, len(data))
        target = catalog.paths.audio_dir / UPLOADS_DIR / f"{track_id}{suffix}"
        for folder in (target.parent, catalog.features.dir, catalog.sounds.dir, catalog.paths.catalog_dir):
            check_writable(folder)  # before anything is written: a clear message naming the folder
        atomic_write(target, lambda tmp: tmp.write_bytes(data))
        catalog.features.put_for(track_id, target, clip.mel)
        if clip.sound is not None:
            catalog.sounds.put_for(track_id, target, clip.sound)
        old_arrays = catalog.map_arrays
        index = catalog.index
        # An add that stopped before its commit may have left the clip in the index or the map: it is
        # not in the catalog (no track row), so that row goes, and the clip is added afresh.
        if track_id in index.rows_:
            keep = index.track_ids_ != track_id
            genres = None if index.genres_ is None else index.genres_[keep]
            index.fit(index.embeddings_[keep], index.track_ids_[keep], genres)
        rows = np.asarray(old_arrays["track_ids"]) != track_id
        if not rows.all():
            per_song = ("track_ids", "coords", "proba", "tags")
            old_arrays = {k: (v[rows] if k in per_song else v) for k, v in old_arrays.items()}
            catalog.use_map_arrays(old_arrays)
        index_path, arrays_path = catalog.artifact("index"), catalog.artifact("map")
        arrays = _extended(old_arrays, track_id, (x, y), clip, key=content_key(target))
        seconds = clip.mel.shape[1] * catalog.config.hop_length / catalog.config.sample_rate
        track = Track(
            track_id=track_id, title=title, artist=artist, album=album, genre=genre, split="training",
            audio_path=str(target.resolve()), source="upload", duration=seconds,
        )  # fmt: skip
        before = (index.embeddings_, index.track_ids_, index.genres_)  # fit() replaces, never mutates these
        index.add(clip.embedding, track_id, genre)
        saved = []  # the files replaced so far: only those are put back
        try:
            index.save(index_path)
            saved.append(index_path)
            atomic_write(arrays_path, lambda tmp: savez(tmp, **arrays))
            saved.append(arrays_path)
            catalog.use_map_arrays(arrays)
            catalog.store.record_upload_owner(track_id, user=user, size=len(data))
            catalog.store.add_track(track)  # the commit
        except BaseException:
            # Put the catalog back as it was; the saved features are harmless leftovers, the audio goes.
            with contextlib.suppress(OSError):
                target.unlink(missing_ok=True)
            index.fit(*before)
            catalog.use_map_arrays(old_arrays)
            # Best effort: a file left extended only indexes a song without a track row, never shown.
            with contextlib.suppress(RecommenderError):
                if index_path in saved:
                    index.save(index_path)
                if arrays_path in saved:
                    atomic_write(arrays_path, lambda tmp: savez(tmp, **old_arrays))
            raise
    return track_id


def may_delete(catalog: Catalog, track_id: int, *, user: str | None, owner: bool = False) -> bool:
    """Whether ``user`` (or the owner) may delete track ``track_id``: an upload that profile added."""
    track = catalog.store.track(int(track_id))
    if track.get("source") != "upload":
        return False
    if owner:
        return True
    added_by = catalog.store.upload_owner(int(track_id))
    return user is not None and added_by is not None and catalog.store.user_name(user) == added_by


def delete_upload(catalog: Catalog, track_id: int, *, user: str | None = None, owner: bool = False) -> str:
    """Take an uploaded clip out of ``catalog``: index, map, track row, feature caches and audio file.

    Only the profile that added it (``user``) or the owner may. Returns the clip's title.
    Every step can be run again: the owner finishes a deletion that was interrupted.
    """
    track = catalog.store.track(int(track_id))  # an unknown id: a clear UserInputError
    title = str(track["title"])
    if track.get("source") != "upload":
        raise UserInputError(
            f"“{title}” is part of the catalog's source, not an upload; only uploads can be deleted"
        )
    if not may_delete(catalog, track_id, user=user, owner=owner):
        raise AccessError(f"only the profile that added “{title}”, or the owner, can delete it")
    track_id = int(track_id)
    with catalog.changing():
        _drop_from_index_and_map(catalog, track_id)
        catalog.store.delete_upload_track(track_id)
        files = [catalog.features.path(track_id), catalog.sounds.path(track_id)]
        audio = Path(track["audio_path"])
        if audio.resolve().parent == (catalog.paths.audio_dir / UPLOADS_DIR).resolve():
            files.append(audio)  # only a file this app saved, never one elsewhere on the disk
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        catalog.forget_heard()
    return title


def _drop_from_index_and_map(catalog: Catalog, track_id: int) -> None:
    """Save the index and the map arrays without ``track_id`` (nothing to do when they no longer hold it)."""

    index = catalog.index
    if track_id in index.rows_:
        if len(index.track_ids_) == 1:
            raise UserInputError("the catalog's last song cannot be deleted")
        row = index.rows_[track_id]
        before = (index.embeddings_, index.track_ids_, index.genres_)
        genres = None if index.genres_ is None else np.delete(index.genres_, row)
        index.fit(np.delete(index.embeddings_, row, axis=0), np.delete(index.track_ids_, row), genres)
        try:
            index.save(catalog.artifact("index"))
        except BaseException:
            index.fit(*before)
            raise
    arrays = catalog.map_arrays
    keep = arrays["track_ids"] != track_id
    if not keep.all():
        per_song = {"track_ids", "coords", "proba", "tags", "feature_keys"}
        smaller = {k: (v[keep] if k in per_song else v) for k, v in arrays.items()}
        atomic_write(catalog.artifact("map"), lambda tmp: savez(tmp, **smaller))
        catalog.use_map_arrays(smaller)


def analyse_upload(
    catalog: Catalog, data: bytes, *, filename: str, on_wait: Callable[[int], None] | None = None
) -> ClipAnalysis:
    """What ``catalog``'s model hears in an uploaded file, listened to in its turn (``ANALYSES``).

    The file's name gives the format and the error messages. ``on_wait`` follows the clip's
    place in the line (``WorkQueue.turn``). The last ``KEEP_HEARD`` results are remembered
    by content, so a clip that many sessions upload (a teacher's example) is listened to once.
    """
    name = safe_filename(filename)  # a file that is no audio is refused at once, without queueing
    key = (hashlib.sha256(data).hexdigest(), Path(name).suffix)
    if (heard := catalog.heard_before(key)) is not None:
        return heard
    with ANALYSES.turn(on_wait=on_wait):
        if (heard := catalog.heard_before(key)) is not None:  # listened to while this one waited
            return heard
        with tempfile.TemporaryDirectory(prefix="musicrec-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            heard = catalog.analyse(path)
    catalog.remember_heard(key, heard, keep=KEEP_HEARD)
    return heard


def _check_current(catalog: Catalog) -> None:
    """A ``UserInputError`` when another build became the catalog since ``catalog`` was opened."""
    committed = catalog.store.committed_build()
    if committed is not None and committed.get("build_id") != catalog.info_.get("build_id"):
        raise UserInputError(
            "the catalog was rebuilt while the clip was being listened to; add the clip again"
        )


def include_in_build(catalog: Catalog, tracks: list[Track]) -> list[Track]:
    """Clips added to the catalog in use while ``catalog`` was built: kept by the new build.

    ``catalog``: the finished build, opened before it is switched in (its index and map in
    its own folder, nobody else reads them yet). Each clip is listened to by the new
    model and added to its index and map. Returns the tracks included; a clip whose file
    cannot be read any more is left out. Called while holding ``catalog_change``.
    """
    from recommender.features import content_key

    if not tracks:
        return []
    index, arrays = catalog.index, catalog.map_arrays
    included = []
    for track in tracks:
        try:
            clip = catalog.analyse(track.audio_path)
        except AudioError:
            continue
        key = content_key(track.audio_path)
        for cache, features in ((catalog.features, clip.mel), (catalog.sounds, clip.sound)):
            if features is not None and not (cache.keyed and cache.has(track.track_id, key)):
                cache.put_for(track.track_id, track.audio_path, features)
        xy = catalog.locate(clip)
        index.add(clip.embedding, track.track_id, track.genre)
        arrays = _extended(arrays, track.track_id, xy, clip, key=key)
        catalog.use_map_arrays(arrays)
        included.append(track)
    index.save(catalog.artifact("index"))
    atomic_write(catalog.artifact("map"), lambda tmp: savez(tmp, **arrays))
    return included


def orphans(folder: Path, referenced: set[int]) -> list[Path]:
    """Files in the uploads ``folder`` named like an added clip whose track is not in ``referenced``."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _UPLOAD_FILE.match(entry.name)
        if match and int(match["id"]) not in referenced and entry.is_file():
            found.append(entry)
    return found


def _extended(
    arrays: dict[str, np.ndarray], track_id: int, xy: tuple[float, float], clip, *, key: str | None = None
) -> dict:
    """The catalog's map arrays with one more song: its id, map spot, genre probabilities, tags and
    the content key of its features."""
    out = dict(arrays)
    out["track_ids"] = np.append(arrays["track_ids"], np.int64(track_id))
    if "feature_keys" in arrays:
        out["feature_keys"] = np.append(arrays["feature_keys"], np.array([key or ""]))
    out["coords"] = np.vstack([arrays["coords"], np.array([xy], dtype=arrays["coords"].dtype)])
    proba = [clip.genre_probabilities.get(str(g), 0.0) for g in arrays["genres"].tolist()]
    out["proba"] = np.vstack([arrays["proba"], np.array([proba], dtype=arrays["proba"].dtype)])
    if "tags" in arrays:
        row = [clip.tags.get(str(t), 0.0) for t in arrays["tag_names"].tolist()]
        out["tags"] = np.vstack([arrays["tags"], np.array([row], dtype=arrays["tags"].dtype)])
    return out


def default_title(filename: str) -> str:
    """The title offered for an uploaded clip: its file name as the user's browser gave it, less its audio suffix.

    A browser sends only a file's own name, never its folders, so a "/" or "\\" in it is part
    of the name: "</b>.wav" is titled "</b>" (shown as text, never markup). Whitespace runs
    are folded; at most 80 characters.
    """
    name = " ".join(str(filename).split())
    stem, dot, suffix = name.rpartition(".")
    title = stem.strip() if dot and stem.strip() and f".{suffix.lower()}" in AUDIO_SUFFIXES else name
    return title[:80]


def upload_track_id(data: bytes) -> int:
    """A stable track id for an uploaded clip, from its content: below 2**53, above every demo/FMA id."""
    digest = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
    return (1 << 52) + digest % (1 << 52)
