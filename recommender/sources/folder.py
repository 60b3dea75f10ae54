"""Catalog source: every audio file below a folder, labelled by tag or by folder name.

A tree like ``music/Jazz/Album/song.mp3`` needs no metadata: the genre is the file's
``genre`` tag when it has one, else the name of the folder holding the file. Track ids
come from the file's path relative to the root, so the same file keeps its id across
builds and when the whole tree moves. The split is drawn per genre from a seeded hash
of the same path, so adding files moves few existing tracks between splits.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import mutagen

from recommender.errors import SourceError
from recommender.formats import AUDIO_SUFFIXES, NEEDS_FFMPEG
from recommender.sources.base import SourceReport, Track

UNKNOWN_GENRE = "Unknown"  # files directly in the root folder, without a genre tag
UNKNOWN_ARTIST = "Unknown artist"
ID_BITS = 48  # ids stay exact in JSON and JavaScript (< 2**53)
HELD_OUT_FRACTION = 0.1  # of each genre, for validation and again for test
MIN_GENRE_TRACKS_TO_SPLIT = 3  # smaller genres go to training whole

# Tag names in easy mode (ID3 via EasyID3, Vorbis comments, MP4 via EasyMP4), and the
# ID3 frames WAV and AIFF files carry (mutagen has no easy wrapper for those).
_TAGS = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "genre": "TCON"}


def load_folder(audio_dir: Path, *, seed: int = 0) -> tuple[list[Track], SourceReport]:
    """Every audio file below ``audio_dir``, in sorted order of relative path.

    Hidden files and folders are skipped; empty files and names that are not valid
    UTF-8 are skipped and reported. ``seed`` draws the split. Raises ``SourceError``
    when the folder is missing or holds no usable audio file.
    """
    root = Path(os.path.abspath(audio_dir))
    if not root.is_dir():
        detail = " (it is a file, not a folder)" if root.exists() else ""
        raise SourceError(f"audio folder not found: {root}{detail}")
    report = SourceReport()
    paths = find_audio_files(root, report)
    if not paths:
        raise SourceError(_nothing_found(root, report))

    ids = assign_track_ids(paths)
    described = [_describe(root, rel) for rel in paths]
    splits = split_by_genre(paths, [d["genre"] for d in described], seed=seed)
    tracks = [
        Track(track_id=ids[rel], split=split, audio_path=str(root / rel), source="folder", **desc)
        for rel, desc, split in zip(paths, described, splits, strict=True)
    ]
    return tracks, report


def find_audio_files(root: Path, report: SourceReport) -> list[str]:
    """Relative POSIX paths of the non-empty audio files below ``root``, sorted.

    Reports (never raises) empty files, unreadable folders and undecodable names.
    Symbolic links to files are followed; links to folders are not (no cycles).
    """
    found = []

    def unreadable(error: OSError) -> None:
        report.skip(error.filename, f"folder cannot be read: {error.strerror}")

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # prune hidden folders
        for name in files:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            problem = _format_problem(name) or _file_problem(path)
            if problem:
                report.skip(_printable(path), problem)
            else:
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def track_id_for(relative_path: str, *, attempt: int = 0) -> int:
    """Stable id in ``[1, 2**48)`` from a relative POSIX path; ``attempt`` > 0 rehashes.

    The path is NFC-normalised first, so a name spelled with decomposed accents (as
    macOS stores it) gets the same id as the composed spelling.
    """
    key = unicodedata.normalize("NFC", relative_path)
    if attempt:
        key = f"{key}\x00{attempt}"
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8, person=b"musicrec-id").digest()
    return int.from_bytes(digest, "big") % (2**ID_BITS - 1) + 1


def assign_track_ids(relative_paths: Sequence[str]) -> dict[str, int]:
    """Ids for every path; on a collision the later path in sorted order rehashes.

    Deterministic for a given set of files; a collision needs about 2**24 files to
    become likely, so in practice every id is ``track_id_for(path)``.
    """
    ids: dict[str, int] = {}
    taken: set[int] = set()
    for rel in sorted(relative_paths):
        attempt = 0
        while (track_id := track_id_for(rel, attempt=attempt)) in taken:
            attempt += 1
        ids[rel] = track_id
        taken.add(track_id)
    return ids


def split_by_genre(keys: Sequence[str], genres: Sequence[str], *, seed: int = 0) -> list[str]:
    """A split per key, stratified by genre: ~80 % training, 10 % validation, 10 % test.

    Within a genre the keys are ordered by a seeded hash; the first ~10 % are test, the
    next ~10 % validation (at least one each), the rest training. A new key lands at a
    random place in that order, so it moves at most a boundary key or two. Genres with
    fewer than ``MIN_GENRE_TRACKS_TO_SPLIT`` keys are all training.
    """
    by_genre: dict[str, list[int]] = defaultdict(list)
    for i, genre in enumerate(genres):
        by_genre[genre].append(i)
    splits = ["training"] * len(keys)
    for members in by_genre.values():
        n = len(members)
        if n < MIN_GENRE_TRACKS_TO_SPLIT:
            continue
        held_out = max(1, int(n * HELD_OUT_FRACTION + 0.5))
        order = sorted(members, key=lambda i: (_split_hash(keys[i], seed), keys[i]))
        for rank, i in enumerate(order[: 2 * held_out]):
            splits[i] = "test" if rank < held_out else "validation"
    return splits


def read_tags(path: Path) -> tuple[dict[str, str], float | None]:
    """Title, artist, album and genre tags present in ``path``, and its duration in seconds.

    Never raises: a file mutagen cannot parse just has no tags.
    """
    try:
        audio = mutagen.File(path, easy=True)
    except Exception:  # mutagen raises many types on damaged files; tags are optional
        return {}, None
    if audio is None:
        return {}, None
    length = getattr(audio.info, "length", None)
    duration = float(length) if length and length > 0 else None
    tags = audio.tags
    if tags is None:
        return {}, duration
    found = {}
    for name, frame in _TAGS.items():
        value = _first_text(tags, name, frame)
        if value:
            found[name] = value
    return found, duration


def _describe(root: Path, rel: str) -> dict:
    """Title, artist, album, genre and duration of one file: tags first, then its path."""
    path = root / rel
    tags, duration = read_tags(path)
    folder = path.parent.name if "/" in rel else ""
    return {
        "title": tags.get("title") or path.stem.replace("_", " ").strip() or path.stem,
        "artist": tags.get("artist") or UNKNOWN_ARTIST,
        "album": tags.get("album") or folder,
        "genre": tags.get("genre") or folder or UNKNOWN_GENRE,
        "duration": duration,
    }


def _first_text(tags, name: str, frame: str) -> str:
    """First non-blank value of an easy tag, or of the ID3 frame (WAV, AIFF)."""
    try:
        if hasattr(tags, "getall"):  # raw ID3: TCON's .genres turns "(17)" into "Rock"
            values = [v for f in tags.getall(frame) for v in (f.genres if frame == "TCON" else f.text)]
        else:
            values = tags.get(name) or []
    except Exception:  # a malformed frame is as good as no frame
        return ""
    return next((str(v).strip() for v in values if str(v).strip()), "")


def _split_hash(key: str, seed: int) -> int:
    data = f"{seed}\x00{unicodedata.normalize('NFC', key)}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=b"musicrec-split").digest(), "big")


def _file_problem(path: Path) -> str | None:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8: rename the file"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "broken link: its target does not exist" if path.is_symlink() else "file vanished"
    except OSError as error:
        return f"file cannot be read: {error.strerror}"
    if not path.is_file():
        return "not a regular file"
    return "audio file is empty (0 bytes)" if stat.st_size == 0 else None


def _format_problem(name: str) -> str | None:
    """Why a build will not use a file of this name (its format), or None."""
    from recommender.audio import can_decode

    suffix = os.path.splitext(name)[1].lower()
    if suffix not in AUDIO_SUFFIXES:
        return f"not an audio format musicrec reads ({suffix or 'no suffix'})"
    if suffix in NEEDS_FFMPEG and not can_decode(suffix):
        return f"{suffix.lstrip('.').upper()} audio needs ffmpeg, which this machine lacks"
    return None


def _relative(path: str, root: Path) -> str:
    return os.path.relpath(path, root) if os.path.isabs(path) else path


def _printable(path: Path) -> str:
    # Undecodable bytes in a name become escapes, so the report can be stored as JSON.
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _nothing_found(root: Path, report: SourceReport) -> str:
    if report.skipped:
        reasons = "; ".join(sorted(set(report.skipped.values())))
        return (
            f"no usable audio files in {root}: {len(report.skipped)} skipped ({reasons}); "
            f"musicrec reads {', '.join(AUDIO_SUFFIXES)}"
        )
    return (
        f"no audio files in {root}: looked for {', '.join(AUDIO_SUFFIXES)} in every subfolder "
        "(hidden files and folders are skipped)"
    )


def folder_summary(audio_dir: Path) -> dict:
    """What a build of ``audio_dir`` would find, checked before starting one (the app's folder check).

    Returns ``{"folder", "files", "genres": {name: files}, "skipped", "skipped_files": {path: reason}}``
    (genres from the
    folders, as a build without tags would see them); raises ``SourceError`` naming what
    is wrong: missing, not a folder, unreadable, no audio file below it.
    """
    root = Path(os.path.abspath(Path(audio_dir).expanduser()))
    if not root.is_dir():
        detail = " (it is a file, not a folder)" if root.exists() else ""
        raise SourceError(f"audio folder not found: {root}{detail}")
    if not os.access(root, os.R_OK | os.X_OK):
        raise SourceError(f"the folder {root} cannot be read (permission denied)")
    report = SourceReport()
    paths = find_audio_files(root, report)
    if not paths:
        raise SourceError(_nothing_found(root, report))
    genres: dict[str, int] = defaultdict(int)
    for rel in paths:
        parent = Path(rel).parent.name
        genres[parent or UNKNOWN_GENRE] += 1
    return {
        "folder": str(root),
        "files": len(paths),
        "genres": dict(sorted(genres.items())),
        "skipped": len(report.skipped),
        "skipped_files": {_relative(path, root): why for path, why in sorted(report.skipped.items())},
    }
