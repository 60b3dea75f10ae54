"""The class board in a real browser while four students join, upload, like and add to the class playlist.

Run with ``pytest -m browser`` (needs Debian's ``chromium`` and Playwright, as tests/test_browser.py).
Every browser is a visitor (the server does not trust its loopback address, as behind a proxy):
the board is the projector's page, refreshing itself; the students act in their own browsers.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import test_browser
from fixtures import copy_home
from test_browser import LOAD_TIMEOUT_MS, PIN, new_profile_form, serve, wait_idle

from recommender.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOARD_TIMEOUT_S = 240.0
ANALYSIS_TIMEOUT_S = 600.0  # four clips in turns, and the model's first load, on a busy machine


# test_browser's Chromium, for this module
chromium = test_browser.browser


@pytest.fixture
def class_home(built_home, tmp_path) -> Path:
    return copy_home(built_home, tmp_path / "home")


def make_clips(home: Path, folder: Path, n: int) -> list[Path]:
    """``n`` different 8-s WAV clips cut from catalog songs."""
    tracks = Store(home / "musicrec.duckdb").tracks()
    clips = []
    for i in range(n):
        y, sr = sf.read(
            tracks.iloc[(i * 5 + 1) % len(tracks)]["audio_path"], dtype="float32", always_2d=False
        )
        path = folder / f"clip-{i}.wav"
        sf.write(path, y[sr : 9 * sr] * np.float32(0.8), sr)
        clips.append(path)
    return clips


def board_text(board) -> str:
    return board.locator('[data-testid="stMain"]').inner_text()


def wait_on_board(board, check, what: str) -> None:
    """Until ``check(board)`` holds: the board refreshes itself, nobody touches it."""
    deadline = time.monotonic() + BOARD_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if check(board):
                return
        except Exception:  # between two renders
            pass
        time.sleep(0.5)
    raise AssertionError(f"the board never showed {what}:\n{board_text(board)[:2000]}")


def heard(pg) -> None:
    """Until the Upload page shows what the model hears in the clip (its "Add" form is then drawn)."""
    try:
        pg.get_by_role("textbox", name="Title", exact=True).wait_for(timeout=ANALYSIS_TIMEOUT_S * 1000)
    except Exception as error:
        text = pg.locator('[data-testid="stMain"]').inner_text()
        raise AssertionError(f"the clip was not heard: {error}\n{text[:1500]}") from None
    wait_idle(pg)


def clips_on_map(board) -> list[str]:
    """The labels of the class's clips on the board's map, as plotly drew them."""
    return board.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.evaluate(
        """gd => (gd.data.find(t => (t.name || '').startsWith("the class")) || {text: []}).text"""
    )


def test_the_board_shows_four_students_joining_uploading_and_adding(chromium, class_home, tmp_path):
    clips = make_clips(class_home, tmp_path, 4)
    stamp = int(time.time() * 1000) % 100000
    names = [f"pupil{stamp}-{i}" for i in range(4)]
    titles = [f"Loop of {name}" for name in names]
    with serve(class_home, tmp_path / "streamlit.log", env={"MUSICREC_TRUST_LOOPBACK": "0"}) as url:
        contexts = [chromium.new_context(viewport={"width": 1280, "height": 900}) for _ in range(5)]
        board, *pages = [c.new_page() for c in contexts]
        try:
            for pg in (board, *pages):
                pg.set_default_timeout(LOAD_TIMEOUT_MS)
            board.goto(f"{url}/board")
            board.locator("h1").get_by_text("Class board").wait_for()
            # The title is drawn first; the rest of the board follows in the same run.
            wait_on_board(board, lambda b: "Join the class" in board_text(b), "how to join the class")
            assert "Owner" not in board_text(board) and "Hide" not in board_text(board)

            for pg in pages:
                pg.goto(url)
            for pg, name in zip(pages, names, strict=True):
                wait_idle(pg)
                sidebar = pg.locator('[data-testid="stSidebar"]')
                new_profile_form(sidebar)
                sidebar.get_by_label("Name").fill(name)
                sidebar.get_by_label("PIN", exact=True).fill(PIN)
                sidebar.get_by_role("button", name="Create profile").click()
            for pg in pages:
                wait_idle(pg)
            wait_on_board(board, lambda b: all(n in board_text(b) for n in names), "every student's name")

            for pg in pages:
                pg.locator('[data-testid="stSidebar"]').get_by_role("link", name="Upload a clip").click()
            for pg, clip in zip(pages, clips, strict=True):
                wait_idle(pg)
                pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
            for pg, title in zip(pages, titles, strict=True):
                heard(pg)  # the clips are listened to in turns: the model loads first
                pg.get_by_role("textbox", name="Title", exact=True).fill(title)
                pg.get_by_role("button", name="Add to the catalog").click()
            for pg, title in zip(pages, titles, strict=True):
                pg.locator("h1").get_by_text(title).wait_for(timeout=BOARD_TIMEOUT_S * 1000)  # its song page
                wait_idle(pg)
            wait_on_board(
                board, lambda b: sorted(clips_on_map(b)) == sorted(titles), "the four clips on the map"
            )
            text = board_text(board)
            assert all(t in text for t in titles) and text.count("hears:") >= 4  # each clip with its tags

            for pg in pages:  # each likes their own clip and adds it to the class playlist
                pg.get_by_role("button", name="Like", exact=True).click()
            for pg in pages:
                wait_idle(pg)
                pg.get_by_role("button", name="Add to the class playlist").click()
            for pg in pages:
                wait_idle(pg)
                assert "to the class playlist" in pg.locator('[data-testid="stMain"]').inner_text()
            wait_on_board(
                board,
                lambda b: all(f"added by {n}" in board_text(b) for n in names) and "4 songs" in board_text(b),
                "the class playlist",
            )
            assert "1 like" in board_text(board)  # the most liked songs
            assert board.locator('[data-testid="stException"]').count() == 0
        finally:
            for c in contexts:
                c.close()
    listed = Store(class_home / "musicrec.duckdb").board().class_playlist
    assert sorted(listed["added_by"]) == sorted(names) and sorted(listed["title"]) == sorted(titles)
