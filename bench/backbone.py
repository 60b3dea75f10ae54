"""Inference speed of the pretrained musicnn backbones on this machine.

For each backbone, batch size and with/without XLA (``jit_compile``), float32: patches/s
and s/song (a 30-s clip is 10 patches) of the forward pass that ``Backbone`` uses, after
one untimed warm-up batch (tracing, XLA compilation). Also prints the multiply-adds per
patch (from the layer shapes), the machine's float32 matmul peak (2048×2048 matmuls in
numpy and in TensorFlow, the faster counts) and the fraction of that peak each setting
reaches, the peak memory of one batch, then ``Backbone.transform`` end to end (both
backbones, default settings) on songs of 10 patches. Random log-mels of the real shape:
speed does not depend on them.

The machine is shared, and other people's processes come and go: every setting and the
matmuls are timed call by call in ``--rounds`` short rounds, interleaved, and the fastest
and the median call are printed. The fastest call is the closest to a quiet machine; the
two backbones have the same architecture, so their figures should agree.

    python bench/backbone.py [--batch 8 --batch 16 ...] [--rounds 3] [--seconds 2] [--songs 32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from recommender import backbone
from recommender.backbone import BACKBONES, Backbone
from recommender.musicnn_net import build_musicnn

PATCHES_PER_SONG = 10


def macs_per_patch(model) -> dict[str, int]:
    """Multiply-adds of each convolution and dense layer for one patch (the rest is negligible)."""
    macs = {}
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv1D", "Conv2D"):
            kernel = layer.kernel.shape  # (*window, in, out)
            out_positions = int(np.prod(layer.output.shape[1:-1]))
            macs[layer.name] = out_positions * int(np.prod(kernel))
        elif kind == "Dense":
            macs[layer.name] = int(np.prod(layer.kernel.shape))
    return macs


def matmul(n: int = 2048, *, library: str):
    """A timed step: one float32 ``n``×``n`` matmul in numpy (BLAS) or TensorFlow; returns its FLOPs."""
    import tensorflow as tf

    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    if library == "tensorflow":
        a, b = tf.constant(a), tf.constant(b)

    def step() -> float:
        np.asarray(a @ b)
        return 2.0 * n**3

    step()  # warm-up
    return step


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def forward_step(name: str, *, batch: int, jit_compile: bool):
    """A timed step: ``Backbone``'s forward pass on one batch; returns its patches. Warmed up."""
    forward = backbone._forward(name, jit_compile)
    x = np.random.default_rng(0).uniform(0, 4, (batch, 187, 96)).astype(np.float32)

    def step() -> float:
        for t in forward(x):
            t.numpy()
        return batch

    step()  # tracing, XLA compilation
    return step


def step_rates(step, *, seconds: float) -> list[float]:
    """Units per second of each call of ``step``, calling it for ``seconds`` (at least twice)."""
    found, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(found) < 2:
        t0 = time.perf_counter()
        units = step()
        found.append(units / (time.perf_counter() - t0))
    return found


def activation_bytes_per_patch(model) -> int:
    """float32 bytes of every layer output for one patch (an upper bound: TF frees them as it goes)."""
    return 4 * sum(int(np.prod(layer.output.shape[1:])) for layer in model.layers[1:])


def peak_rss_mb(batch: int) -> float:
    """Peak resident memory of a fresh process that loads one backbone and runs one batch."""
    code = (
        "import resource, numpy as np; from recommender import backbone; "
        f"f = backbone._forward('musicnn-msd', False); f(np.zeros(({batch}, 187, 96), np.float32)); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def bench_transform(n_songs: int, *, rounds: int) -> float:
    """Seconds per song of ``Backbone().transform`` (both backbones, defaults), songs of 10 patches; best round."""
    rng = np.random.default_rng(0)
    mels = [rng.uniform(0, 4, (187 * PATCHES_PER_SONG + 1, 96)).astype(np.float32) for _ in range(n_songs)]
    model = Backbone()
    model.transform(mels[:2])  # warm-up
    return min(_timed(lambda: model.transform(mels)) for _ in range(rounds)) / n_songs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default 8 16 32 64 128)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per setting")
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per setting and round")
    parser.add_argument("--songs", type=int, default=32, help="songs for the end-to-end transform")
    args = parser.parse_args()
    batches = args.batch or [8, 16, 32, 64, 128]

    model = build_musicnn()
    macs = macs_per_patch(model)
    total = sum(macs.values())
    print(
        f"cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; multiply-adds per patch: {total / 1e9:.3f} G"
    )
    for layer, m in macs.items():
        print(f"  {layer:>14}: {m / 1e6:8.1f} M ({m / total:5.1%})")
    print(
        f"float32 activations per patch (all layer outputs): {activation_bytes_per_patch(model) / 2**20:.1f} MiB"
    )
    for batch in batches:
        print(f"peak RSS, one backbone, batch {batch:>3}: {peak_rss_mb(batch):6.0f} MB", flush=True)
    steps = {library: matmul(library=library) for library in ("numpy", "tensorflow")}
    for name in BACKBONES:
        for jit_compile in (False, True):
            for batch in batches:
                steps[(name, jit_compile, batch)] = forward_step(name, batch=batch, jit_compile=jit_compile)
    rates: dict = {key: [] for key in steps}
    for r in range(args.rounds):
        for key, step in steps.items():
            rates[key] += step_rates(step, seconds=args.seconds)
        print(f"round {r + 1}/{args.rounds} done, load average {os.getloadavg()[0]:.1f}", flush=True)

    matmuls = {library: max(rates.pop(library)) / 1e9 for library in ("numpy", "tensorflow")}
    peak = max(matmuls.values())
    print(
        "float32 matmul 2048, fastest call: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in matmuls.items())
    )
    for (name, jit_compile, batch), values in rates.items():
        best, median = max(values), float(np.median(values))
        print(
            f"{name} batch {batch:>3} xla {'on ' if jit_compile else 'off'}: {best:6.1f} patches/s "
            f"(median {median:5.1f}), {PATCHES_PER_SONG / best:.3f} s/song, "
            f"{best * 2 * total / 1e9:5.1f} GFLOP/s = {best * 2 * total / 1e9 / peak:.0%} of peak"
        )
    per_song = bench_transform(args.songs, rounds=args.rounds)
    print(
        f"Backbone().transform, both backbones (batch {backbone.DEFAULT_BATCH_SIZE}, "
        f"xla {backbone.DEFAULT_JIT_COMPILE}), {args.songs} songs × {PATCHES_PER_SONG} patches: "
        f"{per_song:.3f} s/song"
    )


if __name__ == "__main__":
    main()
