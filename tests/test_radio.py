"""A radio that learns: skips push the station away, likes and songs heard pull it closer; skips are
kept with their time and count against "For you"; listeners' co-occurrence blends in (hybrid)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fixtures import copy_home
from streamlit.testing.v1 import AppTest

from recommender import radio
from recommender.catalog import Catalog
from recommender.cli import main
from recommender.errors import UserInputError
from recommender.hybrid import CoOccurrence
from recommender.index import SimilarityIndex
from recommender.store import SCHEMA_VERSION, Store
from recommender.store.schema import MIGRATIONS

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120

# Sound A at 0-20°, sound B at 30-50° (one genre), sound C far away; the seed sits between A and B.
ANGLES = [0, 4, 8, 12, 16, 20, 30, 34, 38, 42, 46, 50, 80, 84, 88, 90, 25]
SOUND_A, SOUND_B = set(range(1, 7)), set(range(7, 13))
SEED = 17


@pytest.fixture
def arc(rng):
    a = np.radians(np.asarray(ANGLES, dtype=float))
    x = np.zeros((len(a), 16))
    x[:, 0], x[:, 1] = np.cos(a), np.sin(a)
    x[:, 2:] = 0.02 * rng.standard_normal((len(a), 14))
    ids = np.arange(1, len(a) + 1)
    return SimilarityIndex().fit(x, ids, np.array(["Jazz"] * 12 + ["Metal"] * 4 + ["Jazz"]))


def test_skips_push_the_station_away_from_that_sound(arc):
    station = radio.Station(radio.track_seed(arc, SEED))
    before = [p.track_id for p in radio.next_songs(arc, station, k=4, usual=0.0)]
    assert SEED not in before and set(before) & SOUND_B  # both sounds are near the seed at first
    for track_id in (7, 8):  # the listener skips two songs of sound B
        station.note(track_id, "skip")
    after = [p.track_id for p in radio.next_songs(arc, station, k=4, usual=0.0)]
    assert set(after) <= SOUND_A


def test_songs_heard_and_liked_pull_the_station_closer(arc):
    station = radio.Station(radio.track_seed(arc, SEED))
    station.note(11, "like")
    station.note(12, "heard")
    picks = [p.track_id for p in radio.next_songs(arc, station, k=3, usual=0.0)]
    assert set(picks) <= SOUND_B and not {11, 12} & set(picks)


def test_no_song_and_no_recent_artist_comes_again(arc):
    artists = {t: f"artist {t}" for t in range(1, 18)}
    artists.update({5: "Twins", 6: "Twins"})
    station = radio.Station(radio.track_seed(arc, 1))
    station.note(5, "heard")
    picks = [p.track_id for p in radio.next_songs(arc, station, k=6, artists=artists, usual=0.0)]
    assert 5 not in picks and 6 not in picks and 1 not in picks


def test_a_skip_is_moving_on_early():
    assert radio.is_skip(5.0, 200.0) and not radio.is_skip(31.0, 200.0)
    assert radio.is_skip(9.0, 20.0) and not radio.is_skip(11.0, 20.0)  # half of a short song
    with pytest.raises(UserInputError, match="k must be a whole number from 1 to 50"):
        radio.next_songs(SimilarityIndex(), radio.Station(None), k=0)


def test_skips_are_kept_with_their_time_and_go_with_the_profile(tmp_path):
    store = Store(tmp_path / "db.duckdb")
    from recommender.sources.base import Track

    store.write_tracks([Track(track_id=1, title="A", artist="B", album="C", genre="G", split="train",
                              duration=30.0, source="demo", audio_path="/a.wav")])  # fmt: skip
    when = datetime(2026, 12, 1, 12, 0, 0)
    store.record_skip("ann", 1, at=when)
    skips = store.skips("ann")
    assert skips["track_id"].tolist() == [1] and skips["skipped_at"].iloc[0] == when
    assert store.skips("ann", since=when + timedelta(seconds=1)).empty
    with pytest.raises(UserInputError, match="no track with id 2"):
        store.record_skip("ann", 2)
    store.start_station("ann", "track:1")
    assert store.station("ann")[0] == "track:1"
    assert store._read(lambda con: con.execute("SELECT max(version) FROM schema_version").fetchone()[0]) == (
        SCHEMA_VERSION
    )
    assert MIGRATIONS[5].__name__ == "_v6_skips"  # skips came with migration 6
    store.delete_user("ann")
    store.create_user("ann")
    assert store.skips("ann").empty and store.station("ann") is None


def test_co_occurrence_finds_songs_the_same_listeners_played():
    import pandas as pd

    listening = pd.DataFrame(
        {"user_id": [1, 1, 2, 2, 3, 3, 3], "track_id": [10, 20, 10, 20, 10, 30, 20],
         "plays": [1, 1, 2, 1, 1, 1, 0], "liked": [False] * 6 + [True]}
    )  # fmt: skip
    scores, best = CoOccurrence().fit(listening).scores({10: 1.0})
    assert max(scores, key=scores.get) == 20 and 0.8 < scores[20] <= 1.0 and best[20] == 10
    assert 0 < scores[30] < 1 and 10 not in scores


@pytest.fixture(scope="module")
def radio_home(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("radio") / "home"
    copy_home(built_home, home)
    return home


def _far_song(catalog, track_id):
    """A song of another genre, the farthest from ``track_id`` in sound."""
    index = catalog.index
    v = index.vector(track_id)
    genre = catalog.track(track_id)["genre"]
    others = [int(t) for t in index.track_ids_ if catalog.track(int(t))["genre"] != genre]
    return min(others, key=lambda t: float(index.vector(t) @ v))


def test_for_you_counts_skips_against_their_sound(radio_home):
    catalog = Catalog.open(radio_home)
    a = 1
    b = _far_song(catalog, a)
    for user in ("fy-plain", "fy-skipper"):
        catalog.store.record_play(user, a)
        catalog.store.record_play(user, b)
    catalog.store.record_skip("fy-skipper", b)
    index = catalog.index

    def closeness_to_b(user):
        recs, _ = catalog.recommend(user, k=4)
        return np.mean([float(index.vector(int(t)) @ index.vector(b)) for t in recs["track_id"]])

    assert closeness_to_b("fy-skipper") < closeness_to_b("fy-plain") - 0.05


def test_for_you_blends_in_what_other_listeners_played(radio_home):
    catalog = Catalog.open(radio_home)
    a = 2
    far = _far_song(catalog, a)
    for user in ("co-1", "co-2", "co-3"):
        catalog.store.record_play(user, a)
        catalog.store.record_play(user, far)
    catalog.store.record_play("co-me", a)
    recs, cold = catalog.recommend("co-me", k=5)
    assert not cold
    rows = recs.set_index("track_id")
    assert far in rows.index
    assert rows.loc[far, "reason"] == f'listeners who played "{catalog.track(a)["title"]}" also played it'
    audio_only = catalog.similar(a, k=5)["track_id"].tolist()
    assert far not in audio_only  # by sound alone it would not be there


def _cos(catalog, ids, others):
    index = catalog.index
    return float(np.mean([[index.vector(t) @ index.vector(o) for o in others] for t in ids]))


def test_cli_radio_starts_learns_from_skips_and_continues(radio_home, capsys):
    home = ["--home", str(radio_home)]
    assert main(["radio", *home, "--user", "dj", "--from", "1", "-k", "4", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["started"] and first["station"] == "track:1"
    assert set(first["results"][0]) >= {"track_id", "title", "artist", "genre", "score", "reason"}
    assert first["results"][0]["reason"].startswith("sounds like “")
    skipped = [r["track_id"] for r in first["results"][:2]]
    for track_id in skipped:
        assert main(["skip", *home, "--user", "dj", "--track", str(track_id)]) == 0
    capsys.readouterr()
    assert main(["radio", *home, "--user", "dj", "-k", "4", "--json"]) == 0
    later = json.loads(capsys.readouterr().out)
    assert not later["started"] and later["events"]["skip"] == 2
    catalog = Catalog.open(radio_home)
    before = [r["track_id"] for r in first["results"][2:]]
    after = [r["track_id"] for r in later["results"]]
    assert not set(after) & set(skipped)
    assert _cos(catalog, after, skipped) < _cos(catalog, before, skipped)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["radio", "--user", "nobody-yet"], "error: the profile 'nobody-yet' has no station yet"),
        (["radio", "--user", "dj2", "--from", "999"], "error: no track with id 999 in the catalog"),
        (["radio", "--user", "dj2", "--tag", "zzz-nothing"], "error: no tag 'zzz-nothing' in this catalog"),
        (["skip", "--user", "dj2", "--track", "999"], "error: no track with id 999 in the catalog"),
    ],
)
def test_cli_radio_errors_are_one_line(radio_home, capsys, args, message):
    assert main([*args, "--home", str(radio_home)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


# ---- in the app --------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


def _song_page(radio_home, monkeypatch, track_id: int, user: str | None = None) -> AppTest:
    monkeypatch.setenv("MUSICREC_HOME", str(radio_home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    if user:
        at.sidebar.text_input(key="sidebar_new_user").input(user)
        at.sidebar.text_input(key="sidebar_new_pin").input("4321")
        at.sidebar.button(key="sidebar_create_user").click().run()
    at.session_state["track_id"] = track_id
    at.switch_page("pages/song.py").run()
    assert not at.exception
    return at


def _sidebar_text(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption) + " ".join(m.value for m in at.sidebar.markdown)


def test_the_song_page_starts_a_radio_that_skips_and_records_skips(radio_home, monkeypatch):
    catalog = Catalog.open(radio_home)
    at = _song_page(radio_home, monkeypatch, 3, user="radio-fan")
    at.button(key="song_radio").click().run()
    assert not at.exception
    assert at.session_state["now_playing"]["track_id"] == 3 and at.session_state["now_playing"]["radio"]
    assert "Radio from" in _sidebar_text(at) and "Up next" in _sidebar_text(at)
    at.sidebar.button(key="radio_skip").click().run()
    following = at.session_state["now_playing"]["track_id"]
    assert following != 3 and at.session_state["now_playing"]["radio"]
    assert catalog.store.skips("radio-fan")["track_id"].tolist() == [3]
    playing = dict(at.session_state["now_playing"])
    playing["ends_at"] = 0.0  # heard to the end: the station goes on by itself, no skip
    at.session_state["now_playing"] = playing
    at.run()
    assert at.session_state["now_playing"]["track_id"] not in (3, following)
    assert catalog.store.skips("radio-fan")["track_id"].tolist() == [3]
    assert catalog.store.history("radio-fan")["source"].iloc[0] == "radio"


def test_a_visitors_radio_keeps_nothing_in_any_profile(radio_home, monkeypatch):
    catalog = Catalog.open(radio_home)
    before = catalog.store._read(lambda con: con.execute("SELECT count(*) FROM skips").fetchone()[0])
    at = _song_page(radio_home, monkeypatch, 4)
    at.button(key="song_radio").click().run()
    at.sidebar.button(key="radio_skip").click().run()
    assert at.session_state["now_playing"]["track_id"] != 4
    after = catalog.store._read(lambda con: con.execute("SELECT count(*) FROM skips").fetchone()[0])
    assert after == before
