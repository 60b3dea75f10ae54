"""Two catalogs on one server, in a real browser: the owner builds "Demo", then a music folder as
"Our music"; a profile plays, likes and keeps a playlist in each, switches back and forth in the
sidebar, and finds everything whole in both; a clip added to "Our music" is in no other catalog.

Skipped by default; run with ``pytest -m browser`` (see tests/test_browser.py). Slow: two builds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_browser
from fixtures import tone, write_audio
from test_browser import (
    LOAD_TIMEOUT_MS,
    assert_no_errors,
    main_text,
    metrics,
    new_profile_form,
    wait_idle,
    wait_text,
)

from recommender import catalogs
from recommender.catalog import Catalog

pytestmark = [pytest.mark.browser, pytest.mark.slow]
browser = test_browser.browser
PIN = test_browser.PIN
BUILD_TIMEOUT_MS = 900_000


def sidebar_of(pg):
    return pg.locator('[data-testid="stSidebar"]')


def _music_folder(root: Path) -> Path:
    for i in range(6):
        genre, freq = ("Low", 110 + 20 * i) if i % 2 else ("High", 880 + 40 * i)
        write_audio(root / genre / f"tune{i}.wav", tone(4.0, freq=freq, seed=i), 22_050)
    return root


def _build(pg, *, name: str, folder: Path | None = None) -> None:
    """Fill the Home page's build form (the first one, or "Build another catalog") and wait until it is done."""
    form = pg.locator('[data-testid="stMain"]')
    another = pg.locator('[data-testid="stExpander"]').filter(has_text="Build another catalog")
    if another.count():
        form = another

    def opened():
        """The form, its expander opened again where a rerun closed it."""
        wait_idle(pg)
        if another.count() and not form.get_by_text("Music folder", exact=True).is_visible():
            another.locator("summary").first.click()
            form.get_by_text("Music folder", exact=True).wait_for(state="visible")
        return form

    if folder is None:
        opened().get_by_label("Songs").fill("24")
        opened().get_by_label("Songs").press("Enter")
    else:
        opened().get_by_text("Music folder", exact=True).click()
        box = opened().get_by_role("textbox", name="Music folder (inside this server's music folders)")
        box.fill(str(folder))
        box.press("Enter")
        opened()
        wait_text(pg, "6 audio files, 2 folders as genres")
    field = opened().get_by_role("textbox", name="Catalog name")
    field.fill(name)
    field.press("Enter")
    opened()
    wait_text(pg, f"Makes a new catalog, {name}, beside the others.")
    opened().get_by_role("button", name="Build the catalog").or_(
        pg.get_by_role("button", name="Build it")
    ).click()
    wait_text(pg, "The new catalog is built and in use", timeout_ms=BUILD_TIMEOUT_MS)
    wait_idle(pg)


def _switch(pg, name: str) -> None:
    box = sidebar_of(pg).get_by_role("combobox", name="Catalog")
    box.click()
    pg.get_by_role("option", name=name, exact=True).click()
    wait_idle(pg)


def _open(pg, url: str) -> None:
    pg.goto(url)
    wait_idle(pg)
    pin = sidebar_of(pg).get_by_label("PIN of the profile")
    if pin.count():
        pin.fill(PIN)
        pin.press("Enter")
        wait_idle(pg)


def test_two_catalogs_keep_their_own_playlists_history_likes_and_uploads(browser, tmp_path, request):
    home = tmp_path / "home"
    music = _music_folder(home / "music" / "class")  # inside the home's music folder
    clip = write_audio(tmp_path / "clip.wav", tone(6.0, freq=523, seed=42), 22_050)
    with test_browser.serve(home, tmp_path / "streamlit.log") as url:
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.set_default_timeout(LOAD_TIMEOUT_MS)
        request.addfinalizer(lambda: pg.is_closed() or pg.screenshot(path=str(tmp_path / "last.png")))
        pg.goto(url)
        wait_idle(pg)
        _build(pg, name="Demo")
        assert metrics(pg)["Songs"] == "24"
        _build(pg, name="Our music", folder=music)
        assert metrics(pg)["Songs"] == "6" and "Our music" in main_text(pg)
        assert [e.name for e in catalogs.entries(home)] == ["Demo", "Our music"]

        sidebar = sidebar_of(pg)
        new_profile_form(sidebar)
        sidebar.get_by_label("Name", exact=True).fill("Zoe")
        sidebar.get_by_label("PIN", exact=True).fill(PIN)
        sidebar.get_by_role("button", name="Create profile").click()
        wait_idle(pg)
        assert_no_errors(pg)

        firsts = {}
        for name in ("Demo", "Our music"):
            cat = Catalog.open(catalogs.find(name, home).paths.home)
            track = cat.tracks().sort_values("track_id").iloc[0]
            firsts[name] = (int(track["track_id"]), str(track["title"]))
            _open(pg, f"{url}/song?track={firsts[name][0]}&user=Zoe&catalog={name.replace(' ', '%20')}")
            assert firsts[name][1] in main_text(pg)
            pg.get_by_role("button", name="Play").first.click()
            wait_idle(pg)
            pg.get_by_role("button", name="Like").first.click()
            wait_idle(pg)
            assert_no_errors(pg)
            cat.store.create_playlist("Zoe", f"Best of {name}", [firsts[name][0]])

        _open(pg, f"{url}/upload?user=Zoe&catalog=Our%20music")
        pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
        wait_idle(pg)
        pg.get_by_role("textbox", name="Title").fill("Class recording")
        pg.get_by_role("button", name="Add to the catalog").click()
        wait_idle(pg)
        assert_no_errors(pg)
        wait_text(pg, "Class recording")  # its Song page

        for _ in range(2):  # back and forth: each catalog's data whole every time
            for name in ("Demo", "Our music"):
                _switch(pg, name)
                pg.get_by_role("link", name="History").click()
                wait_idle(pg)
                shown = main_text(pg)
                assert "1 play and 0 skips of 1 song" in shown and "no longer in the catalog" not in shown
                pg.get_by_role("link", name="Playlists").click()
                wait_idle(pg)
                shown = main_text(pg)
                assert f"Best of {name} · 1 song" in shown and firsts[name][1] in shown
                assert "no longer in the catalog" not in shown
                pg.get_by_role("link", name="Search").click()
                wait_idle(pg)
                pg.get_by_role("textbox", name="Search").fill("Class recording")
                pg.get_by_role("textbox", name="Search").press("Enter")
                wait_idle(pg)
                found = "1 song matching “Class recording”" in main_text(pg)
                assert found == (name == "Our music"), main_text(pg)
                assert_no_errors(pg)
        pg.close()
    for name in ("Demo", "Our music"):
        store = Catalog.open(catalogs.find(name, home).paths.home).store
        assert store.history("Zoe")["track_id"].tolist() == [firsts[name][0]]
        assert store.likes("Zoe")["track_id"].tolist() == [firsts[name][0]]
