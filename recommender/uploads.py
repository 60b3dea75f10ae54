"""Clips users upload: safe names, stable ids, and adding a clip to a built catalog at once.

An upload is first listened to (``Catalog.analyse_bytes``: the catalog's own feature
path and model). Added to the catalog, it is saved under a name made here, never the
user's, its features are cached, the index and the map arrays are extended and saved,
and its track row is written last: that row is the commit, so an interrupted upload
leaves nothing a user can see. A rebuild keeps uploads and never trains on their genres.

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
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommender.errors import AudioError, RecommenderError, UserInputError
from recommender.formats import AUDIO_SUFFIXES

if TYPE_CHECKING:
    from recommender.catalog import Catalog, ClipAnalysis

ANALYSIS_SLOTS_ENV = "MUSICREC_ANALYSES"
UPLOADS_DIR = "uploads"
KEEP_HEARD = 16  # analyses remembered per catalog (about 0.7 MB each: mostly the clip's log-mel)


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
_HEARD_LOCK = threading.Lock()


def add_upload(
    catalog: Catalog,
    data: bytes,
    *,
    filename: str,
    title: str,
    artist: str,
    genre: str | None = None,
    album: str = "Uploads",
) -> int:
    """Add an uploaded clip to ``catalog``; returns its new track id.

    ``genre``: one of the catalog's genres (default: the one the model hears most, or the
    catalog's only genre). The id is derived from the content: the same clip twice is refused.
    """
    from recommender.features import atomic_write, check_writable
    from recommender.sources.base import Track

    title, artist = " ".join(title.split()), " ".join(artist.split()) or "Unknown artist"
    if not title:
        raise UserInputError("give the clip a title")
    suffix = Path(safe_filename(filename)).suffix.lower()
    track_id = upload_track_id(data)
    known = catalog.store.tracks(track_ids=[track_id])
    if len(known):
        raise UserInputError(f"this clip is already in the catalog as “{known['title'].iloc[0]}”")
    clip = catalog.analyse_bytes(data, filename=filename)
    genres = catalog.genres()
    genre = genre or next(iter(clip.genre_probabilities), None) or (genres[0] if genres else "Unknown")
    if genres and genre not in genres:
        raise UserInputError(f"unknown genre {genre!r}; choose one of {', '.join(genres)}")
    x, y = catalog.locate(clip)

    with catalog._write_lock:
        target = catalog.paths.audio_dir / UPLOADS_DIR / f"{track_id}{suffix}"
        for folder in (target.parent, catalog.features.dir, catalog.sounds.dir, catalog.paths.catalog_dir):
            check_writable(folder)  # before anything is written: a clear message naming the folder
        atomic_write(target, lambda tmp: tmp.write_bytes(data))
        catalog.features.put(track_id, clip.mel)
        if clip.sound is not None:
            catalog.sounds.put(track_id, clip.sound)
        old_arrays = catalog._arrays
        index_path, arrays_path = catalog.artifact("index"), catalog.artifact("map")
        arrays = _extended(old_arrays, track_id, (x, y), clip)
        seconds = clip.mel.shape[1] * catalog.config.hop_length / catalog.config.sample_rate
        track = Track(
            track_id=track_id, title=title, artist=artist, album=album, genre=genre, split="training",
            audio_path=str(target.resolve()), source="upload", duration=seconds,
        )  # fmt: skip
        index = catalog.index
        before = (index.embeddings_, index.track_ids_, index.genres_)  # fit() replaces, never mutates these
        index.add(clip.embedding, track_id, genre)
        saved = []  # the files replaced so far: only those are put back
        try:
            index.save(index_path)
            saved.append(index_path)
            atomic_write(arrays_path, lambda tmp: _savez(tmp, **arrays))
            saved.append(arrays_path)
            catalog.__dict__["_arrays"] = arrays
            catalog.store.add_track(track)  # the commit
        except BaseException:
            # Put the catalog back as it was; the saved audio and features are harmless leftovers.
            index.fit(*before)
            catalog.__dict__["_arrays"] = old_arrays
            # Best effort: a file left extended only indexes a song without a track row, never shown.
            with contextlib.suppress(RecommenderError):
                if index_path in saved:
                    index.save(index_path)
                if arrays_path in saved:
                    atomic_write(arrays_path, lambda tmp: _savez(tmp, **old_arrays))
            raise
        catalog.revision += 1
    return track_id


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
    if (heard := catalog._heard.get(key)) is not None:
        return heard
    with ANALYSES.turn(on_wait=on_wait):
        if (heard := catalog._heard.get(key)) is not None:  # listened to while this one waited
            return heard
        with tempfile.TemporaryDirectory(prefix="musicrec-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            heard = catalog.analyse(path)
    with _HEARD_LOCK:
        catalog._heard[key] = heard
        while len(catalog._heard) > KEEP_HEARD:
            catalog._heard.pop(next(iter(catalog._heard)))
    return heard


def _extended(arrays: dict[str, np.ndarray], track_id: int, xy: tuple[float, float], clip) -> dict:
    """The catalog's map arrays with one more song: its id, map spot, genre probabilities and tags."""
    out = dict(arrays)
    out["track_ids"] = np.append(arrays["track_ids"], np.int64(track_id))
    out["coords"] = np.vstack([arrays["coords"], np.array([xy], dtype=arrays["coords"].dtype)])
    proba = [clip.genre_probabilities.get(str(g), 0.0) for g in arrays["genres"].tolist()]
    out["proba"] = np.vstack([arrays["proba"], np.array([proba], dtype=arrays["proba"].dtype)])
    if "tags" in arrays:
        row = [clip.tags.get(str(t), 0.0) for t in arrays["tag_names"].tolist()]
        out["tags"] = np.vstack([arrays["tags"], np.array([row], dtype=arrays["tags"].dtype)])
    return out


def safe_filename(filename: str) -> str:
    """A plain file name for an uploaded file: no folders, only letters, digits, ``._-``; audio suffix kept.

    Raises ``AudioError`` when the suffix is not an audio format the catalog reads.
    """
    name = Path(str(filename).replace("\\", "/")).name
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    allowed = AUDIO_SUFFIXES + (".keras", ".json")
    if suffix not in allowed:
        formats = ", ".join(s.lstrip(".") for s in AUDIO_SUFFIXES)
        raise AudioError(f"{name or 'the file'}: not a supported audio file; use one of {formats}")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:60] or "clip"
    return stem + suffix


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


def _savez(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a bare name
        np.savez(f, **arrays)
