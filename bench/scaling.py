"""Scaling estimate for fma_full on N Dask workers, from the measured cost of one full-length track.

    python bench/scaling.py [--repeat 5] [--efficiency 0.85]

FMA full holds 106 574 untrimmed tracks whose median length is about 270 s. This writes
an MP3 of that length (44.1 kHz stereo, 128 kbit/s, by lameenc), times what a worker does
per track (decode the centre 30 s, log-mel, the pretrained backbone's sound features of
10 patches from both models, write both caches: the batch function
``features.extract_batch`` on a batch of 8 songs, one BLAS and one TensorFlow thread, as
on a worker) as the median of ``--repeat`` batches, and prints hours for the whole of fma_full on N workers, assuming linear scaling at the stated
efficiency (the measured two-worker figure on two cores is in bench/README.md), plus the
bytes each track reads, which the shared storage has to serve to all workers at once.

It then decodes a 20-minute MP3 on a real Dask worker (a LocalCluster of one process,
fresh for each case) and prints the worker's peak resident memory: once as the build does
it (libsndfile seeks to the centre 30 s) and once decoding the whole file, as the fallback
decoder does for formats libsndfile cannot read.

Per track it prints wall and CPU seconds; on a shared machine the CPU seconds are the
better estimate of what a dedicated one-thread worker spends, and the table uses them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# As on a worker (cluster._prepare_worker_process): TensorFlow reads these when it starts.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import cluster  # noqa: E402
from recommender.backbone import DEFAULT_SOUND  # noqa: E402
from recommender.config import DEFAULT_AUDIO  # noqa: E402
from recommender.features import FeatureCache, extract_batch  # noqa: E402
from tests.fixtures import mp3_bytes_lameenc  # noqa: E402

FMA_FULL_TRACKS = 106_574
FMA_FULL_MEDIAN_SECONDS = 270.0
LONG_TRACK_SECONDS = 20 * 60
BATCH = 8  # songs per extract_batch call, as features.SOUND_BATCH_SONGS
WORKER_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128)


def write_track(path: Path, seconds: float, *, seed: int = 0) -> Path:
    """An MP3 of ``seconds`` (44.1 kHz stereo): slowly changing chords and noise, so the encoder works."""
    sr = 44_100
    rng = np.random.default_rng(seed)
    chunks = []
    for start in range(0, int(seconds), 10):  # a new chord every 10 s, built 10 s at a time
        t = np.arange(int(sr * min(10, seconds - start))) / sr
        y = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(80, 2_000, 4)) / 6
        chunks.append(y + 0.05 * rng.standard_normal(len(t)))
    y = np.concatenate(chunks).astype(np.float32)
    path.write_bytes(mp3_bytes_lameenc(np.stack([y, np.roll(y, 200)], axis=1), sr))
    return path


def per_track_seconds(path: Path, cache_root: Path, *, repeat: int, sound: bool) -> dict:
    """Per track of ``extract_batch`` on batches of ``BATCH`` copies of ``path``: median wall and CPU
    seconds and bytes read; with ``sound`` the backbone's sound features too (the default build)."""
    from threadpoolctl import threadpool_limits

    args = [DEFAULT_AUDIO.to_dict(), str(FeatureCache(cache_root).dir)]
    if sound:
        args += [DEFAULT_SOUND.to_dict(), str(FeatureCache(cache_root, DEFAULT_SOUND).dir)]
    wall, cpu, read = [], [], []
    with threadpool_limits(limits=1):
        extract_batch([(0, str(path))], *args)  # warm-up: imports, numba/librosa caches, the backbones
        for i in range(repeat):
            batch = [(1 + i * BATCH + j, str(path)) for j in range(BATCH)]
            before, start, start_cpu = _bytes_read(), time.perf_counter(), time.process_time()
            results = extract_batch(batch, *args)
            wall.append((time.perf_counter() - start) / BATCH)
            cpu.append((time.process_time() - start_cpu) / BATCH)
            read.append((_bytes_read() - before) / BATCH)
            assert all(error is None for _, error in results), results
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu), "read": statistics.median(read)}


def _bytes_read() -> int:
    """Bytes this process has read through read() calls so far (page cache included)."""
    for row in Path("/proc/self/io").read_text().splitlines():
        if row.startswith("rchar:"):
            return int(row.split()[1])
    return 0


def decode_peak(path: str, whole: bool) -> tuple[float, float]:
    """On a worker: ``(resident MB before, peak resident MB after)`` decoding ``path`` into a log-mel.

    The peak is the kernel's high-water mark of this process (``VmHWM``; ``ru_maxrss``
    would carry over the parent's peak through fork and exec).
    """
    from recommender.audio import _read_fallback, mel_for_file

    before = _status_mb("VmRSS")
    if whole:
        _read_fallback(path)  # librosa.load of the whole file at its native rate
    else:
        mel_for_file(path)
    return before, _status_mb("VmHWM")


def _status_mb(field: str) -> float:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith(f"{field}:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def worker_peak_mb(path: Path, *, whole: bool) -> tuple[float, float]:
    with cluster.connect(None, workers=1) as client:
        client.run(_import_audio)
        return client.submit(decode_peak, str(path), whole, pure=False).result()


def _import_audio() -> None:
    import librosa  # noqa: F401

    import recommender.audio  # noqa: F401


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--efficiency", type=float, default=0.85, help="assumed parallel efficiency per worker")
    args = ap.parse_args()
    os.environ.pop(cluster.SCHEDULER_ENV, None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(
            f"writing a {FMA_FULL_MEDIAN_SECONDS:.0f}-s and a {LONG_TRACK_SECONDS // 60}-min MP3…",
            file=sys.stderr,
        )
        median_track = write_track(folder / "median.mp3", FMA_FULL_MEDIAN_SECONDS)
        long_track = write_track(folder / "long.mp3", LONG_TRACK_SECONDS, seed=1)
        mel_only = per_track_seconds(median_track, folder / "mel", repeat=args.repeat, sound=False)
        full = per_track_seconds(median_track, folder / "full", repeat=args.repeat, sound=True)
        seek_before, seek_peak = worker_peak_mb(long_track, whole=False)
        whole_before, whole_peak = worker_peak_mb(long_track, whole=True)
        size_median, size_long = median_track.stat().st_size, long_track.stat().st_size

    per_track, read = full["cpu"], full["read"]
    print(f"cores: {os.cpu_count()}; one {FMA_FULL_MEDIAN_SECONDS:.0f}-s MP3 of {size_median / 1e6:.1f} MB")
    print("per track on one worker thread (median of batches of 8), wall / CPU:")
    print(
        f"  decode + log-mel + cache write: {mel_only['wall'] * 1000:.0f} / {mel_only['cpu'] * 1000:.0f} ms"
    )
    print(
        f"  + the backbone's sound features (the default build): {full['wall'] * 1000:.0f} / {full['cpu'] * 1000:.0f} ms"
    )
    print(f"bytes read per track: {read / 1e6:.2f} MB of the {size_median / 1e6:.1f} MB file")
    print(
        f"fma_full, {FMA_FULL_TRACKS:,} tracks at {per_track * 1000:.0f} CPU-ms each, "
        f"linear scaling at {args.efficiency:.0%} efficiency per worker:"
    )
    print("| workers | hours | tracks/s | storage read MB/s |")
    print("|---:|---:|---:|---:|")
    for n in WORKER_COUNTS:
        rate = n * args.efficiency / per_track
        hours = FMA_FULL_TRACKS / rate / 3600
        print(f"| {n} | {hours:.2f} | {rate:.1f} | {rate * read / 1e6:.0f} |")
    print(f"worker peak RSS decoding a {LONG_TRACK_SECONDS // 60}-min MP3 ({size_long / 1e6:.1f} MB):")
    print(
        f"  as the build does (centre 30 s): {seek_peak:.0f} MB (the worker before it: {seek_before:.0f} MB)"
    )
    print(
        f"  the whole file (fallback decoder): {whole_peak:.0f} MB (the worker before it: {whole_before:.0f} MB)"
    )


if __name__ == "__main__":
    main()
