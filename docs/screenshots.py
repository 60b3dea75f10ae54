"""The README's screenshots, taken from a built catalog in headless Chromium.

    python docs/screenshots.py --home artifacts/demo   # writes docs/screenshots/*.png

Serves the app on ``--home`` (as the browser tests do: tests/test_browser.py), creates
a profile "tour" with a playlist in it, and saves six pages as 960-px-wide PNGs. Needs
Debian's ``chromium`` and Playwright for Python, like the browser tests.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_browser import CHROMIUM, CHROMIUM_ARGS, serve, wait_idle  # noqa: E402

from recommender.catalog import Catalog  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
USER = "tour"
WIDTH = 960


def save(page, name: str) -> None:
    """The visible window, scaled to the README's width."""
    image = Image.open(io.BytesIO(page.screenshot()))
    image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    image.convert("RGB").save(OUT / f"{name}.png", optimize=True)
    print(OUT / f"{name}.png", file=sys.stderr)


def clip(seconds: float = 8.0, sr: int = 22_050) -> bytes:
    """A guitar-like plucked clip, different from every song of a demo catalog."""
    t = np.arange(int(seconds * sr)) / sr
    y = np.zeros_like(t)
    for i, freq in enumerate([196.0, 246.9, 293.7, 392.0, 293.7, 246.9] * 3):
        start = i * seconds / 18
        env = np.where(t >= start, np.exp(-(t - start) * 4.0), 0.0)
        y += env * sum(np.sin(2 * np.pi * freq * k * t) / k**1.5 for k in range(1, 6))
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * y / np.abs(y).max()).astype(np.float32), sr, format="WAV")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / "artifacts")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    catalog = Catalog.open(args.home)
    tracks = catalog.tracks()["track_id"].astype(int).tolist()
    song = tracks[len(tracks) // 3]
    if USER not in catalog.store.users() or "Evening" not in catalog.store.playlists(USER)["name"].tolist():
        catalog.store.create_playlist(
            USER, "Evening", catalog.path(tracks[0], tracks[-1], steps=6)["track_id"]
        )
    OUT.mkdir(parents=True, exist_ok=True)
    upload = args.home / "tour-clip.wav"
    upload.write_bytes(clip())
    with serve(args.home, Path("/tmp/musicrec-screenshots.log")) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1050})
        page.set_default_timeout(120_000)
        page.goto(url)
        wait_idle(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_role("combobox", name="Profile").click()
        page.get_by_role("option", name=USER).click()
        wait_idle(page)

        sidebar.get_by_role("link", name="Explore").click()
        wait_idle(page)
        save(page, "explore")

        sidebar.get_by_role("link", name="Search").click()
        wait_idle(page)
        page.get_by_role("textbox", name="Describe the sound").fill("calm acoustic guitar")
        page.get_by_role("textbox", name="Describe the sound").press("Enter")
        wait_idle(page)
        save(page, "search")

        page.goto(f"{url}/song?track={song}")  # a new session: pick the profile again
        wait_idle(page)
        page.get_by_role("button", name="Play").first.click()
        wait_idle(page)
        save(page, "song")

        sidebar.get_by_role("link", name="Upload a clip").click()
        wait_idle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
        wait_idle(page, settle_s=2.0)
        save(page, "upload")

        sidebar.get_by_role("link", name="Model").click()
        wait_idle(page)
        save(page, "model")

        sidebar.get_by_role("combobox", name="Profile").click()
        page.get_by_role("option", name=USER).click()
        wait_idle(page)
        sidebar.get_by_role("link", name="Playlists").click()
        wait_idle(page)
        save(page, "playlists")
        browser.close()
    upload.unlink()


if __name__ == "__main__":
    main()
