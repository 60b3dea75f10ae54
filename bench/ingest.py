"""Ingest throughput: decode + log-mel of 30-s 44.1 kHz stereo MP3s, serial and with all workers.

    python bench/ingest.py [--clips N] [--workers W]

Prints clips/second for the bare single-process loop (decode + log-mel, nothing stored),
for the full extraction into the feature cache with W worker processes, the ratio of the
latter to W × the serial rate, and the parent's peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--workers", type=int, default=default_workers())
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

        tracks = [
            Track(i + 1, p.stem, "a", "b", "g", "training", str(p), "bench") for i, p in enumerate(paths)
        ]
        cache = FeatureCache(folder / "features")
        start = time.perf_counter()
        report = extract(tracks, cache, workers=args.workers, progress=False)
        parallel = len(report.ok) / (time.perf_counter() - start)
        assert not report.failed, report.failed

    limit = args.workers * serial
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cores: {os.cpu_count()}, workers: {args.workers}, clips: {args.clips}")
    print(f"serial decode+log-mel: {serial:.1f} clips/s")
    print(f"extract with {args.workers} workers (into the cache): {parallel:.1f} clips/s (target >= 20)")
    print(f"parallel / (workers x serial): {parallel / limit:.0%} (target >= 80%)")
    print(f"parent peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
