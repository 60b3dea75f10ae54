"""Training and embedding throughput of each architecture on this machine.

Synthetic random log-mels of the real shape (30-s clips, 128 mels) go through the real
training path (`recommender.model.train`: crop pipeline, class weights, a small
validation pass). The first epoch (tracing, warm-up) is not timed. Prints one line per
figure, e.g. ``train cnn1d: 812 slices/s``. On a shared machine the figures are lower bounds.

    python bench/train.py [--tracks 200] [--epochs 3] [--arch cnn1d --arch seed-2d]
    python bench/train.py --fma-small [--epochs 30]

``--fma-small`` times a training run of fma_small's size (8 000 tracks, 8 genres, split
80/10/10) the way ``build`` runs it: synthetic 30-s log-mels (a genre pattern plus noise,
so the model has something to learn) are written into a ``FeatureCache`` first, then it
times stacking the training mels from the per-track cache files, the input pipeline
alone on that stack, and ``model.train`` from the cache for ``--epochs`` epochs (early
stopping may end it sooner), printing every epoch's time. With fewer epochs than the
30 ``build`` allows, the time of a full run is extrapolated from the mean epoch and
said so; the target is <= 20 minutes to early stopping.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from recommender.config import AudioConfig
from recommender.mel_data import MelStack, crop_dataset
from recommender.model import ARCHS, train

GENRES = ["a", "b", "c", "d"]


def synthetic_mels(n: int, *, config: AudioConfig, seed: int = 0) -> dict[int, np.ndarray]:
    """``n`` random full-length log-mels ``(n_mels, clip_frames)`` in dB."""
    rng = np.random.default_rng(seed)
    shape = (config.n_mels, config.clip_frames)
    return {i: rng.uniform(-80, 40, size=shape).astype(np.float32) for i in range(n)}


def bench_pipeline(mels: dict, *, config: AudioConfig, slices_per_track: int) -> float:
    """Crops/s of the input pipeline alone (numpy gather + tf.data), no model."""
    ids = list(mels)
    stack = MelStack(mels, ids, config=config)
    labels = np.zeros(len(ids), dtype=np.int32)
    dataset = crop_dataset(stack, labels, slices_per_track=slices_per_track, batch_size=64, seed=0)
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


FMA_SMALL_TRACKS = 8_000
FMA_SMALL_GENRES = [f"genre{i}" for i in range(8)]
BUILD_MAX_EPOCHS = 30
FULL_RUN_TARGET_S = 20 * 60


def write_synthetic_cache(root: Path, n: int, *, config: AudioConfig, seed: int = 0):
    """A ``FeatureCache`` of ``n`` tracks whose log-mels ``(n_mels, clip_frames)`` are a genre's
    band pattern plus noise; returns the cache and each track's genre."""
    from recommender.features import FeatureCache

    cache = FeatureCache(root, config)
    rng = np.random.default_rng(seed)
    patterns = rng.uniform(-60, 0, size=(len(FMA_SMALL_GENRES), config.n_mels, 1)).astype(np.float32)
    genres = [FMA_SMALL_GENRES[i % len(FMA_SMALL_GENRES)] for i in range(n)]
    for i in range(n):
        noise = rng.normal(0, 30, size=(config.n_mels, config.clip_frames)).astype(np.float32)
        cache.put(i + 1, np.clip(patterns[i % len(FMA_SMALL_GENRES)] + noise, -80, 0))
    return cache, genres


def bench_fma_small(*, epochs: int, config: AudioConfig) -> None:
    """Time a training run of fma_small's size from a feature cache; print each figure with its target."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cache, genres = write_synthetic_cache(Path(tmp), FMA_SMALL_TRACKS, config=config)
        print(
            f"wrote {FMA_SMALL_TRACKS} synthetic log-mels to the cache: {time.perf_counter() - start:.0f} s"
        )
        ids = list(range(1, FMA_SMALL_TRACKS + 1))
        n_train, n_val = int(0.8 * len(ids)), int(0.1 * len(ids))
        train_ids, val_ids = ids[:n_train], ids[n_train : n_train + n_val]

        start = time.perf_counter()
        stack = MelStack(cache, train_ids, config=config)
        stacking = time.perf_counter() - start
        where = "memory-mapped file" if stack._file is not None else "RAM"
        print(
            f"stack {n_train} training mels from the cache files (float16, {stack.data.nbytes / 2**30:.1f} GiB "
            f"in {where}): {stacking:.0f} s"
        )
        labels = np.array([FMA_SMALL_GENRES.index(genres[i - 1]) for i in train_ids], dtype=np.int32)
        dataset = crop_dataset(stack, labels, slices_per_track=4, batch_size=64, seed=0)
        start, n = time.perf_counter(), 0
        for x, _ in dataset:
            n += len(x)
        pipeline = n / (time.perf_counter() - start)
        stack.close()
        print(f"input pipeline alone (random crops from the stack, tf.data): {pipeline:.0f} slices/s")

        stamps: list[float] = []
        start = time.perf_counter()
        model = train(
            cache,
            train_ids,
            [genres[i - 1] for i in train_ids],
            val_ids,
            [genres[i - 1] for i in val_ids],
            genres=FMA_SMALL_GENRES,
            epochs=epochs,
            config=config,
            callbacks_progress=lambda epoch, total, logs: (
                stamps.append(time.perf_counter()),
                print(
                    f"  epoch {epoch}: {stamps[-1] - (stamps[-2] if len(stamps) > 1 else start):.0f} s "
                    f"(val_loss {logs['val_loss']:.3f}, val_accuracy {logs['val_accuracy']:.2f})",
                    flush=True,
                ),
            ),
        )
        total = time.perf_counter() - start
    epoch_times = np.diff([start, *stamps])
    setup = total - epoch_times.sum()
    slices = len(train_ids) * 4
    steady = epoch_times[1:] if len(epoch_times) > 1 else epoch_times
    print(f"training: {model.epochs_run_} epochs in {total:.0f} s (after the last epoch: {setup:.0f} s)")
    print(
        f"time per epoch: first {epoch_times[0]:.0f} s (with stacking, validation slices and tracing), "
        f"then mean {steady.mean():.0f} s "
        f"= {slices / steady.mean():.0f} slices/s (target >= 500)"
    )
    stopped_early = model.epochs_run_ < epochs
    if stopped_early or epochs >= BUILD_MAX_EPOCHS:
        verdict = "ok" if total <= FULL_RUN_TARGET_S else "MISSES"
        print(f"full run to early stopping: {total / 60:.1f} min (target <= 20 min: {verdict})")
    else:
        worst = total + steady.mean() * (BUILD_MAX_EPOCHS - len(epoch_times))
        verdict = "ok" if worst <= FULL_RUN_TARGET_S else "MISSES"
        print(
            f"full run EXTRAPOLATED from {len(epoch_times)} epochs to the {BUILD_MAX_EPOCHS}-epoch maximum "
            f"(early stopping can only end it sooner): {worst / 60:.1f} min (target <= 20 min: {verdict})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs + 1 warm-up epoch")
    parser.add_argument("--slices-per-track", type=int, default=4)
    parser.add_argument("--arch", action="append", choices=ARCHS, help="default: every architecture")
    parser.add_argument("--fma-small", action="store_true", help="time an 8 000-track training run")
    args = parser.parse_args()

    config = AudioConfig()
    if args.fma_small:
        bench_fma_small(epochs=args.epochs, config=config)
        return
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
