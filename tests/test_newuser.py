"""What a new user meets first: honest genre guesses, searches that say what they searched,
every skipped file named, playlists that play on, scores people can read, and the small words.

AppTest drives the pages on a private copy of the tiny built demo catalog (``built_home``).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fixtures import copy_home
from streamlit.testing.v1 import AppTest

from recommender.catalog import Catalog
from recommender.describe import genre_verdict
from recommender.discriminant import fit_temperature, softmax

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


@pytest.fixture(scope="module")
def module_home(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("newuser") / "home"
    copy_home(built_home, home)
    return home


@pytest.fixture
def app_home(module_home, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(module_home))
    return module_home


def start(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].message
    return at


def wav_bytes(y: np.ndarray, sr: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format="WAV")
    return buffer.getvalue()


def white_noise(seconds: float = 10.0, sr: int = 22_050) -> bytes:
    rng = np.random.default_rng(7)
    return wav_bytes((0.3 * rng.standard_normal(int(seconds * sr))).astype(np.float32), sr)


# ---- 1. genre guesses are calibrated and never contradict the neighbours ------------------------
def test_temperature_is_fitted_on_validation_and_softens_an_overconfident_head():
    rng = np.random.default_rng(0)
    labels = ["a", "b"] * 20
    logits = np.array([[8.0, 0.0] if g == "a" else [0.0, 8.0] for g in labels])
    wrong = rng.choice(len(labels), 8, replace=False)
    logits[wrong] = logits[wrong][:, ::-1]  # 20 % confidently wrong
    t = fit_temperature(logits, ["a", "b"], labels)
    assert t > 2.0
    calibrated = softmax(logits / t).max(axis=1)
    assert 0.6 < calibrated.mean() < 0.95  # near the 80 % it is right, not the 100 % it claimed


def test_white_noise_is_not_100_percent_any_genre(app_home, tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(white_noise())
    catalog = Catalog.open(app_home)
    clip = catalog.analyse(path)
    assert max(clip.genre_probabilities.values()) < 0.9
    assert catalog.model.temperature_ >= 1.0
    # A catalog song keeps its confident genre.
    song = catalog.genre_probabilities(int(catalog.tracks()["track_id"].iloc[0]))
    assert max(song.values()) > 0.5


def test_verdict_is_neutral_when_the_neighbours_disagree():
    probs = {"Jazz": 0.97, "Rock": 0.03}
    assert not genre_verdict(probs, ["Rock", "Rock", "Rock", "Jazz", "Rock"], unlike_catalog=False).confident
    assert not genre_verdict(probs, ["Jazz"] * 5, unlike_catalog=True).confident
    agreed = genre_verdict(probs, ["Jazz", "Jazz", "Rock", "Jazz", "Jazz"], unlike_catalog=False)
    assert agreed.confident and agreed.genre == "Jazz"


def test_upload_of_noise_shows_no_green_sounds_most_like(app_home):
    at = start("upload")
    at.file_uploader(key="upload_file").upload("noise.wav", white_noise(), "audio/wav").run()
    assert not at.exception
    assert not any("sounds most like" in s.value for s in at.success)
    assert any("noise" in i.value and "hears" in i.value for i in at.info), [i.value for i in at.info]


# ---- 2. search combines its fields and says what it searched -----------------------------------
def test_search_combines_words_tag_and_description(app_home):
    catalog = Catalog.open(app_home)
    song = catalog.tracks().iloc[3]
    word = str(song["title"]).split()[0]
    tags = list(catalog.tags(int(song["track_id"])))
    tag, described = tags[0], tags[1]
    allowed = set(catalog.search(word, tag=tag, k=None)["track_id"])

    at = start("search")
    at.text_input(key="search_query").input(word)
    at.selectbox(key="search_tag").select(tag)
    at.text_input(key="search_sounds").input(described).run()
    assert not at.exception
    captions = " ".join(c.value for c in at.main.caption)
    if at.dataframe:
        table = at.dataframe[0].value
        assert set(table["track_id"]) <= allowed
        assert (table["score"] >= 0.5).all()
        assert word in captions and tag in captions and described in captions
    else:
        warning = at.warning[0].value
        assert word in warning and tag in warning and described in warning


def test_describing_the_sound_shows_scores_and_cuts_weak_matches(app_home):
    catalog = Catalog.open(app_home)
    found, matched = catalog.describe("calm", k=None)
    assert matched and len(found) < len(catalog.tracks())
    assert (found["score"] >= 0.5).all()

    at = start("search")
    at.text_input(key="search_sounds").input("calm").run()
    table = at.dataframe[0].value
    assert "score" in table.columns and len(table) == len(found)


# ---- 3. every file the build will not use is counted and named; one list of formats ------------
@pytest.mark.parametrize("ffmpeg", [True, False], ids=["with-ffmpeg", "without-ffmpeg"])
def test_folder_check_names_genres_and_every_file_it_will_not_use(home, monkeypatch, ffmpeg):
    from fixtures import tone, write_audio

    from recommender import audio, formats

    # Tracker modules decode through ffmpeg: the check counts them only on a machine that has it.
    monkeypatch.setattr(audio, "can_decode", lambda suffix: ffmpeg or suffix not in formats.NEEDS_FFMPEG)

    root = home / "music" / "class"
    for i in range(4):
        write_audio(
            root / ("Low" if i % 2 else "High") / f"song{i}.wav", tone(4.0, freq=220 + 110 * i), 22_050
        )
    (root / "Tracker").mkdir()
    (root / "Tracker" / "song.xm").write_bytes(b"Extended Module: song" + bytes(400))
    (root / "Tracker" / "tune.mid").write_bytes(b"MThd" + bytes(20))
    (root / "Tracker" / "notes.txt").write_text("liner notes")

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["owner"] = True
    at.run()
    at.radio(key="home_source").set_value("folder").run()
    at.text_input(key="home_audio").input("class").run()
    assert not at.exception
    success = " ".join(s.value for s in at.success)
    notes = re.sub(r"\\(.)", r"\1", " ".join(c.value for c in at.caption))
    if ffmpeg:
        assert "5 audio files, 3 folders as genres: High (2), Low (2), Tracker (1)" in success
        assert "2 files the build will not use" in success
        assert "song.xm" not in notes
    else:
        assert "4 audio files, 2 folders as genres: High (2), Low (2)" in success
        assert "3 files the build will not use" in success
        assert "song.xm" in notes and "XM audio needs ffmpeg, which this machine lacks" in notes
    assert "tune.mid" in notes and "not an audio format musicrec reads (.mid)" in notes
    assert "notes.txt" in notes and "(.txt)" in notes


def test_one_list_of_audio_formats_for_builds_uploads_and_the_app():
    from pages import _common
    from recommender.formats import AUDIO_SUFFIXES
    from recommender.uploads import safe_filename

    assert ".xm" in AUDIO_SUFFIXES and ".m4a" in AUDIO_SUFFIXES
    assert set(_common.AUDIO_TYPES) == {s.lstrip(".") for s in AUDIO_SUFFIXES}
    assert safe_filename("my song.XM") == "my_song.xm"


# ---- 4. a playlist plays on ------------------------------------------------------------------------
def _with_user(page: str, user: str) -> AppTest:
    at = start("home")
    at.sidebar.text_input(key="sidebar_new_user").input(user)
    at.sidebar.text_input(key="sidebar_new_pin").input("4321")
    at.sidebar.button(key="sidebar_create_user").click().run()
    assert at.session_state["user"] == user
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    return at


def _song_ends(at: AppTest) -> None:
    playing = dict(at.session_state["now_playing"])
    assert playing["ends_at"] is not None
    playing["ends_at"] = 0.0  # long past
    at.session_state["now_playing"] = playing
    at.run()
    assert not at.exception


def test_a_playlist_goes_on_to_the_next_song_and_marks_it(app_home):
    catalog = Catalog.open(app_home)
    user = "listener"
    at = _with_user("playlists", user)
    at.text_input(key="playlists_new_name").input("Queue")
    at.button(key="playlists_create").click().run()
    ids = catalog.tracks()["track_id"].astype(int).tolist()[:3]
    for track_id in ids:
        catalog.store.add_to_playlist(user, "Queue", track_id)
    at.run()
    at.button(key="playlists_play").click().run()
    titles = [catalog.track(t)["title"] for t in ids]
    main = " ".join(m.value for m in at.main.markdown)
    assert "Now playing 1/3" in main

    _song_ends(at)
    main = " ".join(m.value for m in at.main.markdown)
    assert "Now playing 2/3" in main
    assert at.session_state["now_playing"]["track_id"] == ids[1]
    marked = [m.value for m in at.main.markdown if "playing]" in m.value]
    assert len(marked) == 1 and titles[1].split()[0] in marked[0]
    assert catalog.store.history(user)["track_id"].tolist()[:2] == [ids[1], ids[0]]  # each play recorded

    _song_ends(at)
    _song_ends(at)  # the last song ended: the player stops
    assert at.session_state["now_playing"] is None


# ---- 6. similarity people can read; far songs said to be far ----------------------------------------
def test_similarity_percent_reads_against_the_catalogs_nearest_neighbours():
    from recommender.describe import FAR_PERCENT, similarity_percent

    calibration = {"median": 0.85, "p05": 0.75}
    assert similarity_percent(1.0, calibration) == 100.0
    assert similarity_percent(0.85, calibration) == 90.0
    assert similarity_percent(0.75, calibration) == 75.0
    assert similarity_percent(-0.56, calibration) == 0.0 < FAR_PERCENT
    assert similarity_percent(0.60, calibration) < FAR_PERCENT < similarity_percent(0.70, calibration)


def test_song_page_shows_percentages_and_says_which_neighbours_are_far(app_home):
    from recommender.describe import FAR_PERCENT, similarity_percent

    catalog = Catalog.open(app_home)
    track_id = int(catalog.tracks()["track_id"].iloc[0])
    at = start("home")
    at.session_state["track_id"] = track_id
    at.switch_page("pages/song.py").run()
    at.slider(key="song_k").set_value(23).run()
    assert not at.exception
    similar = catalog.similar(track_id, k=23)
    percents = [similarity_percent(s, catalog.model_info["calibration"]) for s in similar["score"]]
    cells = [m.value for m in at.main.markdown if re.fullmatch(r"`\d+ %`", m.value)]
    assert cells == [f"`{p:.0f} %`" for p in percents]
    far = [m.value for m in at.main.markdown if "Far: the least different song" in m.value]
    assert len(far) == sum(p < FAR_PERCENT for p in percents)


# ---- 7. polish -------------------------------------------------------------------------------------
def test_demo_titles_are_spelled_right():
    from recommender.sources.demo import plural_noun

    assert [plural_noun(w) for w in ("Compass", "Echo", "Lullaby", "Kite", "Paper Moon", "Radio")] == [
        "Compasses", "Echoes", "Lullabies", "Kites", "Paper Moons", "Radios",
    ]  # fmt: skip


def test_counts_are_singular_for_one():
    from recommender.words import plural

    assert [plural(1, "song"), plural(2, "song"), plural(1200, "song"), plural(1, "match")] == [
        "1 song", "2 songs", "1,200 songs", "1 match",
    ]  # fmt: skip


def test_cli_says_1_song(app_home, capsys):
    from recommender.cli import main

    catalog = Catalog.open(app_home)
    track_id = int(catalog.tracks()["track_id"].iloc[0])
    catalog.store.create_user("single")
    catalog.store.create_playlist("single", "One", [track_id])
    assert main(["playlist", "show", "--user", "single", "--name", "One"]) == 0
    out = capsys.readouterr().out
    assert "playlist 'One' of single: 1 song\n" in out


def test_charts_of_two_genres_leave_room_for_axis_titles_and_the_star_stands_out():
    import pandas as pd

    from recommender import plots

    for fig in (
        plots.genre_probability_figure({"Rock": 0.7, "Jazz": 0.3}),
        plots.tag_figure({"guitar": 0.6, "rock": 0.5}),
    ):
        assert fig.layout.height - fig.layout.margin.t - fig.layout.margin.b >= 2 * 26 + 60
    frame = pd.DataFrame(
        {"track_id": [1], "x": [0.0], "y": [0.0], "title": ["a"], "artist": ["b"], "genre": ["Rock"]}
    )
    star = plots.map_figure(
        frame,
        colors={"Rock": "#000000"},
        highlight=pd.DataFrame({"x": [0.0], "y": [0.0], "label": ["your clip"]}),
    ).data[-1]
    assert star.marker.color not in plots.PALETTE and star.marker.line.width >= 2


def test_explore_says_a_build_is_running_with_its_progress(home):
    import os
    from datetime import UTC, datetime

    from recommender import jobs

    home.mkdir(parents=True)
    state = {
        "state": "running", "pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(), "finished_at": None,
        "stage": "features", "done": 42, "total": 100, "info": "", "stages": [{"name": "features"}],
        "notes": [], "error": None, "options": {"source": "demo"}, "epochs": [],
    }  # fmt: skip
    (home / jobs.STATUS_FILE).write_text(json.dumps(state))
    at = start("explore")
    info = re.sub(r"\\(.)", r"\1", " ".join(i.value for i in at.main.info))
    assert "No catalog yet" not in info
    assert "A catalog is being built (Computing log-mel spectrograms, 42 %)" in info


def test_synonym_tags_show_under_one_name(app_home):
    from recommender.describe import merge_tags

    assert merge_tags({"beats": 0.6, "electro": 0.5, "beat": 0.4, "electronica": 0.3, "electronic": 0.2}) == {
        "beat": 0.6, "electronic": 0.5,
    }  # fmt: skip
    at = start("upload")
    at.file_uploader(key="upload_file").upload("noise.wav", white_noise(), "audio/wav").run()
    tags = [str(t) for t in json.loads(at.get("plotly_chart")[2].proto.spec)["data"][0]["y"]]
    assert len(tags) == len({merge_tags({t: 1.0}).popitem()[0] for t in tags})  # no two names for one tag


def test_done_stages_are_all_capitalised(home):
    import os
    from datetime import UTC, datetime

    from recommender import jobs

    home.mkdir(parents=True)
    stages = [
        {"name": n} for n in ("features", "read features", "fitting the head", "some new stage", "embeddings")
    ]
    state = {
        "state": "running", "pid": os.getpid(), "started_at": datetime.now(UTC).isoformat(), "finished_at": None,
        "stage": "embeddings", "done": 1, "total": 10, "info": "", "stages": stages,
        "notes": [], "error": None, "options": {"source": "demo"}, "epochs": [],
    }  # fmt: skip
    (home / jobs.STATUS_FILE).write_text(json.dumps(state))
    at = start("home")
    done = [c.value for c in at.main.caption if c.value.startswith("Done: ")]
    assert len(done) == 1
    parts = re.sub(r"\\(.)", r"\1", done[0]).removeprefix("Done: ").split(" · ")
    assert parts[1:3] == ["Reading the sound features", "Fitting the genre head"]
    assert all(p[0].isupper() for p in parts)


# ---- 5. a profile created once stays picked -----------------------------------------------------
def test_a_second_empty_create_does_nothing_and_the_profile_stays_picked(app_home):
    at = start("home")
    at.sidebar.text_input(key="sidebar_new_user").input("dana")
    at.sidebar.text_input(key="sidebar_new_pin").input("4321")
    at.sidebar.button(key="sidebar_create_user").click().run()
    assert at.session_state["user"] == "dana" and at.query_params["user"] == "dana"
    at.sidebar.button(key="sidebar_create_user").click().run()  # the second click of a double click
    assert not at.exception and not at.sidebar.error
    assert at.session_state["user"] == "dana" and at.query_params["user"] == "dana"
    at.switch_page("pages/explore.py").run()
    assert not at.exception
    assert at.session_state["user"] == "dana" and at.sidebar.selectbox(key="sidebar_user").value == "dana"
    assert any(b.key == "sidebar_lock" for b in at.sidebar.button)  # still open with its PIN


def test_the_same_form_sent_twice_keeps_the_profile_open_without_an_error(app_home):
    at = start("home")
    for _ in range(2):  # the second submit carries what the browser still showed: the same name and PIN
        at.sidebar.text_input(key="sidebar_new_user").input("erin")
        at.sidebar.text_input(key="sidebar_new_pin").input("4321")
        at.sidebar.button(key="sidebar_create_user").click().run()
        assert not at.exception and not at.sidebar.error
        assert at.session_state["user"] == "erin" and at.query_params["user"] == "erin"
    assert any(b.key == "sidebar_lock" for b in at.sidebar.button)


def test_a_create_cut_short_after_the_profile_was_written_is_finished_by_the_next_run(app_home, monkeypatch):
    """Streamlit cuts a run short at its next session-state write when the second click of a double
    click arrives: here, right after the profile was written. The next run, whose form is empty
    (the browser cleared it), must still open the profile that was made."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from recommender.store import Store

    made, cut = Store.create_profile, []

    def create_then_cut(self, name, pin):
        stored = made(self, name, pin)
        if not cut:
            cut.append(stored)
            raise StopException()  # what the run's next yield point raises for the waiting request
        return stored

    monkeypatch.setattr(Store, "create_profile", create_then_cut)
    at = start("home")
    at.sidebar.text_input(key="sidebar_new_user").input("gail")
    at.sidebar.text_input(key="sidebar_new_pin").input("4321")
    at.sidebar.button(key="sidebar_create_user").click().run()
    assert cut == ["gail"]
    assert at.session_state["user"] is None  # the run was cut before it opened the profile
    at.run()  # the next request (the second click, with nothing typed that is new)
    assert not at.exception and not at.sidebar.error
    assert at.session_state["user"] == "gail" and at.query_params["user"] == "gail"
    assert any(b.key == "sidebar_lock" for b in at.sidebar.button)  # open with its PIN
    assert Store(app_home / "musicrec.duckdb").users().count("gail") == 1


def test_the_same_name_and_pin_sent_after_the_profile_was_made_open_it(app_home):
    """A first submit whose run was cut after the profile was written leaves a profile this session
    has not opened: the same name and PIN sent again open it, a wrong PIN says the name is taken."""
    from recommender.store import Store

    Store(app_home / "musicrec.duckdb").create_profile("hana", "4321")
    at = start("home")
    at.sidebar.text_input(key="sidebar_new_user").input("hana")
    at.sidebar.text_input(key="sidebar_new_pin").input("4321")
    at.sidebar.button(key="sidebar_create_user").click().run()
    assert not at.exception and not at.sidebar.error
    assert at.session_state["user"] == "hana" and any(b.key == "sidebar_lock" for b in at.sidebar.button)

    other = start("home")
    other.sidebar.text_input(key="sidebar_new_user").input("hana")
    other.sidebar.text_input(key="sidebar_new_pin").input("9999")
    other.sidebar.button(key="sidebar_create_user").click().run()
    assert [re.sub(r"\\(.)", r"\1", e.value) for e in other.sidebar.error] == [
        "the name 'hana' is taken: pick it in the list and enter its PIN"
    ]
    assert other.session_state["user"] == "hana"  # picked, behind its PIN
    assert not any(b.key == "sidebar_lock" for b in other.sidebar.button)


def test_a_profile_list_read_a_moment_too_early_does_not_unpick_the_profile(app_home, monkeypatch):
    from recommender.store import Store

    at = start("home")
    at.sidebar.text_input(key="sidebar_new_user").input("fern")
    at.sidebar.text_input(key="sidebar_new_pin").input("4321")
    at.sidebar.button(key="sidebar_create_user").click().run()
    listed = Store.users
    monkeypatch.setattr(Store, "users", lambda self: [u for u in listed(self) if u != "fern"])
    at.switch_page("pages/explore.py").run()
    assert not at.exception
    assert at.session_state["user"] == "fern" and at.sidebar.selectbox(key="sidebar_user").value == "fern"
    assert at.query_params["user"] == "fern"
