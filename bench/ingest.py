"""Ingest throughput: decode + log-mel of 30-s 44.1 kHz stereo MP3s, serial and with all workers.

    python bench/ingest.py [--clips N] [--workers W] [--stages]

Prints clips/second for the bare single-process loop (decode + log-mel, nothing stored),
for the full extraction into the feature cache with W worker processes, the ratio of the
latter to W × the serial rate (target >= 80 %), and the peak resident memory of the
parent and its workers together, sampled from /proc, for an extraction of N and of 2N
tracks (the 2N run reuses each clip twice under new track ids): features are streamed
to the cache, so memory must not grow with the number of tracks. ``--stages`` also
times decode, resample and log-mel separately.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.audio import mel_for_file  # noqa: E402
from recommender.features import FeatureCache, default_workers, extract  # noqa: E402
from recommender.sources.base import Track  # noqa: E402


def make_clips(folder: Path, n: int, *, seed: int = 0) -> list[Path]:
    """n different 30-s 44.1 kHz stereo MP3s (chords + noise, so the encoder has real work)."""
    rng = np.random.default_rng(seed)
    sr, t = 44_100, np.arange(44_100 * 30) / 44_100
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        freqs = rng.uniform(80, 2_000, 4)
        y = sum(np.sin(2 * np.pi * f * t) for f in freqs) / 6 + 0.05 * rng.standard_normal(len(t))
        stereo = np.stack([y, np.roll(y, 200)], axis=1).astype(np.float32)
        path = folder / f"{i:04d}.mp3"
        sf.write(path, stereo, sr, format="MP3")
        paths.append(path)
    return paths


class PeakRSS:
    """Samples the summed resident memory of this process and its children every 20 ms."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(os.getpid()))
            time.sleep(0.02)


def _tree_rss_mb(pid: int) -> float:
    total = 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for p in [pid, *map(int, children)]:
            for row in Path(f"/proc/{p}/status").read_text().splitlines():
                if row.startswith("VmRSS:"):
                    total += int(row.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):  # a worker exited between the two reads
        pass
    return total


def timed_extract(paths: list[Path], root: Path, *, copies: int, workers: int) -> tuple[float, float, int]:
    """Extract ``copies`` x the clips into a fresh cache: ``(clips/s, peak MB of parent + workers, n)``."""
    tracks = [
        Track(c * len(paths) + i + 1, p.stem, "a", "b", "g", "training", str(p), "bench")
        for c in range(copies)
        for i, p in enumerate(paths)
    ]
    cache = FeatureCache(root)
    with PeakRSS() as memory:
        start = time.perf_counter()
        report = extract(tracks, cache, workers=workers, progress=False)
        rate = len(report.ok) / (time.perf_counter() - start)
    assert not report.failed, report.failed
    assert report.computed == len(tracks)
    return rate, memory.peak_mb, len(tracks)


def stage_times(paths: list[Path]) -> dict[str, float]:
    """Mean seconds per clip of each step of ``mel_for_file``."""
    from recommender.audio import decode, log_mel, prepare

    totals = dict.fromkeys(("decode", "mono + crop + resample", "log-mel"), 0.0)
    for p in paths:
        t0 = time.perf_counter()
        data, sr = decode(p)
        t1 = time.perf_counter()
        y = prepare(data, sr)
        t2 = time.perf_counter()
        log_mel(y)
        t3 = time.perf_counter()
        for key, dt in zip(totals, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            totals[key] += dt
    return {k: v / len(paths) for k, v in totals.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--stages", action="store_true", help="also time decode, resample and log-mel")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"writing {args.clips} test MP3s (30 s, 44.1 kHz, stereo)…", file=sys.stderr)
        paths = make_clips(folder / "audio", args.clips)

        mel_for_file(paths[0])  # warm-up: imports, numba/librosa caches
        start = time.perf_counter()
        for p in paths:
            mel_for_file(p)
        serial = len(paths) / (time.perf_counter() - start)
        stages = stage_times(paths[:20]) if args.stages else {}

        parallel, peak_n, n = timed_extract(paths, folder / "f1", copies=1, workers=args.workers)
        parallel_2n, peak_2n, n2 = timed_extract(paths, folder / "f2", copies=2, workers=args.workers)

    limit = args.workers * serial
    print(f"cores: {os.cpu_count()}, workers: {args.workers}, clips: {args.clips}")
    print(f"serial decode+log-mel: {serial:.2f} clips/s")
    for name, seconds in stages.items():
        print(f"  {name}: {seconds * 1000:.0f} ms per clip")
    for count, rate, peak in ((n, parallel, peak_n), (n2, parallel_2n, peak_2n)):
        verdict = "ok" if rate >= 0.8 * limit else "MISSES"
        print(
            f"extract {count} tracks with {args.workers} workers (into the cache): {rate:.2f} clips/s = "
            f"{rate / limit:.0%} of workers x serial (target >= 80%: {verdict}); "
            f"peak RSS parent+workers {peak:.0f} MB"
        )
    growth = peak_2n / peak_n - 1
    print(
        f"memory from {n} to {n2} tracks: {peak_n:.0f} -> {peak_2n:.0f} MB ({growth:+.0%}; "
        f"flat = features streamed to the cache, {'ok' if growth < 0.1 else 'GROWS'})"
    )


if __name__ == "__main__":
    main()
