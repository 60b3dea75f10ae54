"""Profiles that belong to someone: look-alike names are one profile, a PIN (stored hashed) opens it."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from recommender.errors import AccessError, UserInputError
from recommender.passwords import Guesses, TooManyGuesses
from recommender.profile_names import name_key
from recommender.store import Store, migrate
from recommender.store.schema import MIGRATIONS
from recommender.store.values import _utcnow

LOOK_ALIKES = ["ALICE", "Alice", "\u0430lice", "al\u0131ce", "\uff41\uff4c\uff49\uff43\uff45", "a1ice"]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alike_names_have_one_key(name):
    assert name_key(name) == name_key("alice") == "alice"


@pytest.mark.parametrize("other", ["alicia", "bob", "al ice", "zoë"])
def test_different_names_keep_different_keys(other):
    assert name_key(other) != name_key("alice")


def test_a_name_key_is_stable():
    for name in [*LOOK_ALIKES, "Ærøskøbing", "ǅemal", "straße", "İstanbul"]:
        assert name_key(name_key(name)) == name_key(name)


def test_a_new_profile_has_a_hashed_pin_and_look_alikes_are_taken(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    assert store.create_profile("alice", "2468") == "alice"
    for name in LOOK_ALIKES:
        with pytest.raises(UserInputError, match="is taken: it looks like the profile 'alice'"):
            store.create_profile(name, "1357")
    with pytest.raises(UserInputError, match="'alice' is taken: pick it in the list"):
        store.create_profile("alice", "1357")
    assert store.users() == ["alice"]
    stored = store._read(lambda con: con.execute("SELECT pin_hash FROM users").fetchone()[0])
    assert stored.startswith("scrypt$") and "2468" not in stored
    # every store method finds alice by a look-alike name: one profile, one set of playlists
    store.create_playlist("\u0430lice", "Mine")
    assert store.playlists("al\u0131ce")["name"].tolist() == ["Mine"]
    assert store.user_name("\uff41\uff4c\uff49\uff43\uff45") == "alice" and store.users() == ["alice"]


def test_a_pin_must_be_acceptable(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    with pytest.raises(UserInputError, match="at least 4 characters"):
        store.create_profile("bob", "12")
    with pytest.raises(UserInputError, match="cannot be empty"):
        store.create_profile("bob", "   ")
    assert store.users() == []


def test_unlock_needs_the_right_pin_and_wrong_ones_are_rate_limited(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    store.create_profile("Carol", "secret-pin")
    now = [1000.0]
    guesses = Guesses(free=3, base_s=2.0, clock=lambda: now[0])
    assert store.unlock_profile("carol", "secret-pin", guesses=guesses).name == "Carol"
    for _ in range(3):
        with pytest.raises(AccessError, match="wrong PIN for the profile 'Carol'"):
            store.unlock_profile("CAROL", "0000", guesses=guesses)
    with pytest.raises(TooManyGuesses, match="too many wrong tries; wait 2 s"):
        store.unlock_profile("carol", "secret-pin", guesses=guesses)  # even the right one must wait
    with pytest.raises(TooManyGuesses):  # a look-alike name counts against the same profile
        store.unlock_profile("c\u0430rol", "secret-pin", guesses=guesses)
    now[0] += 2.5
    assert store.unlock_profile("carol", "secret-pin", guesses=guesses).name == "Carol"


def test_a_profile_without_a_pin_is_claimed_once_and_the_owner_resets(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    store.create_user("dave")  # as the command line's first use of a name does
    assert store.profile("Dave").has_pin is False
    guesses = Guesses()
    with pytest.raises(AccessError, match="has no PIN yet"):
        store.unlock_profile("dave", "1234", guesses=guesses)
    assert store.claim_profile("DAVE", "1234") == "dave"
    with pytest.raises(AccessError, match="has a PIN already"):
        store.claim_profile("dave", "9999")
    first = store.profile("dave")
    assert first.has_pin and store.unlock_profile("dave", "1234", guesses=guesses).name == "dave"
    store.set_pin("dave", "5678")
    assert store.profile("dave").stamp != first.stamp  # sessions unlocked with the old PIN notice
    with pytest.raises(AccessError, match="wrong PIN"):
        store.unlock_profile("dave", "1234", guesses=guesses)
    assert store.unlock_profile("dave", "5678", guesses=guesses).name == "dave"
    with pytest.raises(UserInputError, match="no profile named 'erin'"):
        store.set_pin("erin", "5678")


def test_making_a_profile_twice_opens_it_and_a_taken_name_stays_taken(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    made, how = store.make_or_open_profile("ivy", "1234")
    assert (made.name, made.has_pin, how) == ("ivy", True, "made")
    assert store.make_or_open_profile("ivy", "1234") == (made, "opened")  # the same form sent again
    with pytest.raises(
        UserInputError, match="^the name 'ivy' is taken: pick it in the list and enter its PIN$"
    ):
        store.make_or_open_profile("ivy", "0000")
    with pytest.raises(UserInputError, match="looks like the profile 'ivy'"):
        store.make_or_open_profile("IVY", "1234")  # a look-alike never opens, even with the right PIN
    store.create_user("old")  # made before PINs
    claimed, how = store.make_or_open_profile("old", "5678")
    assert (claimed.name, claimed.has_pin, how) == ("old", True, "claimed")
    assert store.unlock_profile("old", "5678") == claimed
    assert store.users().count("ivy") == 1


def test_two_runs_making_one_profile_at_once_make_it_once_and_both_open_it(tmp_path, monkeypatch):
    """Streamlit starts a session's next run in a new thread while the run it cut short is still
    hashing the PIN: both ask to make the same profile at the same moment."""
    import threading
    import time

    from recommender.store import profiles

    slow_hash = profiles.hash_secret
    monkeypatch.setattr(profiles, "hash_secret", lambda secret: (time.sleep(0.3), slow_hash(secret))[1])
    store = Store(tmp_path / "db.duckdb")
    results, errors = [], []

    def make() -> None:
        try:
            results.append(store.make_or_open_profile("kim", "1357"))
        except UserInputError as error:
            errors.append(str(error))

    runs = [threading.Thread(target=make) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert errors == []
    assert sorted(how for _, how in results) == ["made", "opened"]
    assert results[0][0] == results[1][0] and store.users().count("kim") == 1


def test_migration_4_folds_old_keys_and_renames_look_alikes_that_now_collide(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=3)
    con.execute(
        "INSERT INTO tracks VALUES (1, 'Song', 'Band', 'LP', 'Rock', 'training', 30.0, 'demo', '/a.wav', true)"
    )
    # made by version 3, which matched names by case only: four profiles that now look alike
    for name in ("alice", "\u0430lice", "al\u0131ce", "\uff41\uff4c\uff49\uff43\uff45", "bob"):
        con.execute(
            "INSERT INTO users (name, name_key, created_at) VALUES (?, ?, ?)",
            [name, name.casefold(), _utcnow()],
        )
    uid = con.execute("SELECT user_id FROM users WHERE name = ?", ["\u0430lice"]).fetchone()[0]
    con.execute("INSERT INTO plays (user_id, track_id, played_at, source) VALUES (?, 1, now(), 'cli')", [uid])
    con.close()

    store = Store(path)
    names = store.users()
    assert "alice" in names and "bob" in names
    assert {"\u0430lice 2", "al\u0131ce 3", "\uff41\uff4c\uff49\uff43\uff45 4"} <= set(
        names
    )  # in the order made
    assert len({name_key(n) for n in names}) == len(names) == 5
    assert store.history("\u0430lice 2")["track_id"].tolist() == [1]  # its plays went with it
    assert store.history("alice").empty
    assert all(not p.has_pin for p in store.profiles())  # each one is claimed by its first PIN
    sql = "SELECT value FROM meta WHERE key = 'renamed_profiles'"
    renamed = json.loads(store._read(lambda con: con.execute(sql).fetchone()[0]))
    assert ["\u0430lice", "\u0430lice 2"] in renamed
    assert MIGRATIONS[3].__name__ == "_v4_profile_pins"


# ---- in the app: a profile is opened with its PIN ----------------------------------------------------
# The app is driven as in tests/test_app.py (its functions and fixtures: the module's own copy of
# the built catalog).
import test_app  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from test_app import PIN, ROOT, TIMEOUT, goto, open_song, shown, start, unescaped  # noqa: E402

from pages._profile import CLAIMED  # noqa: E402

# test_app's fixtures, for this module: its own copy of the built catalog, and AppTest as the server runs
_navigation_like_the_server = test_app._navigation_like_the_server
module_home, app_home, catalog = test_app.module_home, test_app.app_home, test_app.catalog


def visitor(user: str, page: str | None = None, *, owner: bool = False) -> AppTest:
    """Another browser session that opens ``?user=USER`` (a link, or a name picked in the list)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["user"] = user
    if owner:
        at.session_state["owner"] = True
    at.run()
    assert not at.exception
    if page:
        goto(at, page)
    return at


def sidebar_text(at: AppTest) -> str:
    parts = [e.value for kind in ("error", "info", "success", "caption") for e in getattr(at.sidebar, kind)]
    return unescaped("\n".join(parts))


def button_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button}


def enter_pin(at: AppTest, pin: str) -> AppTest:
    at.sidebar.text_input(key="sidebar_pin").input(pin)
    at.sidebar.button(key="sidebar_unlock").click().run()
    assert not at.exception
    return at


def test_without_the_pin_a_visitor_sees_and_changes_nothing_of_a_profile(app_home, catalog):
    store = catalog.store
    owner_session = start(user="alice")
    store.record_play("alice", 1)
    store.record_play("alice", 2)
    store.create_playlist("alice", "Secret mix", [3, 4])
    store.like("alice", 5)

    at = visitor("ALICE", "history")  # a link to her History, in another browser
    assert at.session_state["user"] == "alice"  # the name is picked (the list shows names) ...
    text = shown(at)
    assert "**alice** is protected by a PIN: enter it in the sidebar" in text  # ... and nothing else
    assert not at.dataframe and "history_clear" not in button_keys(at)
    assert "sidebar_pin" in {t.key for t in at.sidebar.text_input}
    goto(at, "playlists")
    assert "Secret mix" not in shown(at) and "protected by a PIN" in shown(at)
    assert not {"playlists_delete", "playlists_create", "playlists_import"} & button_keys(at)
    goto(at, "for_you")
    assert "protected by a PIN" in shown(at) and "For alice" not in shown(at)
    open_song(at, 6)
    assert at.button(key="song_like").disabled
    at.button(key="song_play").click().run()  # plays, but records nothing for alice
    assert store.history("alice")["track_id"].tolist() == [2, 1]
    assert store.is_liked("alice", 5) and store.playlists("alice")["name"].tolist() == ["Secret mix"]

    enter_pin(at, "0000")
    assert "wrong PIN for the profile 'alice'" in sidebar_text(at)
    goto(at, "history")
    assert not at.dataframe
    enter_pin(at, PIN)
    assert at.dataframe[0].value["track_id"].tolist() == [2, 1]
    at.button(key="history_clear").click().run()  # with the PIN, this browser may
    assert store.history("alice").empty
    goto(at, "playlists")
    at.button(key="playlists_delete").click().run()
    assert store.playlists("alice").empty
    assert owner_session.session_state["user"] == "alice"


def test_wrong_pins_are_rate_limited_with_a_clear_message(app_home, catalog):
    start(user="guarded")
    at = visitor("guarded", "history")
    for _ in range(3):
        enter_pin(at, "9999")
        assert "wrong PIN for the profile 'guarded'" in sidebar_text(at)
    enter_pin(at, PIN)  # the right PIN, too soon after three wrong ones
    assert re.search(r"too many wrong tries; wait \d+ s and try again", sidebar_text(at))
    assert not at.dataframe and "protected by a PIN" in shown(at)


def test_look_alike_names_open_the_existing_profile_behind_its_pin(app_home, catalog):
    start(user="maria")
    catalog.store.record_play("maria", 7)
    for look_alike in ("m\u0430ria", "MARIA", "\uff4d\uff41\uff52\uff49\uff41", "mar\u0131a"):
        at = start()
        at.sidebar.text_input(key="sidebar_new_user").input(look_alike)
        at.sidebar.text_input(key="sidebar_new_pin").input("1111")
        at.sidebar.button(key="sidebar_create_user").click().run()
        assert "is taken" in sidebar_text(at), look_alike
        assert at.session_state["user"] == "maria"  # the existing one, asking for its PIN
        goto(at, "history")
        assert not at.dataframe and "**maria** is protected by a PIN" in shown(at)
        link = visitor(look_alike, "history")
        assert link.session_state["user"] == "maria" and not link.dataframe
    assert catalog.store.users().count("maria") == 1 and len(catalog.store.users()) == len(
        set(catalog.store.users())
    )
    assert catalog.store.history("maria")["track_id"].tolist() == [7]


def test_the_owner_opens_any_profile_and_sets_a_new_pin(app_home, catalog):
    student = start(user="forgetful", page="history")
    catalog.store.record_play("forgetful", 8)
    assert "sidebar_reset" not in {b.key for b in student.sidebar.button}  # the owner's control only

    owner = visitor("forgetful", "history", owner=True)
    assert owner.dataframe[0].value["track_id"].tolist() == [8]  # no PIN asked
    owner.sidebar.text_input(key="sidebar_reset_pin").input("2580")
    owner.sidebar.button(key="sidebar_reset").click().run()
    assert "forgetful has a new PIN" in sidebar_text(owner)

    student.run()  # opened with the old PIN: closed now
    assert not student.dataframe and "protected by a PIN" in shown(student)
    enter_pin(student, PIN)
    assert "wrong PIN" in sidebar_text(student)
    enter_pin(student, "2580")
    assert student.dataframe[0].value["track_id"].tolist() == [8]


def test_a_profile_made_before_pins_is_claimed_by_the_first_pin_set(app_home, catalog):
    catalog.store.record_play("oldtimer", 9)  # as the command line makes profiles: no PIN
    at = visitor("oldtimer", "history")
    assert not at.dataframe and "protected by a PIN" in shown(at)
    assert "oldtimer has no PIN yet" in sidebar_text(at)
    at.sidebar.text_input(key="sidebar_claim_pin").input("7531")
    at.sidebar.text_input(key="sidebar_claim_pin_again").input("7531")
    at.sidebar.button(key="sidebar_claim").click().run()
    assert CLAIMED in sidebar_text(at)
    assert CLAIMED == "This profile had no PIN; the PIN you set now protects it."
    assert at.dataframe[0].value["track_id"].tolist() == [9]

    late = visitor("oldtimer", "history")  # the next one must give that PIN
    assert "sidebar_claim" not in {b.key for b in late.sidebar.button} and not late.dataframe
    enter_pin(late, "7531")
    assert late.dataframe[0].value["track_id"].tolist() == [9]


# ---- on the command line: the server's owner -----------------------------------------------------------
def test_the_command_line_sets_a_new_pin_and_needs_none_itself(app_home, catalog, monkeypatch, capsys):
    import io

    from recommender.cli import main

    catalog.store.create_profile("cli-student", "1111")
    monkeypatch.setattr("sys.stdin", io.StringIO("8642\n"))
    assert (
        main(["profile", "pin", "--user", "CLI-student", "--pin-stdin", "--json", "--home", str(app_home)])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"user": "cli-student", "pin_set": True}
    guesses = Guesses()
    assert catalog.store.unlock_profile("cli-student", "8642", guesses=guesses).name == "cli-student"
    with pytest.raises(AccessError):
        catalog.store.unlock_profile("cli-student", "1111", guesses=guesses)

    assert (
        main(["play", "--user", "cli-student", "--track", "3", "--home", str(app_home)]) == 0
    )  # no PIN asked
    assert catalog.store.history("cli-student")["track_id"].tolist() == [3]

    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    assert main(["profile", "pin", "--user", "cli-student", "--home", str(app_home)]) == 1
    assert capsys.readouterr().err.strip() == "error: the PIN needs at least 4 characters"
    monkeypatch.setattr("sys.stdin", io.StringIO("5555\n"))
    assert main(["profile", "pin", "--user", "nobody", "--home", str(app_home)]) == 1
    assert capsys.readouterr().err.strip() == "error: no profile named 'nobody'"
