"""A whole class at once: N students in N browser contexts of one Chromium, against one server.

    python bench/classroom.py [--home DIR] [--students 1 4 8 16] [--tracks 96] [--json FILE] [--board]
    python bench/classroom.py --board --students          # only the board's cost, no class

Each student does what a class does in its first ten minutes, all students at the same
moment: open Home; create a profile with its PIN in the sidebar; open Explore; open a Song
page by a link (a fresh page load of ``/song?track=ID&user=NAME``, as a shared link or a
reload gives), give the profile's PIN again there, and press Play; open "Upload a clip"
and upload a 20-s clip of their own (cut from a catalog song). Every browser is a visitor. The server is ``streamlit run app.py``, started once for every N, on a
demo catalog built into ``--home`` (default ``artifacts/classroom/home``; built with
``python -m recommender build --source demo --tracks 96`` if missing, a few minutes).
After a warm-up student (the model loads once), the runs go N = 1, 4, 8, 16, then N = 1
again: the server should be back to single-student speed.

Printed per N: each step's median and p95 seconds across students; errors (exceptions
and error messages on any page, or a step that never finished); lost or mixed state (a
student who does not see their own profile after a step, their own song on the Song
page, their own clip's name after the upload, or whose plays in the database are not
exactly one play of their song); how many students saw their clip wait in line; the
server's resident memory at peak and its growth per extra session; the CPU seconds the
server and Chromium used (on a shared 2-core machine most of a page step's time is the
browser's rendering).

``--board``: the class board (``pages/board.py``, the projector's page) stays open in its own
browser while the students work, and before the class the server's CPU per board refresh is
measured against its CPU per Song page: the server's CPU over ``BOARD_WATCH_S`` seconds with
only the board open, less the same time with no browser at all, divided by the refreshes in
that time; then ``SONG_LOADS`` Song pages loaded one after another (a fresh page load each,
as a link gives), less idle, divided by their number. The board is measured twice: with
nothing new (each refresh is answered from the store's remembered read) and while a writer
adds a play every second (each refresh reads the database again).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/test_browser.py imports its neighbour fixtures.py

from bench.app import start_server  # noqa: E402
from recommender.store import Store  # noqa: E402
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

STEPS = ["home", "profile", "explore", "song", "play", "upload_page", "upload"]
STEP_TIMEOUT_S = 240.0
CLIP_SECONDS = 20
BOARD_WATCH_S = 40.0
SONG_LOADS = 8


# ---- the catalog -----------------------------------------------------------------------------------
def ensure_catalog(home: Path, tracks: int) -> None:
    if (home / "build.json").is_file():
        return
    print(f"building a {tracks}-song demo catalog in {home} (a few minutes) …", flush=True)
    cmd = [sys.executable, "-m", "recommender", "build", "--source", "demo", "--tracks", str(tracks)]
    subprocess.run([*cmd, "--home", str(home)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def make_clips(home: Path, folder: Path, n: int, *, tag: str) -> list[Path]:
    """``n`` different 20-s WAV clips cut from catalog songs."""
    tracks = Store(home / "musicrec.duckdb").tracks()
    clips = []
    for i in range(n):
        row = tracks.iloc[(i * 7 + 3) % len(tracks)]
        y, sr = sf.read(row["audio_path"], dtype="float32", always_2d=False)
        start = (i % 3) * sr
        path = folder / f"clip-{tag}-{i}.wav"
        sf.write(path, y[start : start + CLIP_SECONDS * sr], sr)
        clips.append(path)
    return clips


# ---- measuring the server ----------------------------------------------------------------------------
def tree(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def rss_mb(pid: int) -> float:
    return sum(p.memory_info().rss for p in tree(pid)) / 2**20


def cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def chromium_cpu(server_pid: int) -> dict[int, float]:
    """CPU seconds so far of each Chromium process (browser, GPU, renderers) this benchmark started."""
    mine = psutil.Process(os.getpid()).children(recursive=True)
    return {p.pid: cpu_s([p]) for p in mine if p.pid != server_pid and "chrom" in (p.name() or "").lower()}


async def sample_rss(pid: int, out: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        out.append(rss_mb(pid))
        await asyncio.sleep(0.25)


# ---- one student ---------------------------------------------------------------------------------------
async def wait_idle(page, *, settle_s: float = 0.4) -> None:
    """Until the app's script run is over ("notRunning" for ``settle_s`` in a row)."""
    await page.wait_for_selector('[data-testid="stMain"] h1', timeout=STEP_TIMEOUT_S * 1000)
    quiet = None
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while time.monotonic() < deadline:
        state = await page.evaluate("document.querySelector('[data-testid=stApp]')?.dataset.testScriptState")
        now = time.monotonic()
        if state != "notRunning":
            quiet = None
        elif quiet is None:
            quiet = now
        elif now - quiet >= settle_s:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the app kept running")


async def until(predicate, *, timeout: float = STEP_TIMEOUT_S, poll: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await predicate():
                return True
        except Exception:  # the page is between two renders
            pass
        await asyncio.sleep(poll)
    return False


async def errors_on(page) -> list[str]:
    found = []
    for selector in ('[data-testid="stException"]', '[data-testid="stAlertContentError"]'):
        loc = page.locator(selector)
        for i in range(await loc.count()):
            found.append((await loc.nth(i).inner_text())[:200])
    return found


async def profile_shown(page) -> str:
    box = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Profile")
    return await box.input_value() if await box.count() else ""


PIN = "2468"  # every student's profile PIN


class Student:
    def __init__(self, name: str, track_id: int, title: str, clip: Path):
        self.name, self.track_id, self.title, self.clip = name, track_id, title, clip
        self.times: dict[str, float] = {}
        self.errors: list[str] = []
        self.wrong: list[str] = []  # lost or mixed state, in words
        self.queued = False

    async def check_profile(self, page, step: str) -> None:
        shown = await profile_shown(page)
        if shown != self.name:
            self.wrong.append(f"{step}: profile shows {shown!r}")

    async def step(self, page, name: str, action, done) -> None:
        start = time.perf_counter()
        await action()
        ok = await until(done)
        await wait_idle(page)
        self.times[name] = time.perf_counter() - start
        if not ok:
            self.errors.append(f"{name}: not finished within {STEP_TIMEOUT_S:.0f} s")
        self.errors += [f"{name}: {e}" for e in await errors_on(page)]

    async def run(self, browser, url: str, done: asyncio.Event, leave: asyncio.Event) -> None:
        """The student's flow; then ``done`` is set and the session stays open until ``leave`` is."""
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_S * 1000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        main = page.locator('[data-testid="stMain"]')
        try:

            async def create_profile():
                if not await sidebar.get_by_label("Name", exact=True).is_visible():
                    await sidebar.get_by_text("New profile").click()
                await sidebar.get_by_label("Name", exact=True).fill(self.name)
                await sidebar.get_by_label("PIN", exact=True).fill(PIN)
                await sidebar.get_by_role("button", name="Create profile").click()

            async def give_pin():  # a page load is a new session: the profile asks for its PIN again
                await sidebar.get_by_label("PIN of the profile").fill(PIN)
                await sidebar.get_by_label("PIN of the profile").press("Enter")

            async def opened():
                return "Lock this profile" in await sidebar.inner_text()

            async def upload():
                await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
                    str(self.clip)
                )

            async def heard():
                text = await main.inner_text()
                if "waiting its turn" in text or " is next: " in text:
                    self.queued = True
                return "the model hears" in text and self.clip.name in text

            async def explore_shown():
                return "Explore" in await page.locator("h1").first.inner_text()

            async def upload_shown():
                return "Upload a clip" in await page.locator("h1").first.inner_text()

            await self.step(page, "home", lambda: page.goto(url), lambda: _true())
            await self.step(page, "profile", create_profile, lambda: _is(profile_shown(page), self.name))
            await self.check_profile(page, "profile")
            await self.step(
                page, "explore", lambda: sidebar.get_by_role("link", name="Explore").click(), explore_shown
            )
            await self.check_profile(page, "explore")
            link = f"{url}/song?track={self.track_id}&user={self.name}"
            await self.step(
                page, "song", lambda: page.goto(link), lambda: _has(page.locator("h1").first, self.title)
            )
            await self.step(page, "pin", give_pin, opened)
            await self.check_profile(page, "song")
            if self.title not in await page.locator("h1").first.inner_text():
                self.wrong.append("song: not this student's song")
            play = page.get_by_role("button", name="Play").first
            await self.step(page, "play", play.click, lambda: _count(page.locator('[data-testid="stAudio"]')))
            await self.step(
                page,
                "upload_page",
                lambda: sidebar.get_by_role("link", name="Upload a clip").click(),
                upload_shown,
            )
            await self.step(page, "upload", upload, heard)
            await self.check_profile(page, "upload")
            if self.clip.name not in await main.inner_text():
                self.wrong.append("upload: not this student's clip")
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        finally:
            done.set()
            await leave.wait()
            await context.close()


async def _true() -> bool:
    return True


async def _is(value, expected) -> bool:
    return (await value) == expected


async def _has(locator, text: str) -> bool:
    return text in await locator.inner_text()


async def _count(locator) -> bool:
    return await locator.count() > 0


# ---- a class ---------------------------------------------------------------------------------------------
async def run_class(browser, url: str, server_pid: int, students: list[Student]) -> dict:
    baseline = rss_mb(server_pid)
    samples: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(server_pid, samples, stop))
    server_cpu0 = cpu_s(tree(server_pid))
    chrome0 = chromium_cpu(server_pid)
    start = time.perf_counter()
    done = [asyncio.Event() for _ in students]
    leave = asyncio.Event()
    flows = asyncio.gather(*(s.run(browser, url, d, leave) for s, d in zip(students, done, strict=True)))
    for d in done:
        await d.wait()
    wall = time.perf_counter() - start
    server_cpu = cpu_s(tree(server_pid)) - server_cpu0
    # New renderers count whole; exited ones are in their parent's children times.
    chrome_cpu = sum(t - chrome0.get(pid, 0.0) for pid, t in chromium_cpu(server_pid).items())
    await asyncio.sleep(1.0)  # the last reruns settle
    with_sessions = rss_mb(server_pid)  # every student's session still open
    leave.set()
    await flows
    stop.set()
    await sampler
    return {
        "wall_s": wall,
        "rss_baseline_mb": baseline,
        "rss_peak_mb": max(samples + [with_sessions]),
        "rss_after_mb": with_sessions,
        "server_cpu_s": server_cpu,
        "chromium_cpu_s": chrome_cpu,
    }


def check_database(home: Path, students: list[Student]) -> None:
    """Every student's plays, as the database has them: exactly one play, of their own song."""
    store = Store(home / "musicrec.duckdb")
    users = set(store.users())
    for s in students:
        if s.name not in users:
            s.wrong.append("database: no such profile")
            continue
        plays = store.history(s.name)["track_id"].tolist()
        if plays != [s.track_id] and not any(e.startswith("play") for e in s.errors):
            s.wrong.append(f"database: plays {plays}, expected [{s.track_id}]")


def summarise(n: int, students: list[Student], measured: dict) -> dict:
    steps = {}
    for step in STEPS:
        values = sorted(s.times[step] for s in students if step in s.times)
        if values:
            p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
            steps[step] = {"median": statistics.median(values), "p95": p95, "n": len(values)}
    return {
        "students": n,
        "steps": steps,
        "errors": [e for s in students for e in s.errors],
        "wrong": [f"{s.name} {w}" for s in students for w in s.wrong],
        "queued": sum(s.queued for s in students),
        **measured,
    }


def report(result: dict, single_upload: float | None) -> None:
    n = result["students"]
    cores = os.cpu_count() or 1
    print(f"\nN = {n}: {result['wall_s']:.1f} s for the whole class")
    for step, v in result["steps"].items():
        print(f"  {step:<12} median {v['median']:6.2f} s   p95 {v['p95']:6.2f} s   ({v['n']} students)")
    if single_upload and "upload" in result["steps"]:
        ideal = max(single_upload, n * single_upload / cores)
        ratio = result["steps"]["upload"]["p95"] / ideal
        result["upload_ratio"] = ratio
        print(f"  upload p95 vs max(single, N x single / {cores} cores) = {ideal:.1f} s: {ratio:.2f}x")
    print(f"  errors: {len(result['errors'])}   lost or mixed: {len(result['wrong'])}   clips that waited: "
          f"{result['queued']}")  # fmt: skip
    for line in (result["errors"] + result["wrong"])[:10]:
        print(f"    {line}")
    growth = (result["rss_after_mb"] - result["rss_baseline_mb"]) / n
    print(f"  server RSS: {result['rss_baseline_mb']:.0f} MB before, peak {result['rss_peak_mb']:.0f} MB, "
          f"{result['rss_after_mb']:.0f} MB with every session open: {growth:+.1f} MB per session")  # fmt: skip
    steps = sum(v["n"] for v in result["steps"].values())
    print(f"  CPU: server {result['server_cpu_s']:.1f} s ({result['server_cpu_s'] / steps:.2f} s per student step), "
          f"Chromium {result['chromium_cpu_s']:.1f} s, of {cores * result['wall_s']:.0f} core-s")  # fmt: skip


# ---- the class board's cost ------------------------------------------------------------------------
async def server_cpu_over(server_pid: int, seconds: float, during=None) -> float:
    """The server's CPU seconds over ``seconds`` of wall time (``during``: a coroutine run meanwhile)."""
    before = cpu_s(tree(server_pid))
    task = asyncio.create_task(during) if during is not None else None
    await asyncio.sleep(seconds)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return cpu_s(tree(server_pid)) - before


async def keep_playing(home: Path, track_id: int) -> None:
    """A play every second, by another process's hand (as the command line would): the board's read
    is stale at every refresh."""
    store = Store(home / "musicrec.duckdb")
    while True:
        await asyncio.to_thread(store.record_play, "board-bench", track_id, source="cli")
        await asyncio.sleep(1.0)


async def board_cost(browser, url: str, server_pid: int, home: Path, tracks) -> dict:
    from recommender.board import REFRESH_S

    track = int(tracks["track_id"].iloc[0])
    idle = await server_cpu_over(server_pid, BOARD_WATCH_S)
    writes = await server_cpu_over(server_pid, BOARD_WATCH_S, keep_playing(home, track))
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_S * 1000)
    await page.goto(f"{url}/board")
    await page.locator("h1").get_by_text("Class board").wait_for()
    await asyncio.sleep(2 * REFRESH_S)  # the first runs settle
    quiet = await server_cpu_over(server_pid, BOARD_WATCH_S)
    busy = await server_cpu_over(server_pid, BOARD_WATCH_S, keep_playing(home, track))
    await context.close()
    await asyncio.sleep(1.0)
    song_page = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await song_page.new_page()
    page.set_default_timeout(STEP_TIMEOUT_S * 1000)
    await page.goto(f"{url}/song?track={int(tracks['track_id'].iloc[1])}")  # warm: the model is loaded
    await wait_idle(page)
    before, start = cpu_s(tree(server_pid)), time.perf_counter()
    for i in range(SONG_LOADS):
        await page.goto(f"{url}/song?track={int(tracks['track_id'].iloc[(i + 2) % len(tracks)])}")
        await wait_idle(page)
    song_wall = time.perf_counter() - start
    song_cpu = cpu_s(tree(server_pid)) - before - idle / BOARD_WATCH_S * song_wall
    await song_page.close()
    refreshes = BOARD_WATCH_S / REFRESH_S
    result = {
        "idle_cpu_s": idle,
        "board_refresh_cpu_s": max(quiet - idle, 0.0) / refreshes,
        "board_refresh_cpu_s_with_writes": max(busy - writes, 0.0) / refreshes,
        "song_page_cpu_s": song_cpu / SONG_LOADS,
    }
    print(
        f"\nclass board: server CPU per refresh {result['board_refresh_cpu_s'] * 1000:.0f} ms "
        f"(nothing new), {result['board_refresh_cpu_s_with_writes'] * 1000:.0f} ms (a play every second); "
        f"per Song page {result['song_page_cpu_s'] * 1000:.0f} ms; idle server {idle / BOARD_WATCH_S * 100:.1f} % "
        f"of a core; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result


async def main_async(args) -> list[dict]:
    from playwright.async_api import async_playwright

    home = Path(args.home).resolve()
    ensure_catalog(home, args.tracks)
    work = Path(tempfile.mkdtemp(prefix="musicrec-classroom-"))
    served = work / "home"
    shutil.copytree(home, served)  # profiles and plays of a run never reach the cached catalog
    tracks = Store(served / "musicrec.duckdb").tracks()
    os.environ["MUSICREC_TRUST_LOOPBACK"] = "0"  # every browser a visitor, as students are
    proc, url, started = start_server(served)
    print(f"server up in {started:.1f} s at {url} (pid {proc.pid}); catalog: {len(tracks)} songs", flush=True)
    results = []
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            plan = (
                [("warm-up", 1), *((f"n{n}", n) for n in args.students), ("again", 1)]
                if args.students
                else []
            )
            board_page = None
            if args.board:
                results.append({"run": "board", **await board_cost(browser, url, proc.pid, served, tracks)})
                board_page = await (await browser.new_context()).new_page()
                await board_page.goto(f"{url}/board")  # open while every class below works
            single_upload = None
            for tag, n in plan:
                clips = make_clips(served, work, n, tag=tag)
                students = []
                for i in range(n):
                    row = tracks.iloc[(i * 5 + len(results)) % len(tracks)]
                    students.append(
                        Student(f"{tag}-student-{i}", int(row["track_id"]), str(row["title"]), clips[i])
                    )
                measured = await run_class(browser, url, proc.pid, students)
                check_database(served, students)
                result = summarise(n, students, measured) | {"run": tag}
                if tag == "warm-up":
                    print(f"warm-up student: {measured['wall_s']:.1f} s (loads the model)", flush=True)
                    continue
                if n == 1 and single_upload is None and "upload" in result["steps"]:
                    single_upload = result["steps"]["upload"]["median"]
                report(result, single_upload)
                results.append(result)
                await asyncio.sleep(2)  # let closed sessions go
            await browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=str(ROOT / "artifacts" / "classroom" / "home"))
    parser.add_argument("--students", type=int, nargs="*", default=[1, 4, 8, 16], help="none: no class runs")
    parser.add_argument("--tracks", type=int, default=96)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--board", action="store_true", help="the class board open; its cost per refresh")
    args = parser.parse_args()
    if not CHROMIUM:
        sys.exit("no chromium on this machine (apt-get install chromium)")
    results = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
