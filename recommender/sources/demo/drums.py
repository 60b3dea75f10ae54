"""The drum kit: kick, snare, clap, cymbals, rim and swish, synthesised once per artist."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from recommender.sources.demo.dsp import filtered, unit
from recommender.sources.demo.names import seeded_rng


def time_axis(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr), dtype=np.float32) / np.float32(sr)


def white_noise(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    return rng.standard_normal(len(t), dtype=np.float32)


def _kick(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Sine with a fast pitch drop, a click, some drive."""
    t = time_axis(rng.uniform(0.3, 0.5), sr)
    f_hi, f_lo = rng.uniform(110, 220), rng.uniform(42, 62)
    f = f_lo + (f_hi - f_lo) * np.exp(-t / rng.uniform(0.02, 0.06))
    body = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / rng.uniform(0.12, 0.35))
    click = filtered(white_noise(rng, t), "high", 1500, sr) * np.exp(-t / 0.004)
    return unit(np.tanh(rng.uniform(1.0, 3.0) * (body + rng.uniform(0.1, 0.5) * click)))


def _snare(rng: np.random.Generator, sr: int) -> np.ndarray:
    """Band-passed noise burst plus a tuned body with a little pitch drop."""
    t = time_axis(0.35, sr)
    noise = filtered(white_noise(rng, t), "band", (rng.uniform(700, 2000), rng.uniform(6e3, 1e4)), sr)
    tone = rng.uniform(160, 250) * (1 + 0.4 * np.exp(-t / 0.01))
    body = np.sin(2 * np.pi * np.cumsum(tone) / sr) * np.exp(-t / rng.uniform(0.04, 0.1))
    burst = unit(noise) * np.exp(-t / rng.uniform(0.06, 0.18))
    return unit(rng.uniform(0.6, 1.0) * burst + rng.uniform(0.3, 0.9) * body)


def _clap(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A few noise bursts a few ms apart, then a short tail."""
    t = time_axis(0.4, sr)
    gaps = np.cumsum(rng.uniform(0.007, 0.014, 4)) - 0.007
    env = sum(np.where(t >= g, np.exp(-np.maximum(t - g, 0) / 0.005), 0.0) for g in gaps[:3])
    env = env + np.where(t >= gaps[3], np.exp(-np.maximum(t - gaps[3], 0) / rng.uniform(0.06, 0.15)), 0.0)
    return unit(filtered(white_noise(rng, t), "band", (rng.uniform(800, 1200), 3500), sr) * env)


def _cymbal(rng: np.random.Generator, sr: int, *, seconds: float, cutoff: float, tau: float, metal: float):
    """Six inharmonic square waves (the classic metallic source) and noise, high-passed, decaying."""
    t = time_axis(seconds, sr)
    ratios = np.array([1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523], dtype=np.float32)
    squares = np.sign(np.sin(np.float32(2 * np.pi * rng.uniform(280, 460)) * ratios[:, None] * t[None, :]))
    source = metal * squares.mean(axis=0) + (1 - metal) * white_noise(rng, t)
    return unit(filtered(source, "high", cutoff, sr, order=4) * np.exp(-t / tau))


def _rim(rng: np.random.Generator, sr: int) -> np.ndarray:
    """A short click and a woody tone."""
    t = time_axis(0.08, sr)
    click = filtered(white_noise(rng, t), "band", (1500, 5000), sr) * np.exp(-t / 0.006)
    return unit(click + np.sin(2 * np.pi * rng.uniform(700, 1200) * t) * np.exp(-t / 0.015))


def _swish(rng: np.random.Generator, sr: int, *, band: tuple[float, float], attack: float, tau: float):
    """Band noise with a soft attack: shaker (high band) or brush (wide band)."""
    t = time_axis(0.3, sr)
    env = np.minimum(t / attack, 1) * np.exp(-t / tau)
    return unit(filtered(white_noise(rng, t), "band", band, sr) * env)


class Kit:
    """An artist's drum kit: one-shot samples (n_i,) with peak 1, each made on first use.

    Every piece has its own seed, so a piece sounds the same whichever others a song uses.
    """

    def __init__(self, seed: int, sr: int) -> None:
        self.seed, self.sr = seed, sr

    def _rng(self, piece: int) -> np.random.Generator:
        return seeded_rng(self.seed, 100 + piece)

    @cached_property
    def kick(self) -> np.ndarray:
        return _kick(self._rng(0), self.sr)

    @cached_property
    def snare(self) -> np.ndarray:
        return _snare(self._rng(1), self.sr)

    @cached_property
    def clap(self) -> np.ndarray:
        return _clap(self._rng(2), self.sr)

    @cached_property
    def hat(self) -> np.ndarray:
        r = self._rng(3)
        return _cymbal(
            r,
            self.sr,
            seconds=0.15,
            cutoff=r.uniform(6000, 8500),
            tau=r.uniform(0.015, 0.05),
            metal=r.uniform(0.2, 0.7),
        )

    @cached_property
    def open_hat(self) -> np.ndarray:
        r = self._rng(4)
        return _cymbal(
            r,
            self.sr,
            seconds=0.6,
            cutoff=r.uniform(6000, 8000),
            tau=r.uniform(0.12, 0.3),
            metal=r.uniform(0.2, 0.7),
        )

    @cached_property
    def ride(self) -> np.ndarray:
        r = self._rng(5)
        return _cymbal(
            r,
            self.sr,
            seconds=1.5,
            cutoff=r.uniform(2000, 3500),
            tau=r.uniform(0.5, 1.0),
            metal=r.uniform(0.6, 0.9),
        )

    @cached_property
    def crash(self) -> np.ndarray:
        r = self._rng(6)
        return _cymbal(
            r, self.sr, seconds=2.0, cutoff=r.uniform(2500, 4500), tau=r.uniform(0.7, 1.3), metal=0.3
        )

    @cached_property
    def tom(self) -> np.ndarray:
        """A low tom or frame drum (bodhrán): a kick's recipe, higher and less punchy."""
        r = self._rng(10)
        t = time_axis(0.4, self.sr)
        f = r.uniform(80, 140) * (1 + 0.3 * np.exp(-t / 0.03))
        body = np.sin(2 * np.pi * np.cumsum(f) / self.sr) * np.exp(-t / r.uniform(0.08, 0.2))
        skin = filtered(white_noise(r, t), "band", (300, 2500), self.sr) * np.exp(-t / 0.02)
        return unit(body + r.uniform(0.2, 0.5) * skin)

    @cached_property
    def rim(self) -> np.ndarray:
        return _rim(self._rng(7), self.sr)

    @cached_property
    def shaker(self) -> np.ndarray:
        r = self._rng(8)
        return _swish(r, self.sr, band=(4000, 9000), attack=0.012, tau=r.uniform(0.03, 0.06))

    @cached_property
    def brush(self) -> np.ndarray:
        r = self._rng(9)
        return _swish(r, self.sr, band=(800, 6000), attack=0.02, tau=r.uniform(0.08, 0.15))
