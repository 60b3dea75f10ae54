"""App responsiveness: start-up with a built catalog, warm interactions, and the map at 100 000 songs.

    python bench/app.py [--home DIR] [--repeat N] [--points N] [--browser] [--skip-apptest]

For FMA-full scale, make a 106 574-track catalog first with ``bench/fake_catalog.py``.

Without ``--home`` a tiny demo catalog (24 songs, 2 epochs) is built in a temporary
folder first. Prints:

- server start: ``streamlit run app.py`` until its health check answers; with
  ``--browser`` also the cold start (``streamlit run`` until headless Chromium shows the
  Home page, target <= 8 s), the Explore, Search and Song pages opened by URL, and the
  server's resident memory after each page (target <= 2 GB);
- first render of the app in AppTest (a fresh process: imports included);
- warm interactions in one AppTest session (median of ``--repeat``): a search, opening a
  song (spectrogram, genre bars, similar songs with their reasons), changing how many
  similar songs, the map page;
- the same questions asked of ``Catalog`` directly (no Streamlit);
- the map at ``--points`` songs: figure build, JSON size, and with ``--browser`` the time
  plotly.js takes to draw it and to redraw a panned view (WebGL).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The browser test's launch flags and its wait for a finished script run: one definition for both.
from tests.test_browser import CHROMIUM_ARGS, wait_idle  # noqa: E402

COLD_START_TARGET_S = 8.0
RSS_TARGET_MB = 2048
SEARCH_TARGET_MS = 100.0


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory (MB) of process ``pid`` and its children, from /proc."""
    now = peak = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.is_file():
        pids += [int(c) for c in children.read_text().split()]
    for p in pids:
        status = dict(
            row.split(":", 1) for row in Path(f"/proc/{p}/status").read_text().splitlines() if ":" in row
        )
        now += int(status["VmRSS"].split()[0]) / 1024
        peak += int(status["VmHWM"].split()[0]) / 1024
    return now, peak


def rss_line(label: str, pid: int) -> None:
    now, peak = rss_mb(pid)
    verdict = "ok" if peak <= RSS_TARGET_MB else "MISSES"
    print(f"  {label:<46} {now:6.0f} MB RSS, peak {peak:.0f} MB (target <= {RSS_TARGET_MB} MB: {verdict})")


def line(label: str, seconds: float | None, extra: str = "") -> None:
    value = "—" if seconds is None else f"{seconds * 1000:9.0f} ms"
    print(f"  {label:<46} {value}  {extra}")


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


# ---- a catalog --------------------------------------------------------------------------------
def build_tiny(home: Path) -> float:
    from recommender.build import BuildOptions, build

    start = time.perf_counter()
    build(BuildOptions(source="demo", tracks=24, epochs=2, seed=0), home=home)
    return time.perf_counter() - start


# ---- the server and a browser ----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    env = os.environ | {"MUSICREC_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - start < 120:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise TimeoutError("streamlit did not start within 120 s")


def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        return None, None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None, None
    p = sync_playwright().start()
    return p, p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)


def page_load(b, url: str, settle_s: float = 0.5) -> float:
    """Seconds until the page's script run is over (minus the quiet period used to detect it)."""
    page = b.new_page(viewport={"width": 1280, "height": 900})
    start = time.perf_counter()
    page.goto(url)
    wait_idle(page, settle_s=settle_s, poll_s=0.05)
    elapsed = time.perf_counter() - start - settle_s
    page.close()
    return elapsed


def first_track(home: Path) -> int:
    from recommender.catalog import Catalog

    return int(Catalog.open(home).tracks()["track_id"].iloc[0])


# ---- AppTest -------------------------------------------------------------------------------------
FIRST_RENDER = """
import os, sys, time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=300).run()
assert not at.exception, at.exception
print(time.perf_counter() - start)
"""


def apptest_first_render(home: Path) -> float:
    env = os.environ | {"MUSICREC_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(
        [sys.executable, "-c", FIRST_RENDER, str(ROOT / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def apptest_interactions(home: Path, repeat: int) -> None:
    from streamlit.runtime import pages_manager
    from streamlit.testing.v1 import AppTest

    from recommender.catalog import Catalog

    # As in tests/test_app.py: AppTest would start every run in the pages-folder mode and
    # the app would rerun out of it, timing two runs; the live server runs app.py directly.
    original = pages_manager.PagesManager.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        pages_manager.PagesManager.uses_pages_directory = False

    pages_manager.PagesManager.__init__ = init
    os.environ["MUSICREC_HOME"] = str(home)
    catalog = Catalog.open(home)
    ids = catalog.tracks()["track_id"].astype(int).tolist()
    title = catalog.track(ids[0])["title"]

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/search.py").run()
    queries = [title, title[:-1], title.split()[0]]
    search = timed(
        lambda: at.text_input(key="search_query").input(queries.pop(0) if queries else title).run(), repeat
    )

    at.switch_page("pages/song.py")
    picks = iter(ids * 3)

    def open_song() -> None:
        at.session_state["track_id"] = next(picks)
        at.run()

    first_song = timed(open_song, 1)[0]
    songs = timed(open_song, repeat)
    ks = iter([5, 15, 20, 25, 8, 12, 18, 22, 6, 9] * 3)
    similar = timed(lambda: at.slider(key="song_k").set_value(next(ks)).run(), repeat)
    at.switch_page("pages/explore.py")
    explore = timed(lambda: at.run(), repeat)

    print(f"warm interactions in one AppTest session (median of {repeat}; every run re-executes the page):")
    line("search typed", statistics.median(search))
    line("open a song, first (librosa beat-tracker compiles)", first_song)
    line("open a song (spectrogram, genres, 10 similar + why)", statistics.median(songs))
    line("change how many similar songs", statistics.median(similar))
    line("explore map page", statistics.median(explore), f"{len(ids)} songs")


def catalog_calls(home: Path, repeat: int) -> None:
    from recommender.catalog import Catalog

    catalog = Catalog.open(home)
    ids = catalog.tracks()["track_id"].astype(int).tolist()
    title = catalog.track(ids[0])["title"]
    catalog.similar(ids[0], k=10)  # loads the index
    catalog.similar_with_reasons(ids[0], k=10)  # compiles the beat tracker
    print(f"the same through Catalog directly (median of {repeat}):")
    line("search (typo-tolerant)", statistics.median(timed(lambda: catalog.search(title[:-1], k=20), repeat)))
    search_latencies(catalog, ids)
    line("similar, k=10", statistics.median(timed(lambda: catalog.similar(ids[1], k=10), repeat)))
    line(
        "similar with reasons, k=10 (11 beat trackings)",
        statistics.median(timed(lambda: catalog.similar_with_reasons(ids[2], k=10), repeat)),
    )
    line("map frame", statistics.median(timed(catalog.map_frame, repeat)))


def search_latencies(catalog, ids: list[int], n: int = 60) -> None:
    """p50/p95 of ``Catalog.search`` over varied queries: titles, artists, prefixes, typos, no match."""
    rng = np.random.default_rng(0)
    rows = catalog.store.tracks(track_ids=rng.choice(ids, size=n // 4, replace=False).tolist())
    queries = []
    for r in rows.itertuples():
        typo = r.title[:2] + r.title[3:] if len(r.title) > 4 else r.title
        queries += [r.title, r.artist, r.title.split()[0][:3], typo]
    queries += ["zzzz qqqq", "midnight", "the"]
    catalog.search(queries[0], k=50)  # first call: schema check
    times = np.array(timed_each(lambda q: catalog.search(q, k=50), queries)) * 1000
    p50, p95, worst = np.percentile(times, [50, 95, 100])
    verdict = "ok" if p95 <= SEARCH_TARGET_MS else "MISSES"
    print(
        f"  {f'search, {len(queries)} queries, k=50':<46} p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms "
        f"(target p95 <= {SEARCH_TARGET_MS:.0f} ms: {verdict})"
    )


def timed_each(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


# ---- the map at scale ------------------------------------------------------------------------------
def big_map(points: int, b) -> None:
    from recommender import plots

    rng = np.random.default_rng(0)
    genres = [f"genre {i:02d}" for i in range(16)]
    centres = rng.normal(scale=8, size=(len(genres), 2))
    g = rng.integers(0, len(genres), points)
    frame = pd.DataFrame(
        {
            "track_id": np.arange(points),
            "x": centres[g, 0] + rng.normal(size=points),
            "y": centres[g, 1] + rng.normal(size=points),
            "title": [f"Song {i}" for i in range(points)],
            "artist": [f"Artist {i % 5000}" for i in range(points)],
            "genre": [genres[i] for i in g],
        }
    )
    start = time.perf_counter()
    fig = plots.map_figure(frame, colors=plots.genre_colors(genres))
    built = time.perf_counter() - start
    start = time.perf_counter()
    payload = fig.to_json()
    encoded = time.perf_counter() - start
    print(f"the map at {points:,} songs:")
    line("figure (one Scattergl trace per genre)", built)
    line("to JSON", encoded, f"{len(payload) / 1e6:.1f} MB")
    if b is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "map.html"
        fig.write_html(html, include_plotlyjs=True, full_html=True, div_id="map")
        page = b.new_page(viewport={"width": 1280, "height": 900})
        start = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_function("document.getElementById('map')?._fullLayout !== undefined", timeout=120_000)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        line("first draw in Chromium (software WebGL)", time.perf_counter() - start)
        frames = page.evaluate(
            """async () => {
                const gd = document.getElementById('map'), xa = gd._fullLayout.xaxis.range.slice();
                const times = [];
                for (let i = 1; i <= 10; i++) {
                    const t = performance.now();
                    await Plotly.relayout(gd, {'xaxis.range': [xa[0] + i * 0.5, xa[1] + i * 0.5]});
                    await new Promise(r => requestAnimationFrame(r));
                    times.push(performance.now() - t);
                }
                return times;
            }"""
        )
        line("pan: redraw of a shifted view (median of 10)", statistics.median(frames) / 1000)
        page.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="a built catalog (default: build a tiny demo one)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--points", type=int, default=106_574)
    ap.add_argument("--browser", action="store_true", help="also measure in headless Chromium")
    ap.add_argument(
        "--skip-apptest", action="store_true", help="skip the AppTest figures (slow at 100k songs)"
    )
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tmp = None
    home = args.home
    if home is None:
        tmp = tempfile.TemporaryDirectory()
        home = Path(tmp.name) / "home"
        print("building a tiny demo catalog (24 songs, 2 epochs)…", file=sys.stderr)
        print(f"built the tiny demo catalog in {build_tiny(home):.1f} s")
    summary = json.loads((home / "build.json").read_text())
    print(f"catalog: {summary['source_label']}, {summary['tracks']} songs ({home})")

    p, b = browser() if args.browser else (None, None)
    if args.browser and b is None:
        print("(no chromium or playwright: browser figures skipped)")
    track = first_track(home)
    proc, url, up = start_server(home)
    try:
        print("start-up:")
        line("streamlit run → health check answers", up)
        rss_line("server memory, started", proc.pid)
        if b is not None:
            home_page = page_load(b, url)
            verdict = "ok" if up + home_page <= COLD_START_TARGET_S else "MISSES"
            line("Home page in Chromium (cold session)", home_page)
            line(
                "cold start: streamlit run → Home page shown",
                up + home_page,
                f"(target <= {COLD_START_TARGET_S:.0f} s: {verdict})",
            )
            rss_line("server memory after Home", proc.pid)
            line("Home page again (warm server)", page_load(b, url))
            line("Explore (map) page", page_load(b, f"{url}/explore"))
            rss_line("server memory after Explore", proc.pid)
            line("Search page", page_load(b, f"{url}/search"))
            rss_line("server memory after Search", proc.pid)
            line("Song page by URL", page_load(b, f"{url}/song?track={track}"))
            rss_line("server memory after Song", proc.pid)
            line("Explore (map) page again", page_load(b, f"{url}/explore"))
            rss_line("server memory after Explore again", proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    if not args.skip_apptest:
        line("app.py first render in AppTest (fresh process)", apptest_first_render(home))
        apptest_interactions(home, args.repeat)
    catalog_calls(home, args.repeat)
    big_map(args.points, b)
    if b is not None:
        b.close()
        p.stop()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
