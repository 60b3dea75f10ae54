"""Uploaded clips in the store: who added each one and how large it was, and taking one out.

``upload_owners`` holds a row per clip added to the catalog (its profile, or none when
the server's owner added it without one, and its size in bytes). Deleting a clip takes
two transactions, because DuckDB cannot delete a row and the rows that refer to it in
one: the first hides the track and deletes its plays, likes, playlist places, owner and
search rows; the second deletes the track row itself (left hidden if a play came in between).
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import duckdb

from recommender.errors import UserInputError
from recommender.store.values import MAX_USER_NAME, _clean_name, _track_id, _utcnow


class UploadUsage(NamedTuple):
    """What one profile added to the catalog: clips still there and their bytes."""

    clips: int
    bytes: int


class UploadStore:
    """The upload methods of ``Store`` (which provides the transactions they run in)."""

    def record_upload_owner(self, track_id: int, *, user: str | None, size: int) -> None:
        """Remember who adds uploaded clip ``track_id`` (``user``: a profile, or None) and its size in bytes.

        Written just before the clip's track row (the upload's commit): a row whose track
        never came counts for nothing, and adding the clip again replaces it.
        """
        tid = _track_id(track_id)
        clean = None if user is None else _clean_name(user, what="profile", max_len=MAX_USER_NAME)

        def work(con: duckdb.DuckDBPyConnection) -> None:
            user_id = None if clean is None else self._ensure_user(con, clean)
            con.execute(
                "INSERT OR REPLACE INTO upload_owners VALUES (?, ?, ?, ?)",
                [tid, user_id, int(size), _utcnow()],
            )

        self._run(work)

    def upload_usage(self, user: str) -> UploadUsage:
        """The clips ``user`` added that are still in the catalog, and their size."""

        def work(con: duckdb.DuckDBPyConnection, uid: int | None) -> UploadUsage:
            row = con.execute(
                """SELECT count(*), coalesce(sum(o.bytes), 0) FROM upload_owners o
                   JOIN tracks t USING (track_id) WHERE o.user_id = ? AND t.in_catalog""",
                [uid],
            ).fetchone()
            return UploadUsage(int(row[0]), int(row[1]))

        return self._user_read(user, work)

    def upload_owner(self, track_id: int) -> str | None:
        """The profile that added uploaded clip ``track_id`` (None: none, or not an upload)."""
        tid = _track_id(track_id)
        row = self._read(
            lambda con: con.execute(
                "SELECT u.name FROM upload_owners o JOIN users u USING (user_id) WHERE o.track_id = ?", [tid]
            ).fetchone()
        )
        return None if row is None else row[0]

    def delete_upload_track(self, track_id: int) -> None:
        """Take an uploaded clip out of the catalog: its track row and every row that refers to it."""
        tid = _track_id(track_id)

        def hide(con: duckdb.DuckDBPyConnection) -> None:
            row = con.execute("SELECT source FROM tracks WHERE track_id = ?", [tid]).fetchone()
            if row is None:
                raise UserInputError(f"no track with id {tid} in the catalog")
            if row[0] != "upload":
                raise UserInputError(f"track {tid} is not an uploaded clip; only uploads can be deleted")
            places = con.execute(
                "SELECT playlist_id, position FROM playlist_items WHERE track_id = ?", [tid]
            ).fetchall()
            con.execute("DELETE FROM playlist_items WHERE track_id = ?", [tid])
            for playlist_id, position in places:  # later songs move up one place
                con.execute(
                    "UPDATE playlist_items SET position = position - 1 WHERE playlist_id = ? AND position > ?",
                    [playlist_id, position],
                )
            for table in ("plays", "likes", "skips", "class_playlist", "hidden_uploads", "upload_owners",
                          "track_words", "track_search"):  # fmt: skip
                con.execute(f"DELETE FROM {table} WHERE track_id = ?", [tid])
            con.execute("UPDATE tracks SET in_catalog = false WHERE track_id = ?", [tid])
            self._touch_catalog(con)

        self._run(hide)
        with contextlib.suppress(duckdb.ConstraintException):  # a play came in between: it stays hidden
            self._run(lambda con: con.execute("DELETE FROM tracks WHERE track_id = ?", [tid]))
