"""The values the store keeps and checks: names, track ids, limits, times, track rows.

Names. A profile (user) name or playlist name is trimmed and NFC-normalised; it must
then be 1–40 (profile) or 1–60 (playlist) printable characters. Playlist names are matched
case-insensitively; profile names also match their look-alikes (``recommender.profile_names``):
"Alice", "alice" and "аlice" (a Cyrillic а) are one profile. Times are stored as naive
UTC timestamps; a naive ``datetime`` passed in is taken to be UTC.
"""

from __future__ import annotations

import numbers
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb
import pandas as pd

from recommender.errors import UserInputError
from recommender.profile_names import name_key
from recommender.sources.base import Track

TRACK_COLUMNS = ["track_id", "title", "artist", "album", "genre", "split", "duration", "source", "audio_path"]
PLAY_SOURCES = (
    "search",
    "recommendation",
    "upload",
    "map",
    "playlist",
    "similar",
    "path",
    "cli",
    "radio",
    "discover",
    "mix",
)
MAX_USER_NAME = 40
MAX_PLAYLIST_NAME = 60

# Splits words for search: whitespace, punctuation and symbols (RE2 classes are Unicode-aware).
_WORD_SPLIT = r"[\s\p{P}\p{S}]+"
_FUZZY_WEIGHT = 0.7  # fuzzy (word-by-word) matches score below every literal match (>= 0.8)
_TRACK_SELECT = ", ".join(f"t.{c}" for c in TRACK_COLUMNS)
_MAX_LIMIT = 2**63 - 1  # DuckDB's BIGINT


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _as_utc(at: datetime | None) -> datetime:
    if at is None:
        return _utcnow()
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _clean_name(name: object, *, what: str, max_len: int) -> str:
    """``name`` trimmed and NFC-normalised, or ``UserInputError`` saying what is wrong with it."""
    if not isinstance(name, str):
        raise UserInputError(f"a {what} name must be text, got {type(name).__name__}")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise UserInputError(f"a {what} name cannot be empty")
    if len(clean) > max_len:
        raise UserInputError(
            f"a {what} name can have at most {max_len} characters; {clean[:20]!r}… has {len(clean)}"
        )
    if not clean.isprintable():
        bad = next(c for c in clean if not c.isprintable())
        raise UserInputError(
            f"a {what} name cannot contain control or invisible characters (found U+{ord(bad):04X} in {clean!r})"
        )
    return clean


def _name_key(clean: str) -> str:
    """The key a playlist name is matched by."""
    return clean.casefold()


def _user_key(clean: str) -> str:
    """The key a profile name is matched by: look-alike names share it."""
    return name_key(clean)


def _track_id(track_id: object) -> int:
    """``track_id`` as an int, or ``UserInputError`` (accepts numpy ints and digit strings)."""
    if isinstance(track_id, bool):
        raise UserInputError(f"a track id must be a whole number, got {track_id!r}")
    try:
        value = int(track_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise UserInputError(f"a track id must be a whole number, got {track_id!r}") from None
    if isinstance(track_id, float) and value != track_id:
        raise UserInputError(f"a track id must be a whole number, got {track_id!r}")
    return value


def _title(con: duckdb.DuckDBPyConnection, track_id: int) -> str:
    """A track's title for messages people read (its id only when it has none)."""
    row = con.execute("SELECT title FROM tracks WHERE track_id = ?", [track_id]).fetchone()
    return str(row[0]) if row else f"track {track_id}"


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]
    )


def _limit(k: object) -> int | None:
    """``k`` results at most, as a SQL ``LIMIT`` (None: all); ``UserInputError`` unless a whole number >= 1.

    Any ``k`` beyond what DuckDB's BIGINT holds means "all": it is capped, never a conversion error.
    """
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Real) or not k >= 1:  # NaN fails >= too
        raise UserInputError(f"k must be a whole number of at least 1, got {k!r}")
    if k >= _MAX_LIMIT:  # infinity too
        return _MAX_LIMIT
    if int(k) != k:
        raise UserInputError(f"k must be a whole number of at least 1, got {k!r}")
    return int(k)


def _tracks_frame(tracks: Iterable[Track]) -> pd.DataFrame:
    rows = [t.to_dict() for t in tracks]
    frame = pd.DataFrame(rows, columns=TRACK_COLUMNS)
    # Nullable float: a missing duration is stored as NULL, not NaN.
    frame["duration"] = pd.array(frame["duration"], dtype="Float64")
    return frame
