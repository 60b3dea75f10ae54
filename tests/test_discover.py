"""Sonic playlists: the catalog clustered by sound, measured, named by its distinctive tags."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures import copy_home
from streamlit.testing.v1 import AppTest

from recommender.catalog import Catalog
from recommender.cli import main
from recommender.discover import discover, playlist_name, purity, substyle
from recommender.errors import UserInputError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
TAGS = ["piano", "mellow", "slow", "drums", "fast", "guitar", "rock", "beat"]


def _blobs(rng, sizes=(12, 10, 8, 6)):
    """Unit embeddings of well-apart groups (32-d) with group labels and tag profiles (group g has tags 2g, 2g+1)."""
    centres = np.eye(32)[: len(sizes)]
    x, labels, tags = [], [], []
    for g, n in enumerate(sizes):
        x.append(centres[g] + 0.15 * rng.standard_normal((n, 32)))
        labels += [f"G{g}"] * n
        t = 0.05 + 0.02 * rng.random((n, len(TAGS)))
        t[:, [2 * g, 2 * g + 1]] = 0.7
        tags.append(t)
    x = np.concatenate(x)
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.array(labels), np.concatenate(tags)


def test_the_groups_of_a_catalog_are_found_measured_and_named(rng):
    x, labels, tags = _blobs(rng)
    ids = np.arange(100, 100 + len(x))
    found = discover(x, ids, tags=tags, tag_names=TAGS, genres=labels)
    assert len(found.playlists) == 4
    assert found.quality["genre_purity"] == 1.0 and found.quality["silhouette"] > 0.5
    assert found.quality["tag_coherence"] > 0.1
    assert {t["method"] for t in found.tried} == {"kmeans", "gmm", "agglomerative"}
    assert len({t["n"] for t in found.tried}) > 2  # several numbers of playlists were tried
    biggest = found.playlists[0]
    assert biggest.size == 12 and biggest.genres == {"G0": 12}
    assert set(biggest.tags[:2]) == {"piano", "mellow"} and biggest.name in (
        "Piano · mellow",
        "Mellow · piano",
    )
    assert sorted(t for p in found.playlists for t in p.track_ids) == ids.tolist()
    assert biggest.representative == biggest.track_ids[0]


def test_asking_for_a_number_of_playlists_gives_that_many(rng):
    x, labels, tags = _blobs(rng)
    found = discover(x, np.arange(len(x)), tags=tags, tag_names=TAGS, genres=labels, n=2)
    assert len(found.playlists) == 2 and {t["n"] for t in found.tried} == {2}
    assert len({p.name for p in found.playlists}) == 2  # names are unique


@pytest.mark.parametrize(("n", "message"), [(1, "from 2 to 50"), (51, "from 2 to 50"), (20, "need 60 songs")])
def test_impossible_numbers_of_playlists_are_refused(rng, n, message):
    x, labels, _ = _blobs(rng)
    with pytest.raises(UserInputError, match=message):
        discover(x, np.arange(len(x)), n=n)


def test_names_purity_and_substyles():
    assert playlist_name(["mellow", "piano", "slow", "sad"]) == "Mellow · piano · slow"
    assert playlist_name([]) == ""
    assert purity(np.array([0, 0, 1, 1]), np.array(["a", "b", "b", "b"])) == 0.75
    assert substyle("Pines & Comets (Ambient Techno)") == "Ambient Techno"


@pytest.fixture(scope="module")
def discover_home(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("discover") / "home"
    copy_home(built_home, home)
    return home


def test_cli_discover_prints_the_playlists_and_the_figures(discover_home, capsys):
    assert main(["discover", "--home", str(discover_home), "-n", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    catalog = Catalog.open(discover_home)
    assert out["n"] == 8 and out["method"] in ("kmeans", "gmm", "agglomerative")
    assert set(out["quality"]) >= {"silhouette", "balance", "tag_coherence", "genre_purity"}
    playlist = out["playlists"][0]
    assert set(playlist) >= {"name", "size", "track_ids", "tags", "genres"}
    assert playlist["size"] == len(playlist["track_ids"]) and playlist["name"]
    every = sorted(t for p in out["playlists"] for t in p["track_ids"])
    assert every == sorted(catalog.tracks()["track_id"].astype(int).tolist())
    # the tiny demo's 8 genres sound apart: each playlist is one genre
    assert out["quality"]["genre_purity"] >= 0.9


def test_cli_discover_refuses_too_many_playlists(discover_home, capsys):
    assert main(["discover", "--home", str(discover_home), "-n", "20"]) == 1
    assert capsys.readouterr().err.startswith("error: 20 playlists of at least 3 songs need 60 songs")


# ---- in the app --------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


def _discover_page(home, monkeypatch, user: str | None = None) -> AppTest:
    monkeypatch.setenv("MUSICREC_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    if user:
        at.sidebar.text_input(key="sidebar_new_user").input(user)
        at.sidebar.text_input(key="sidebar_new_pin").input("4321")
        at.sidebar.button(key="sidebar_create_user").click().run()
    at.switch_page("pages/discover.py").run()
    assert not at.exception, at.exception
    return at


def test_the_discover_page_plays_and_saves_sonic_playlists(discover_home, monkeypatch):
    catalog = Catalog.open(discover_home)
    at = _discover_page(discover_home, monkeypatch, user="finder")
    at.selectbox(key="discover_n").select(8).run()
    found = [e.label for e in at.main.expander]
    assert len(found) == 8 and all("3 songs" in label for label in found)
    at.button(key="discover_play_0").click().run()
    playing = at.session_state["now_playing"]
    assert playing["queue"][1] == 0 and len(playing["songs"]) == 3
    at.button(key="discover_save_0").click().run()
    name = found[0].split(" · 3 songs")[0].replace("\\", "")
    saved = catalog.store.playlists("finder")["name"].tolist()
    assert saved == [name]
    assert catalog.store.playlist("finder", name)["track_id"].tolist() == playing["songs"]


def test_a_visitor_sees_playlists_but_cannot_save_them(discover_home, monkeypatch):
    at = _discover_page(discover_home, monkeypatch)
    assert len(at.main.expander) >= 2
    assert not [b for b in at.button if b.key and b.key.startswith("discover_save_")]
    assert at.button(key="radio_from_taste").disabled


def test_alchemy_on_the_discover_page_shows_the_mix_on_the_map(discover_home, monkeypatch):
    at = _discover_page(discover_home, monkeypatch)
    at.session_state["mix_add"] = [1, 6]
    at.run()
    assert not at.exception
    figure = at.get("plotly_chart")
    assert any("the mix" in str(chart.proto.spec) for chart in figure)
    assert not any(e.value for e in at.error)


def test_explore_colours_the_map_by_sonic_playlist(discover_home, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(discover_home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("pages/explore.py").run()
    at.toggle(key="explore_by_playlist").set_value(True).run()
    assert not at.exception
    spec = str(at.get("plotly_chart")[0].proto.spec)
    genres = Catalog.open(discover_home).genres()
    assert not any(f'"name":"{g} (' in spec.replace(" ", "") for g in genres)
