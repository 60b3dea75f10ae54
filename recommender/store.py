"""DuckDB store: the catalog (tracks) and user data (profiles, plays, likes, playlists).

Concurrency rule. DuckDB lets only one *process* open a database file read-write at a
time; any other process that tries gets an IO error ("Could not set lock") while it is
open. So a ``Store`` never holds a connection: every call opens the file, runs exactly
one transaction and closes it (tens of milliseconds). Every call first takes an
exclusive advisory lock on ``<database>.lock`` (``fcntl.flock``), which makes musicrec's
processes and threads take turns within milliseconds; without it, DuckDB 2.0.1 was seen
to lose a committed write when processes opened and closed the file in quick succession
(2 of 1 200 in a four-process test). A call that still finds the file locked (by a
program that does not use the lock file) or hits a write-write conflict is retried from
the start with jittered exponential backoff. Waiting is bounded by ``timeout`` (10 s by
default); after that the call raises ``RecommenderError("database is busy …")``.
Anything else that opens the database (the DuckDB shell, a notebook) should keep it
open only briefly, or the app and the command line will report the database as busy.

Consistency. Every call that writes more than one row is one transaction, so a process
killed mid-write leaves the previous state (a playlist is either absent or complete).

Schema. ``schema_version`` records the migrations applied; ``MIGRATIONS[v - 1]`` takes
a database from version ``v - 1`` to ``v``, so a newer app upgrades an older file on
first use: version 1 is the catalog (``meta``, ``tracks``), version 2 the user data,
version 3 the search word index. Foreign keys point at ``tracks`` only: DuckDB (2.0)
cannot delete a parent row and its children in one transaction, nor change a unique
column of a referenced row, so links to ``users`` and ``playlists`` are kept by this
module (children are always deleted first, in the same transaction). Catalog tracks
that user data still refers to are never deleted, only hidden (``in_catalog = false``).

Names. A profile (user) name or playlist name is trimmed and NFC-normalised; it must
then be 1–40 (profile) or 1–60 (playlist) printable characters. Names are matched
case-insensitively: "Alice" and "alice" are one profile. Every user-data method takes
the user and only reads or writes that user's rows. Adding a track that is already in
a playlist is a ``UserInputError`` (a track appears at most once per playlist).
Positions in a playlist are 1-based. Times are stored as naive UTC timestamps; a naive
``datetime`` passed in is taken to be UTC.
"""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import random
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

import duckdb
import pandas as pd

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from recommender.errors import RecommenderError, UserInputError
from recommender.sources.base import Track

T = TypeVar("T")

TRACK_COLUMNS = ["track_id", "title", "artist", "album", "genre", "split", "duration", "source", "audio_path"]
PLAY_SOURCES = ("search", "recommendation", "upload", "map", "playlist", "similar", "path", "cli")
MAX_USER_NAME = 40
MAX_PLAYLIST_NAME = 60

# Splits words for search: whitespace, punctuation and symbols (RE2 classes are Unicode-aware).
_WORD_SPLIT = r"[\s\p{P}\p{S}]+"
_FUZZY_WEIGHT = 0.7  # fuzzy (word-by-word) matches score below every literal match (>= 0.8)
_TRACK_SELECT = ", ".join(f"t.{c}" for c in TRACK_COLUMNS)
_MAX_LIMIT = 2**63 - 1  # DuckDB's BIGINT


# ---------------------------------------------------------------------------- schema
def _v1_catalog(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute(
        """CREATE TABLE tracks (
            track_id BIGINT PRIMARY KEY,
            title VARCHAR NOT NULL,
            artist VARCHAR NOT NULL,
            album VARCHAR NOT NULL,
            genre VARCHAR NOT NULL,
            split VARCHAR NOT NULL,
            duration DOUBLE,
            source VARCHAR NOT NULL,
            audio_path VARCHAR NOT NULL
        )"""
    )


def _v2_user_data(con: duckdb.DuckDBPyConnection) -> None:
    # Added before anything references tracks: DuckDB cannot alter a table others depend on.
    con.execute("ALTER TABLE tracks ADD COLUMN in_catalog BOOLEAN DEFAULT true")
    con.execute("UPDATE tracks SET in_catalog = true")
    for seq in ("user_ids", "play_ids", "playlist_ids"):
        con.execute(f"CREATE SEQUENCE {seq}")
    con.execute(
        """CREATE TABLE users (
            user_id BIGINT PRIMARY KEY DEFAULT nextval('user_ids'),
            name VARCHAR NOT NULL,
            name_key VARCHAR NOT NULL UNIQUE,
            created_at TIMESTAMP NOT NULL
        )"""
    )
    con.execute(
        """CREATE TABLE plays (
            play_id BIGINT PRIMARY KEY DEFAULT nextval('play_ids'),
            user_id BIGINT NOT NULL,
            track_id BIGINT NOT NULL REFERENCES tracks (track_id),
            played_at TIMESTAMP NOT NULL,
            source VARCHAR NOT NULL
        )"""
    )
    con.execute(
        """CREATE TABLE likes (
            user_id BIGINT NOT NULL,
            track_id BIGINT NOT NULL REFERENCES tracks (track_id),
            liked_at TIMESTAMP NOT NULL,
            PRIMARY KEY (user_id, track_id)
        )"""
    )
    con.execute(
        """CREATE TABLE playlists (
            playlist_id BIGINT PRIMARY KEY DEFAULT nextval('playlist_ids'),
            user_id BIGINT NOT NULL,
            name VARCHAR NOT NULL,
            name_key VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            UNIQUE (user_id, name_key)
        )"""
    )
    # No unique index on position: DuckDB checks unique indexes row by row, so renumbering would fail.
    con.execute(
        """CREATE TABLE playlist_items (
            playlist_id BIGINT NOT NULL,
            track_id BIGINT NOT NULL REFERENCES tracks (track_id),
            position INTEGER NOT NULL,
            PRIMARY KEY (playlist_id, track_id)
        )"""
    )


def _v3_search_words(con: duckdb.DuckDBPyConnection) -> None:
    # Derived from tracks, rebuilt with the catalog: normalised text and a word index for fuzzy search.
    con.execute(
        "CREATE TABLE track_search (track_id BIGINT PRIMARY KEY, title VARCHAR, artist VARCHAR, album VARCHAR)"
    )
    con.execute("CREATE TABLE track_words (track_id BIGINT NOT NULL, word VARCHAR NOT NULL)")
    con.execute("CREATE TABLE search_words (word VARCHAR PRIMARY KEY)")
    _rebuild_search(con)


MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [_v1_catalog, _v2_user_data, _v3_search_words]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version of the schema in ``con``'s database (0: empty)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    return int(con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])


def migrate(con: duckdb.DuckDBPyConnection, *, target: int | None = None) -> int:
    """Apply the missing migrations up to ``target`` (default: the latest); returns the new version.

    Runs in the caller's transaction when there is one; ``Store`` wraps it in its own.
    """
    target = SCHEMA_VERSION if target is None else target
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise RecommenderError(
            f"the database was written by a newer version of musicrec (schema {current}; this one knows "
            f"up to {SCHEMA_VERSION}): upgrade musicrec"
        )
    for version in range(current + 1, target + 1):
        MIGRATIONS[version - 1](con)
        con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, _utcnow()])
    return max(current, target)


def _rebuild_search(con: duckdb.DuckDBPyConnection, track_ids: list[int] | None = None) -> None:
    """Refresh the search tables for ``track_ids`` (default: every track)."""
    where, params = ("", []) if track_ids is None else ("WHERE track_id IN (SELECT unnest(?))", [track_ids])
    for table in ("track_search", "track_words"):
        con.execute(f"DELETE FROM {table} {where}", params)
    con.execute(
        f"""INSERT INTO track_search
            SELECT track_id, strip_accents(lower(title)), strip_accents(lower(artist)), strip_accents(lower(album))
            FROM tracks {where}""",
        params,
    )
    con.execute(
        f"""INSERT INTO track_words
            SELECT DISTINCT track_id, word FROM (
                SELECT track_id, unnest(regexp_split_to_array(title || ' ' || artist || ' ' || album, ?)) AS word
                FROM track_search {where})
            WHERE word <> ''""",
        [_WORD_SPLIT, *params],
    )
    if track_ids is None:
        con.execute("DELETE FROM search_words")
    con.execute(
        f"INSERT INTO search_words SELECT DISTINCT word FROM track_words {where} ON CONFLICT DO NOTHING",
        params,
    )


# ---------------------------------------------------------------------------- helpers
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
    return clean.casefold()


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


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "could not set lock" in str(exc).lower()


def _tracks_frame(tracks: Iterable[Track]) -> pd.DataFrame:
    rows = [t.to_dict() for t in tracks]
    frame = pd.DataFrame(rows, columns=TRACK_COLUMNS)
    # Nullable float: a missing duration is stored as NULL, not NaN.
    frame["duration"] = pd.array(frame["duration"], dtype="Float64")
    return frame


@contextlib.contextmanager
def _exclusive(path: Path, deadline: float) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (polling until ``deadline``, then ``TimeoutError``).

    DuckDB's own file lock is not enough: with several processes opening and closing the
    same file in quick succession, DuckDB 2.0.1 was seen to lose a committed write now and
    then. Taking this lock around every open…close makes the hand-over clean, and waiting
    processes take their turn within milliseconds instead of backing off.
    Each call opens its own descriptor, so threads of one process exclude each other too.
    """
    if fcntl is None:  # not POSIX: rely on DuckDB's lock and the retries alone
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # read-only folder: DuckDB will say what is wrong
        yield
        return
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(str(path)) from None
                time.sleep(random.uniform(0.001, 0.005))
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class Activity(NamedTuple):
    """What one user did: plays (newest first), likes and playlist items, as ``Store`` frames."""

    plays: pd.DataFrame  # Store.history columns
    likes: pd.DataFrame  # Store.likes columns
    playlist_tracks: pd.DataFrame  # Store.playlist_tracks columns


class Store:
    """Catalog and user data in one DuckDB file. Holds no connection (see the module docstring)."""

    def __init__(self, path: Path, *, timeout: float = 10.0):
        self.path = Path(path)
        self.timeout = timeout
        self._ready = False  # schema checked and migrated by this instance

    # ------------------------------------------------------------------ connections
    @property
    def lock_path(self) -> Path:
        """The advisory lock file next to the database that serialises musicrec's access to it."""
        return self.path.with_name(self.path.name + ".lock")

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Open, run ``work(con)`` in one transaction, commit, close; wait while the database is busy.

        ``work`` may run more than once (after a conflict) and must not call ``Store`` methods.
        """
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                with _exclusive(self.lock_path, deadline):
                    return self._attempt(work)
            except TimeoutError:
                raise self._busy("another musicrec process or thread kept it open") from None
            except (duckdb.IOException, duckdb.TransactionException) as exc:
                if isinstance(exc, duckdb.IOException) and not _is_lock_error(exc):
                    raise RecommenderError(f"cannot open the database {self.path}: {exc}") from exc
                last = exc  # locked by a program that does not use the lock file, or a conflict
            pause = delay * random.uniform(0.5, 1.5)  # jitter: waiting processes do not retry in step
            if time.monotonic() + pause > deadline:
                raise self._busy(str(last).splitlines()[0]) from last
            time.sleep(pause)
            delay = min(delay * 2, 0.1)

    def _busy(self, why: str) -> RecommenderError:
        return RecommenderError(
            f"database is busy: {self.path} could not be opened within {self.timeout:g} s ({why}); "
            "close other programs using it and try again"
        )

    def _attempt(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        try:
            con = duckdb.connect(str(self.path.resolve()))
        except duckdb.IOException:
            raise
        except duckdb.Error as exc:
            raise RecommenderError(f"{self.path} is not a usable musicrec database: {exc}") from exc
        try:
            if not self._ready:
                self._transaction(con, migrate)
                self._ready = True
            return self._transaction(con, work)
        finally:
            con.close()

    @staticmethod
    def _transaction(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        con.execute("BEGIN TRANSACTION")
        try:
            result = work(con)
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        return result

    # ------------------------------------------------------------------ catalog
    def write_tracks(self, tracks: list[Track], *, build: dict | None = None) -> None:
        """Make ``tracks`` the catalog, in one transaction.

        Existing tracks are updated in place, new ones added; tracks that are no longer in
        the catalog are deleted, or hidden (``in_catalog = false``) while user data refers
        to them. Plays, likes and playlists of the tracks that remain are kept. ``build``
        (the build's description, ``build.json``) is stored in the same transaction: this
        transaction is the moment a new build becomes the catalog (see ``committed_build``).
        """
        frame = _tracks_frame(tracks)
        dup = frame["track_id"][frame["track_id"].duplicated()]
        if len(dup):
            raise RecommenderError(f"the catalog repeats track ids: {sorted(set(dup.tolist()))[:5]}")

        def work(con: duckdb.DuckDBPyConnection) -> None:
            con.register("incoming", frame)
            try:
                self._upsert(con, "incoming")
                gone = "track_id NOT IN (SELECT track_id FROM incoming)"
                con.execute(
                    f"""DELETE FROM tracks WHERE {gone}
                        AND track_id NOT IN (SELECT track_id FROM plays)
                        AND track_id NOT IN (SELECT track_id FROM likes)
                        AND track_id NOT IN (SELECT track_id FROM playlist_items)"""
                )
                con.execute(f"UPDATE tracks SET in_catalog = false WHERE {gone}")
            finally:
                con.unregister("incoming")
            _rebuild_search(con)
            self._touch_catalog(con)
            if build is not None:
                _set_meta(con, "build", json.dumps(build, ensure_ascii=False))

        self._run(work)

    def committed_build(self) -> dict | None:
        """The description of the build whose tracks are the catalog (None: none was committed here)."""
        row = self._run(lambda con: con.execute("SELECT value FROM meta WHERE key = 'build'").fetchone())
        return None if row is None else json.loads(row[0])

    def add_track(self, track: Track) -> None:
        """Add one track (e.g. an uploaded clip) to the catalog; replaces a track with the same id."""
        frame = _tracks_frame([track])

        def work(con: duckdb.DuckDBPyConnection) -> None:
            con.register("incoming", frame)
            try:
                self._upsert(con, "incoming")
            finally:
                con.unregister("incoming")
            _rebuild_search(con, [int(track.track_id)])
            self._touch_catalog(con)

        self._run(work)

    @staticmethod
    def _upsert(con: duckdb.DuckDBPyConnection, view: str) -> None:
        cols = ", ".join(TRACK_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in TRACK_COLUMNS[1:])
        con.execute(
            f"""INSERT INTO tracks ({cols}, in_catalog) SELECT {cols}, true FROM {view}
                ON CONFLICT (track_id) DO UPDATE SET {updates}, in_catalog = true"""
        )

    @staticmethod
    def _touch_catalog(con: duckdb.DuckDBPyConnection) -> None:
        _set_meta(con, "catalog_updated_at", _utcnow().isoformat())

    def tracks(self, track_ids: Iterable[int] | None = None) -> pd.DataFrame:
        """In-catalog tracks (or those of ``track_ids``, hidden ones included), ordered by id.

        Columns: track_id, title, artist, album, genre, split, duration, source, audio_path.
        """
        if track_ids is None:
            sql, params = f"SELECT {_TRACK_SELECT} FROM tracks t WHERE in_catalog ORDER BY track_id", []
        else:
            ids = [_track_id(t) for t in track_ids]
            sql = (
                f"SELECT {_TRACK_SELECT} FROM tracks t WHERE track_id IN (SELECT unnest(?)) ORDER BY track_id"
            )
            params = [ids]
        return self._run(lambda con: con.execute(sql, params).df())

    def track(self, track_id: int) -> dict:
        """One track as a dict (the ``tracks()`` columns plus ``in_catalog``)."""
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection) -> dict | None:
            cur = con.execute(f"SELECT {_TRACK_SELECT}, t.in_catalog FROM tracks t WHERE track_id = ?", [tid])
            row = cur.fetchone()
            return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))

        found = self._run(work)
        if found is None:
            raise UserInputError(f"no track with id {tid} in the catalog")
        return found

    def genres(self) -> list[str]:
        """Genres of the in-catalog tracks, sorted."""
        rows = self._run(
            lambda con: con.execute(
                "SELECT DISTINCT genre FROM tracks WHERE in_catalog ORDER BY genre"
            ).fetchall()
        )
        return [r[0] for r in rows]

    def search(
        self, query: str | None = None, *, genre: str | None = None, k: int | None = 20
    ) -> pd.DataFrame:
        """Tracks whose title, artist or album match ``query``, best first, with a ``score`` column.

        Case- and accent-insensitive. Scores: 1.0 a whole field equals the query, 0.9 a field
        starts with it, 0.8 contains it; below that, every query word matches a word of the
        track exactly, as a prefix or within one typo (two for words of 8+ letters), scored
        ``0.7 ×`` the mean word similarity. No query: every track by id (score 1.0).
        ``genre`` (case-insensitive) keeps one genre; ``k=None`` returns every match.
        """
        limit = _limit(k)
        text = "" if query is None else unicodedata.normalize("NFC", str(query)).strip()

        def work(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
            genre_name = None if genre is None else self._resolve_genre(con, genre)
            if not text:
                return con.execute(
                    f"""SELECT {_TRACK_SELECT}, 1.0::DOUBLE AS score FROM tracks t
                        WHERE in_catalog AND (?::VARCHAR IS NULL OR genre = ?) ORDER BY track_id LIMIT ?""",
                    [genre_name, genre_name, limit],
                ).df()
            q, words = con.execute(
                "SELECT q, list_filter(regexp_split_to_array(q, ?), lambda w: w <> '') "
                "FROM (SELECT strip_accents(lower(?)) AS q)",
                [_WORD_SPLIT, text],
            ).fetchone()
            params = {"q": q, "words": words, "genre": genre_name, "k": limit}
            return con.execute(_SEARCH_SQL, params).df()

        return self._run(work)

    @staticmethod
    def _resolve_genre(con: duckdb.DuckDBPyConnection, genre: str) -> str:
        known = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT genre FROM tracks WHERE in_catalog ORDER BY genre"
            ).fetchall()
        ]
        wanted = str(genre).strip().casefold()
        for name in known:
            if name.casefold() == wanted:
                return name
        raise UserInputError(
            f"unknown genre {genre!r}; known genres: {', '.join(known) or 'none (empty catalog)'}"
        )

    # ------------------------------------------------------------------ users
    def users(self) -> list[str]:
        """Profile names, sorted case-insensitively."""
        rows = self._run(lambda con: con.execute("SELECT name FROM users ORDER BY name_key").fetchall())
        return [r[0] for r in rows]

    def user_name(self, name: str) -> str | None:
        """The stored spelling of profile ``name`` (matched as every method matches it), or None if none."""
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        row = self._run(
            lambda con: con.execute(
                "SELECT name FROM users WHERE name_key = ?", [_name_key(clean)]
            ).fetchone()
        )
        return None if row is None else row[0]

    def create_user(self, name: str) -> str:
        """Create the profile ``name`` if new; returns its stored name (an existing one keeps its spelling)."""
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)

        def work(con: duckdb.DuckDBPyConnection) -> str:
            user_id = self._ensure_user(con, clean)
            return con.execute("SELECT name FROM users WHERE user_id = ?", [user_id]).fetchone()[0]

        return self._run(work)

    def delete_user(self, name: str) -> None:
        """Delete a profile and all its plays, likes and playlists, in one transaction."""
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)

        def work(con: duckdb.DuckDBPyConnection) -> None:
            user_id = self._find_user(con, clean)
            if user_id is None:
                raise UserInputError(f"no profile named {clean!r}")
            con.execute(
                "DELETE FROM playlist_items WHERE playlist_id IN (SELECT playlist_id FROM playlists WHERE user_id = ?)",
                [user_id],
            )
            for table in ("playlists", "likes", "plays", "users"):
                con.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])

        self._run(work)

    @staticmethod
    def _find_user(con: duckdb.DuckDBPyConnection, clean: str) -> int | None:
        row = con.execute("SELECT user_id FROM users WHERE name_key = ?", [_name_key(clean)]).fetchone()
        return None if row is None else int(row[0])

    def _ensure_user(self, con: duckdb.DuckDBPyConnection, clean: str) -> int:
        user_id = self._find_user(con, clean)
        if user_id is None:
            con.execute(
                "INSERT INTO users (name, name_key, created_at) VALUES (?, ?, ?)",
                [clean, _name_key(clean), _utcnow()],
            )
            user_id = self._find_user(con, clean)
        return user_id

    @staticmethod
    def _require_track(con: duckdb.DuckDBPyConnection, track_id: int) -> None:
        row = con.execute("SELECT in_catalog FROM tracks WHERE track_id = ?", [track_id]).fetchone()
        if row is None or not row[0]:
            raise UserInputError(f"no track with id {track_id} in the catalog")

    def _user_write(self, user: str, work: Callable[[duckdb.DuckDBPyConnection, int], T]) -> T:
        """Run ``work(con, user_id)`` in one transaction, creating the profile on first use."""
        clean = _clean_name(user, what="profile", max_len=MAX_USER_NAME)
        return self._run(lambda con: work(con, self._ensure_user(con, clean)))

    def _user_read(self, user: str, work: Callable[[duckdb.DuckDBPyConnection, int | None], T]) -> T:
        """Run ``work(con, user_id)``; ``user_id`` is None for an unknown profile (nothing is created)."""
        clean = _clean_name(user, what="profile", max_len=MAX_USER_NAME)
        return self._run(lambda con: work(con, self._find_user(con, clean)))

    # ------------------------------------------------------------------ plays
    def record_play(
        self, user: str, track_id: int, *, source: str = "search", at: datetime | None = None
    ) -> None:
        """Record that ``user`` played ``track_id`` (from ``source``, one of ``PLAY_SOURCES``) at ``at`` (now)."""
        tid = _track_id(track_id)
        if source not in PLAY_SOURCES:
            raise UserInputError(f"unknown play source {source!r}; use one of: {', '.join(PLAY_SOURCES)}")
        played_at = _as_utc(at)

        def work(con: duckdb.DuckDBPyConnection, user_id: int) -> None:
            self._require_track(con, tid)
            con.execute(
                "INSERT INTO plays (user_id, track_id, played_at, source) VALUES (?, ?, ?, ?)",
                [user_id, tid, played_at, source],
            )

        self._user_write(user, work)

    def history(self, user: str, *, k: int | None = None) -> pd.DataFrame:
        """Plays of ``user``, newest first: track_id, title, artist, genre, played_at, source."""
        limit = _limit(k)
        return self._user_read(
            user,
            lambda con, uid: con.execute(_HISTORY_SQL, [uid, limit]).df(),
        )

    def clear_history(self, user: str) -> int:
        """Delete every play of ``user``; returns how many there were."""

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> int:
            if uid is None:
                return 0
            n = con.execute("SELECT count(*) FROM plays WHERE user_id = ?", [uid]).fetchone()[0]
            con.execute("DELETE FROM plays WHERE user_id = ?", [uid])
            return int(n)

        return self._user_read(user, work)

    def play_counts(self) -> pd.DataFrame:
        """Plays per in-catalog track across all profiles, most played first: track_id, genre, plays."""
        return self._run(
            lambda con: con.execute(
                """SELECT t.track_id, t.genre, count(*) AS plays FROM plays p JOIN tracks t USING (track_id)
                   WHERE t.in_catalog GROUP BY ALL ORDER BY plays DESC, t.track_id"""
            ).df()
        )

    # ------------------------------------------------------------------ likes
    def like(self, user: str, track_id: int) -> None:
        """``user`` likes ``track_id`` (liking twice keeps the first like)."""
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection, user_id: int) -> None:
            self._require_track(con, tid)
            con.execute(
                "INSERT INTO likes VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [user_id, tid, _utcnow()]
            )

        self._user_write(user, work)

    def unlike(self, user: str, track_id: int) -> None:
        """Remove a like (no-op when there is none)."""
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> None:
            if uid is not None:
                con.execute("DELETE FROM likes WHERE user_id = ? AND track_id = ?", [uid, tid])

        self._user_read(user, work)

    def likes(self, user: str) -> pd.DataFrame:
        """Liked tracks of ``user``, newest first: track_id, title, artist, genre, liked_at."""
        return self._user_read(user, lambda con, uid: con.execute(_LIKES_SQL, [uid]).df())

    def is_liked(self, user: str, track_id: int) -> bool:
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> bool:
            if uid is None:
                return False
            sql = "SELECT count(*) FROM likes WHERE user_id = ? AND track_id = ?"
            return con.execute(sql, [uid, tid]).fetchone()[0] > 0

        return self._user_read(user, work)

    # ------------------------------------------------------------------ playlists
    @staticmethod
    def _find_playlist(con: duckdb.DuckDBPyConnection, uid: int | None, clean: str) -> tuple[int, str] | None:
        """``(playlist_id, stored name)`` of ``user``'s playlist ``clean``, or None."""
        if uid is None:
            return None
        row = con.execute(
            "SELECT playlist_id, name FROM playlists WHERE user_id = ? AND name_key = ?",
            [uid, _name_key(clean)],
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def _require_playlist(
        self, con: duckdb.DuckDBPyConnection, uid: int | None, clean: str
    ) -> tuple[int, str]:
        found = self._find_playlist(con, uid, clean)
        if found is None:
            raise UserInputError(f"no playlist named {clean!r}")
        return found

    @staticmethod
    def _touch_playlist(con: duckdb.DuckDBPyConnection, pid: int) -> None:
        con.execute("UPDATE playlists SET updated_at = ? WHERE playlist_id = ?", [_utcnow(), pid])

    @staticmethod
    def _playlist_size(con: duckdb.DuckDBPyConnection, pid: int) -> int:
        return int(
            con.execute("SELECT count(*) FROM playlist_items WHERE playlist_id = ?", [pid]).fetchone()[0]
        )

    def create_playlist(self, user: str, name: str, track_ids: Iterable[int] = ()) -> None:
        """Create playlist ``name`` for ``user`` holding ``track_ids`` in order (no repeats)."""
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)
        ids = [_track_id(t) for t in track_ids]
        repeated = sorted({t for t in ids if ids.count(t) > 1}) if len(set(ids)) != len(ids) else []
        if repeated:
            raise UserInputError(f"a playlist holds a track only once; repeated: {repeated[:5]}")

        def work(con: duckdb.DuckDBPyConnection, uid: int) -> None:
            existing = self._find_playlist(con, uid, clean)
            if existing is not None:
                raise UserInputError(f"you already have a playlist named {existing[1]!r}")
            if ids:
                known = {
                    r[0]
                    for r in con.execute(
                        "SELECT track_id FROM tracks WHERE in_catalog AND track_id IN (SELECT unnest(?))",
                        [ids],
                    ).fetchall()
                }
                missing = [t for t in ids if t not in known]
                if missing:
                    raise UserInputError(f"no track with id {missing[0]} in the catalog")
            now = _utcnow()
            con.execute(
                "INSERT INTO playlists (user_id, name, name_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [uid, clean, _name_key(clean), now, now],
            )
            pid, _ = self._find_playlist(con, uid, clean)
            if ids:
                con.execute(
                    """INSERT INTO playlist_items
                       SELECT ?, unnest(?::BIGINT[]), unnest(range(1, ? + 1))::INTEGER""",
                    [pid, ids, len(ids)],
                )

        self._user_write(user, work)

    def rename_playlist(self, user: str, old: str, new: str) -> None:
        """Rename a playlist (changing only its capitalisation is allowed)."""
        old_clean = _clean_name(old, what="playlist", max_len=MAX_PLAYLIST_NAME)
        new_clean = _clean_name(new, what="playlist", max_len=MAX_PLAYLIST_NAME)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> None:
            pid, _ = self._require_playlist(con, uid, old_clean)
            other = self._find_playlist(con, uid, new_clean)
            if other is not None and other[0] != pid:
                raise UserInputError(f"you already have a playlist named {other[1]!r}")
            con.execute(
                "UPDATE playlists SET name = ?, name_key = ?, updated_at = ? WHERE playlist_id = ?",
                [new_clean, _name_key(new_clean), _utcnow(), pid],
            )

        self._user_read(user, work)

    def delete_playlist(self, user: str, name: str) -> None:
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> None:
            pid, _ = self._require_playlist(con, uid, clean)
            con.execute("DELETE FROM playlist_items WHERE playlist_id = ?", [pid])
            con.execute("DELETE FROM playlists WHERE playlist_id = ?", [pid])

        self._user_read(user, work)

    def add_to_playlist(self, user: str, name: str, track_id: int) -> None:
        """Append ``track_id`` to the end of a playlist; ``UserInputError`` if it is already there."""
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> None:
            pid, stored = self._require_playlist(con, uid, clean)
            self._require_track(con, tid)
            there = con.execute(
                "SELECT count(*) FROM playlist_items WHERE playlist_id = ? AND track_id = ?", [pid, tid]
            ).fetchone()[0]
            if there:
                raise UserInputError(f"“{_title(con, tid)}” is already in playlist {stored!r}")
            con.execute(
                "INSERT INTO playlist_items VALUES (?, ?, ?)", [pid, tid, self._playlist_size(con, pid) + 1]
            )
            self._touch_playlist(con, pid)

        self._user_read(user, work)

    def remove_from_playlist(self, user: str, name: str, track_id: int) -> None:
        """Remove ``track_id`` from a playlist; later tracks move up one place."""
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> None:
            pid, stored = self._require_playlist(con, uid, clean)
            pos = self._position(con, pid, tid, stored)
            con.execute("DELETE FROM playlist_items WHERE playlist_id = ? AND track_id = ?", [pid, tid])
            con.execute(
                "UPDATE playlist_items SET position = position - 1 WHERE playlist_id = ? AND position > ?",
                [pid, pos],
            )
            self._touch_playlist(con, pid)

        self._user_read(user, work)

    def move_in_playlist(self, user: str, name: str, track_id: int, new_position: int) -> None:
        """Move ``track_id`` to ``new_position`` (1 = first); the tracks in between shift by one."""
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)
        tid = _track_id(track_id)
        if int(new_position) != new_position:
            raise UserInputError(f"a position must be a whole number, got {new_position!r}")
        new = int(new_position)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> None:
            pid, stored = self._require_playlist(con, uid, clean)
            old = self._position(con, pid, tid, stored)
            size = self._playlist_size(con, pid)
            if not 1 <= new <= size:
                raise UserInputError(f"position must be between 1 and {size}, got {new}")
            if new == old:
                return
            shift, low, high = (1, new, old - 1) if new < old else (-1, old + 1, new)
            con.execute(
                """UPDATE playlist_items SET position = position + ?
                   WHERE playlist_id = ? AND position BETWEEN ? AND ?""",
                [shift, pid, low, high],
            )
            con.execute(
                "UPDATE playlist_items SET position = ? WHERE playlist_id = ? AND track_id = ?",
                [new, pid, tid],
            )
            self._touch_playlist(con, pid)

        self._user_read(user, work)

    @staticmethod
    def _position(con: duckdb.DuckDBPyConnection, pid: int, tid: int, name: str) -> int:
        row = con.execute(
            "SELECT position FROM playlist_items WHERE playlist_id = ? AND track_id = ?", [pid, tid]
        ).fetchone()
        if row is None:
            raise UserInputError(f"“{_title(con, tid)}” is not in playlist {name!r}")
        return int(row[0])

    def playlist(self, user: str, name: str) -> pd.DataFrame:
        """The tracks of a playlist in order: position, track_id, title, artist, genre."""
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> pd.DataFrame:
            pid, _ = self._require_playlist(con, uid, clean)
            return con.execute(
                """SELECT i.position, i.track_id, t.title, t.artist, t.genre
                   FROM playlist_items i JOIN tracks t USING (track_id) WHERE i.playlist_id = ?
                   ORDER BY i.position""",
                [pid],
            ).df()

        return self._user_read(user, work)

    def playlists(self, user: str) -> pd.DataFrame:
        """Playlists of ``user`` by name: name, n_tracks, created_at, updated_at."""
        return self._user_read(
            user,
            lambda con, uid: con.execute(
                """SELECT p.name, count(i.track_id) AS n_tracks, p.created_at, p.updated_at
                   FROM playlists p LEFT JOIN playlist_items i USING (playlist_id)
                   WHERE p.user_id = ?
                   GROUP BY p.playlist_id, p.name, p.name_key, p.created_at, p.updated_at ORDER BY p.name_key""",
                [uid],
            ).df(),
        )

    def playlist_tracks(self, user: str) -> pd.DataFrame:
        """Every playlist item of ``user``: playlist, position, track_id (by playlist name, then position)."""
        return self._user_read(
            user,
            lambda con, uid: con.execute(_PLAYLIST_TRACKS_SQL, [uid]).df(),
        )

    def activity(self, user: str) -> Activity:
        """Everything ``user`` did, read in one transaction: ``history()``, ``likes()``, ``playlist_tracks()``."""

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> Activity:
            return Activity(
                con.execute(_HISTORY_SQL, [uid, None]).df(),
                con.execute(_LIKES_SQL, [uid]).df(),
                con.execute(_PLAYLIST_TRACKS_SQL, [uid]).df(),
            )

        return self._user_read(user, work)


_HISTORY_SQL = """
SELECT p.track_id, t.title, t.artist, t.genre, p.played_at, p.source
FROM plays p JOIN tracks t USING (track_id) WHERE p.user_id = ?
ORDER BY p.played_at DESC, p.play_id DESC LIMIT ?
"""

_LIKES_SQL = """
SELECT l.track_id, t.title, t.artist, t.genre, l.liked_at
FROM likes l JOIN tracks t USING (track_id) WHERE l.user_id = ?
ORDER BY l.liked_at DESC, l.track_id
"""

_PLAYLIST_TRACKS_SQL = """
SELECT p.name AS playlist, i.position, i.track_id
FROM playlists p JOIN playlist_items i USING (playlist_id)
WHERE p.user_id = ? ORDER BY p.name_key, i.position
"""

# Literal matches on the normalised fields, plus a word-by-word fuzzy match through the
# small vocabulary table (search_words) so typo distances are computed per distinct word,
# not per track: this keeps a query well under 100 ms at 100 000 tracks.
_SEARCH_SQL = f"""
WITH
qw AS (SELECT unnest($words) AS qw, generate_subscripts($words, 1) AS qi),
matched AS (
    SELECT qi, word, CASE
            WHEN word = qw THEN 1.0
            WHEN starts_with(word, qw) THEN 0.9
            ELSE 1.0 - damerau_levenshtein(qw, word) / greatest(length(qw), length(word))
        END AS sim
    FROM qw, search_words
    WHERE word = qw
       OR (length(qw) >= 3 AND starts_with(word, qw))
       OR (length(qw) >= 4
           AND abs(length(word) - length(qw)) <= CASE WHEN length(qw) >= 8 THEN 2 ELSE 1 END
           AND damerau_levenshtein(qw, word) <= CASE WHEN length(qw) >= 8 THEN 2 ELSE 1 END)
),
fuzzy AS (
    SELECT track_id, {_FUZZY_WEIGHT} * avg(sim) AS score FROM (
        SELECT w.track_id, m.qi, max(m.sim) AS sim
        FROM matched m JOIN track_words w USING (word) GROUP BY ALL)
    GROUP BY track_id HAVING count(*) = len($words)
),
literal AS (
    SELECT track_id, CASE
            WHEN title = $q OR artist = $q OR album = $q THEN 1.0
            WHEN starts_with(title, $q) OR starts_with(artist, $q) OR starts_with(album, $q) THEN 0.9
            ELSE 0.8
        END AS score
    FROM track_search WHERE contains(title, $q) OR contains(artist, $q) OR contains(album, $q)
),
best AS (
    SELECT track_id, max(score)::DOUBLE AS score
    FROM (SELECT * FROM literal UNION ALL SELECT * FROM fuzzy) GROUP BY track_id
)
SELECT {_TRACK_SELECT}, best.score
FROM best JOIN tracks t USING (track_id)
WHERE t.in_catalog AND ($genre::VARCHAR IS NULL OR t.genre = $genre)
ORDER BY best.score DESC, t.track_id
LIMIT $k
"""
