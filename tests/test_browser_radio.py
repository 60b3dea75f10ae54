"""The radio in a real browser, as a visitor: start a station, skip twice, the next songs move away."""

from __future__ import annotations

import re

import numpy as np
import pytest
import test_browser
from test_browser import serve, wait_idle

pytestmark = pytest.mark.browser

# test_browser's fixtures, for this module: its own copy of the built catalog, Chromium and a page
private_home, browser, page = test_browser.private_home, test_browser.browser, test_browser.page


@pytest.fixture
def visitor_server(private_home, tmp_path):
    with serve(private_home, tmp_path / "streamlit.log", env={"MUSICREC_TRUST_LOOPBACK": "0"}) as url:
        yield url


def _ids(catalog, sidebar_text: str) -> tuple[int, list[int]]:
    """The song playing and the songs up next, as shown in the sidebar (title · artist)."""
    tracks = catalog.tracks()
    by_name = {(str(r.title), str(r.artist)): int(r.track_id) for r in tracks.itertuples()}
    playing = re.search(r"Now playing (.+?) · (.+)", sidebar_text)
    up_next = re.findall(r"^→ (.+?) · (.+)$", sidebar_text, flags=re.MULTILINE)
    return by_name[(playing[1].strip(), playing[2].strip())], [
        by_name[(t.strip(), a.strip())] for t, a in up_next
    ]


def test_a_visitor_starts_a_station_skips_twice_and_the_next_songs_move_away(
    visitor_server, page, private_home
):
    from recommender.catalog import Catalog

    catalog = Catalog.open(private_home)
    index = catalog.index
    page.goto(f"{visitor_server}/song?track=1")
    wait_idle(page)
    page.locator(".st-key-song_radio button").first.click()
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "Radio from" in sidebar.inner_text()
    skipped = []
    playing, before = _ids(catalog, sidebar.inner_text())
    assert playing == 1 and len(before) == 3
    for _ in range(2):
        playing, _ = _ids(catalog, sidebar.inner_text())
        skipped.append(playing)
        page.locator(".st-key-radio_skip button").first.click()
        wait_idle(page)
    playing, after = _ids(catalog, sidebar.inner_text())
    assert playing not in skipped and not set(after) & set(skipped)

    def closeness(ids):
        return float(np.mean([index.vector(t) @ index.vector(s) for t in ids for s in skipped]))

    assert closeness(after) < closeness(before)
    assert page.locator("audio").count() == 1
    assert catalog.store._read(lambda con: con.execute("SELECT count(*) FROM skips").fetchone()[0]) == 0
