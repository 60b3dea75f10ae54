"""The class board's side of the store: the class playlist, uploads hidden from the board, and the
board's one read.

``class_playlist`` holds the songs anyone with an open profile added to the class's one shared
playlist, with who added each and when (in that order); the owner removes entries. ``hidden_uploads``
holds the uploaded clips the owner took off the board (the clip stays in the catalog). ``board``
reads everything the board shows in one read transaction, remembered until this process or
another writes (``Database.cached``): a board that refreshes every few seconds reads the
database again only after something changed.
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import pandas as pd

from recommender.errors import UserInputError
from recommender.store.values import _title, _track_id, _utcnow

MAX_CLASS_PLAYLIST = 500  # songs in the class playlist: a board stays readable, an add stays cheap
BOARD_NAMES = 200  # profiles listed on the board, newest first
BOARD_UPLOADS = 60  # uploaded clips on the board, newest first
BOARD_TOP = 5  # songs in "most played" and "most liked"


class BoardData(NamedTuple):
    """What the class board shows, as read in one transaction (newest first where it says so)."""

    joined: pd.DataFrame  # name, joined_at: profiles, newest first (at most BOARD_NAMES)
    profiles: int  # how many profiles there are in all
    uploads: pd.DataFrame  # track_id, title, artist, genre, added_by, added_at, hidden: newest first
    most_played: pd.DataFrame  # track_id, title, artist, genre, plays
    most_liked: pd.DataFrame  # track_id, title, artist, genre, likes
    class_playlist: pd.DataFrame  # position, track_id, title, artist, genre, added_by, added_at
    hidden_ids: frozenset[int]  # every upload hidden from the board


class BoardStore:
    """The class board methods of ``Store`` (which provides the transactions they run in)."""

    def add_to_class_playlist(self, user: str, track_id: int) -> None:
        """``user`` adds ``track_id`` to the end of the class playlist (a song is there at most once)."""
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection, user_id: int) -> None:
            self._require_track(con, tid)
            if con.execute("SELECT count(*) FROM class_playlist WHERE track_id = ?", [tid]).fetchone()[0]:
                raise UserInputError(f"“{_title(con, tid)}” is already in the class playlist")
            size = con.execute("SELECT count(*) FROM class_playlist").fetchone()[0]
            if size >= MAX_CLASS_PLAYLIST:
                raise UserInputError(
                    f"the class playlist is full ({MAX_CLASS_PLAYLIST} songs); the owner can remove some"
                )
            con.execute("INSERT INTO class_playlist VALUES (?, ?, ?)", [tid, user_id, _utcnow()])

        self._user_write(user, work)

    def remove_from_class_playlist(self, track_id: int) -> bool:
        """Take ``track_id`` out of the class playlist (the owner's: the app asks); False if it was not there."""
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection) -> bool:
            there = con.execute("SELECT count(*) FROM class_playlist WHERE track_id = ?", [tid]).fetchone()[0]
            con.execute("DELETE FROM class_playlist WHERE track_id = ?", [tid])
            return bool(there)

        return self._run(work)

    def hide_upload(self, track_id: int, *, hidden: bool = True) -> None:
        """Take uploaded clip ``track_id`` off the class board (``hidden=False``: show it again).

        Only the owner may (the app asks); the clip stays in the catalog.
        """
        tid = _track_id(track_id)

        def work(con: duckdb.DuckDBPyConnection) -> None:
            row = con.execute("SELECT source FROM tracks WHERE track_id = ?", [tid]).fetchone()
            if row is None or row[0] != "upload":
                raise UserInputError("only an uploaded clip can be hidden from the board")
            con.execute("DELETE FROM hidden_uploads WHERE track_id = ?", [tid])
            if hidden:
                con.execute("INSERT INTO hidden_uploads VALUES (?, ?)", [tid, _utcnow()])

        self._run(work)

    def board(self) -> BoardData:
        """Everything the class board shows (``BoardData``), in one read; cached until a write."""
        return self._db.cached("board", lambda: self._read(_board))


def _board(con: duckdb.DuckDBPyConnection) -> BoardData:
    joined = con.execute(
        "SELECT name, created_at AS joined_at FROM users ORDER BY created_at DESC, user_id DESC LIMIT ?",
        [BOARD_NAMES],
    ).df()
    profiles = int(con.execute("SELECT count(*) FROM users").fetchone()[0])
    uploads = con.execute(
        """SELECT t.track_id, t.title, t.artist, t.genre, u.name AS added_by, o.added_at,
                  h.track_id IS NOT NULL AS hidden
           FROM upload_owners o JOIN tracks t USING (track_id)
           LEFT JOIN users u USING (user_id) LEFT JOIN hidden_uploads h ON h.track_id = t.track_id
           WHERE t.in_catalog ORDER BY o.added_at DESC, t.track_id LIMIT ?""",
        [BOARD_UPLOADS],
    ).df()
    most_played = con.execute(
        """SELECT t.track_id, t.title, t.artist, t.genre, count(*) AS plays
           FROM plays p JOIN tracks t USING (track_id) WHERE t.in_catalog
           GROUP BY ALL ORDER BY plays DESC, t.track_id LIMIT ?""",
        [BOARD_TOP],
    ).df()
    most_liked = con.execute(
        """SELECT t.track_id, t.title, t.artist, t.genre, count(*) AS likes
           FROM likes l JOIN tracks t USING (track_id) WHERE t.in_catalog
           GROUP BY ALL ORDER BY likes DESC, t.track_id LIMIT ?""",
        [BOARD_TOP],
    ).df()
    class_playlist = con.execute(
        """SELECT row_number() OVER (ORDER BY c.added_at, c.track_id) AS position, t.track_id, t.title,
                  t.artist, t.genre, u.name AS added_by, c.added_at
           FROM class_playlist c JOIN tracks t USING (track_id) LEFT JOIN users u USING (user_id)
           WHERE t.in_catalog ORDER BY position"""
    ).df()
    hidden_ids = frozenset(int(r[0]) for r in con.execute("SELECT track_id FROM hidden_uploads").fetchall())
    return BoardData(joined, profiles, uploads, most_played, most_liked, class_playlist, hidden_ids)


def _v7_class_board(con: duckdb.DuckDBPyConnection) -> None:
    """The class playlist (who added what, when) and the uploads the owner hid from the board (``BoardStore``).

    No foreign keys (as ``upload_owners``): the store deletes these rows with the profile or the clip.
    """
    con.execute(
        """CREATE TABLE class_playlist (
            track_id BIGINT PRIMARY KEY,
            user_id BIGINT,
            added_at TIMESTAMP NOT NULL
        )"""
    )
    con.execute("CREATE TABLE hidden_uploads (track_id BIGINT PRIMARY KEY, hidden_at TIMESTAMP NOT NULL)")
