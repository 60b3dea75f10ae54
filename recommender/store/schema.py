"""The database's schema and its migrations, and the word index fuzzy search reads.

``schema_version`` records the migrations applied; ``MIGRATIONS[v - 1]`` takes a
database from version ``v - 1`` to ``v``, so a newer app upgrades an older file on
first use: version 1 is the catalog (``meta``, ``tracks``), version 2 the user data,
version 3 the search word index, version 4 profile PINs and look-alike names as one
(``_v4_profile_pins``), version 5 who added each uploaded clip
(``_v5_upload_owners``), version 6 skips and radio stations (``radio._v6_skips``), version 7 the class
playlist and the uploads hidden from the class board (``board._v7_class_board``). Foreign keys point at ``tracks`` only: DuckDB (2.0)
cannot delete a parent row and its children in one transaction, nor change a unique
column of a referenced row, so links to ``users`` and ``playlists`` are kept by the
store (children are always deleted first, in the same transaction).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import duckdb

from recommender.errors import RecommenderError
from recommender.store.board import _v7_class_board
from recommender.store.radio import _v6_skips
from recommender.store.values import _WORD_SPLIT, MAX_USER_NAME, _user_key, _utcnow


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


_USERS_V4 = """CREATE TABLE users (
    user_id BIGINT PRIMARY KEY DEFAULT nextval('user_ids'),
    name VARCHAR NOT NULL,
    name_key VARCHAR NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    pin_hash VARCHAR
)"""


def _v4_profile_pins(con: duckdb.DuckDBPyConnection) -> None:
    """Profiles get a PIN and look-alike names one key (``recommender.profile_names``).

    ``pin_hash`` is the PIN's hash (``recommender.passwords``); NULL for the profiles made
    before: the first PIN set for one claims it. Profiles whose names now share a key (``Ann``
    and ``Аnn`` with a Cyrillic А) stay apart: the oldest keeps its name, each later one is
    renamed ``NAME 2``, ``NAME 3``…, keeping its plays, likes and playlists; the renames are
    listed in ``meta`` (``renamed_profiles``, JSON ``[[old, new], …]``).
    """
    rows = con.execute("SELECT user_id, name, created_at FROM users ORDER BY created_at, user_id").fetchall()
    # A new table, not UPDATE: DuckDB checks a unique index row by row, so swapped keys would clash.
    con.execute("DROP TABLE users")
    con.execute(_USERS_V4)
    taken: set[str] = set()
    renamed = []
    for user_id, name, created_at in rows:
        new, n = name, 1
        while _user_key(new) in taken:
            n += 1
            suffix = f" {n}"
            new = name[: MAX_USER_NAME - len(suffix)].rstrip() + suffix
        taken.add(_user_key(new))
        if new != name:
            renamed.append([name, new])
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?, NULL)", [user_id, new, _user_key(new), created_at])
    if renamed:
        con.execute(
            "INSERT INTO meta VALUES ('renamed_profiles', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [json.dumps(renamed, ensure_ascii=False)],
        )


def _v5_upload_owners(con: duckdb.DuckDBPyConnection) -> None:
    # Which profile added each uploaded clip, and its size: for the per-profile quota and who may delete it.
    # No foreign keys: the clip's track row is deleted with it (the store deletes this row first).
    con.execute(
        """CREATE TABLE upload_owners (
            track_id BIGINT PRIMARY KEY,
            user_id BIGINT,
            bytes BIGINT NOT NULL,
            added_at TIMESTAMP NOT NULL
        )"""
    )


MIGRATIONS: list[Callable[[duckdb.DuckDBPyConnection], None]] = [
    _v1_catalog,
    _v2_user_data,
    _v3_search_words,
    _v4_profile_pins,
    _v5_upload_owners,
    _v6_skips,
    _v7_class_board,
]
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
