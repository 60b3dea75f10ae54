"""The class board: its store tables and read, its join link, and the page as a class uses it.

AppTest drives the pages on a private copy of the tiny built demo catalog (``built_home``):
students make profiles in the sidebar, upload a clip, add a song to the class playlist; the
board (a visitor's, then the owner's) shows them, and only the owner hides a clip.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fixtures import copy_home
from streamlit.testing.v1 import AppTest

from recommender.board import class_board, join_link, map_background, qr_png
from recommender.catalog import Catalog
from recommender.errors import UserInputError
from recommender.store import SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180
PIN = "4321"


@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


@pytest.fixture(scope="module")
def module_home(built_home, tmp_path_factory):
    return copy_home(built_home, tmp_path_factory.mktemp("board") / "home")


@pytest.fixture
def app_home(module_home, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(module_home))
    return module_home


def start(page: str, *, owner: bool = False) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if owner:
        at.session_state["owner"] = True
    at.run()
    assert not at.exception
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].message
    return at


def student(name: str) -> AppTest:
    at = start("home")
    at.sidebar.text_input(key="sidebar_new_user").input(name)
    at.sidebar.text_input(key="sidebar_new_pin").input(PIN)
    at.sidebar.button(key="sidebar_create_user").click().run()
    assert at.session_state["user"] == name
    return at


def clip_bytes(home: Path, row: int, seconds: float = 8.0) -> bytes:
    """A clip cut from a catalog song (its own bytes: a new upload)."""
    path = Store(home / "musicrec.duckdb").tracks().iloc[row]["audio_path"]
    y, sr = sf.read(path, dtype="float32", always_2d=False)
    out = io.BytesIO()
    sf.write(out, y[sr : sr + int(seconds * sr)] * np.float32(0.9), sr, format="WAV")
    return out.getvalue()


def board_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.main.markdown)


def button_keys(at: AppTest) -> list[str]:
    return [b.key or "" for b in at.main.button]


# ---- the store ------------------------------------------------------------------------------------
def test_the_class_playlist_keeps_who_added_what_once_each(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    store = Store(home / "musicrec.duckdb")
    assert SCHEMA_VERSION == 7
    ids = store.tracks()["track_id"].tolist()[:3]
    store.create_profile("ann", PIN)
    store.create_profile("bo", PIN)
    store.add_to_class_playlist("ann", ids[0])
    store.add_to_class_playlist("bo", ids[1])
    with pytest.raises(UserInputError, match="is already in the class playlist"):
        store.add_to_class_playlist("bo", ids[0])
    with pytest.raises(UserInputError, match="no track with id 999999"):
        store.add_to_class_playlist("bo", 999999)
    frame = store.board().class_playlist
    assert frame[["position", "track_id", "added_by"]].values.tolist() == [
        [1, ids[0], "ann"],
        [2, ids[1], "bo"],
    ]
    assert store.remove_from_class_playlist(ids[0]) and not store.remove_from_class_playlist(ids[0])
    assert store.board().class_playlist["track_id"].tolist() == [ids[1]]
    store.delete_user("bo")  # a profile's entries go with it
    assert store.board().class_playlist.empty
    assert store.board().joined["name"].tolist() == ["ann"]


def test_the_class_playlist_is_bounded(built_home, tmp_path, monkeypatch):
    from recommender.store import board

    home = copy_home(built_home, tmp_path / "home")
    store = Store(home / "musicrec.duckdb")
    monkeypatch.setattr(board, "MAX_CLASS_PLAYLIST", 2)
    ids = store.tracks()["track_id"].tolist()
    store.add_to_class_playlist("ann", ids[0])
    store.add_to_class_playlist("ann", ids[1])
    with pytest.raises(UserInputError, match=r"the class playlist is full \(2 songs\)"):
        store.add_to_class_playlist("ann", ids[2])


def test_only_an_upload_can_be_hidden(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    store = Store(home / "musicrec.duckdb")
    with pytest.raises(UserInputError, match="only an uploaded clip can be hidden"):
        store.hide_upload(int(store.tracks()["track_id"].iloc[0]))


def test_the_board_read_is_cached_until_a_write(built_home, tmp_path):
    home = copy_home(built_home, tmp_path / "home")
    store = Store(home / "musicrec.duckdb")
    first = store.board()
    assert store.board() is first  # a refresh with nothing new reads nothing
    store.create_profile("cy", PIN)
    assert store.board() is not first and store.board().joined["name"].tolist() == ["cy"]


def test_the_map_background_is_bounded():
    import pandas as pd

    frame = pd.DataFrame(
        {"track_id": range(10_000), "x": 0.0, "y": 0.0, "title": "t", "artist": "a", "genre": "g"}
    )
    shown = map_background(frame, limit=300)
    assert len(shown) == 300 and shown["track_id"].iloc[0] == 0 and shown["track_id"].iloc[-1] == 9_999


# ---- the link to join ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "host", "expected"),
    [
        ("http://192.168.1.20:8501/board", None, "http://192.168.1.20:8501/"),
        ("https://class.example.org/board", None, "https://class.example.org/"),
        ("http://class.example.org:80/x/y", None, "http://class.example.org/"),
        ("http://[fd00::5]:8501/board", None, "http://[fd00::5]:8501/"),
        ("http://evil<script>.org/board", "10.0.0.7:8501", "http://10.0.0.7:8501/"),
        ("javascript:alert(1)", "10.0.0.7:8501", "http://10.0.0.7:8501/"),
        (None, "bad host name:8501", None),
        (None, None, None),
    ],
)
def test_the_join_link_keeps_only_scheme_host_and_port(url, host, expected):
    assert join_link(url, host_header=host) == expected


def test_the_join_link_drops_what_a_visitor_typed_after_the_host():
    link = join_link("http://10.1.2.3:8501/board?user=**bold**&x=<b>#frag", base_path="class 1")
    assert link == "http://10.1.2.3:8501/class%201/"


def test_the_join_link_of_a_board_opened_on_the_server_names_its_network_address(monkeypatch):
    from recommender import board

    monkeypatch.setattr(board, "network_address", lambda: "192.168.7.9")
    assert join_link("http://localhost:8501/board") == "http://192.168.7.9:8501/"
    monkeypatch.setattr(board, "network_address", lambda: None)
    assert join_link("http://127.0.0.1:8501/") == "http://127.0.0.1:8501/"


def test_the_qr_code_is_a_png_made_here():
    png = qr_png("http://192.168.1.20:8501/")
    assert png.startswith(b"\x89PNG") and len(png) > 200


# ---- the page ------------------------------------------------------------------------------------
def test_the_board_shows_the_class_and_only_the_owner_hides_a_clip(app_home):
    catalog = Catalog.open(app_home)
    song = catalog.tracks().iloc[5]
    ann = student("ann")
    ann.switch_page("pages/upload.py").run()
    ann.file_uploader(key="upload_file").upload("anns-clip.wav", clip_bytes(app_home, 2), "audio/wav").run()
    assert not ann.exception
    ann.text_input(key="upload_title").input("Ann's loop")
    ann.button(key="upload_add").click().run()
    assert not ann.exception, ann.exception[0].message
    clip_id = int(Store(app_home / "musicrec.duckdb").board().uploads["track_id"].iloc[0])

    bo = student("bo")
    bo.session_state["track_id"] = int(song["track_id"])
    bo.switch_page("pages/song.py").run()
    bo.button(key="song_class_playlist").click().run()
    assert not bo.exception
    assert "to the class playlist" in bo.success[0].value

    visitor = start("board")
    text = board_text(visitor)
    assert "**ann**" in text and "**bo**" in text  # who joined
    assert "Ann\\'s loop" in text and "hears:" in text  # the upload, with its tags
    assert f"**{song['title']}**" in text.replace("\\", "") and "added by bo" in text  # the class playlist
    tags = class_board(Catalog.open(app_home)).uploads["tags"].iloc[0]
    assert tags and tags.split(", ")[0] in text.replace("\\", "")
    assert not [k for k in button_keys(visitor) if k.startswith(("board_hide", "board_remove"))]
    figure = visitor.get("plotly_chart")[0].proto.spec
    assert "Ann&#x27;s loop" in figure or "Ann's loop" in figure  # on the map

    teacher = start("board", owner=True)
    teacher.button(key=f"board_hide_{clip_id}").click().run()
    assert not teacher.exception
    assert "Ann\\'s loop" not in " ".join(
        m.value for m in teacher.main.markdown if "hears:" in m.value or "**Ann" in m.value
    )
    assert f"board_show_{clip_id}" in button_keys(teacher)  # the owner can show it again
    visitor.run()
    assert "Ann\\'s loop" not in board_text(visitor)
    assert "Ann's loop" not in visitor.get("plotly_chart")[0].proto.spec
    assert "Ann&#x27;s loop" not in visitor.get("plotly_chart")[0].proto.spec

    teacher.button(key=f"board_remove_{int(song['track_id'])}").click().run()
    assert "added by bo" not in board_text(teacher)


def test_a_profile_picked_without_its_pin_cannot_add_to_the_class_playlist(app_home):
    Store(app_home / "musicrec.duckdb").create_profile("locked", PIN)
    at = start("home")
    at.session_state["user"] = "locked"
    at.session_state["track_id"] = int(Catalog.open(app_home).tracks()["track_id"].iloc[0])
    at.switch_page("pages/song.py").run()
    assert not [b for b in at.main.button if b.key == "song_class_playlist"]
