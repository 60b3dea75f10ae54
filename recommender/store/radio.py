"""Skips, radio stations, and who listened to what: the store's side of the radio and of "For you".

``skips`` holds a row per song a profile skipped (Next or Skip pressed early in it), with
its time: negative evidence for the radio and for "For you". ``stations`` holds each
profile's current radio station (its seed, as text, and when it started): the command
line's ``radio`` continues it from the plays, likes and skips made since. ``listening``
reads every profile's plays and likes at once, for item-to-item co-occurrence
(``recommender.hybrid``).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from recommender.errors import UserInputError
from recommender.store.values import _as_utc, _limit, _track_id

MAX_SEED = 200  # characters of a station's seed text


class RadioStore:
    """The skip and station methods of ``Store`` (which provides the transactions they run in)."""

    def record_skip(self, user: str, track_id: int, *, at: datetime | None = None) -> None:
        """Record that ``user`` skipped ``track_id`` at ``at`` (now)."""
        tid = _track_id(track_id)
        when = _as_utc(at)

        def work(con: duckdb.DuckDBPyConnection, user_id: int) -> None:
            self._require_track(con, tid)
            con.execute("INSERT INTO skips VALUES (?, ?, ?)", [user_id, tid, when])

        self._user_write(user, work)

    def skips(self, user: str, *, since: datetime | None = None) -> pd.DataFrame:
        """Skips of ``user`` (since ``since``), newest first: track_id, title, artist, genre, skipped_at."""
        sql = """SELECT s.track_id, t.title, t.artist, t.genre, s.skipped_at
                 FROM skips s JOIN tracks t USING (track_id)
                 WHERE s.user_id = ? AND t.in_catalog AND s.skipped_at >= coalesce(?, TIMESTAMP '1970-01-01')
                 ORDER BY s.skipped_at DESC"""
        when = None if since is None else _as_utc(since)
        return self._user_read(user, lambda con, uid: con.execute(sql, [uid, when]).df())

    def history_with_skips(self, user: str, *, k: int | None = None) -> pd.DataFrame:
        """Plays and skips of ``user`` mixed, newest first (a skip before the play it cut short):
        track_id, title, artist, genre, played_at (when it happened), source (None for a skip),
        in_catalog, event ("play" or "skip"); the newest ``k`` (None: all)."""
        limit = _limit(k)
        return self._user_read(
            user, lambda con, uid: con.execute(_HISTORY_WITH_SKIPS_SQL, [uid, uid, limit]).df()
        )

    def start_station(self, user: str, seed: str, *, at: datetime | None = None) -> None:
        """Make ``seed`` (``"track:ID"``, ``"tag:NAME"``…) the station of ``user``, starting at ``at`` (now)."""
        seed = str(seed)
        if not seed or len(seed) > MAX_SEED:
            raise UserInputError(f"a station's seed is 1 to {MAX_SEED} characters")
        when = _as_utc(at)

        def work(con: duckdb.DuckDBPyConnection, user_id: int) -> None:
            con.execute("DELETE FROM stations WHERE user_id = ?", [user_id])
            con.execute("INSERT INTO stations VALUES (?, ?, ?)", [user_id, seed, when])

        self._user_write(user, work)

    def station(self, user: str) -> tuple[str, datetime] | None:
        """``(seed, started_at)`` of ``user``'s station, or None when none was started."""

        def work(con: duckdb.DuckDBPyConnection, uid: int | None):
            row = con.execute("SELECT seed, started_at FROM stations WHERE user_id = ?", [uid]).fetchone()
            return None if row is None else (str(row[0]), row[1])

        return self._user_read(user, work)

    def listening(self) -> pd.DataFrame:
        """Every profile's plays and likes of in-catalog songs: user_id, track_id, plays, liked (bool)."""
        sql = """SELECT user_id, track_id, sum(plays)::BIGINT AS plays, bool_or(liked) AS liked FROM (
                    SELECT user_id, track_id, 1 AS plays, false AS liked FROM plays
                    UNION ALL SELECT user_id, track_id, 0, true FROM likes)
                 JOIN tracks t USING (track_id) WHERE t.in_catalog GROUP BY ALL ORDER BY user_id, track_id"""
        return self._read(lambda con: con.execute(sql).df())


_HISTORY_WITH_SKIPS_SQL = """
SELECT track_id, t.title, t.artist, t.genre, e.played_at, e.source, t.in_catalog, e.event FROM (
    SELECT track_id, played_at, source, 'play' AS event, play_id AS seq FROM plays WHERE user_id = ?
    UNION ALL
    SELECT track_id, skipped_at, NULL, 'skip', NULL FROM skips WHERE user_id = ?
) e JOIN tracks t USING (track_id)
ORDER BY e.played_at DESC, e.event = 'skip' DESC, e.seq DESC NULLS FIRST LIMIT ?
"""


def _v6_skips(con: duckdb.DuckDBPyConnection) -> None:
    """Skips with their time, and each profile's radio station (``RadioStore``)."""
    con.execute(
        """CREATE TABLE skips (
            user_id BIGINT NOT NULL,
            track_id BIGINT NOT NULL,
            skipped_at TIMESTAMP NOT NULL
        )"""
    )
    con.execute(
        "CREATE TABLE stations (user_id BIGINT PRIMARY KEY, seed VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL)"
    )
