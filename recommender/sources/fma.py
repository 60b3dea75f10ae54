"""Catalog source: the Free Music Archive dataset (FMA, https://github.com/mdeff/fma).

Layout on disk::

    fma_metadata/tracks.csv      106 574 rows x 52 columns, three header lines
    fma_metadata/genres.csv      not needed: the label is already a genre name
    fma_small/000/000002.mp3     audio, one folder per first three digits of the id

``tracks.csv`` has two column levels (``album``/``artist``/``set``/``track``, then
``id``/``title``/``split``/``genre_top``/…) and a third header line naming the index
(``track_id,,,…``). Only the eight columns we use are parsed: the header lines are read
with :mod:`csv`, then pandas reads those columns by position, which is far faster than
parsing all 52 (free-text biographies dominate the file's 260 MB).

Label = ``('track', 'genre_top')``; split = ``('set', 'split')``, kept exactly, because
FMA filtered it by artist (no artist in two splits); subset = ``('set', 'subset')``
with small ⊂ medium ⊂ large.

The file is checked before any audio is touched: a track id listed twice is an error
naming the ids. FMA ships ``tracks.csv`` as UTF-8; a byte-order mark (as some editors
write) is read transparently, but a file in another encoding is an error naming the
first byte that is not UTF-8 and its line. It is not guessed to be Latin-1: a file
re-saved in another encoding may have lost characters already, and titles read with
the wrong encoding would be silently garbled in the catalog; a fresh copy is better.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from recommender.errors import SourceError
from recommender.sources.base import SPLITS, SourceReport, Track

SUBSETS = ("small", "medium", "large")  # each contains the ones before it

GENRE = ("track", "genre_top")
SPLIT = ("set", "split")
SUBSET = ("set", "subset")
TITLE = ("track", "title")
ARTIST = ("artist", "name")
ALBUM = ("album", "title")
DURATION = ("track", "duration")
# The columns we read, and their names in the frame ``read_tracks_csv`` returns.
COLUMN_NAMES = {
    GENRE: "genre",
    SPLIT: "split",
    SUBSET: "subset",
    TITLE: "title",
    ARTIST: "artist",
    ALBUM: "album",
    DURATION: "duration",
}
REQUIRED_COLUMNS = tuple(COLUMN_NAMES)

UNKNOWN_TITLE = "Unknown title"
UNKNOWN_ARTIST = "Unknown artist"
NO_GENRE = "no top genre (('track', 'genre_top') is empty)"
AUDIO_MISSING = "audio file missing"
AUDIO_EMPTY = "audio file is empty (0 bytes)"
AUDIO_NOT_A_FILE = "audio path is not a file"

_HEADER_HINT = "expected FMA's three header lines: column groups, column names, then 'track_id,,,…'"


def load_fma(
    metadata_dir: Path, audio_dir: Path, *, subset: str = "small"
) -> tuple[list[Track], SourceReport]:
    """FMA tracks of ``subset`` (and the smaller subsets inside it) with a top genre and audio.

    Returns the tracks sorted by FMA ``track_id`` and a report of the skipped ones, keyed
    by audio path: no top genre, audio file missing or empty. Raises ``SourceError`` for a
    missing folder or file, a ``tracks.csv`` not in FMA's format or missing a column we
    need, an unknown subset, or when no track at all can be used.
    """
    if subset not in SUBSETS:
        raise SourceError(f"unknown FMA subset {subset!r}: choose one of {', '.join(SUBSETS)}")
    tracks_csv = _tracks_csv(Path(metadata_dir))
    audio_root = Path(os.path.abspath(audio_dir))
    if not audio_root.is_dir():
        raise SourceError(
            f"FMA audio folder not found: {audio_root} (expected fma_{subset}/, holding 000/, 001/, …)"
        )

    rows = read_tracks_csv(tracks_csv)
    rows = rows[rows["subset"].map(_subset_rank) <= SUBSETS.index(subset)]
    if rows.empty:
        raise SourceError(f"{tracks_csv} lists no tracks in subset {subset!r}")

    report = SourceReport()
    tracks = [t for t in (_track(row, audio_root, report) for row in rows.itertuples()) if t is not None]
    if not tracks:
        reasons = sorted(set(report.skipped.values()))
        raise SourceError(
            f"none of the {len(rows)} tracks of FMA subset {subset!r} can be used ({'; '.join(reasons)}); "
            f"is {audio_root} the fma_{subset} folder, holding 000/, 001/, …?"
        )
    return tracks, report


def audio_path(audio_dir: Path, track_id: int) -> Path:
    """Where FMA keeps a track's audio: ``AUDIO/000/000002.mp3`` for id 2."""
    name = f"{track_id:06d}"
    return Path(audio_dir) / name[:3] / f"{name}.mp3"


def read_tracks_csv(path: Path) -> pd.DataFrame:
    """The columns we need from FMA's ``tracks.csv``, one row per track.

    Returns a frame indexed by ``track_id`` (int) with columns ``genre``, ``split``,
    ``subset``, ``title``, ``artist``, ``album`` (str, "" when empty) and ``duration``
    (float seconds, NaN when unknown). Raises ``SourceError`` naming the problem.
    """
    positions = _column_positions(path)
    names = {0: "track_id"} | {positions[col]: name for col, name in COLUMN_NAMES.items()}
    try:
        frame = pd.read_csv(
            path,
            header=None,
            skiprows=3,
            usecols=sorted(names),
            dtype=str,
            # Only an empty cell is missing: a song may well be titled "NA" or "null".
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=sorted(names), dtype=str)
    except UnicodeDecodeError:
        raise SourceError(_not_utf8(path)) from None
    except (pd.errors.ParserError, ValueError) as error:
        raise SourceError(f"{path} cannot be read as FMA's tracks.csv: {_one_line(error)}") from error
    frame = frame.rename(columns=names)
    return _unique(_typed(frame, path), path)


def mp3_problem(path: Path) -> str | None:
    """Why ``path`` is certainly not an MP3, from its first bytes; ``None`` when it may be one.

    Cheap (reads 3 bytes): catches a missing or empty file and a text or HTML page saved
    as ``.mp3``. A truncated MP3 passes; decoding finds it.
    """
    try:
        with open(path, "rb") as file:
            head = file.read(3)
    except FileNotFoundError:
        return AUDIO_MISSING
    except OSError as error:
        return f"audio file cannot be read: {error.strerror}"
    if not head:
        return AUDIO_EMPTY
    # An MP3 starts with an ID3v2 tag or with an MPEG frame sync (11 set bits).
    if head == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return None
    return f"not an MP3 file (starts with {head!r})"


def _tracks_csv(metadata_dir: Path) -> Path:
    if not metadata_dir.is_dir():
        raise SourceError(f"FMA metadata folder not found: {metadata_dir} (expected fma_metadata/)")
    path = metadata_dir / "tracks.csv"
    if not path.is_file():
        raise SourceError(f"FMA tracks.csv not found in {metadata_dir}")
    return path


def _column_positions(path: Path) -> dict[tuple[str, str], int]:
    """Position of each (level 0, level 1) column, after checking FMA's three header lines."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:  # "-sig": a byte-order mark is skipped
            lines = [row for row, _ in zip(csv.reader(file), range(3), strict=False)]
    except UnicodeDecodeError:
        raise SourceError(_not_utf8(path)) from None
    except csv.Error as error:
        raise SourceError(f"{path} is not FMA's tracks.csv ({_one_line(error)}); {_HEADER_HINT}") from error
    if not lines:
        raise SourceError(f"{path} is empty; {_HEADER_HINT}")
    if len(lines) < 3 or not _is_fma_header(*lines):
        raise SourceError(f"{path} is not FMA's tracks.csv; {_HEADER_HINT}")
    groups, names, _ = lines
    positions = {(g.strip(), n.strip()): i for i, (g, n) in enumerate(zip(groups, names, strict=True)) if i}
    for column in REQUIRED_COLUMNS:
        if column not in positions:
            raise SourceError(f"tracks.csv has no column {column} ({path})")
    return positions


def _is_fma_header(groups: list[str], names: list[str], index: list[str]) -> bool:
    return (
        len(groups) == len(names) == len(index) > 1
        and groups[0] == names[0] == ""
        and index[0] == "track_id"
        and not any(index[1:])
    )


def _typed(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    ids = pd.to_numeric(frame["track_id"], errors="coerce")
    bad = frame["track_id"][ids.isna() | (ids % 1 != 0) | (ids <= 0)]
    if len(bad):
        raise SourceError(f"{path} has a row whose track_id {bad.iloc[0]!r} is not a positive integer")
    frame = frame.drop(columns="track_id").set_axis(pd.Index(ids.astype("int64"), name="track_id"))
    text = ["genre", "split", "subset", "title", "artist", "album"]
    frame[text] = frame[text].fillna("").apply(lambda column: column.str.strip())
    frame["duration"] = pd.to_numeric(frame["duration"], errors="coerce")
    return frame.sort_index()


def _track(row, audio_root: Path, report: SourceReport) -> Track | None:
    """The Track for one row of ``read_tracks_csv``, or None after reporting why not."""
    path = audio_path(audio_root, row.Index)
    if not row.genre:
        report.skip(str(path), NO_GENRE)
        return None
    if row.split not in SPLITS:
        report.skip(str(path), f"unknown split {row.split!r} (expected one of {', '.join(SPLITS)})")
        return None
    problem = _audio_file_problem(path)
    if problem:
        report.skip(str(path), problem)
        return None
    return Track(
        track_id=int(row.Index),
        title=row.title or UNKNOWN_TITLE,
        artist=row.artist or UNKNOWN_ARTIST,
        album=row.album,
        genre=row.genre,
        split=row.split,
        audio_path=str(path),
        source="fma",
        duration=None if pd.isna(row.duration) else float(row.duration),
    )


def _audio_file_problem(path: Path) -> str | None:
    """Missing, not a file, or empty: what a stat can tell. Broken MP3s are found by decoding."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return AUDIO_MISSING
    except OSError as error:
        return f"audio file cannot be read: {error.strerror}"
    if not path.is_file():
        return AUDIO_NOT_A_FILE
    return AUDIO_EMPTY if stat.st_size == 0 else None


def _unique(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``frame`` when each track id has one row, else a ``SourceError`` naming the repeated ids."""
    repeated = frame.index[frame.index.duplicated()].unique()
    if len(repeated):
        shown = ", ".join(str(i) for i in repeated[:10]) + (
            f" and {len(repeated) - 10} more" if len(repeated) > 10 else ""
        )
        raise SourceError(
            f"{path} lists the same track id on more than one row ({shown}): FMA's tracks.csv has one row "
            "per track; take a fresh copy of fma_metadata"
        )
    return frame


def _not_utf8(path: Path) -> str:
    """Why ``path`` cannot be decoded: the first byte that is not UTF-8, and its line (1-based)."""
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):  # a newline never occurs inside a UTF-8 character
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = f"byte 0x{line[error.start]:02X} at line {number}"
                if number <= 3:
                    return f"{path} is not FMA's tracks.csv: it is not UTF-8 text ({byte}); {_HEADER_HINT}"
                return (
                    f"{path} is not UTF-8 text ({byte}), as FMA's tracks.csv is: it was saved in another "
                    "encoding (Latin-1?); take a fresh copy of fma_metadata or save it as UTF-8"
                )
    return f"{path} is not UTF-8 text"


def _subset_rank(name: str) -> float:
    # Unknown subset names rank above every real one, so no filter keeps them.
    return SUBSETS.index(name) if name in SUBSETS else float("inf")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
