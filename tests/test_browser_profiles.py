"""A profile in two real browsers: the one that has its PIN plays a song, the other sees nothing of it.

Skipped by default; run with ``pytest -m browser`` (see tests/test_browser.py).
"""

from __future__ import annotations

import time

import pytest
import test_browser
from test_browser import LOAD_TIMEOUT_MS, assert_no_errors, new_profile_form, wait_idle

pytestmark = pytest.mark.browser

# test_browser's fixtures, for this module: its own copy of the built catalog, and Chromium
private_home, browser = test_browser.private_home, test_browser.browser


@pytest.fixture(scope="module")
def server(private_home, tmp_path_factory):
    """The catalog served to visitors: the loopback browser is not the owner, as in a class."""
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with test_browser.serve(private_home, log, env={"MUSICREC_TRUST_LOOPBACK": "0"}) as url:
        yield url


def sidebar_of(pg):
    return pg.locator('[data-testid="stSidebar"]')


def test_another_browser_gets_a_pin_prompt_not_the_plays(server, browser, private_home):
    from recommender.store import Store

    name, pin = f"alice{int(time.time() * 1000) % 100000}", "2468"
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(2)]
    mine, other = (c.new_page() for c in contexts)
    try:
        for pg in (mine, other):
            pg.set_default_timeout(LOAD_TIMEOUT_MS)
        mine.goto(server)
        wait_idle(mine)
        sidebar = sidebar_of(mine)
        new_profile_form(sidebar)
        sidebar.get_by_label("Name", exact=True).fill(name)
        sidebar.get_by_label("Name", exact=True).press("Enter")  # sends nothing: the PIN is still to come
        sidebar.get_by_label("PIN", exact=True).fill(pin)
        sidebar.get_by_role("button", name="Create profile").click()
        wait_idle(mine)
        assert_no_errors(mine)
        assert sidebar.get_by_role("combobox", name="Profile").input_value() == name

        mine.goto(f"{server}/song?track=1&user={name}")  # a new page load: the PIN once more
        wait_idle(mine)
        sidebar_of(mine).get_by_label("PIN of the profile").fill(pin)
        sidebar_of(mine).get_by_label("PIN of the profile").press("Enter")
        wait_idle(mine)
        mine.get_by_role("button", name="Play").first.click()
        wait_idle(mine)
        assert_no_errors(mine)

        other.goto(f"{server}/history?user={name}")
        wait_idle(other)
        text = other.locator('[data-testid="stMain"]').inner_text()
        assert f"{name} is protected by a PIN" in text and "skips of" not in text
        assert other.locator('[data-testid="stDataFrame"]').count() == 0
        sidebar_of(other).get_by_label("PIN of the profile").fill("0000")
        sidebar_of(other).get_by_label("PIN of the profile").press("Enter")
        wait_idle(other)
        assert f"wrong PIN for the profile '{name}'" in sidebar_of(other).inner_text()
        assert "skips of" not in other.locator('[data-testid="stMain"]').inner_text()
    finally:
        for c in contexts:
            c.close()
    assert Store(private_home / "musicrec.duckdb").history(name)["track_id"].tolist() == [1]


def test_eight_students_create_profiles_at_once_and_keep_them_on_explore(server, browser, private_home):
    """Eight browsers of one Chromium: each presses Enter in "Name", creates its profile with a double
    click (the second submit is empty), then all eight open Explore at the same moment."""
    from recommender.store import Store

    stamp = int(time.time() * 1000) % 100000
    names = [f"eight{stamp}-{i}" for i in range(8)]
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in names]
    pages = [c.new_page() for c in contexts]
    try:
        for pg in pages:
            pg.set_default_timeout(LOAD_TIMEOUT_MS)
            pg.goto(server)
        for pg, name in zip(pages, names, strict=True):
            wait_idle(pg)
            sidebar = sidebar_of(pg)
            new_profile_form(sidebar)
            sidebar.get_by_label("Name", exact=True).fill(name)
            sidebar.get_by_label("Name", exact=True).press("Enter")
            sidebar.get_by_label("PIN", exact=True).fill("2468")
        for pg in pages:  # eight double clicks at the same moment: the second submit is an empty form
            sidebar_of(pg).get_by_role("button", name="Create profile").dblclick()
        for pg in pages:
            wait_idle(pg)
        shown = [sidebar_of(pg).get_by_role("combobox", name="Profile").input_value() for pg in pages]
        assert shown == names, [(pg.url, sidebar_of(pg).inner_text()) for pg in pages]
        for pg in pages:
            assert "cannot be empty" not in sidebar_of(pg).inner_text()
            assert_no_errors(pg)

        for pg in pages:
            sidebar_of(pg).get_by_role("link", name="Explore").click()
        for pg in pages:
            wait_idle(pg)
        for pg in pages:
            assert "Explore" in pg.locator("h1").first.inner_text()
        shown = [sidebar_of(pg).get_by_role("combobox", name="Profile").input_value() for pg in pages]
        assert shown == names
        assert [f"user={name}" in pg.url for pg, name in zip(pages, names, strict=True)] == [True] * 8
        assert ["Lock this profile" in sidebar_of(pg).inner_text() for pg in pages] == [True] * 8
    finally:
        for c in contexts:
            c.close()
    assert set(names) <= set(Store(private_home / "musicrec.duckdb").users())
