"""The app in a real browser: `streamlit run app.py` driven by headless Chromium.

Skipped by default; run with ``pytest -m browser``. Needs Debian's ``chromium``
(``apt-get install chromium``) and Playwright for Python (``pip install playwright``;
no ``playwright install``: the system Chromium is used). Screenshots of every page go
to ``screenshots/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fixtures import copy_home, tone, write_audio

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
PAGES = ["", "explore", "discover", "search", "song", "upload", "for_you", "playlists", "history", "model"]
LOAD_TIMEOUT_MS = 90_000
PIN = "4321"  # every profile the tests make has this PIN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@contextlib.contextmanager
def serve(home: Path, log: Path, *, env: dict[str, str] | None = None, address: str = "127.0.0.1"):
    """``streamlit run app.py`` on a free port with ``MUSICREC_HOME=home`` (and ``env``), listening on
    ``address``; yields its URL on localhost."""
    port = _free_port()
    env = os.environ | {"MUSICREC_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"} | (env or {})
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.port", str(port), "--server.address", address, "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def private_home(built_home, tmp_path_factory) -> Path:
    """A private copy of the built catalog: the browser creates profiles and plays in it."""
    home = tmp_path_factory.mktemp("browser") / "home"
    copy_home(built_home, home)
    return home


@pytest.fixture(scope="module")
def server(private_home, tmp_path_factory):
    with serve(private_home, tmp_path_factory.mktemp("log") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(LOAD_TIMEOUT_MS)
    yield pg
    context.close()


def wait_idle(pg, *, settle_s: float = 1.0, poll_s: float = 0.2) -> None:
    """Wait until the script run is over: the app says "notRunning" for ``settle_s`` in a row.

    Also used by bench/app.py, which polls faster (``poll_s``) to time page loads.
    """
    pg.wait_for_selector('[data-testid="stMain"] h1', timeout=LOAD_TIMEOUT_MS)
    deadline = time.monotonic() + LOAD_TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        state = pg.evaluate("document.querySelector('[data-testid=stApp]')?.dataset.testScriptState")
        now = time.monotonic()
        if state != "notRunning":
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= settle_s:
            return
        time.sleep(poll_s)
    raise TimeoutError("the app kept running")


def new_profile_form(sidebar) -> None:
    """Make sure the sidebar's "New profile" form shows: open its expander unless it is open (it is
    open while there is no profile). Waits a moment first: a click on an open expander would close it."""
    try:
        sidebar.get_by_label("Name", exact=True).wait_for(state="visible", timeout=5_000)
    except Exception:  # playwright's TimeoutError: the expander is closed
        sidebar.get_by_text("New profile").click()
        sidebar.get_by_label("Name", exact=True).wait_for(state="visible")


def assert_no_errors(pg) -> None:
    exceptions = pg.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    errors = pg.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_without_errors(server, page, name):
    url = f"{server}/{name}" + ("?track=1" if name == "song" else "")
    page.goto(url)
    wait_idle(page)
    assert_no_errors(page)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name or 'home'}.png"), full_page=True)


def test_home_labels_the_demo_as_synthesised(server, page):
    page.goto(server)
    wait_idle(page)
    assert "synthesised audio" in page.locator('[data-testid="stMain"]').inner_text()


def test_map_renders_as_webgl_and_a_click_opens_the_song(server, page):
    page.goto(f"{server}/explore")
    wait_idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    chart.wait_for()
    assert chart.locator("canvas").count() > 0  # scattergl draws on WebGL canvases
    # Click the first song's dot: its pixel position from plotly's own axes.
    point = chart.evaluate(
        """gd => {
            const t = gd._fullData[0], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            const box = gd.getBoundingClientRect();
            return {x: box.left + xa._offset + xa.d2p(t.x[0]), y: box.top + ya._offset + ya.d2p(t.y[0]),
                    title: t.text[0]};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/song*", timeout=LOAD_TIMEOUT_MS)
    wait_idle(page)
    assert point["title"].split(" — ")[0] in page.locator("h1").first.inner_text()
    assert_no_errors(page)


def test_song_page_draws_the_spectrogram(server, page):
    page.goto(f"{server}/song?track=1")
    wait_idle(page)
    charts = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    charts.nth(1).wait_for(timeout=LOAD_TIMEOUT_MS)  # plotly draws after the script run ends
    assert charts.count() >= 2
    heatmap = page.locator(".js-plotly-plot .heatmaplayer image, .js-plotly-plot .hm image")
    heatmap.first.wait_for()
    assert "mel frequency (Hz)" in charts.first.inner_text()
    page.screenshot(path=str(SHOTS / "song-spectrogram.png"))


def test_a_text_file_named_mp3_shows_a_clear_error(server, page, tmp_path):
    fake = tmp_path / "not-audio.mp3"
    fake.write_text("<html>404 Not Found</html>\n")
    page.goto(f"{server}/upload")
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(fake))
    error = page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for(timeout=LOAD_TIMEOUT_MS)
    assert "not-audio.mp3" in error.first.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_profile_plays_a_song_and_sees_it_in_history(server, page):
    """In-app navigation keeps the session (a page load would start a new one, without the profile)."""
    page.goto(server)
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    name = f"browser-{int(time.time() * 1000) % 100000}"
    new_profile_form(sidebar)
    sidebar.get_by_label("Name").fill(name)
    sidebar.get_by_label("PIN", exact=True).fill(PIN)
    sidebar.get_by_role("button", name="Create profile").click()  # a form: the name goes with the click
    wait_idle(page)
    assert sidebar.get_by_role("combobox", name="Profile").input_value() == name

    sidebar.get_by_role("link", name="Explore").click()
    wait_idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    point = chart.evaluate(
        """gd => {
            const t = gd._fullData[1], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            const box = gd.getBoundingClientRect();
            return {x: box.left + xa._offset + xa.d2p(t.x[0]), y: box.top + ya._offset + ya.d2p(t.y[0])};
        }"""
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/song*", timeout=LOAD_TIMEOUT_MS)
    wait_idle(page)
    page.get_by_role("button", name="Play").first.click()
    wait_idle(page)
    assert page.locator('[data-testid="stAudio"]').count() == 1

    sidebar.get_by_role("link", name="History").click()
    wait_idle(page)
    assert "1 play and 0 skips of 1 song" in page.locator('[data-testid="stMain"]').inner_text()
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "history-after-play.png"))


def test_a_deep_link_to_a_fresh_server_goes_through_the_router(private_home, page, tmp_path):
    """The first visitor of a new server opens a page URL directly: still the app's sidebar, no error.

    (With a folder named pages/, Streamlit would run that page file on its own; see
    ``pages/_routing.ensure_routed``.)
    """
    with serve(private_home, tmp_path / "streamlit.log") as url:
        page.goto(f"{url}/explore")
        wait_idle(page)
        assert_no_errors(page)
        assert page.locator('[role="dialog"]').count() == 0  # no "page not found"
        assert "Explore" in page.locator("h1").first.inner_text()
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert sidebar.get_by_role("combobox", name="Profile").count() == 1
        assert "synthesised audio" in sidebar.inner_text()


# ---- builds from the app ---------------------------------------------------------------------------
def main_text(pg) -> str:
    return pg.locator('[data-testid="stMain"]').inner_text()


def wait_text(
    pg, text: str, *, where: str = '[data-testid="stMain"]', timeout_ms: int = LOAD_TIMEOUT_MS
) -> None:
    """Wait until ``text`` shows in ``where``: for pages that never go idle (a build polls every second)."""
    pg.locator(where).get_by_text(text).first.wait_for(timeout=timeout_ms)


def metrics(pg) -> dict[str, str]:
    """The page's metrics, label → value, as shown."""
    shown = {}
    for text in pg.locator('[data-testid="stMetric"]').all_inner_texts():
        parts = [part.strip() for part in text.split("\n") if part.strip()]
        shown[parts[0]] = parts[-1]
    return shown


def _music_folder(root: Path) -> Path:
    """Six 4-s WAV songs in two genre folders, different tones per genre."""
    for i in range(6):
        genre, freq = ("Low", 110 + 20 * i) if i % 2 else ("High", 880 + 40 * i)
        write_audio(root / genre / f"song{i}.wav", tone(4.0, freq=freq, seed=i), 22_050)
    return root


def test_a_music_folder_becomes_a_catalog_from_the_home_page_and_the_server_stays_quiet(browser, tmp_path):
    music = _music_folder(tmp_path / "home" / "music" / "class")  # inside the home's music folder
    log = tmp_path / "streamlit.log"
    with serve(tmp_path / "home", log) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(LOAD_TIMEOUT_MS)
        page.goto(url)
        wait_idle(page)
        page.get_by_text("Music folder", exact=True).click()
        box = page.get_by_role("textbox", name="Music folder (inside this server's music folders)")
        box.fill(str(music))
        box.press("Enter")
        wait_text(page, "6 audio files, 2 folders as genres")
        page.get_by_role("button", name="Build the catalog").click()
        wait_text(page, "Building: ", where='[data-testid="stSidebar"]')  # every page shows it
        wait_text(page, "The new catalog is built and in use", timeout_ms=600_000)
        wait_idle(page)
        shown = metrics(page)
        assert (shown["Source"], shown["Songs"], shown["Genres"]) == ("Folder", "6", "2")
        assert "Building" not in page.locator('[data-testid="stSidebar"]').inner_text()
        page.close()
    server_lines = log.read_text().splitlines()
    assert not [line for line in server_lines if "Traceback" in line or "ScriptRunContext" in line]
    assert len(server_lines) <= 8, server_lines  # the banner, "Stopping…": the build writes to its own log


def test_a_reload_shows_the_running_build_and_cancel_keeps_the_catalog(server, private_home, page):
    from recommender import jobs

    page.goto(server)
    wait_idle(page)
    page.get_by_text("Build another catalog").click()
    page.get_by_label("Songs").fill("4000")  # long enough to be cancelled while it synthesises
    page.get_by_label("Songs").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Build it").click()
    try:
        wait_text(page, "Building the demo catalog")
        page.reload()
        wait_text(page, "Building the demo catalog")
        page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first.wait_for()
        wait_text(page, "Building: ", where='[data-testid="stSidebar"]')
        page.get_by_role("button", name="Cancel the build").click()
        wait_text(page, "The last build was cancelled", timeout_ms=120_000)
    finally:
        jobs.cancel(private_home)  # whatever happened above, no build outlives the test
    assert "Building" not in main_text(page)
    assert metrics(page)["Songs"] == "24"  # the catalog as it was


# ---- one player, playlists ----------------------------------------------------------------------------
def test_one_player_at_a_time_play_then_a_neighbour(server, private_home, page):
    from recommender.catalog import Catalog

    catalog = Catalog.open(private_home)
    page.goto(f"{server}/song?track=1")
    wait_idle(page)
    page.get_by_role("button", name="Play").first.click()
    wait_idle(page)
    assert page.locator("audio").count() == 1
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert catalog.track(1)["title"] in sidebar.inner_text()
    first_source = page.locator("audio").get_attribute("src")
    neighbour_id = int(catalog.similar(1, k=10).iloc[0]["track_id"])
    neighbour = catalog.track(neighbour_id)["title"]
    page.locator(f".st-key-song_similar-play-0-{neighbour_id} button").first.click()
    wait_idle(page)
    assert page.locator("audio").count() == 1  # the neighbour replaced the song: one player
    assert page.locator("audio").get_attribute("src") != first_source
    assert neighbour in sidebar.inner_text() and catalog.track(1)["title"] not in sidebar.inner_text()
    page.screenshot(path=str(SHOTS / "one-player.png"))


def test_a_playlist_downloads_as_an_m3u8_that_lists_its_songs(server, private_home, page):
    from recommender.catalog import Catalog

    catalog = Catalog.open(private_home)
    user, tracks = "exporter", [3, 1, 2]
    catalog.store.create_playlist(user, "Road trip", tracks)
    page.goto(server)
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("combobox", name="Profile").click()
    page.get_by_role("option", name=user).click()
    wait_idle(page)
    # This browser is on the server machine, so it is the owner: it opens the profile without a PIN.
    sidebar.get_by_role("link", name="Playlists").click()
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="M3U8").click()
    download = info.value
    assert download.suggested_filename == "Road trip.m3u8"
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [line for line in lines if line and not line.startswith("#")]
    assert entries == [os.path.abspath(catalog.audio_path(t)) for t in tracks]
    for t in tracks:
        assert any(catalog.track(t)["title"] in line for line in lines if line.startswith("#EXTINF"))


def profile_shown(pg) -> str:
    return pg.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Profile").input_value()


@pytest.fixture
def class_server(private_home, tmp_path):
    """The app as students see it: every browser a visitor (as behind a proxy on this machine)."""
    with serve(private_home, tmp_path / "streamlit.log", env={"MUSICREC_TRUST_LOOPBACK": "0"}) as url:
        yield url


def test_four_students_at_once_keep_their_own_profiles_and_every_play(class_server, browser, private_home):
    """Four browsers act at the same moment: each step is started in all four, then awaited in all four."""
    server = class_server
    from recommender.store import Store

    store = Store(private_home / "musicrec.duckdb")
    tracks = store.tracks().head(4)
    stamp = int(time.time() * 1000) % 100000
    names = [f"class{stamp}-{i}" for i in range(4)]
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in names]
    pages = [c.new_page() for c in contexts]
    try:
        for pg in pages:
            pg.set_default_timeout(LOAD_TIMEOUT_MS)
            pg.goto(server)
        for pg, name in zip(pages, names, strict=True):
            wait_idle(pg)
            sidebar = pg.locator('[data-testid="stSidebar"]')
            new_profile_form(sidebar)
            sidebar.get_by_label("Name").fill(name)
            sidebar.get_by_label("PIN", exact=True).fill(PIN)
        for pg in pages:  # four profiles created at the same moment
            pg.locator('[data-testid="stSidebar"]').get_by_role("button", name="Create profile").click()
        for pg in pages:
            wait_idle(pg)
        assert [profile_shown(pg) for pg in pages] == names

        for pg in pages:
            pg.locator('[data-testid="stSidebar"]').get_by_role("link", name="Explore").click()
        for pg in pages:
            wait_idle(pg)
            assert "Explore" in pg.locator("h1").first.inner_text()
        assert [profile_shown(pg) for pg in pages] == names

        assert [f"user={name}" in pg.url for pg, name in zip(pages, names, strict=True)] == [True] * 4
        for pg, name, track_id in zip(pages, names, tracks["track_id"], strict=True):
            pg.goto(f"{server}/song?track={track_id}&user={name}")  # a link to a song, with the profile
        for pg in pages:
            wait_idle(pg)  # a page load is a new session: the profile's PIN once more
            pg.locator('[data-testid="stSidebar"]').get_by_label("PIN of the profile").fill(PIN)
            pg.locator('[data-testid="stSidebar"]').get_by_label("PIN of the profile").press("Enter")
        for pg in pages:
            wait_idle(pg)
            pg.get_by_role("button", name="Play").first.click()  # four plays at the same moment
        for pg, title in zip(pages, tracks["title"], strict=True):
            wait_idle(pg)
            assert title in pg.locator("h1").first.inner_text()
            assert pg.locator('[data-testid="stAudio"]').count() == 1
        assert [profile_shown(pg) for pg in pages] == names

        for pg in pages:  # the whole class presses reload
            pg.reload()
        for pg in pages:
            wait_idle(pg)
            assert_no_errors(pg)
        assert [profile_shown(pg) for pg in pages] == names
    finally:
        for c in contexts:
            c.close()
    assert [store.history(n)["track_id"].tolist() for n in names] == [[int(t)] for t in tracks["track_id"]]
    assert set(names) <= set(store.users())
