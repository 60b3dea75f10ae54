"""The store: catalog tracks, search, profiles, plays and likes (playlists: ``playlists.py``).

Every method runs one transaction through the process's ``Database`` (``connection.py``):
a method that only reads takes a read cursor, one that writes a write cursor, and a
transaction that meets a write-write conflict (two threads or processes changing the
same rows) is rolled back and run again. The profile list is cached until this or
another process writes. Every user-data method takes the user and only reads or
writes that user's rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

import duckdb
import pandas as pd

from recommender.errors import RecommenderError, UserInputError
from recommender.sources.base import Track
from recommender.store.board import BoardStore
from recommender.store.connection import Busy, Database, is_lock_error
from recommender.store.playlists import _PLAYLIST_TRACKS_SQL, PlaylistStore
from recommender.store.profiles import ProfileStore
from recommender.store.radio import RadioStore
from recommender.store.schema import SCHEMA_VERSION, _rebuild_search, migrate
from recommender.store.uploads import UploadStore
from recommender.store.values import (
    _FUZZY_WEIGHT,
    _TRACK_SELECT,
    _WORD_SPLIT,
    MAX_USER_NAME,
    PLAY_SOURCES,
    TRACK_COLUMNS,
    _as_utc,
    _clean_name,
    _limit,
    _set_meta,
    _track_id,
    _tracks_frame,
    _user_key,
    _utcnow,
)

T = TypeVar("T")


class Activity(NamedTuple):
    """What one user did: plays (newest first), likes and playlist items, as ``Store`` frames."""

    plays: pd.DataFrame  # Store.history columns
    likes: pd.DataFrame  # Store.likes columns
    playlist_tracks: pd.DataFrame  # Store.playlist_tracks columns


class Store(PlaylistStore, ProfileStore, UploadStore, RadioStore, BoardStore):
    """Catalog and user data in one DuckDB file, shared by this process's threads (``Database``)."""

    def __init__(self, path: Path, *, timeout: float = 10.0):
        self.path = Path(path)
        self.timeout = timeout

    # ------------------------------------------------------------------ transactions
    @property
    def _db(self) -> Database:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = Database.at(self.path)
        db.on_open = _check_schema
        db.writable = _may_write(self.path)
        return db

    @property
    def lock_path(self) -> Path:
        """The advisory lock file next to the database that gives musicrec's processes turns."""
        return self._db.lock_path

    def _read(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """``work(con)`` in one read-only transaction (see ``_run``)."""
        return self._run(work, write=False)

    def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T], *, write: bool = True) -> T:
        """Run ``work(con)`` in one transaction and commit; wait while the database is busy.

        ``work`` may run more than once (after a conflict) and must not call ``Store`` methods.
        """
        db = self._db
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                with db.cursor(write=write, deadline=deadline) as con:
                    result = _transaction(con, work)
                if write:
                    db.committed()
                return result
            except Busy as why:
                raise self._busy(str(why)) from None
            except (duckdb.IOException, duckdb.TransactionException, duckdb.ConstraintException) as exc:
                if isinstance(exc, duckdb.IOException) and not is_lock_error(exc):
                    raise RecommenderError(f"cannot open the database {self.path}: {exc}") from exc
                if isinstance(exc, duckdb.ConstraintException) and "duplicate key" not in str(exc).lower():
                    raise
                last = exc  # locked by a program that does not use the lock file, or a conflict: again
            left = deadline - time.monotonic()
            if left <= 0:  # the whole timeout was waited
                raise self._busy(str(last).splitlines()[0]) from last
            # jitter: waiting calls do not retry in step
            time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, 0.1)

    def _busy(self, why: str) -> RecommenderError:
        return RecommenderError(
            f"database is busy: {self.path} could not be opened within {self.timeout:g} s ({why}); "
            "close other programs using it and try again"
        )

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
        row = self._read(lambda con: con.execute("SELECT value FROM meta WHERE key = 'build'").fetchone())
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
        return self._read(lambda con: con.execute(sql, params).df())

    def track(self, track_id: int) -> dict:
        """One track as a dict (the ``tracks()`` columns plus ``in_catalog``)."""
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection) -> dict | None:
            cur = con.execute(f"SELECT {_TRACK_SELECT}, t.in_catalog FROM tracks t WHERE track_id = ?", [tid])
            row = cur.fetchone()
            return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))

        found = self._read(work)
        if found is None:
            raise UserInputError(f"no track with id {tid} in the catalog")
        return found

    def genres(self) -> list[str]:
        """Genres of the in-catalog tracks, sorted."""
        rows = self._read(
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

        return self._read(work)

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
        """Profile names, sorted by their keys (case-insensitively)."""
        return [p.name for p in self.profiles()]

    def user_name(self, name: str) -> str | None:
        """The stored spelling of profile ``name`` (matched as every method matches it), or None if none."""
        clean = _clean_name(name, what="profile", max_len=MAX_USER_NAME)
        row = self._read(
            lambda con: con.execute(
                "SELECT name FROM users WHERE name_key = ?", [_user_key(clean)]
            ).fetchone()
        )
        return None if row is None else row[0]

    def create_user(self, name: str) -> str:
        """Create the profile ``name`` if new, without a PIN (``create_profile`` gives one); returns its
        stored name (an existing one keeps its spelling)."""
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
            for table in ("playlists", "likes", "plays", "skips", "stations", "class_playlist", "users"):
                con.execute(f"DELETE FROM {table} WHERE user_id = ?", [user_id])

        self._run(work)

    @staticmethod
    def _find_user(con: duckdb.DuckDBPyConnection, clean: str) -> int | None:
        row = con.execute("SELECT user_id FROM users WHERE name_key = ?", [_user_key(clean)]).fetchone()
        return None if row is None else int(row[0])

    def _ensure_user(self, con: duckdb.DuckDBPyConnection, clean: str) -> int:
        user_id = self._find_user(con, clean)
        if user_id is None:
            con.execute(
                "INSERT INTO users (name, name_key, created_at) VALUES (?, ?, ?)",
                [clean, _user_key(clean), _utcnow()],
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
        """Run ``work(con, user_id)`` reading only; ``user_id`` is None for an unknown profile."""
        clean = _clean_name(user, what="profile", max_len=MAX_USER_NAME)
        return self._read(lambda con: work(con, self._find_user(con, clean)))

    def _user_change(self, user: str, work: Callable[[duckdb.DuckDBPyConnection, int | None], T]) -> T:
        """``_user_read`` for a change: ``work`` may write (an unknown profile is not created)."""
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
        """Plays of ``user``, newest first: track_id, title, artist, genre, played_at, source, in_catalog
        (False: a song a rebuild left out of the catalog)."""
        limit = _limit(k)
        return self._user_read(
            user,
            lambda con, uid: con.execute(_HISTORY_SQL, [uid, limit]).df(),
        )

    def clear_history(self, user: str) -> int:
        """Delete every play and skip of ``user`` (what History lists); returns how many plays there were."""

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> int:
            if uid is None:
                return 0
            n = con.execute("SELECT count(*) FROM plays WHERE user_id = ?", [uid]).fetchone()[0]
            con.execute("DELETE FROM plays WHERE user_id = ?", [uid])
            con.execute("DELETE FROM skips WHERE user_id = ?", [uid])
            return int(n)

        return self._user_change(user, work)

    def forget_track(self, user: str, track_id: int) -> int:
        """Take ``track_id`` out of everything of ``user``: plays, likes, skips and playlist places (later
        songs move up). For a song the catalog no longer holds; returns how many rows went."""
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> int:
            if uid is None:
                return 0
            places = con.execute(
                """SELECT playlist_id, position FROM playlist_items
                   WHERE track_id = ? AND playlist_id IN (SELECT playlist_id FROM playlists WHERE user_id = ?)""",
                [tid, uid],
            ).fetchall()
            gone = len(places)
            for playlist_id, position in places:
                con.execute(
                    "DELETE FROM playlist_items WHERE playlist_id = ? AND track_id = ?", [playlist_id, tid]
                )
                con.execute(
                    "UPDATE playlist_items SET position = position - 1 WHERE playlist_id = ? AND position > ?",
                    [playlist_id, position],
                )
            for table in ("plays", "likes", "skips"):
                where = f"FROM {table} WHERE user_id = ? AND track_id = ?"
                gone += con.execute(f"SELECT count(*) {where}", [uid, tid]).fetchone()[0]
                con.execute(f"DELETE {where}", [uid, tid])
            return int(gone)

        return self._user_change(user, work)

    def play_counts(self) -> pd.DataFrame:
        """Plays per in-catalog track across all profiles, most played first: track_id, genre, plays."""
        return self._read(
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

        self._user_change(user, work)

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

    def activity(self, user: str) -> Activity:
        """Everything ``user`` did, read in one transaction: ``history()``, ``likes()``, ``playlist_tracks()``."""

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> Activity:
            return Activity(
                con.execute(_HISTORY_SQL, [uid, None]).df(),
                con.execute(_LIKES_SQL, [uid]).df(),
                con.execute(_PLAYLIST_TRACKS_SQL, [uid]).df(),
            )

        return self._user_read(user, work)


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


def _check_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Run on a process's first opening: migrate the file to this version's schema.

    A file opened read-only (a home this user cannot write) is only checked. A file with
    tables but no ``schema_version`` was not written by musicrec, or lost that table: it
    is refused rather than half-migrated.
    """
    path = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    where = path[0] if path and path[0] else "the database"
    tables = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = 'main'"
        ).fetchall()
    }
    if tables and "schema_version" not in tables:
        raise RecommenderError(
            f"{where} is not a musicrec database, or is damaged (it has tables but no schema_version): "
            "move it away and build the catalog again"
        )
    read_only = con.execute("SELECT current_setting('access_mode')").fetchone()[0] == "read_only"
    if not read_only:
        _transaction(con, migrate)
        return
    version = 0
    if tables:
        version = int(con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
    if version != SCHEMA_VERSION:
        raise RecommenderError(
            f"{where} has schema {version} and this musicrec needs {SCHEMA_VERSION}, but it is read-only here: "
            "run musicrec once as a user who can write the home, to upgrade it"
        )


def _may_write(path: Path) -> bool:
    """Whether this process may write the database file (or create it): else it is opened read-only."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return os.access(path.parent, os.W_OK)


_HISTORY_SQL = """
SELECT p.track_id, t.title, t.artist, t.genre, p.played_at, p.source, t.in_catalog
FROM plays p JOIN tracks t USING (track_id) WHERE p.user_id = ?
ORDER BY p.played_at DESC, p.play_id DESC LIMIT ?
"""

_LIKES_SQL = """
SELECT l.track_id, t.title, t.artist, t.genre, l.liked_at
FROM likes l JOIN tracks t USING (track_id) WHERE l.user_id = ?
ORDER BY l.liked_at DESC, l.track_id
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
