"""Tests of the DuckDB store: catalog, search, profiles, plays, likes, playlists, migrations, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pytest

from recommender.errors import RecommenderError, UserInputError
from recommender.sources.base import Track
from recommender.store import SCHEMA_VERSION, TRACK_COLUMNS, Store, migrate
from recommender.store.connection import Database

ROOT = Path(__file__).resolve().parents[1]

# id, title, artist, album, genre
CATALOG = [
    (1, "Purple Haze", "Jimi Hendrix", "Are You Experienced", "Rock"),
    (2, "Halo", "Beyoncé", "I Am... Sasha Fierce", "Pop"),
    (3, "Hendrix", "The Tributes", "Covers", "Rock"),
    (4, "So What", "Miles Davis", "Kind of Blue", "Jazz"),
    (5, "Crazy in Love", "Beyoncé", "Dangerously in Love", "Pop"),
    (6, "Take Five", "Dave Brubeck", "Time Out", "Jazz"),
    (7, "Little Wing", "Jimi Hendrix", "Axis", "Rock"),
    (8, "Hendrik's Theme", "Orchestra", "Scores", "Jazz"),
    (9, "Zoë 🎧", "Ünïcödé Artist", "Ålbum", "Pop"),
    (10, "Blue in Green", "Miles Davis", "Kind of Blue", "Jazz"),
]


def make_track(track_id: int, title: str, artist: str, album: str, genre: str) -> Track:
    return Track(track_id, title, artist, album, genre, "training", f"/audio/{track_id}.wav", "demo", 30.0)


def catalog_tracks(ids=None) -> list[Track]:
    return [make_track(*row) for row in CATALOG if ids is None or row[0] in ids]


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "musicrec.duckdb")
    s.write_tracks(catalog_tracks())
    return s


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# ---------------------------------------------------------------------------- catalog
def test_tracks_are_ordered_by_id_with_the_catalog_columns(store):
    frame = store.tracks()
    assert list(frame.columns) == TRACK_COLUMNS
    assert frame["track_id"].tolist() == list(range(1, 11))
    assert frame.set_index("track_id").loc[2, "artist"] == "Beyoncé"


def test_track_returns_one_track_and_rejects_unknown_ids(store):
    assert store.track(4)["title"] == "So What"
    assert store.track(4)["in_catalog"] is True
    with pytest.raises(UserInputError, match="no track with id 999"):
        store.track(999)


def test_missing_duration_is_null_not_nan(tmp_path):
    s = Store(tmp_path / "db.duckdb")
    s.write_tracks([Track(1, "a", "b", "c", "Rock", "test", "/x.wav", "folder")])
    assert s.track(1)["duration"] is None


def test_write_tracks_rejects_repeated_ids(tmp_path):
    with pytest.raises(RecommenderError, match="repeats track ids"):
        Store(tmp_path / "db.duckdb").write_tracks(catalog_tracks() + catalog_tracks([1]))


def test_add_track_adds_a_searchable_uploaded_clip(store):
    store.add_track(Track(50, "My Upload", "Me", "Uploads", "Rock", "test", "/u.wav", "upload"))
    assert 50 in store.tracks()["track_id"].tolist()
    assert store.search("my upload")["track_id"].tolist()[0] == 50


def test_rewriting_the_catalog_keeps_user_data_of_surviving_tracks(store):
    store.like("ann", 1)
    store.like("ann", 2)
    store.record_play("ann", 3)
    store.create_playlist("ann", "mix", [4, 1])
    # Track 2 (liked) and 3 (played) leave the catalog, 5 (unreferenced) too; 1 and 4 stay, 11 is new.
    store.write_tracks(catalog_tracks([1, 4, 6, 7, 8, 9, 10]) + [make_track(11, "New", "Band", "LP", "Rock")])

    assert store.tracks()["track_id"].tolist() == [1, 4, 6, 7, 8, 9, 10, 11]
    assert set(store.likes("ann")["track_id"]) == {1, 2}  # the hidden track's like is kept
    assert store.history("ann")["track_id"].tolist() == [3]
    assert store.playlist("ann", "mix")["track_id"].tolist() == [4, 1]
    assert store.track(2)["in_catalog"] is False  # hidden, not deleted: user data refers to it
    with pytest.raises(UserInputError):
        store.track(5)  # nothing referred to it: deleted
    assert 2 not in store.search("beyonce")["track_id"].tolist()
    with pytest.raises(UserInputError, match="no track with id 2"):
        store.like("ann", 2)  # hidden tracks take no new user data

    store.write_tracks(catalog_tracks())  # track 2 comes back
    assert store.track(2)["in_catalog"] is True
    assert store.is_liked("ann", 2)


# ---------------------------------------------------------------------------- search
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Beyonce", {2, 5}),  # accent-insensitive
        ("BEYONCÉ", {2, 5}),  # case-insensitive
        ("beyoncé crazy", {5}),  # words from different fields
        ("Hendrx", {1, 7}),  # one typo
        ("kind of blu", {4, 10}),  # prefix of the album
        ("zoe", {9}),  # accent in the title
        ("ALBUM", {9}),  # Å
        ("🎧", {9}),  # a symbol, matched literally
    ],
)
def test_search_matches_across_case_accents_and_typos(store, query, expected):
    found = store.search(query)
    assert expected <= set(found["track_id"]), found[["track_id", "title", "artist", "score"]]
    assert found["score"].is_monotonic_decreasing


def test_search_ranks_exact_then_prefix_then_substring_then_fuzzy(store):
    found = store.search("Hendrix")
    ids = found["track_id"].tolist()
    scores = dict(zip(found["track_id"], found["score"], strict=True))
    assert ids[0] == 3  # title "Hendrix": exact
    assert scores[3] == 1.0
    assert scores[1] == scores[7] == 0.8  # "Jimi Hendrix" contains it
    assert 8 in ids and scores[8] < 0.8  # "Hendrik's": one typo away, ranked last
    assert ids.index(8) > ids.index(1)


def test_search_without_a_match_is_empty_with_the_columns(store):
    found = store.search("xylophone quartet")
    assert found.empty
    assert list(found.columns) == [*TRACK_COLUMNS, "score"]


def test_search_with_genre_filter_and_limits(store):
    assert set(store.search("blue", genre="Jazz")["track_id"]) == {4, 10}
    assert store.search("blue", genre="rock").empty  # genre is case-insensitive
    assert store.search(None, genre="jazz")["track_id"].tolist() == [4, 6, 8, 10]
    assert store.search("   ")["track_id"].tolist() == list(range(1, 11))  # blank: all tracks by id
    assert store.search(None, k=3)["track_id"].tolist() == [1, 2, 3]
    assert len(store.search(None, k=None)) == 10
    with pytest.raises(UserInputError, match="known genres: Jazz, Pop, Rock"):
        store.search("halo", genre="Polka")
    with pytest.raises(UserInputError, match="k must be"):
        store.search("halo", k=0)


@pytest.mark.parametrize("k", [10**20, 2**63, 2**63 - 1, float("inf"), 1e30, np.int64(2**62)])
def test_a_limit_beyond_what_duckdb_holds_means_all(store, k):
    assert len(store.search(None, k=k)) == 10
    assert store.search("blue", k=k)["track_id"].tolist() == store.search("blue", k=None)["track_id"].tolist()
    store.record_play("kim", 1)
    assert len(store.history("kim", k=k)) == 1


@pytest.mark.parametrize("k", [0, -(10**20), 2.5, float("nan"), "3", True])
def test_a_limit_that_is_no_whole_number_is_refused(store, k):
    with pytest.raises(UserInputError, match="k must be a whole number"):
        store.search(None, k=k)
    with pytest.raises(UserInputError, match="k must be a whole number"):
        store.history("kim", k=k)


def test_search_treats_sql_and_wildcards_as_text(store):
    assert store.search("%").empty
    assert store.search("'; DROP TABLE tracks; --").empty
    assert len(store.tracks()) == 10


# ---------------------------------------------------------------------------- profiles
@pytest.mark.parametrize(
    "name",
    ["'; DROP TABLE plays; --", "Zoë 🎧", "x" * 40, "Robert'); DROP TABLE users;--", "  padded  "],
)
def test_hostile_but_valid_profile_names_work_and_tables_survive(store, name):
    store.record_play(name, 1)
    store.like(name, 2)
    store.create_playlist(name, name[:60], [3])
    assert name.strip() in store.users()
    assert store.history(name)["track_id"].tolist() == [1]
    assert store.playlists(name)["name"].tolist() == [name.strip()[:60]]
    assert len(store.tracks()) == 10  # every table still there


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "cannot be empty"),
        ("   \t ", "cannot be empty"),
        ("x" * 41, "at most 40 characters.*has 41"),
        ("tab\there", "control or invisible characters"),
        ("new\nline", "control or invisible characters"),
        ("nul\x00", "control or invisible characters"),
        ("bell\x07", "control or invisible characters"),
        (None, "must be text"),
    ],
)
def test_invalid_profile_names_are_rejected_with_a_clear_message(store, name, message):
    with pytest.raises(UserInputError, match=message):
        store.record_play(name, 1)
    with pytest.raises(UserInputError, match=message):
        store.create_user(name)
    assert store.users() == []


def test_profile_names_are_trimmed_and_case_insensitive(store):
    assert store.create_user("  Alice ") == "Alice"
    assert store.create_user("ALICE") == "Alice"  # the first spelling is kept
    store.record_play("alice", 1)
    assert store.history("Alice")["track_id"].tolist() == [1]
    assert store.users() == ["Alice"]


def test_profiles_are_created_on_first_use_and_deleted_with_their_data(store):
    assert store.users() == []
    assert store.history("nobody").empty  # reading does not create a profile
    assert store.users() == []
    store.record_play("bea", 1)
    store.like("bea", 1)
    store.create_playlist("bea", "p", [1, 2])
    store.like("cid", 3)
    assert store.users() == ["bea", "cid"]
    store.delete_user("bea")
    assert store.users() == ["cid"]
    assert store.history("bea").empty and store.likes("bea").empty and store.playlists("bea").empty
    assert store.likes("cid")["track_id"].tolist() == [3]
    with pytest.raises(UserInputError, match="no profile named 'bea'"):
        store.delete_user("bea")


def test_two_profiles_cannot_see_or_change_each_others_data(store):
    for user, tracks in (("ann", [1, 2]), ("bob", [3, 4])):
        for t in tracks:
            store.record_play(user, t)
            store.like(user, t)
        store.create_playlist(user, "Favourites", tracks)  # same playlist name for both

    store.remove_from_playlist("bob", "favourites", 3)
    store.unlike("bob", 1)  # not bob's like: no effect on ann
    store.rename_playlist("bob", "Favourites", "Best")
    assert store.clear_history("bob") == 2

    assert store.history("ann")["track_id"].tolist() == [2, 1]
    assert set(store.likes("ann")["track_id"]) == {1, 2}
    assert set(store.likes("bob")["track_id"]) == {3, 4}
    assert store.is_liked("ann", 1) and not store.is_liked("bob", 1)
    assert store.playlist("ann", "Favourites")["track_id"].tolist() == [1, 2]
    assert store.playlist("bob", "Best")["track_id"].tolist() == [4]
    with pytest.raises(UserInputError, match="no playlist named 'Best'"):
        store.playlist("ann", "Best")
    with pytest.raises(UserInputError, match="no playlist named 'Favourites'"):
        store.delete_playlist("bob", "Favourites")
    store.delete_playlist("bob", "Best")
    assert store.playlists("ann")["name"].tolist() == ["Favourites"]


# ---------------------------------------------------------------------------- plays and likes
def test_user_name_is_the_stored_spelling(store):
    store.create_user("Zoë")
    assert store.user_name("  zoË ") == "Zoë" and store.user_name("nobody") is None


def test_history_is_newest_first_with_sources_and_limit(store):
    t0 = datetime(2024, 5, 1, 12, 0)
    store.record_play("ann", 1, at=t0)
    store.record_play("ann", 2, source="map", at=t0 + timedelta(hours=1))
    # An aware time is converted to UTC: 14:30 at UTC+2 is 12:30 UTC.
    store.record_play(
        "ann", 3, source="cli", at=datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    )
    history = store.history("ann")
    assert list(history.columns) == ["track_id", "title", "artist", "genre", "played_at", "source", "in_catalog"]
    assert history["track_id"].tolist() == [2, 3, 1]
    assert history["source"].tolist() == ["map", "cli", "search"]
    assert history["played_at"].iloc[1] == datetime(2024, 5, 1, 12, 30)
    assert store.history("ann", k=1)["track_id"].tolist() == [2]
    store.record_play("ann", 4)  # now: newer than 2024
    assert store.history("ann", k=1)["track_id"].tolist() == [4]
    assert abs(
        store.history("ann")["played_at"].iloc[0] - datetime.now(UTC).replace(tzinfo=None)
    ) < timedelta(minutes=1)


def test_play_validation(store):
    with pytest.raises(UserInputError, match="unknown play source 'telepathy'"):
        store.record_play("ann", 1, source="telepathy")
    with pytest.raises(UserInputError, match="no track with id 77"):
        store.record_play("ann", 77)
    with pytest.raises(UserInputError, match="whole number"):
        store.record_play("ann", "abc")
    assert store.history("ann").empty


def test_likes_are_idempotent_and_removable(store):
    store.like("ann", 5)
    store.like("ann", 5)
    store.like("ann", 6)
    assert sorted(store.likes("ann")["track_id"]) == [5, 6]
    store.unlike("ann", 5)
    store.unlike("ann", 5)  # no-op
    assert store.likes("ann")["track_id"].tolist() == [6]
    assert not store.is_liked("ann", 5) and store.is_liked("ann", 6)
    assert not store.is_liked("stranger", 6)


def test_play_counts_across_profiles(store):
    for user, track in (("a", 1), ("b", 1), ("a", 2), ("c", 1)):
        store.record_play(user, track)
    counts = store.play_counts()
    assert counts[["track_id", "plays"]].values.tolist() == [[1, 3], [2, 1]]


# ---------------------------------------------------------------------------- playlists
def order(store, user="ann", name="road trip"):
    frame = store.playlist(user, name)
    assert frame["position"].tolist() == list(range(1, len(frame) + 1))  # always 1..n, no gaps
    return frame["track_id"].tolist()


def test_playlist_order_survives_add_remove_and_move(store):
    store.create_playlist("ann", "Road Trip", [1, 2, 3, 4])
    assert order(store) == [1, 2, 3, 4]
    store.add_to_playlist("ann", "road trip", 5)
    assert order(store) == [1, 2, 3, 4, 5]
    store.remove_from_playlist("ann", "road trip", 2)
    assert order(store) == [1, 3, 4, 5]
    store.move_in_playlist("ann", "road trip", 5, 1)
    assert order(store) == [5, 1, 3, 4]
    store.move_in_playlist("ann", "road trip", 5, 4)
    assert order(store) == [1, 3, 4, 5]
    store.move_in_playlist("ann", "road trip", 3, 3)
    assert order(store) == [1, 4, 3, 5]
    store.move_in_playlist("ann", "road trip", 4, 2)  # already there: no-op
    assert order(store) == [1, 4, 3, 5]
    store.remove_from_playlist("ann", "road trip", 5)
    store.add_to_playlist("ann", "road trip", 2)
    assert order(store) == [1, 4, 3, 2]
    assert list(store.playlist("ann", "road trip").columns) == [
        "position",
        "track_id",
        "title",
        "artist",
        "genre",
        "in_catalog",
    ]


def test_playlist_errors(store):
    store.create_playlist("ann", "Mix", [1, 2])
    with pytest.raises(UserInputError, match="already in playlist 'Mix'"):
        store.add_to_playlist("ann", "mix", 1)
    with pytest.raises(UserInputError, match="already have a playlist named 'Mix'"):
        store.create_playlist("ann", "MIX")
    with pytest.raises(UserInputError, match="only once; repeated: \\[3\\]"):
        store.create_playlist("ann", "other", [3, 4, 3])
    with pytest.raises(UserInputError, match="no track with id 99"):
        store.create_playlist("ann", "other", [3, 99])
    with pytest.raises(UserInputError, match="position must be between 1 and 2"):
        store.move_in_playlist("ann", "Mix", 1, 3)
    with pytest.raises(UserInputError, match="“Little Wing” is not in playlist 'Mix'"):
        store.remove_from_playlist("ann", "Mix", 7)
    with pytest.raises(UserInputError, match="at most 60 characters"):
        store.create_playlist("ann", "p" * 61)
    with pytest.raises(UserInputError, match="cannot be empty"):
        store.create_playlist("ann", "  ")
    with pytest.raises(UserInputError, match="no playlist named 'nope'"):
        store.add_to_playlist("ann", "nope", 1)
    assert store.playlists("ann")["name"].tolist() == ["Mix"]  # failed creations left nothing behind
    assert order(store, name="Mix") == [1, 2]


def test_playlists_list_rename_and_delete(store):
    store.create_playlist("ann", "b-side", [1, 2, 3])
    store.create_playlist("ann", "A-side")
    frame = store.playlists("ann")
    assert list(frame.columns) == ["name", "n_tracks", "created_at", "updated_at"]
    assert frame["name"].tolist() == ["A-side", "b-side"]
    assert frame["n_tracks"].tolist() == [0, 3]
    store.rename_playlist("ann", "b-side", "B-Side")  # only the capitals change
    with pytest.raises(UserInputError, match="already have a playlist named 'A-side'"):
        store.rename_playlist("ann", "B-Side", "a-side")
    store.rename_playlist("ann", "B-Side", "Flip")
    assert order(store, name="flip") == [1, 2, 3]
    store.delete_playlist("ann", "FLIP")
    assert store.playlists("ann")["name"].tolist() == ["A-side"]
    store.create_playlist("ann", "Flip", [3])  # the name is free again
    assert order(store, name="Flip") == [3]


# ---------------------------------------------------------------------------- schema
def test_a_version_1_database_opens_and_upgrades(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert migrate(con, target=1) == 1
    con.execute(
        "INSERT INTO tracks VALUES (1, 'Old Song', 'Old Band', 'Old LP', 'Rock', 'training', 30.0, 'demo', '/a.wav')"
    )
    con.close()

    store = Store(path)
    assert store.tracks()["title"].tolist() == ["Old Song"]
    assert store.search("song old")["track_id"].tolist() == [1]  # the word index was built from old rows
    store.record_play("ann", 1)
    store.create_playlist("ann", "p", [1])
    assert store.history("ann")["track_id"].tolist() == [1]
    con = duckdb.connect(str(path))
    versions = [r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()]
    con.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    con = duckdb.connect(str(path))
    migrate(con)
    con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(RecommenderError, match="newer version of musicrec"):
        Store(path).tracks()


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    path = tmp_path / "junk.duckdb"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(RecommenderError, match="junk.duckdb"):
        Store(path, timeout=1).tracks()


# ---------------------------------------------------------------------------- concurrency
def _record_plays(path: str, user: str, n: int, barrier) -> None:
    """Process worker: record ``n`` plays as ``user`` once every worker is ready."""
    store = Store(Path(path))
    store.users()  # open and migrate before the race starts
    barrier.wait()
    for i in range(n):
        store.record_play(user, 1 + i % 10, source="cli")


def test_four_processes_record_plays_at_the_same_time(store):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    workers = [
        ctx.Process(target=_record_plays, args=(str(store.path), f"user{i}", 50, barrier)) for i in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]  # a worker that raised exits with 1
    assert int(store.play_counts()["plays"].sum()) == 200
    assert [len(store.history(f"user{i}")) for i in range(4)] == [50, 50, 50, 50]


def test_threads_of_one_process_share_the_store(store):
    errors = []

    def work(user):
        try:
            for i in range(15):
                store.record_play(user, 1 + i % 10)
                store.like(user, 1 + i % 10)
        except Exception as exc:  # collected: an exception in a thread would not fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=("same user",)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.users() == ["same user"]
    assert len(store.history("same user")) == 45
    assert len(store.likes("same user")) == 10


HOLD_DUCKDB = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
"""

HOLD_LOCK_FILE = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1] + ".lock", os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.mark.parametrize("holder", [HOLD_DUCKDB, HOLD_LOCK_FILE], ids=["other-program", "other-musicrec"])
def test_a_database_held_open_elsewhere_is_busy_then_usable(store, holder):
    Database.at(store.path).close()  # this process lingers 0.2 s after a call; another program does not wait
    child = subprocess.Popen(
        [sys.executable, "-c", holder, str(store.path), "2.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        start = time.monotonic()
        with pytest.raises(RecommenderError, match="database is busy"):
            Store(store.path, timeout=0.5).record_play("ann", 1)
        assert 0.4 < time.monotonic() - start < 2.0
        store.record_play("ann", 2)  # default timeout: waits until the other process lets go
    finally:
        child.kill()
        child.wait()
    assert store.history("ann")["track_id"].tolist() == [2]


# Runs create_playlist but dies (os._exit, no cleanup) right after the items are inserted, before COMMIT.
DIE_MID_WRITE = """
import os, sys
import duckdb
from pathlib import Path
from recommender.store import Store

real_connect = duckdb.connect

class DiesAfterItems:
    def __init__(self, con):
        self._con = con
    def execute(self, sql, *args):
        result = self._con.execute(sql, *args)
        if "INSERT INTO playlist_items" in sql:
            os._exit(7)
        return result
    def cursor(self):  # the store runs each transaction on a cursor of its connection
        return DiesAfterItems(self._con.cursor())
    def __getattr__(self, name):
        return getattr(self._con, name)

duckdb.connect = lambda *a, **k: DiesAfterItems(real_connect(*a, **k))
Store(Path(sys.argv[1])).create_playlist("ann", "big", list(range(1, 11)))
"""

# Creates playlists of 10 items until killed.
WRITE_FOREVER = """
import sys
from pathlib import Path
from recommender.store import Store
store = Store(Path(sys.argv[1]))
store.users()
print("ready", flush=True)
i = 0
while True:
    store.create_playlist("ann", f"p{i}", list(range(1, 11)))
    i += 1
"""


def test_a_process_dying_mid_transaction_leaves_no_partial_playlist(store):
    store.record_play("ann", 1)
    result = subprocess.run(
        [sys.executable, "-c", DIE_MID_WRITE, str(store.path)], env=subprocess_env(), timeout=60
    )
    assert result.returncode == 7  # it died inside the transaction
    assert store.playlists("ann").empty
    assert store.history("ann")["track_id"].tolist() == [1]
    store.create_playlist("ann", "big", [1, 2])  # the database is usable
    assert order(store, name="big") == [1, 2]


def test_a_process_killed_while_writing_leaves_only_complete_playlists(store):
    child = subprocess.Popen(
        [sys.executable, "-c", WRITE_FOREVER, str(store.path)],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.5)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    playlists = store.playlists("ann")
    assert len(playlists) > 0
    assert set(playlists["n_tracks"]) == {10}
    for name in playlists["name"]:
        assert order(store, name=name) == list(range(1, 11))
