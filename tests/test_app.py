"""The Streamlit app, page by page, through Streamlit's AppTest on a tiny real catalog.

Each test drives what a user does on a page (type, click, upload, select) and checks
what the user then sees: titles, numbers, messages. The catalog is the session's
``built_home`` (24 synthesised songs, a 2-epoch model), copied once per module so that
profiles, plays and uploads written here never leak into other test files.

AppTest cannot click inside a plotly chart or a dataframe; a selection is given to it
the way Streamlit stores one (``session_state[key] = {"selection": …}``), which is
what the browser sends on a click. The browser test (tests/test_browser.py) clicks a
real map point.
"""

from __future__ import annotations

import base64
import errno
import html
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fixtures import copy_home, tone
from streamlit.testing.v1 import AppTest

from recommender.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # seconds per script run: generous, the test machine is shared and TensorFlow loads once
PAGES = [
    "home",
    "explore",
    "discover",
    "search",
    "song",
    "upload",
    "board",
    "for_you",
    "playlists",
    "history",
    "model",
]


@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


@pytest.fixture(scope="module")
def module_home(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("app") / "home"
    copy_home(built_home, home)
    return home


@pytest.fixture
def app_home(module_home, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(module_home))
    return module_home


@pytest.fixture
def catalog(app_home) -> Catalog:
    return Catalog.open(app_home)


PIN = "4321"


def start(*, user: str | None = None, page: str | None = None, owner: bool = False) -> AppTest:
    """The app after its first run, with ``user`` created in the sidebar and ``page`` open; a visitor
    (AppTest has no connection to tell), or the server's owner if ``owner``."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if owner:
        at.session_state["owner"] = True
    at.run()
    assert not at.exception
    if user:
        create_profile(at, user)
    if page:
        goto(at, page)
    return at


def create_profile(at: AppTest, user: str, pin: str = PIN) -> AppTest:
    """Create ``user`` with ``pin`` in the sidebar, and so open it; a profile the store made without a
    PIN (as the command line does on a name's first use) is claimed by it, one made before is opened."""
    at.sidebar.text_input(key="sidebar_new_user").input(user)
    at.sidebar.text_input(key="sidebar_new_pin").input(pin)
    at.sidebar.button(key="sidebar_create_user").click().run()
    if "sidebar_pin" in {t.key for t in at.sidebar.text_input}:  # the name is taken: its PIN opens it
        at.sidebar.text_input(key="sidebar_pin").input(pin)
        at.sidebar.button(key="sidebar_unlock").click().run()
    assert at.session_state["user"] == user
    assert not at.sidebar.error, at.sidebar.error[0].value
    return at


def goto(at: AppTest, page: str) -> AppTest:
    """Open ``page``. Also used after the app itself switched pages: AppTest keeps asking for the
    page last given to ``switch_page`` on every later run, where a browser stays on the new page."""
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].message
    return at


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def unescaped(markdown: str) -> str:
    """Markdown source as the user reads it: backslash escapes of punctuation resolved."""
    return _ESCAPED.sub(r"\1", markdown)


def shown(at: AppTest) -> str:
    """All the text a user reads in the main area."""
    parts = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "success",
        "warning",
        "error",
    ):
        parts += [str(e.value) for e in getattr(at.main, kind)]
    return unescaped("\n".join(parts))


def errors(at: AppTest) -> list[str]:
    return [unescaped(e.value) for e in at.error]


def open_song(at: AppTest, track_id: int) -> AppTest:
    at.session_state["track_id"] = int(track_id)
    return goto(at, "song")


def player_title(at: AppTest) -> str:
    """The title of the song in the app's one player (the sidebar's "Now playing")."""
    lines = [unescaped(c.value) for c in at.sidebar.caption if "Now playing" in c.value]
    assert len(lines) == 1, lines
    return lines[0].split("**")[1]


def charts(at: AppTest) -> list[dict]:
    """The plotly figures on the page, as plotly JSON."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def values(data) -> list:
    """A plotly JSON array as a list: plotly sends numeric arrays as base64 typed arrays."""
    if isinstance(data, dict) and "bdata" in data:
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        if "shape" in data:
            array = array.reshape([int(n) for n in str(data["shape"]).split(",")])
        return array.tolist()
    return list(data)


def wav_bytes(y: np.ndarray, sr: int = 22_050) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format="WAV")
    return buffer.getvalue()


# ---- every page ---------------------------------------------------------------------------------
def test_every_page_runs_without_exception_or_error(app_home):
    at = start(user="smoke")
    for page in PAGES:
        goto(at, page)
        assert errors(at) == [], page
        assert at.title, f"{page} has a title"


def test_sidebar_shows_the_catalog_and_model(app_home, catalog):
    at = start()
    sidebar = unescaped("\n".join(c.value for c in at.sidebar.caption))
    assert "Demo catalog (synthesised audio)" in sidebar
    assert f"{len(catalog.tracks())} songs" in sidebar
    assert catalog.model_info["name"] in sidebar


def test_a_bad_profile_name_is_an_error_message_not_a_traceback(app_home):
    at = start()
    at.sidebar.text_input(key="sidebar_new_user").input("   ")
    at.sidebar.button(key="sidebar_create_user").click().run()
    assert not at.exception
    assert at.sidebar.error and "name" in at.sidebar.error[0].value.lower()
    assert at.session_state["user"] is None


def test_the_profile_stays_in_the_url_across_pages_and_a_reload(app_home):
    at = start(user="Url Keeper", page="history")
    assert at.query_params.get("user") == "Url Keeper"  # Streamlit clears it on a page change: it is back
    goto(at, "explore")
    assert at.query_params.get("user") == "Url Keeper"

    reloaded = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)  # a new browser session
    reloaded.query_params["user"] = "url keeper"  # matched as every profile name is
    reloaded.run()
    assert reloaded.session_state["user"] == "Url Keeper"
    assert reloaded.sidebar.selectbox(key="sidebar_user").value == "Url Keeper"

    stranger = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    stranger.query_params["user"] = "nobody here"
    stranger.run()
    assert stranger.session_state["user"] is None and "user" not in stranger.query_params
    assert not stranger.exception and not stranger.sidebar.error


def test_a_late_browser_cannot_unpick_the_profile_just_created(app_home):
    """A busy server answers late: the browser may send the picker's old, empty value once more."""
    at = start(user="Steady")
    at.sidebar.selectbox(key="sidebar_user").set_value(None).run()
    assert at.session_state["user"] == "Steady"
    assert at.sidebar.selectbox(key="sidebar_user").value == "Steady"


@pytest.fixture
def busy_database(own_home, monkeypatch):
    """Another program holds the catalog's DuckDB file open (a real connection, in another process);
    the store gives up after 0.3 s instead of 10."""
    from recommender.store import Store

    monkeypatch.setattr(Store.__init__, "__kwdefaults__", {"timeout": 0.3})
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
         " time.sleep(600)", str(own_home / "musicrec.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        yield own_home
    finally:
        holder.kill()
        holder.wait()


def test_a_busy_database_is_a_message_on_every_page_not_a_traceback(busy_database):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.session_state["user"] = "ann"  # picked before the other program opened the database
    for page in PAGES:
        goto(at, page)  # no exception
        sidebar = [unescaped(e.value) for e in at.sidebar.error]
        assert len(sidebar) == 1 and sidebar[0].startswith("database is busy: "), page
        assert "close other programs using it and try again" in sidebar[0]
        assert at.session_state["user"] == "ann"  # still picked
        in_page = [unescaped(e.value) for e in at.main.error]
        if page in ("home", "search", "playlists", "history", "for_you"):  # their content is in the database
            assert in_page and in_page[0].startswith("database is busy: "), page
    goto(at, "model")  # what the database does not hold still shows
    assert {m.label for m in at.metric} >= {"Test accuracy", "Validation accuracy"}
    assert not at.main.error


# ---- home -----------------------------------------------------------------------------------------
def test_home_says_what_the_catalog_is(app_home, catalog):
    at = start()
    metrics = {m.label: m.value for m in at.metric}
    info = catalog.summary()
    assert metrics["Songs"] == str(info["tracks"]) == "24"
    assert metrics["Genres"] == str(len(info["genres"]))
    assert metrics["Model test accuracy"] == f"{info['model']['test_accuracy']:.1%}"
    assert "synthesised audio" in shown(at)
    bars = charts(at)[0]["data"][0]
    assert sorted(map(html.unescape, bars["y"])) == sorted(info["genres"])


def test_without_a_catalog_home_offers_the_build_and_pages_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(tmp_path / "empty"))
    at = start(owner=True)
    assert at.button(key="home_build").label == "Build the catalog"
    assert at.radio(key="home_source").value == "demo"  # a fresh clone builds the demo by default
    assert "synthesises itself" in shown(at)
    for page in ("explore", "search", "for_you", "model"):
        goto(at, page)
        assert "No catalog yet" in shown(at)


@pytest.mark.slow
def test_the_home_button_builds_the_demo_catalog(tmp_path, monkeypatch):
    """A fresh clone: one button, no terminal, and the app works (a tiny build: 24 songs, the default model)."""
    import time

    from recommender import jobs

    home = tmp_path / "fresh"
    monkeypatch.setenv("MUSICREC_HOME", str(home))
    at = start(owner=True)
    at.number_input(key="home_tracks").set_value(24)
    at.button(key="home_build").click().run()
    assert not at.exception and errors(at) == []
    assert "Building the demo catalog" in unescaped(shown(at))  # the build runs in its own process
    deadline = time.monotonic() + 900
    while (jobs.status(home) or {}).get("state") == "running" and time.monotonic() < deadline:
        time.sleep(2)
    assert jobs.status(home)["state"] == "done", jobs.status(home)
    at.run()
    assert not at.exception and errors(at) == []
    assert {m.label: m.value for m in at.metric}["Songs"] == "24"
    assert Catalog.open(home).model_info["arch"] == "musicnn"


def test_every_page_shows_a_running_build_in_the_sidebar(own_home):
    """A build runs (its status file, as the build process writes it): every page says so in the sidebar."""
    from recommender import jobs

    state = {
        "state": "running", "pid": os.getpid(), "started_at": jobs._now(), "finished_at": None,
        "stage": "features", "done": 42, "total": 100, "info": "", "stages": [{"name": "features"}],
        "notes": [], "error": None, "options": {"source": "folder"}, "epochs": [],
    }  # fmt: skip
    status_file = own_home / jobs.STATUS_FILE
    status_file.write_text(json.dumps(state))
    at = start()
    for page in ("search", "history", "model"):
        goto(at, page)
        sidebar = [unescaped(c.value) for c in at.sidebar.caption]
        assert ":material/build: Building: Computing log-mel spectrograms, 42 %" in sidebar, page
        assert "See the build" in {e.proto.label for e in at.sidebar.get("page_link")}
    status_file.write_text(json.dumps(state | {"state": "done", "finished_at": jobs._now()}))
    at.run()
    assert not any("Building" in c.value for c in at.sidebar.caption)


def test_a_failed_build_says_why_and_where_its_output_is(own_home):
    from recommender import jobs

    state = {"state": "failed", "pid": 0, "started_at": jobs._now(), "finished_at": jobs._now(),
             "error": "the build stopped unexpectedly (ValueError: boom)", "stages": [], "options": {}}  # fmt: skip
    (own_home / jobs.STATUS_FILE).write_text(json.dumps(state))
    (own_home / jobs.LOG_FILE).write_text("Traceback (most recent call last):\nValueError: boom\n")
    at = start(owner=True)
    assert errors(at) == ["The last build failed: the build stopped unexpectedly (ValueError: boom)"]
    assert f"Everything the build printed is in {own_home / jobs.LOG_FILE}." in shown(at)
    assert "Traceback" not in shown(at)


# ---- search and explore -------------------------------------------------------------------------
def test_search_forgives_a_typo_and_opens_the_chosen_song(app_home, catalog):
    title = catalog.track(5)["title"]
    typo = title[:-2] + title[-1]  # one letter dropped
    at = start(page="search")
    at.text_input(key="search_query").input(typo).run()
    results = at.dataframe[0].value
    assert results.iloc[0]["title"] == title
    at.session_state["search_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception
    assert title in unescaped(at.title[0].value)  # the Song page


def test_search_filters_by_genre_and_sorts(app_home, catalog):
    genre = catalog.genres()[0]
    at = start(page="search")
    at.selectbox(key="search_genre").select(genre)
    at.selectbox(key="search_sort").select("Title").run()
    results = at.dataframe[0].value
    expected = catalog.tracks().query("genre == @genre")["title"]
    assert set(results["genre"]) == {genre}
    assert results["title"].tolist() == sorted(expected, key=str.lower)


def test_selecting_a_map_point_opens_its_song(app_home, catalog):
    at = start(page="explore")
    figure = charts(at)[0]
    ids = sorted(i for trace in figure["data"] for i in values(trace["customdata"]))
    assert ids == sorted(catalog.tracks()["track_id"].tolist())
    assert "24 of 24 songs shown" in shown(at)
    track_id = 7
    at.session_state["explore_map"] = {
        "selection": {
            "points": [{"customdata": track_id, "x": 0, "y": 0}],
            "point_indices": [0],
            "box": [],
            "lasso": [],
        }
    }
    at.run()
    assert catalog.track(track_id)["title"] in unescaped(at.title[0].value)


def test_the_map_says_which_model_placed_the_songs(app_home, catalog):
    at = start(page="explore")
    assert "placed by UMAP from its embedding by the pretrained musicnn backbone" in shown(at)
    assert "CNN embedding" not in shown(at)


def test_the_genre_filter_thins_the_map(app_home, catalog):
    genre = catalog.genres()[1]
    at = start(page="explore")
    at.multiselect(key="explore_genres").set_value([genre]).run()
    assert f"{(catalog.tracks()['genre'] == genre).sum()} of 24 songs shown" in shown(at)
    assert [html.unescape(t["legendgroup"]) for t in charts(at)[0]["data"]] == [genre]


# ---- a song -------------------------------------------------------------------------------------
def test_song_page_shows_spectrogram_genres_and_similar_songs_with_reasons(app_home, catalog):
    at = start(user="song-viewer")
    at = open_song(at, 3)
    track = catalog.track(3)
    assert track["title"] in unescaped(at.title[0].value)
    spectrogram, genres = charts(at)[:2]
    assert spectrogram["data"][0]["type"] == "heatmap"
    assert spectrogram["layout"]["xaxis"]["title"]["text"] == "time (s)"
    assert spectrogram["layout"]["yaxis"]["title"]["text"] == "mel frequency (Hz)"
    assert set(map(html.unescape, genres["data"][0]["y"])) == set(catalog.genres())
    similar = catalog.similar(3, k=10)
    text = shown(at)
    for title in similar["title"]:
        assert title in text
    assert text.count("BPM") >= len(similar)  # a reason per neighbour: tempo side by side


def test_play_records_a_play_that_history_shows(app_home, catalog):
    user = "listener"
    at = start(user=user, page="search")
    at.session_state["search_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    title = unescaped(at.title[0].value)
    goto(at, "song")
    at.button(key="song_play").click().run()
    assert len(at.sidebar.get("audio")) == 1, "the player appears (in the sidebar) once Play is pressed"
    assert player_title(at) in title
    assert "Playing, in the sidebar" in shown(at)
    history = catalog.store.history(user)
    assert len(history) == 1 and history.iloc[0]["source"] == "search"
    goto(at, "history")
    table = at.dataframe[0].value
    assert table.iloc[0]["title"] in title and table.iloc[0]["source"] == "search"
    assert "1 play and 0 skips of 1 song" in shown(at)


def test_playing_a_neighbour_records_it_as_found_via_similar(app_home, catalog):
    user = "neighbour-player"
    at = open_song(start(user=user), 2)
    first = int(catalog.similar(2, k=10).iloc[0]["track_id"])
    at.button(key=f"song_similar-play-0-{first}").click().run()
    history = catalog.store.history(user)
    assert history[["track_id", "source"]].values.tolist() == [[first, "similar"]]


def test_one_player_at_a_time_on_every_page_and_each_press_is_one_play(app_home, catalog):
    user = "one-player"
    at = open_song(start(user=user), 2)
    at.button(key="song_play").click().run()
    assert len(at.get("audio")) == 1 and player_title(at) == catalog.track(2)["title"]
    first = int(catalog.similar(2, k=10).iloc[0]["track_id"])
    at.button(key=f"song_similar-play-0-{first}").click().run()
    players = at.get("audio")
    assert len(players) == 1, "the neighbour replaces the song: one player in the whole app"
    assert player_title(at) == catalog.track(first)["title"]
    assert at.button(key=f"song_similar-play-0-{first}").proto.help.startswith("Playing now")
    assert "Press Play to listen" in shown(at)  # the song page's own song is no longer playing
    goto(at, "history")  # the player goes along, and reruns record nothing
    assert len(at.get("audio")) == 1 and player_title(at) == catalog.track(first)["title"]
    history = catalog.store.history(user)
    assert history[["track_id", "source"]].values.tolist() == [[first, "similar"], [2, "search"]]
    at.sidebar.button(key="player_stop").click().run()
    assert not at.get("audio")


def test_like_and_add_to_a_new_playlist_from_the_song_page(app_home, catalog):
    user = "collector"
    at = open_song(start(user=user), 4)
    at.button(key="song_like").click().run()
    assert catalog.store.is_liked(user, 4)
    assert at.button(key="song_like").label == "Liked"
    at.text_input(key="song_new_playlist").input("Favourites")
    at.button(key="song_add_to_playlist").click().run()
    assert catalog.store.playlist(user, "Favourites")["track_id"].tolist() == [4]
    assert "Added" in shown(at)


@pytest.mark.parametrize(
    ("link", "message"),
    [("999999", "There is no such song in this catalog"), ("abc", "“abc” is not a song number"),
     ("-3", "“-3” is not a song number"), ("1" * 30, f"“{'1' * 30}” is not a song number")],
)  # fmt: skip
def test_a_bad_song_link_says_song_not_found_and_the_way_back(app_home, link, message):
    at = start()
    at.query_params["track"] = link
    goto(at, "song")
    assert unescaped(at.title[0].value).endswith("Song not found")
    assert unescaped(at.warning[0].value).startswith(message + ".")
    links = {e.proto.label for e in at.main.get("page_link")}
    assert links == {"Search a song", "Explore the map"}
    assert not at.error


# ---- upload --------------------------------------------------------------------------------------
@pytest.fixture
def own_home(built_home, tmp_path, monkeypatch):
    """A private copy of the catalog for a test that adds songs to it."""
    home = tmp_path / "home"
    copy_home(built_home, home)
    monkeypatch.setenv("MUSICREC_HOME", str(home))
    return home


def test_upload_analyses_a_clip_and_adds_it_to_the_catalog(own_home):
    catalog = Catalog.open(own_home)
    source = catalog.audio_path(6)
    y, sr = sf.read(source, dtype="float32")
    clip = wav_bytes(y[sr * 5 : sr * 17], sr)  # 12 s of a catalog song: new bytes, familiar sound

    at = start(user="uploader", page="upload")
    at.file_uploader(key="upload_file").upload("my clip.wav", clip, "audio/wav").run()
    assert not at.exception and errors(at) == []
    assert "sounds most like" in at.success[0].value
    spectrogram, genres, tags, the_map = charts(at)[:4]
    assert spectrogram["data"][0]["type"] == "heatmap"
    assert set(map(html.unescape, genres["data"][0]["y"])) == set(catalog.genres())
    assert len(tags["data"][0]["y"]) == 8 and set(tags["data"][0]["y"]) <= set(catalog.tag_names())
    assert the_map["data"][-1]["text"] == ["your clip"]
    # The song the clip was cut from is among the most similar, each with its reason.
    assert catalog.track(6)["title"] in shown(at)
    assert shown(at).count("BPM") >= 10

    at.text_input(key="upload_title").input("My Clip")
    at.text_input(key="upload_artist").input("Me")
    next(b for b in at.form_submit_button if b.label == "Add to the catalog").click().run()
    assert not at.exception, at.exception
    assert "My Clip" in unescaped(at.title[0].value)  # the new song's page

    reopened = Catalog.open(own_home)
    added = reopened.search("My Clip", k=1).iloc[0]
    track_id = int(added["track_id"])
    assert added["artist"] == "Me" and reopened.track(track_id)["source"] == "upload"
    assert len(reopened.map_frame()) == 25
    saved = Path(reopened.audio_path(track_id))
    assert saved.parent == own_home / "audio" / "uploads" and saved.name == f"{track_id}.wav"
    assert 6 in reopened.similar(track_id, k=3)["track_id"].tolist()
    assert track_id in reopened.similar(6, k=3)["track_id"].tolist()


def test_two_sessions_uploading_share_one_loaded_model(own_home, monkeypatch):
    """The model is loaded once per server process, not once per browser session."""
    import recommender.embedding as embedding

    loaded = []
    real_load = embedding.load_model

    def counting_load(*args, **kwargs):
        loaded.append(real_load(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(embedding, "load_model", counting_load)
    y, sr = sf.read(Catalog.open(own_home).audio_path(3), dtype="float32")
    sessions = [start(user=f"student {i}", page="upload") for i in range(2)]
    for i, at in enumerate(sessions):
        clip = wav_bytes(y[sr * (2 + i) : sr * (12 + i)], sr)  # each student's own clip
        at.file_uploader(key="upload_file").upload(f"clip {i}.wav", clip, "audio/wav").run()
        assert not at.exception and errors(at) == []
        assert f"clip {i}.wav" in unescaped(at.success[0].value)
        assert not [m for m in at.info if "waiting its turn" in m.value]  # the line is gone once heard
    assert len(loaded) == 1


def test_adding_a_clip_to_a_catalog_folder_that_refuses_writes_is_a_message(own_home, monkeypatch):
    """``catalog/`` not writable (simulated: root writes anywhere): one message, the catalog as it was."""
    catalog = Catalog.open(own_home)
    y, sr = sf.read(catalog.audio_path(6), dtype="float32")
    index_before = catalog.artifact("index").read_bytes()
    at = start(user="uploader", page="upload")
    at.file_uploader(key="upload_file").upload("clip.wav", wav_bytes(y[: sr * 8], sr), "audio/wav").run()
    real_replace = os.replace

    folder = catalog.artifact("index").parent  # the build's own folder below catalog/

    def replace(src, dst):
        if Path(dst).parent == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    at.text_input(key="upload_title").input("Refused")
    next(b for b in at.form_submit_button if b.label == "Add to the catalog").click().run()
    assert not at.exception
    assert any(f"in {folder} (permission denied); make the folder writable" in e for e in errors(at))
    monkeypatch.undo()
    reopened = Catalog.open(own_home)
    assert len(reopened.map_frame()) == 24 and reopened.search("Refused", k=5).empty
    assert catalog.artifact("index").read_bytes() == index_before
    assert len(reopened.index) == 24


def test_an_upload_named_like_markup_is_titled_as_typed(app_home):
    at = start(page="upload")
    at.file_uploader(key="upload_file").upload("</b>.wav", wav_bytes(tone(5.0)), "audio/wav").run()
    assert not at.exception
    assert at.text_input(key="upload_title").value == "</b>"


BAD_UPLOADS = [
    ("song.mp3", b"<html><body>404 Not Found</body></html>\n", "not an audio file"),
    ("short.wav", wav_bytes(tone(1.0)), "too short"),
    ("quiet.wav", wav_bytes(np.zeros(22_050 * 5, dtype=np.float32)), "silent"),
]


def test_bad_uploads_show_the_reason_not_a_traceback(app_home):
    at = start(page="upload")
    for name, data, message in BAD_UPLOADS:
        at.file_uploader(key="upload_file").set_value((name, data, "application/octet-stream")).run()
        assert not at.exception, name
        assert len(errors(at)) == 1 and message in errors(at)[0] and name in errors(at)[0]
        assert not at.get("plotly_chart")


# ---- for you -------------------------------------------------------------------------------------
def test_for_you_starts_cold_then_follows_likes(app_home, catalog):
    user = "newcomer"
    at = start(user=user, page="for_you")
    assert "no listening history" in shown(at)
    assert "(no history yet)" in shown(at)
    catalog.store.like(user, 9)
    at.run()
    text = shown(at)
    assert "no listening history" not in text
    assert f'because you liked "{catalog.track(9)["title"]}"' in text


# ---- playlists -----------------------------------------------------------------------------------
def test_playlist_create_add_reorder_remove_rename_delete(app_home, catalog):
    user, store = "curator", catalog.store
    at = start(user=user, page="playlists")
    assert "No playlist yet" in shown(at)
    at.text_input(key="playlists_new_name").input("Road trip")
    at.button(key="playlists_create").click().run()
    assert at.selectbox(key="playlists_selected").value == "Road trip"
    for track_id in (1, 2, 3):
        store.add_to_playlist(user, "Road trip", track_id)
    at.run()
    assert "Road trip · 3 songs" in shown(at)

    at.button(key="playlists_songs-x1-0-1").click().run()  # move the first song down
    assert store.playlist(user, "Road trip")["track_id"].tolist() == [2, 1, 3]
    at.button(key="playlists_songs-x2-2-3").click().run()  # remove the last song
    assert store.playlist(user, "Road trip")["track_id"].tolist() == [2, 1]
    assert "Road trip · 2 songs" in shown(at)

    at.text_input(key="playlists_rename_to").input("Long drive")
    at.button(key="playlists_rename").click().run()
    assert store.playlists(user)["name"].tolist() == ["Long drive"]
    assert at.selectbox(key="playlists_selected").value == "Long drive"

    at.button(key="playlists_delete").click().run()
    assert store.playlists(user).empty
    assert "Deleted playlist" in shown(at)


def test_playing_a_playlist_records_each_song(app_home, catalog):
    user = "dj"
    catalog.store.create_playlist(user, "Set", [5, 6])
    at = start(user=user, page="playlists")
    at.button(key="playlists_play").click().run()
    assert "Now playing 1/2" in shown(at)
    at.button(key="playlists_next").click().run()
    assert "Now playing 2/2" in shown(at)
    assert len(at.get("audio")) == 1 and player_title(at) == catalog.track(6)["title"]
    history = catalog.store.history(user)
    assert history["track_id"].tolist() == [6, 5] and set(history["source"]) == {"playlist"}


def test_continue_a_playlist_adds_a_suggestion(app_home, catalog):
    user = "continuer"
    catalog.store.create_playlist(user, "Mix", [10, 11])
    at = start(user=user, page="playlists")
    assert "Continue this playlist" in shown(at)
    suggestion = int(catalog.continue_playlist(user, "Mix", k=5).iloc[0]["track_id"])
    assert 'in playlist "Mix"' in shown(at)
    at.button(key=f"playlists_continue-x0-0-{suggestion}").click().run()
    assert catalog.store.playlist(user, "Mix")["track_id"].tolist() == [10, 11, suggestion]


def test_a_path_between_two_songs_becomes_a_playlist(app_home, catalog):
    user = "walker"
    start_title, end_title = catalog.track(1)["title"], catalog.track(20)["title"]
    at = start(user=user, page="playlists")
    at.text_input(key="playlists_from-query").input(start_title)
    at.text_input(key="playlists_to-query").input(end_title).run()
    assert at.selectbox(key="playlists_from-pick").value == 1
    assert at.selectbox(key="playlists_to-pick").value == 20
    at.slider(key="playlists_steps").set_value(5)
    at.button(key="playlists_find_path").click().run()
    assert not at.exception
    path = catalog.path(1, 20, steps=5)
    text = shown(at)
    assert all(t in text for t in path["title"])
    assert "Score: cosine similarity to the previous song in the path" in text
    assert f"The largest step is the lowest score: {path['score'].iloc[1:].min():.2f}." in text
    at.text_input(key="playlists_path_name").input("Journey")
    at.button(key="playlists_save_path").click().run()
    assert catalog.store.playlist(user, "Journey")["track_id"].tolist() == path["track_id"].tolist()
    assert at.selectbox(key="playlists_selected").value == "Journey"


@pytest.fixture
def downloads(monkeypatch) -> dict[str, tuple[bytes, str, str]]:
    """What each download button would send the browser: ``{media id: (bytes, MIME type, file name)}``."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    sent = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        sent[file_id] = (path_or_data, mimetype, filename)
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return sent


def test_a_playlist_downloads_as_m3u8_and_xspf_and_a_file_imports_back(app_home, catalog, downloads):
    import xml.etree.ElementTree as ET
    from urllib.parse import unquote, urlsplit

    user, ids = "exporter", [3, 8, 14]
    catalog.store.create_playlist(user, "Road, #1 <trip>", ids)
    audio = [str(catalog.audio_path(t)) for t in ids]
    at = start(user=user, page="playlists", owner=True)
    files = {}
    for fmt in ("m3u8", "xspf"):
        button = at.download_button(key=f"playlists_download_{fmt}")
        files[fmt] = downloads[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]  # /media/ID.ext
    m3u8, mime, name = files["m3u8"]
    assert mime == "audio/x-mpegurl" and name == "Road, #1 trip.m3u8"
    lines = m3u8.decode("utf-8").splitlines()
    assert lines[:2] == ["#EXTM3U", "#PLAYLIST:Road, #1 <trip>"] and lines[3::2] == audio
    assert lines[2] == f"#EXTINF:30,{catalog.track(3)['artist']} - {catalog.track(3)['title']}"
    xspf, mime, name = files["xspf"]
    assert mime == "application/xspf+xml" and name == "Road, #1 trip.xspf"
    root = ET.fromstring(xspf)
    locations = [e.text for e in root.iter("{http://xspf.org/ns/0/}location")]
    assert [unquote(urlsplit(loc).path) for loc in locations] == audio

    # Back in: the M3U8 as it was downloaded, plus an entry that is no song of this catalog.
    at.file_uploader(key="playlists_import_file").upload(
        "Road again.m3u8", m3u8 + b"/music/elsewhere.mp3\n", "audio/x-mpegurl"
    ).run()
    at.button(key="playlists_import").click().run()
    assert not at.exception and errors(at) == []
    assert catalog.store.playlist(user, "Road again")["track_id"].tolist() == ids  # named after the file
    assert at.selectbox(key="playlists_selected").value == "Road again"
    assert (
        "Imported 3 songs into “Road again”. Skipped 1 not in the catalog: “/music/elsewhere.mp3”."
        in shown(at)
    )

    at.file_uploader(key="playlists_import_file").upload("x.xspf", xspf, "application/xspf+xml").run()
    at.text_input(key="playlists_import_name").input("Road again").run()
    at.button(key="playlists_import").click().run()  # the name is taken: a message, nothing created
    assert errors(at) == ["you already have a playlist named 'Road again'"]
    at.text_input(key="playlists_import_name").input("From XSPF").run()
    at.button(key="playlists_import").click().run()
    assert catalog.store.playlist(user, "From XSPF")["track_id"].tolist() == ids


# ---- history -------------------------------------------------------------------------------------
def test_history_lists_plays_newest_first_and_clears(app_home, catalog):
    user = "historian"
    for track_id, source in ((1, "search"), (2, "map"), (3, "similar")):
        catalog.store.record_play(user, track_id, source=source)
    at = start(user=user, page="history")
    table = at.dataframe[0].value
    assert table["track_id"].tolist() == [3, 2, 1]
    assert table["source"].tolist() == ["similar", "map", "search"]
    at.button(key="history_clear").click().run()
    assert catalog.store.history(user).empty
    assert "No plays yet" in shown(at)


# ---- model ---------------------------------------------------------------------------------------
def test_model_page_compares_every_way_of_listening(app_home, catalog):
    at = start(page="model", owner=True)
    metrics = catalog.metrics()
    c, r = metrics["classifier"], metrics["retrieval"]
    shown_metrics = {m.label: m.value for m in at.metric}
    assert shown_metrics["Test accuracy"] == f"{c['test_accuracy']:.1%}"
    assert shown_metrics["Validation accuracy"] == f"{c['val_accuracy']:.1%}"
    assert shown_metrics["Test songs"] == str(c["n_test"])
    assert shown_metrics["Architecture"] == "musicnn"
    assert "pretrained musicnn backbone" in shown(at)
    retrieval, confusion, per_genre = charts(at)[:3]  # no training curves: nothing was trained by epochs
    assert retrieval["data"][0]["x"] == [
        "Model in use", "Backbone alone", "Backbone + head", "MFCC baseline", "Random"
    ]  # fmt: skip
    assert values(retrieval["data"][0]["y"]) == pytest.approx(
        [
            r[m]["genre_precision_at_10"]
            for m in ("cnn", "backbone", "backbone_head", "mfcc_baseline", "random")
        ]
    )
    assert values(confusion["data"][0]["text"]) == c["confusion"]
    assert per_genre["data"][0]["type"] == "bar"
    assert "Genre accuracy on the test songs" in shown(at)
    assert at.selectbox(key="model_saved").options == [catalog.model_info["name"]]


def test_a_model_for_other_genres_is_refused_with_a_message(app_home, catalog):
    meta = json.loads((catalog.paths.models_dir / f"{catalog.model_info['name']}.json").read_text())
    meta["genres"] = ["Polka", "Yodel"]
    at = start(page="model", owner=True)
    at.file_uploader(key="model_upload").set_value(
        [("other.keras", b"not really keras", "application/octet-stream"),
         ("other.json", json.dumps(meta).encode(), "application/json")]
    ).run()  # fmt: skip
    at.button(key="model_use").click().run()
    assert not at.exception
    assert any("Polka" in e for e in errors(at))
    assert catalog.saved_models() == [catalog.model_info["name"]]  # nothing was written


def test_a_broken_model_upload_is_refused_and_not_offered_afterwards(app_home, catalog):
    name = catalog.model_info["name"]
    good = (catalog.paths.models_dir / f"{name}.keras").read_bytes()
    meta = (catalog.paths.models_dir / f"{name}.json").read_bytes()
    at = start(page="model", owner=True)
    at.file_uploader(key="model_upload").set_value(
        [("cut.keras", good[:4000], "application/octet-stream"), ("cut.json", meta, "application/json")]
    ).run()
    at.button(key="model_use").click().run()
    assert not at.exception
    assert any("cut.keras is not a Keras model file" in e for e in errors(at))
    goto(at, "model")
    assert at.selectbox(key="model_saved").options == [name]
    assert catalog.saved_models() == [name]


@pytest.mark.slow
def test_train_a_new_model_then_go_back_to_the_saved_one(own_home):
    before = Catalog.open(own_home).model_info["name"]
    at = start(page="model", owner=True)
    at.selectbox(key="model_arch").select("cnn1d")
    at.number_input(key="model_epochs").set_value(1)
    next(b for b in at.form_submit_button if b.label == "Train").click().run(timeout=900)
    assert not at.exception and errors(at) == []
    trained = Catalog.open(own_home).model_info["name"]
    assert trained != before
    assert "The new model is trained" in shown(at)
    assert len(Catalog.open(own_home).training_history()) == 1
    assert {m.label: m.value for m in at.metric}["Architecture"] == "cnn1d"

    goto(at, "model")
    at.selectbox(key="model_saved").select(before).run()
    at.button(key="model_use").click().run(timeout=900)
    assert not at.exception and errors(at) == []
    assert Catalog.open(own_home).model_info["name"] == before
    assert f"now uses model {before}" in shown(at)


# ---- user text is never markup --------------------------------------------------------------------
HOSTILE = (
    '<div style="position:fixed;top:0;left:0;width:100vw;height:100vh;background:red;z-index:99999">'
    'FAKE <a href="http://127.0.0.1:9/phish">click</a></div>'
)
HOSTILE_MD = "[click](http://127.0.0.1:9/phish) ![x](http://127.0.0.1:9/x.png) $x^2$ :red[red] **bold**"


def _elements(node):
    """Every element below an AppTest node (main, sidebar), depth first."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for child in children.values():
        yield from _elements(child)


def _rendered(body: str) -> str:
    """A Markdown body as HTML, rendered the way a CommonMark renderer with raw HTML allowed would."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).render(body)


def assert_no_markup(at: AppTest, page: str, *, tags: tuple[str, ...], raw: tuple[str, ...]) -> int:
    """No element of the page allows HTML, no Markdown body renders any of ``tags`` and none holds any
    of ``raw`` as is (maths, colour directives); returns how many Markdown bodies were checked."""
    checked = 0
    for element in [*_elements(at.main), *_elements(at.sidebar)]:
        proto = getattr(element, "proto", None)
        if proto is None:
            continue
        assert not getattr(proto, "allow_html", False), f"{page}: an element renders raw HTML"
        body = getattr(proto, "body", "")
        if body:
            checked += 1
            html = _rendered(body)
            for tag in tags:
                assert tag not in html, f"{page}: {body!r} renders {tag}"
            for text in raw:
                assert text not in body, f"{page}: {body!r} holds {text!r} as is"
    return checked


def test_user_text_never_becomes_markup_on_any_page(own_home):
    """Titles, artists, albums, profile, playlist and file names full of HTML and Markdown are shown as
    typed on every page: no element allows HTML, no Markdown body renders to a tag from user text."""
    catalog = Catalog.open(own_home)
    y, sr = sf.read(catalog.audio_path(3), dtype="float32")
    track_id = catalog.add_upload(
        wav_bytes(y[: sr * 8], sr), filename="clip.wav", title=HOSTILE_MD, artist=HOSTILE,
        album=HOSTILE, genre=catalog.genres()[0],
    )  # fmt: skip
    user = "<b>x</b> [me](http://e.x)"
    playlist = '<img src=x onerror="alert(1)">'
    catalog.store.create_user(user)
    catalog.store.create_playlist(user, playlist, [track_id, 3])
    catalog.store.record_play(user, track_id, source="search")

    at = create_profile(start(page="home"), user)  # made without a PIN: claimed in the sidebar
    at.session_state["track_id"] = track_id
    at.query_params["track"] = str(track_id)
    checked = 0
    for page in PAGES:
        goto(at, page)
        if page == "search":
            at.text_input(key="search_query").input("click").run()
        if page == "upload":
            at.file_uploader(key="upload_file").upload(f"{HOSTILE[:40]}.wav", wav_bytes(y[: sr * 6], sr),
                                                       "audio/wav").run()  # fmt: skip
        checked += assert_no_markup(
            at, page, tags=("<div", "<a ", "<img", "<b>", "<strong>bold"), raw=("$x^2$", ":red[red]")
        )
        for figure in charts(at):
            text = json.dumps(figure)
            assert "<a href" not in text and "<div" not in text and "<img" not in text, page
    assert checked > 50
    # And the user still reads the text as typed.
    goto(at, "song")
    assert HOSTILE_MD in shown(at) and HOSTILE in shown(at)
