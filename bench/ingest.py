"""Ingest throughput: decode + log-mel of 30-s 44.1 kHz stereo MP3s, serial and with all workers.

    python bench/ingest.py [--clips N] [--workers W] [--repeat R] [--stages]

Prints clips/second for the bare single-process loop (decode + log-mel, nothing stored,
one BLAS thread), then for the full extraction into the feature cache of N and of 2N
tracks (the 2N run reuses each clip twice under new track ids) by three engines, run in
turn R times (the serial loop too) so that a shared machine's load falls on all alike;
figures are medians, ratios also of the best runs (another user's load only slows down):

- ``dask``: ``features.extract`` as the build runs it, on a LocalCluster of W workers
  (under 16 tracks it computes them in its own process);
- ``pool``: the spawn ``ProcessPoolExecutor`` the build used before Dask (one track per
  task, chunks of 4, one BLAS thread per worker), kept here only for this comparison
  (target: Dask within 5 % of its throughput);
- ``pool-tuned``: the same pool with the process set-up Dask workers get
  (``cluster._prepare_worker_process``: also glibc's malloc thresholds), which tells
  Dask's own cost apart from that set-up's gain.

For each: clips/s, the ratio to W x the serial rate (target >= 80 %), and the peak
resident memory of the parent and its workers together, sampled from /proc (features
are streamed to the cache, so memory must not grow with the number of tracks). It also
prints each engine's start-up cost: starting W workers, importing the feature code in
each and stopping them, with no work, and what importing Dask costs the build's own
process once. ``--stages`` also times decode, resample and log-mel separately.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import cluster  # noqa: E402
from recommender.audio import mel_for_file  # noqa: E402
from recommender.features import FeatureCache, default_workers, extract, extract_batch  # noqa: E402
from recommender.sources.base import Track  # noqa: E402

ENGINES = ("dask", "pool", "pool-tuned")


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
    """Resident MB of ``pid`` and all its descendants (children of any of its threads: Dask
    starts its workers from its event-loop thread)."""
    total = 0.0
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                total += int(row.split()[1]) / 1024
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            total += sum(_tree_rss_mb(int(child)) for child in children.read_text().split())
    except (FileNotFoundError, ProcessLookupError):  # a process exited between two reads
        pass
    return total


def timed_extract(
    engine: str, paths: list[Path], root: Path, *, copies: int, workers: int
) -> tuple[float, float, int]:
    """Extract ``copies`` x the clips into a fresh cache: ``(clips/s, peak MB of parent + workers, n)``."""
    tracks = [
        Track(c * len(paths) + i + 1, p.stem, "a", "b", "g", "training", str(p), "bench")
        for c in range(copies)
        for i, p in enumerate(paths)
    ]
    cache = FeatureCache(root)
    with PeakRSS() as memory:
        start = time.perf_counter()
        if engine == "dask":
            report = extract(tracks, cache, workers=workers, scheduler=None, progress=False)
            ok, failed = len(report.ok), report.failed
        else:
            results = pool_extract(tracks, cache, workers=workers, tuned=engine == "pool-tuned")
            ok, failed = sum(e is None for _, e in results), [r for r in results if r[1] is not None]
        rate = ok / (time.perf_counter() - start)
    assert not failed, failed
    assert ok == len(tracks)
    return rate, memory.peak_mb, len(tracks)


# ---- the process pool the build used before Dask (for comparison only) --------------------
def pool_extract(
    tracks: list[Track], cache: FeatureCache, *, workers: int, tuned: bool = False
) -> list[tuple[int, str | None]]:
    """What ``features.extract`` did before Dask: a spawn pool, one track per task, chunks of 4."""
    tasks = [(t.track_id, t.audio_path, cache) for t in tracks]
    with _pool(min(workers, len(tasks)), tuned=tuned) as pool:
        return list(pool.map(_pool_task, tasks, chunksize=4))


def _pool(workers: int, *, tuned: bool) -> ProcessPoolExecutor:
    set_up = cluster._prepare_worker_process if tuned else _one_blas_thread
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=set_up)


def _pool_task(task: tuple[int, str, FeatureCache]) -> tuple[int, str | None]:
    track_id, path, cache = task
    return extract_batch([(track_id, path)], cache.config.to_dict(), str(cache.dir))[0]


def _one_blas_thread() -> None:
    threadpool_limits(limits=1)


def _import_feature_code(_: object = None) -> bool:
    import recommender.features  # noqa: F401

    return True


def startup_seconds(engine: str, workers: int) -> float:
    """Start ``workers`` workers, import the feature code in each, stop them: seconds, no work done."""
    start = time.perf_counter()
    if engine == "dask":
        with cluster.connect(None, workers=workers) as client:
            client.run(_import_feature_code)
    else:
        with _pool(workers, tuned=engine == "pool-tuned") as pool:
            list(pool.map(_import_feature_code, range(workers)))
    return time.perf_counter() - start


def import_seconds(module: str) -> float:
    """Seconds a fresh Python takes to import ``module`` (on top of starting up)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return float(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )


def serial_rate(paths: list[Path]) -> float:
    """Clips/s of the bare loop in this process, one BLAS thread (as extract runs in-process)."""
    with threadpool_limits(limits=1):
        start = time.perf_counter()
        for p in paths:
            mel_for_file(p)
        return len(paths) / (time.perf_counter() - start)


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
    ap.add_argument("--repeat", type=int, default=1, help="rounds of every measure, engines in turn")
    ap.add_argument("--stages", action="store_true", help="also time decode, resample and log-mel")
    args = ap.parse_args()
    os.environ.pop(cluster.SCHEDULER_ENV, None)  # this machine's workers, whatever the shell says
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    startups: dict[str, list[float]] = {e: [] for e in ENGINES}
    serials = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"writing {args.clips} test MP3s (30 s, 44.1 kHz, stereo)…", file=sys.stderr)
        paths = make_clips(folder / "audio", args.clips)
        with threadpool_limits(limits=1):
            mel_for_file(paths[0])  # warm-up: imports, numba/librosa caches
            stages = stage_times(paths[:20]) if args.stages else {}
        for r in range(args.repeat):
            serials.append(serial_rate(paths))
            print(f"  round {r + 1}: serial {serials[-1]:.2f} clips/s", file=sys.stderr)
            order = ENGINES[r % len(ENGINES) :] + ENGINES[: r % len(ENGINES)]
            for copies in (1, 2):
                for engine in order:
                    root = folder / f"{engine}-{copies}-{r}"
                    rate, peak, n = timed_extract(engine, paths, root, copies=copies, workers=args.workers)
                    runs.setdefault((engine, n), []).append((rate, peak))
                    print(f"  round {r + 1}: {engine} {n} tracks {rate:.2f} clips/s", file=sys.stderr)
            for engine in order:
                startups[engine].append(startup_seconds(engine, args.workers))
    report(args, statistics.median(serials), stages, runs, startups)


def report(args, serial: float, stages: dict, runs: dict, startups: dict) -> None:
    limit = args.workers * serial
    print(f"cores: {os.cpu_count()}, workers: {args.workers}, clips: {args.clips}, rounds: {args.repeat}")
    print(f"serial decode+log-mel: {serial:.2f} clips/s (median)")
    for name, seconds in stages.items():
        print(f"  {name}: {seconds * 1000:.0f} ms per clip")
    for engine in ENGINES:
        times = ", ".join(f"{s:.2f}" for s in startups[engine])
        print(f"{engine}: start-up of {args.workers} workers (start, import, stop): {times} s")
    print(f"dask: importing distributed in the build's process, once: {import_seconds('distributed'):.2f} s")
    for n in sorted({n for _, n in runs}):
        rates = {e: statistics.median(rate for rate, _ in runs[(e, n)]) for e in ENGINES}
        best = {e: max(rate for rate, _ in runs[(e, n)]) for e in ENGINES}
        for engine in ENGINES:
            rate, peak = rates[engine], max(peak for _, peak in runs[(engine, n)])
            verdict = "ok" if rate >= 0.8 * limit else "MISSES"
            every = ", ".join(f"{r:.1f}" for r, _ in runs[(engine, n)])
            print(
                f"{engine}: extract {n} tracks with {args.workers} workers (into the cache): {rate:.2f} clips/s "
                f"(median of {every}) = {rate / limit:.0%} of workers x serial (target >= 80%: {verdict}); "
                f"peak RSS parent+workers {peak:.0f} MB"
            )
        for base in ("pool", "pool-tuned"):
            ratio, best_ratio = rates["dask"] / rates[base], best["dask"] / best[base]
            verdict = "ok" if min(ratio, best_ratio) >= 0.95 else "REGRESSES"
            print(
                f"dask / {base} at {n} tracks: {ratio:.1%} of medians, {best_ratio:.1%} of bests "
                f"(target >= 95%: {verdict})"
            )
    for engine in ENGINES:
        ns = sorted({n for e, n in runs if e == engine})
        peaks = [max(peak for _, peak in runs[(engine, n)]) for n in ns]
        growth = peaks[-1] / peaks[0] - 1
        print(
            f"{engine}: memory from {ns[0]} to {ns[-1]} tracks: {peaks[0]:.0f} -> {peaks[-1]:.0f} MB "
            f"({growth:+.0%}; flat = features streamed to the cache, {'ok' if growth < 0.1 else 'GROWS'})"
        )


if __name__ == "__main__":
    main()
