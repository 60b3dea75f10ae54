"""Mixing and rendering one song: levels, reverb, mastering."""

from __future__ import annotations

import numpy as np
from scipy import signal

from recommender.errors import UserInputError
from recommender.sources.demo.drums import Kit, time_axis, white_noise
from recommender.sources.demo.dsp import filtered, unit
from recommender.sources.demo.sequencing import Ctx, Part
from recommender.sources.demo.songs import STYLES, DemoSong
from recommender.sources.demo.styles import SUBSTYLE_BY_NAME


def _reverb_ir(ctx: Ctx) -> np.ndarray:
    """Exponentially decaying, darkened noise: a plausible room; float32, unit energy."""
    t60 = ctx.rng.uniform(*ctx.style.reverb)
    t = time_axis(min(t60, 3.0), ctx.sr)
    tail = filtered(white_noise(ctx.rng, t), "low", ctx.rng.uniform(2500, 7000), ctx.sr) * np.exp(
        -6.9 * t / t60
    )
    ir = np.concatenate([np.zeros(int(ctx.rng.uniform(0.005, 0.03) * ctx.sr)), tail]).astype(np.float32)
    return ir / np.sqrt(np.sum(ir**2))


def _mix(ctx: Ctx, parts: list[Part]) -> np.ndarray:
    """Sum parts at their levels (each varied a little), add reverb, noise, master; (n,) peak <= 1.

    The song's energy pushes the drums forward, dries the mix, brightens and compresses the
    master; a calm song sits back, darker and roomier.
    """
    push = ctx.energy - 0.5  # -0.5 .. 0.5
    dry, send = np.zeros(ctx.n, dtype=np.float32), np.zeros(ctx.n, dtype=np.float32)
    # Some songs open with a block without drums, as many records do.
    intro = int(ctx.block_bars * 16 * ctx.sixteenth * ctx.sr) if ctx.rng.random() < 0.25 else 0
    for part in parts:
        x = part.signal.astype(np.float32, copy=False)
        if part.drums and intro:
            x = x * np.clip((np.arange(ctx.n, dtype=np.float32) - intro) / (0.05 * ctx.sr), 0.0, 1.0)
        probe = np.abs(x[::8])  # every 8th sample is plenty to measure a level
        loud = probe > 1e-3 * (probe.max() + 1e-12)
        if not loud.any():
            continue
        rms = np.sqrt(np.mean(probe[loud] ** 2))  # loudness while playing, not diluted by rests
        level = part.level + ctx.rng.normal(0.0, 2.0) + (8.0 * push if part.drums else 0.0)
        gain = np.float32(10.0 ** (level / 20.0) / rms)
        dry += gain * x
        send += (gain * part.send * (1.0 - 0.8 * push)) * x
    y = dry + 0.5 * signal.fftconvolve(send, _reverb_ir(ctx))[: ctx.n]
    # Every record is mastered differently: tilt the spectrum, sometimes dull the top.
    low, high = 10.0 ** ((ctx.rng.uniform(-4.0, 4.0, 2) + [0.0, 8.0 * push]) / 20.0) - 1.0
    y = y + low * filtered(y, "low", 250, ctx.sr) + high * filtered(y, "high", 4000, ctx.sr)
    if ctx.master_cutoff is None and ctx.rng.random() < 0.08:
        ctx.master_cutoff = ctx.rng.uniform(4000, 9000)
    if ctx.master_cutoff:
        y = filtered(y, "low", ctx.master_cutoff, ctx.sr)
    level = np.sqrt(np.mean(y[::8] ** 2)) + 1e-12
    y = y + np.float32(level * 10.0 ** (ctx.rng.uniform(-56, -40) / 20.0)) * white_noise(ctx.rng, y)
    if ctx.crackle:  # vinyl: sparse clicks, a few hundred per minute
        pops = np.zeros(ctx.n, dtype=np.float32)
        where = ctx.rng.integers(0, ctx.n, size=int(3e-4 * ctx.n))
        pops[where] = ctx.rng.standard_normal(len(where))
        y = y + np.float32(level * 40 * ctx.crackle) * filtered(pops, "high", 2000, ctx.sr)
    y = unit(y)
    drive = ctx.rng.uniform(1.0, 2.0) + 1.5 * push  # glue compression, different per song
    return np.tanh(np.float32(drive) * y) / np.float32(np.tanh(drive) / ctx.rng.uniform(0.6, 0.95))


def render(song: DemoSong, *, sr: int = 22_050, seconds: float = 30.0) -> np.ndarray:
    """Synthesise one song: float32 mono (round(sr * seconds),), peak <= 1, deterministic."""
    style = SUBSTYLE_BY_NAME.get(song.substyle)
    if style is None or style.genre != song.genre:
        raise UserInputError(
            f"Unknown demo style {song.genre!r} / {song.substyle!r}; expected a genre of "
            f"{', '.join(STYLES)} and one of its sub-styles."
        )
    if sr < 8000 or seconds <= 0:
        raise UserInputError(f"Cannot render at sr={sr} Hz for {seconds} s (need sr >= 8000, seconds > 0).")
    tim = np.random.default_rng(song.timbre_seed)
    bar = 240.0 / song.tempo
    ctx = Ctx(
        song=song,
        style=style,
        sr=sr,
        n=int(round(sr * seconds)),
        bars=int(np.ceil(max(seconds, 30.0) / bar)) + 1,
        block_bars=int(min([2, 4, 8], key=lambda b: abs(b * bar - 7.0))),
        rng=np.random.default_rng(song.seed),
        tim=tim,
        kit=Kit(song.timbre_seed, sr),
    )
    y = _mix(ctx, style.compose(ctx))
    return y.astype(np.float32)
