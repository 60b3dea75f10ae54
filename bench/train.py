"""Training and embedding throughput of each architecture on this machine.

Synthetic random log-mels of the real shape (30-s clips, 128 mels) go through the real
training path (`recommender.model.train`: crop pipeline, class weights, a small
validation pass). The first epoch (tracing, warm-up) is not timed. Prints one line per
figure, e.g. ``train cnn1d: 812 slices/s``. On a shared machine the figures are lower bounds.

    python bench/train.py [--tracks 200] [--epochs 3] [--arch cnn1d --arch seed-2d]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from recommender.config import AudioConfig
from recommender.model import ARCHS, _crop_dataset, _MelStack, train

GENRES = ["a", "b", "c", "d"]


def synthetic_mels(n: int, *, config: AudioConfig, seed: int = 0) -> dict[int, np.ndarray]:
    """``n`` random full-length log-mels ``(n_mels, clip_frames)`` in dB."""
    rng = np.random.default_rng(seed)
    shape = (config.n_mels, config.clip_frames)
    return {i: rng.uniform(-80, 40, size=shape).astype(np.float32) for i in range(n)}


def bench_pipeline(mels: dict, *, config: AudioConfig, slices_per_track: int) -> float:
    """Crops/s of the input pipeline alone (numpy gather + tf.data), no model."""
    ids = list(mels)
    stack = _MelStack(mels, ids, config=config)
    labels = np.zeros(len(ids), dtype=np.int32)
    dataset = _crop_dataset(stack, labels, slices_per_track=slices_per_track, batch_size=64, seed=0)
    for _ in dataset:  # warm-up
        pass
    start, n = time.perf_counter(), 0
    for x, _ in dataset:
        n += len(x)
    return n / (time.perf_counter() - start)


def bench_train(mels: dict, *, arch: str, epochs: int, slices_per_track: int, config: AudioConfig):
    ids = list(mels)
    n_val = max(len(GENRES), len(ids) // 20)
    train_ids, val_ids = ids[n_val:], ids[:n_val]
    stamps: list[float] = []
    model = train(
        mels,
        train_ids,
        [GENRES[i % len(GENRES)] for i in train_ids],
        val_ids,
        [GENRES[i % len(GENRES)] for i in val_ids],
        genres=GENRES,
        arch=arch,
        epochs=epochs,
        config=config,
        slices_per_track=slices_per_track,
        callbacks_progress=lambda epoch, total, logs: stamps.append(time.perf_counter()),
    )
    timed_epochs = len(stamps) - 1
    slices_per_s = timed_epochs * len(train_ids) * slices_per_track / (stamps[-1] - stamps[0])
    return model, slices_per_s


def bench_embed(model, mels: dict) -> float:
    songs = list(mels.values())
    model.embed_many(songs)  # warm-up: traces the full and the last partial batch shapes
    start = time.perf_counter()
    model.embed_many(songs)
    return len(songs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs + 1 warm-up epoch")
    parser.add_argument("--slices-per-track", type=int, default=4)
    parser.add_argument("--arch", action="append", choices=ARCHS, help="default: every architecture")
    args = parser.parse_args()

    config = AudioConfig()
    mels = synthetic_mels(args.tracks, config=config)
    pipeline = bench_pipeline(mels, config=config, slices_per_track=args.slices_per_track)
    print(f"pipeline: {pipeline:.0f} slices/s")
    for arch in args.arch or ARCHS:
        model, slices_per_s = bench_train(
            mels, arch=arch, epochs=args.epochs, slices_per_track=args.slices_per_track, config=config
        )
        print(f"train {arch}: {slices_per_s:.0f} slices/s", flush=True)
        print(f"embed {arch}: {bench_embed(model, mels):.1f} songs/s", flush=True)


if __name__ == "__main__":
    main()
