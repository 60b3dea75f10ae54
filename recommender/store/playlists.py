"""Playlists in the store: ordered lists of tracks a profile names and keeps.

A track appears at most once per playlist (adding it again is a ``UserInputError``);
positions are 1-based; playlist names follow ``values``' rules and are matched
case-insensitively per profile. Every change is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from recommender.errors import UserInputError
from recommender.store.values import MAX_PLAYLIST_NAME, _clean_name, _name_key, _title, _track_id, _utcnow

_PLAYLIST_TRACKS_SQL = """
SELECT p.name AS playlist, i.position, i.track_id
FROM playlists p JOIN playlist_items i USING (playlist_id)
WHERE p.user_id = ? ORDER BY p.name_key, i.position
"""


class PlaylistStore:
    """The playlist methods of ``Store`` (which provides the ``_user_*`` transactions they run in)."""

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

        self._user_change(user, work)

    def delete_playlist(self, user: str, name: str) -> None:
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> None:
            pid, _ = self._require_playlist(con, uid, clean)
            con.execute("DELETE FROM playlist_items WHERE playlist_id = ?", [pid])
            con.execute("DELETE FROM playlists WHERE playlist_id = ?", [pid])

        self._user_change(user, work)

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

        self._user_change(user, work)

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

        self._user_change(user, work)

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

        self._user_change(user, work)

    @staticmethod
    def _position(con: duckdb.DuckDBPyConnection, pid: int, tid: int, name: str) -> int:
        row = con.execute(
            "SELECT position FROM playlist_items WHERE playlist_id = ? AND track_id = ?", [pid, tid]
        ).fetchone()
        if row is None:
            raise UserInputError(f"“{_title(con, tid)}” is not in playlist {name!r}")
        return int(row[0])

    def playlist(self, user: str, name: str) -> pd.DataFrame:
        """The tracks of a playlist in order: position, track_id, title, artist, genre, in_catalog (False: a
        song a rebuild left out of the catalog)."""
        clean = _clean_name(name, what="playlist", max_len=MAX_PLAYLIST_NAME)

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> pd.DataFrame:
            pid, _ = self._require_playlist(con, uid, clean)
            return con.execute(
                """SELECT i.position, i.track_id, t.title, t.artist, t.genre, t.in_catalog
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
