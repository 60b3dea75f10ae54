"""Synthesis primitives: filters, wavetables, envelopes, and the three kinds of instrument voice."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

_TABLE_SIZE = 2048


def _hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def _sos(kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    nyq = 0.5 * sr
    if isinstance(cutoff, tuple):
        cutoff = (max(cutoff[0], 20.0), min(cutoff[1], 0.9 * nyq))
    else:
        cutoff = min(max(cutoff, 20.0), 0.9 * nyq)
    return signal.butter(order, cutoff, btype=kind, fs=sr, output="sos")


def filtered(x: np.ndarray, kind: str, cutoff: float | tuple[float, float], sr: int, order: int = 2):
    """Butterworth low/high/band-pass of a signal (n,) -> (n,)."""
    return signal.sosfilt(_sos(kind, cutoff, sr, order), x)


def unit(x: np.ndarray) -> np.ndarray:
    """Scale to peak 1 (silence stays silence)."""
    peak = np.max(np.abs(x)) if len(x) else 0.0
    return x / peak if peak > 0 else x


@lru_cache(maxsize=512)
def _table(shape: str | tuple[float, ...], n_harmonics: int) -> np.ndarray:
    """One band-limited cycle (_TABLE_SIZE,) of a waveform with at most n_harmonics partials."""
    k = np.arange(1, n_harmonics + 1)
    if isinstance(shape, tuple):  # explicit partial amplitudes (organ drawbars)
        amps = np.zeros(n_harmonics)
        amps[: min(len(shape), n_harmonics)] = shape[:n_harmonics]
    elif shape == "saw":
        amps = 1.0 / k
    elif shape == "square":
        amps = (k % 2 == 1) / k
    elif shape == "triangle":
        amps = (k % 2 == 1) / k**2.0
    else:  # sine
        amps = (k == 1).astype(float)
    phase = np.arange(_TABLE_SIZE) / _TABLE_SIZE
    return unit((amps[:, None] * np.sin(2 * np.pi * k[:, None] * phase)).sum(axis=0)).astype(np.float32)


def _osc(shape: str | tuple[float, ...], freq: float, cycles: np.ndarray, sr: int) -> np.ndarray:
    """Wavetable oscillator: ``cycles`` (n,) is the phase in periods; band-limited below sr/2."""
    n_harmonics = int(np.clip(0.45 * sr / freq, 1, 48))
    table = _table(shape, n_harmonics)
    return table.take((cycles * _TABLE_SIZE).astype(np.int64) & (_TABLE_SIZE - 1))


def _envelope(gate: int, total: int, sr: int, *, attack: float, decay: float, sustain: float, release: float):
    """Attack-decay-sustain envelope held for ``gate`` samples, then released; float32 (total,)."""
    t = np.arange(total, dtype=np.float32) / np.float32(sr)
    attack = max(attack, 1e-3)
    env = np.minimum(t / np.float32(attack), np.float32(1.0))
    if sustain < 1.0:
        env *= sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / np.float32(decay))
    if gate < total:
        env[gate:] = env[max(gate - 1, 0)] * np.exp(-(t[gate:] - t[gate]) / release)
    return env


@dataclass(frozen=True)
class Synth:
    """Subtractive voice: detuned wavetable oscillators, drive, low-pass, envelope."""

    shape: str | tuple[float, ...] = "saw"
    detune: tuple[float, ...] = (0.0,)  # cents of each oscillator
    intervals: tuple[int, ...] = (0,)  # semitones played together (power chords)
    attack: float = 0.005
    decay: float = 0.3
    sustain: float = 0.7
    release: float = 0.08
    cutoff: float | None = None  # static low-pass, Hz
    bright: float = 0.0  # extra unfiltered brightness fading with bright_decay (a pluck)
    bright_decay: float = 0.08
    vibrato: float = 0.0  # cents
    drive: float = 0.0  # tanh saturation
    sub: float = 0.0  # sine one octave below
    drop: float = 0.0  # semitones the pitch falls from at each attack (an 808's thump)

    def note(self, pitch: float, gate: int, sr: int) -> np.ndarray:
        """Samples (gate + release tail,) of one note."""
        total = gate + int(3 * self.release * sr)
        t = np.arange(total) / sr  # float64: phases of long notes need the precision
        f0 = _hz(pitch)
        if self.vibrato:  # delayed vibrato, as a player does on a held note
            depth = (2.0 ** (self.vibrato / 1200.0) - 1.0) * np.clip(t / 0.4 - 0.5, 0.0, 1.0)
            warp = np.cumsum(1.0 + depth * np.sin(2 * np.pi * 5.3 * t)) / sr
        else:
            warp = t
        if self.drop:  # the pitch starts high and falls back within ~40 ms
            warp = warp + np.cumsum(2.0 ** (self.drop * np.exp(-t / 0.04) / 12.0) - 1.0) / sr
        y = np.zeros(total, dtype=np.float32)
        for semis in self.intervals:
            for cents in self.detune:
                f = f0 * 2.0 ** (semis / 12.0 + cents / 1200.0)
                y += _osc(self.shape, f, 0.37 * semis + 0.013 * cents + f * warp, sr)
        y /= len(self.intervals) * len(self.detune)
        if self.sub:
            y += self.sub * np.sin((np.pi * f0 * warp).astype(np.float32))
        if self.drive:
            y = np.tanh(np.float32(self.drive) * y) / np.float32(np.tanh(self.drive))
        if self.cutoff:
            dark = filtered(y, "low", self.cutoff, sr).astype(np.float32)
            if self.bright:
                fade = np.exp(-np.arange(total, dtype=np.float32) / np.float32(self.bright_decay * sr))
                y = dark + np.float32(self.bright) * (y - dark) * fade
            else:
                y = dark
        env = _envelope(
            gate, total, sr, attack=self.attack, decay=self.decay, sustain=self.sustain, release=self.release
        )
        return y * env


@dataclass(frozen=True)
class Pluck:
    """Plucked or struck string: additive partials, higher ones dying faster."""

    damping: float = 2.0  # 1/s decay rate of the fundamental
    brightness: float = 0.05  # how much faster each higher partial decays
    position: float = 0.2  # pluck position on the string (sets the partial amplitudes)
    partials: int = 10
    stretch: float = 0.0  # inharmonicity (piano strings)
    release: float = 0.06

    def note(self, pitch: float, gate: int, sr: int) -> np.ndarray:
        f0 = _hz(pitch)
        ring = int(sr * min(6.9 / self.damping, 4.0))  # natural -60 dB time
        total = min(gate + int(4 * self.release * sr), ring)
        k = np.arange(1, self.partials + 1, dtype=np.float32)
        f = f0 * k * np.sqrt(1.0 + self.stretch * k**2)
        keep = f < 0.45 * sr
        k, f = k[keep], f[keep]
        amps = np.abs(np.sin(np.pi * k * self.position)) / k
        rates = self.damping * (1.0 + self.brightness * (k - 1) ** 2)
        t = (np.arange(total, dtype=np.float32) / sr)[None, :]
        y = (amps[:, None] * np.exp(-rates[:, None] * t) * np.sin(2 * np.pi * f[:, None] * t)).sum(axis=0)
        y *= np.minimum(t[0] / 0.002, 1.0)  # pick attack without a click
        if gate < total:
            y[gate:] *= np.exp(-(t[0, gate:] - t[0, gate]) / self.release)
        return y


@dataclass(frozen=True)
class FM:
    """Two-operator FM voice: electric piano (ratio 1) or bell (ratio ~3.5)."""

    ratio: float = 1.0
    index: float = 2.0  # modulation index at the attack
    index_decay: float = 0.4  # seconds
    attack: float = 0.002
    decay: float = 1.5
    release: float = 0.15
    tine: float = 0.0  # short high partial of an electric piano

    def note(self, pitch: float, gate: int, sr: int) -> np.ndarray:
        f = _hz(pitch)
        total = gate + int(4 * self.release * sr)
        t = np.arange(total, dtype=np.float32) / np.float32(sr)
        w = np.float32(2 * np.pi * f)
        index = np.float32(self.index) * np.exp(-t / np.float32(self.index_decay))
        y = np.sin(w * t + index * np.sin(w * np.float32(self.ratio) * t))
        if self.tine and 7 * f < 0.45 * sr:
            y += np.float32(self.tine) * np.sin(7 * w * t) * np.exp(-t / np.float32(0.05))
        env = _envelope(
            gate, total, sr, attack=self.attack, decay=self.decay, sustain=0.0, release=self.release
        )
        return y * env


Voice = Synth | Pluck | FM
