"""The owner and a visitor in real browsers: `streamlit run app.py` driven by headless Chromium.

Run with ``pytest -m browser`` (needs Debian's ``chromium`` and Playwright, as tests/test_browser.py).
The owner is a browser on the server machine, connected to its loopback address. A visitor is
made in the two ways a test can arrange on one machine: a browser connected to the machine's
network address (not loopback, as a student's laptop would be), and a second server told not to
trust the loopback address (as behind a reverse proxy on the same machine). (A proxy header set
by the browser would not do: Chromium does not send extra headers with the WebSocket's handshake.)
"""

from __future__ import annotations

import json
import os
import socket

import pytest
from fixtures import tone, write_audio
from test_browser import CHROMIUM, CHROMIUM_ARGS, LOAD_TIMEOUT_MS, serve, wait_idle

from recommender import jobs

pytestmark = pytest.mark.browser

FOLDER_BOX = "Music folder (inside this server's music folders)"
OUTSIDE = "only folders inside this server's music folders can be used"


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM:
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def new_page(chromium, **options):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    return page


def network_address() -> str | None:
    """This machine's address on its network (the one its default route leaves from), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # UDP: no packet is sent, only the route chosen
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def open_home(page, url: str) -> None:
    page.goto(url)
    wait_idle(page)


def choose_folder_source(page) -> None:
    page.get_by_text("Music folder", exact=True).click()
    wait_idle(page)


def type_folder(page, text: str) -> None:
    box = page.get_by_role("textbox", name=FOLDER_BOX)
    box.fill(text)
    box.press("Enter")
    wait_idle(page)


def running_build(home) -> None:
    """A build running now, as the build process writes its status (this test's own pid: alive)."""
    state = {
        "state": "running", "pid": os.getpid(), "started_at": jobs._now(), "finished_at": None,
        "stage": "features", "done": 1, "total": 4, "info": "", "stages": [{"name": "features"}],
        "notes": [], "error": None, "options": {"source": "demo"}, "epochs": [],
    }  # fmt: skip
    (home / jobs.STATUS_FILE).write_text(json.dumps(state))


def test_the_owner_on_this_machine_builds_and_a_visitor_cannot(chromium, tmp_path):
    if not (address := network_address()):
        pytest.skip("this machine has no network address besides loopback")
    home = tmp_path / "home"
    for i in range(2):
        write_audio(home / "music" / "class" / f"song{i}.wav", tone(4.0, freq=300 + 200 * i), 22_050)
    with serve(home, tmp_path / "streamlit.log", address="0.0.0.0") as url:
        owner = new_page(chromium)
        visitor = new_page(chromium)
        open_home(owner, url)
        open_home(visitor, url.replace("127.0.0.1", address))

        assert owner.get_by_role("button", name="Build the catalog").count() == 1
        choose_folder_source(owner)
        type_folder(owner, "/etc/shadow")
        assert OUTSIDE in main_text(owner)
        type_folder(owner, "class")
        assert "2 audio files" in main_text(owner)

        assert "The owner of this server builds one" in main_text(visitor)
        assert visitor.get_by_role("button", name="Build the catalog").count() == 0
        assert visitor.get_by_role("textbox", name=FOLDER_BOX).count() == 0
        assert visitor.get_by_text("Music folder", exact=True).count() == 0

        running_build(home)
        try:
            for page in (owner, visitor):
                page.reload()
                page.get_by_text("Building the demo catalog").first.wait_for()
            owner.get_by_role("button", name="Cancel the build").wait_for()
            assert visitor.get_by_role("button", name="Cancel the build").count() == 0
        finally:
            (home / jobs.STATUS_FILE).unlink(missing_ok=True)


def test_behind_a_proxy_on_this_machine_only_the_password_makes_the_owner(chromium, tmp_path):
    home = tmp_path / "home"
    env = {"MUSICREC_TRUST_LOOPBACK": "0", "MUSICREC_OWNER_PASSWORD": "class of 2026"}
    with serve(home, tmp_path / "streamlit.log", env=env) as url:
        page = new_page(chromium)
        open_home(page, url)
        assert page.get_by_role("button", name="Build the catalog").count() == 0
        assert page.get_by_role("textbox", name=FOLDER_BOX).count() == 0
        assert "class of 2026" not in (home / "owner.json").read_text()

        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Owner", exact=True).click()
        sidebar.get_by_label("Owner password").fill("not it")
        sidebar.get_by_role("button", name="Unlock").click()
        sidebar.get_by_text("wrong password").wait_for()
        assert page.get_by_role("button", name="Build the catalog").count() == 0

        sidebar.get_by_label("Owner password").fill("class of 2026")
        sidebar.get_by_role("button", name="Unlock").click()
        page.get_by_role("button", name="Build the catalog").wait_for()
        choose_folder_source(page)
        type_folder(page, "/")
        assert OUTSIDE in main_text(page)
