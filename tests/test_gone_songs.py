"""Songs a rebuild left out of the catalog: every page says so in words and offers to remove them.

A new build replaces the catalog; playlists and plays that refer to its songs are kept, their
songs hidden (``in_catalog`` false). Here a song of a profile's playlist and history is left
out of the catalog as a rebuild does (``Store.write_tracks`` without it); AppTest then drives
the Playlists, Song and History pages and the player.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fixtures import copy_home
from streamlit.testing.v1 import AppTest

from recommender.sources.base import Track
from recommender.store import TRACK_COLUMNS, Store

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
PIN = "4321"
RAW = re.compile(r"no track with id|\b\d{2,}\b")  # the store's raw message, or an id


@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


@pytest.fixture
def gone_home(built_home, tmp_path, monkeypatch):
    """A copy of the built catalog where profile "gus" has a playlist and a play of a song a rebuild left out."""
    home = copy_home(built_home, tmp_path / "home")
    monkeypatch.setenv("MUSICREC_HOME", str(home))
    store = Store(home / "musicrec.duckdb")
    tracks = store.tracks()
    gone, kept = int(tracks["track_id"].iloc[3]), int(tracks["track_id"].iloc[4])
    store.create_profile("gus", PIN)
    store.create_playlist("gus", "Old mix", [gone, kept])
    store.record_play("gus", gone)
    store.like("gus", gone)
    rest = tracks[tracks["track_id"] != gone]
    store.write_tracks(
        [Track(**{c: row[c] for c in TRACK_COLUMNS}) for row in rest.to_dict(orient="records")]
    )
    return home, gone, kept, str(tracks["title"].iloc[3])


def opened(page: str) -> AppTest:
    """Profile "gus" opened with its PIN in the sidebar, then ``page``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.session_state["user"] = "gus"
    at.run()
    at.sidebar.text_input(key="sidebar_pin").input(PIN)
    at.sidebar.button(key="sidebar_unlock").click().run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].message
    return at


def shown(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "warning", "error", "info", "caption", "success")
        for e in at.get(kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_a_playlist_says_its_song_is_gone_and_removes_it(gone_home):
    home, gone, kept, title = gone_home
    at = opened("playlists")
    text = shown(at)
    assert "This song is no longer in the catalog." in text
    assert f"~~{title}~~".replace(" ", "") in text.replace("\\", "").replace(" ", "")
    assert "no track with id" not in text
    keys = [b.key or "" for b in at.main.button]
    assert not [k for k in keys if k.startswith("playlists_songs-play-") and k.endswith(f"-{gone}")]
    at.button(key=f"playlists_songs-gone-0-{gone}").click().run()
    assert not at.exception
    store = Store(home / "musicrec.duckdb")
    assert store.playlist("gus", "Old mix")["track_id"].tolist() == [kept]
    assert store.history("gus").empty and store.likes("gus").empty
    assert "is out of your playlists and history" in shown(at)


def test_playing_a_gone_song_says_so_in_words(gone_home):
    _, gone, _, _ = gone_home
    at = opened("playlists")
    at.button(key="playlists_play").click().run()  # the playlist's first song is the gone one
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and "This song is no longer in the catalog" in errors[0]
    assert not RAW.search(errors[0])
    assert "now_playing" not in at.session_state or at.session_state["now_playing"] is None  # nothing plays


def test_the_song_page_of_a_gone_song_says_so_and_offers_to_remove_it(gone_home):
    home, gone, _, title = gone_home
    at = opened("home")
    at.session_state["track_id"] = gone
    at.switch_page("pages/song.py").run()
    assert not at.exception
    assert "no longer in the catalog" in at.warning[0].value
    assert not RAW.search(at.warning[0].value)
    at.button(key="song_forget_gone").click().run()
    assert Store(home / "musicrec.duckdb").playlist("gus", "Old mix")["track_id"].tolist() != [gone, gone]
    assert gone not in Store(home / "musicrec.duckdb").playlist("gus", "Old mix")["track_id"].tolist()


def test_history_names_the_gone_songs_and_removes_them(gone_home):
    home, gone, kept, title = gone_home
    at = opened("history")
    warning = at.warning[0].value
    assert "1 song you played is no longer in the catalog" in warning and title.split()[0] in warning
    assert not RAW.search(warning.replace(title, ""))
    at.button(key="history_forget_gone").click().run()
    assert not at.exception
    assert Store(home / "musicrec.duckdb").history("gus").empty
    assert "Removed 1 song no longer in the catalog" in at.success[0].value


def test_a_link_to_a_song_of_no_catalog_shows_no_id(gone_home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["track"] = "987654321"
    at.run()
    at.switch_page("pages/song.py").run()
    text = shown(at)
    assert "There is no such song in this catalog" in text and "987654321" not in text


def test_a_song_that_left_the_catalog_while_playing_stops(gone_home):
    _, gone, _, _ = gone_home
    at = opened("home")
    at.session_state["now_playing"] = {"track_id": gone, "via": "search", "queue": None, "ends_at": None}
    at.run()
    assert not at.exception
    assert not at.sidebar.get("audio")
    assert at.session_state["now_playing"] is None
