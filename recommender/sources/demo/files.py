"""The demo catalog's audio files: rendered once per plan, resumable, written atomically."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import re
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from recommender.cluster import leave_with_parent
from recommender.errors import SourceError
from recommender.sources.base import SourceReport, Track
from recommender.sources.demo.mixing import render
from recommender.sources.demo.plan import plan_catalog
from recommender.sources.demo.songs import DEFAULT_TRACKS, PLAN_FILE, SYNTH_VERSION, DemoSong

_SONG_FILE = re.compile(r"^\d{6}\.(flac|mp3|ogg)$")
_TEMP_FILE = re.compile(r"^\.\d{6}\..*\.part$")


def audio_format() -> str:
    """'flac': lossless, and twenty times faster to write than MP3 (0.014 CPU-s a 30-s song, not 0.28).

    Reading costs the same (0.085 CPU-s with both log-mels); every browser the app supports
    plays FLAC, so no song is encoded to MP3 at all.
    """
    return "flac"


def song_path(audio_dir: Path, track_id: int) -> Path:
    return Path(audio_dir) / f"{track_id:06d}.{audio_format()}"


def _render_to_file(song: DemoSong, path: str, sr: int, seconds: float) -> str:
    """Render and write atomically: a temp name in the same folder, then os.replace."""
    final = Path(path)
    temp = final.with_name(f".{final.stem}.{os.getpid()}.part")
    y = render(song, sr=sr, seconds=seconds)
    try:
        sf.write(temp, y, sr, format=audio_format().upper())
        os.replace(temp, final)
    except Exception:
        temp.unlink(missing_ok=True)
        raise
    return path


def _plan(seed: int, sr: int, seconds: float) -> dict:
    """What the songs' sound depends on (their files are the same for the same plan)."""
    return {
        "seed": int(seed),
        "sr": int(sr),
        "seconds": float(seconds),
        "version": SYNTH_VERSION,
        "format": audio_format(),
        "source": "demo (synthesised)",
    }


def plan_folder(root: Path, *, seed: int = 0, sr: int = 22_050, seconds: float = 30.0) -> Path:
    """The folder below ``root`` for the songs of one plan: ``seed-<seed>-<digest of the plan>``.

    A build renders into the folder of its own plan, beside the one the catalog in use
    plays from, never into it: a cancelled build leaves the catalog's songs as they were,
    and a build of the same plan finds its songs already there.
    """
    plan = json.dumps(_plan(seed, sr, seconds), sort_keys=True)
    return Path(root) / f"seed-{int(seed)}-{hashlib.sha256(plan.encode()).hexdigest()[:10]}"


def _prepare_folder(audio_dir: Path, plan: dict) -> None:
    """Remove stale temp files; wipe rendered songs when they came from another plan.

    Songs depend on (seed, sr, seconds, synthesiser version, format) but not on the
    catalog size: the first songs of a plan never change when it grows, so a larger
    or smaller build with the same seed keeps every file it can.
    """
    audio_dir.mkdir(parents=True, exist_ok=True)
    plan_file = audio_dir / PLAN_FILE
    try:
        old = json.loads(plan_file.read_text())
    except (OSError, ValueError):
        old = None
    same = isinstance(old, dict) and all(old.get(k) == v for k, v in plan.items())
    for entry in audio_dir.iterdir():
        if _TEMP_FILE.match(entry.name) or (not same and _SONG_FILE.match(entry.name)):
            entry.unlink(missing_ok=True)
    temp = audio_dir / f".{PLAN_FILE}.part"
    temp.write_text(json.dumps(plan, indent=1))
    os.replace(temp, plan_file)


def _render_all(
    songs: list[DemoSong], audio_dir: Path, *, sr: int, seconds: float, workers: int, tick: Callable[[], None]
) -> None:
    """Render songs to their files, in this process or in a pool of ``workers`` processes."""
    jobs = [(song, str(song_path(audio_dir, song.track_id)), sr, seconds) for song in songs]
    if workers == 1:
        for job in jobs:
            _render_to_file(*job)
            tick()
        return
    # spawn: the caller (the app, a build) may hold TensorFlow or DuckDB, which must not be forked.
    # Its workers end with this process, even when it is killed (they would wait for ever).
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=leave_with_parent,
        initargs=(os.getpid(),),
    )  # fmt: skip
    try:
        for future in as_completed([pool.submit(_render_to_file, *job) for job in jobs]):
            future.result()
            tick()
    finally:  # on an error or Ctrl-C, do not wait for the songs still queued
        pool.shutdown(wait=True, cancel_futures=True)


def build_demo(
    audio_dir: Path,
    *,
    n_tracks: int = DEFAULT_TRACKS,
    seed: int = 0,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = True,
    sr: int = 22_050,
    seconds: float = 30.0,
) -> tuple[list[Track], SourceReport]:
    """Render the demo catalog into ``audio_dir`` (one ``{track_id:06d}.mp3`` per song).

    Resumable: a song already present under its final name is complete (files are
    written under a temporary name and renamed) and is not rendered again. The
    folder's ``plan.json`` records seed, sample rate, length and synthesiser
    version; song files of any other plan are deleted first. Only files named like
    songs or temp files are ever deleted. Renders in ``workers`` processes
    (default: all cores), with a progress bar on stderr (``progress=True``) or calls
    of ``progress(done, total)`` (the app's progress bar).
    """
    songs = plan_catalog(n_tracks, seed=seed)
    audio_dir = Path(audio_dir).expanduser().resolve()
    plan = _plan(seed, sr, seconds)
    try:
        _prepare_folder(audio_dir, plan)
    except OSError as e:
        raise SourceError(f"Cannot use {audio_dir} for the demo audio: {e}") from e
    todo = [s for s in songs if not song_path(audio_dir, s.track_id).exists()]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    bar = tqdm(
        total=len(songs),
        initial=len(songs) - len(todo),
        desc="demo audio",
        unit="song",
        file=sys.stderr,
        disable=progress is not True,
    )

    done = len(songs) - len(todo)

    def tick() -> None:
        nonlocal done
        done += 1
        bar.update()
        if callable(progress):
            progress(done, len(songs))

    try:
        _render_all(todo, audio_dir, sr=sr, seconds=seconds, workers=workers, tick=tick)
    except OSError as e:
        raise SourceError(f"Cannot write the demo audio into {audio_dir}: {e}") from e
    finally:
        bar.close()
    tracks = [
        Track(
            track_id=s.track_id,
            title=s.title,
            artist=s.artist,
            album=s.album,
            genre=s.genre,
            split=s.split,
            audio_path=str(song_path(audio_dir, s.track_id)),
            source="demo",
            duration=float(seconds),
        )
        for s in songs
    ]
    return tracks, SourceReport()
