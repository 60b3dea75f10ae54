"""A music folder whose tags are HTML and Markdown: every page shows them as typed, none renders them.

The genre is the one piece of user text that reaches every page (map legend, genre
charts, filters, the Model page's per-genre figures, reasons), and it comes from the
files' own tags, so it is built here from a real folder catalog, not added afterwards.
"""

from __future__ import annotations

import json

import mutagen
import pytest
from fixtures import tone, write_audio
from test_app import (  # noqa: F401  (the autouse fixture puts AppTest in the live server's page mode)
    HOSTILE,
    HOSTILE_MD,
    PAGES,
    _navigation_like_the_server,
    assert_no_markup,
    charts,
    goto,
    shown,
    start,
)

from recommender.catalog import Catalog

GENRES = ['<img src=x onerror="alert(1)"> Rock', "**Jazz** [me](http://127.0.0.1:9/) <b>x</b> $y^2$"]


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory):
    from recommender.build import BuildOptions, build

    root = tmp_path_factory.mktemp("hostile")
    music = root / "music"
    for g, genre in enumerate(GENRES):
        for i in range(3):
            y = tone(4.0, freq=220.0 * (g + 1) * (1 + i / 7), seed=i)
            path = write_audio(music / f"g{g}" / f"song{i}.flac", y, 22_050)
            tags = mutagen.File(path)
            tags.update({"genre": genre, "title": f"{HOSTILE_MD} {i}", "artist": HOSTILE, "album": HOSTILE})
            tags.save()
    build(BuildOptions(source="folder", audio=music, workers=1), home=root / "home")
    return root / "home"


def test_hostile_genres_from_tags_are_shown_as_typed_and_never_render(hostile_home, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(hostile_home))
    catalog = Catalog.open(hostile_home)
    assert sorted(catalog.genres()) == sorted(GENRES)  # the tags arrive unchanged
    track_id = int(catalog.tracks()["track_id"].iloc[0])

    at = start(page="home")
    at.session_state["track_id"] = track_id
    at.query_params["track"] = str(track_id)
    checked, seen = 0, ""
    for page in PAGES:
        goto(at, page)
        seen += shown(at) + json.dumps([charts(at)])
        checked += assert_no_markup(
            at, page, tags=("<img", "<a ", "<b>", "<div", "<strong>Jazz"), raw=("$y^2$",)
        )
        for figure in charts(at):
            text = json.dumps(figure)
            # the user's own tags (the charts' hover templates have a <b> of their own)
            for tag in ("<img", "<b>x", "<a href", "<div"):
                assert tag not in text, f"{page}: {text[max(0, text.find(tag) - 300) : text.find(tag) + 80]}"
    assert checked > 20
    # The genres are still there for people to read, exactly as tagged (escaped for Markdown, or
    # HTML-escaped inside the charts, which plotly shows as the original text).
    goto(at, "song")
    assert any(genre in shown(at) for genre in GENRES)
    assert "&lt;img src=x" in seen
