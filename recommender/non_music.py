"""Sounds that are not music, synthesised here, and what the backbone hears in them.

``novelty.judge`` names a clip's kind (noise, silence, sweep, speech) when it lies nearer
to one of these sounds than to any catalog song. They are generated from seeds, never
shipped: white and pink noise, faint hiss, sine sweeps and a speech-like voice (a glottal
pulse train with a moving pitch through vowel formants, syllables, pauses and fricatives).
Their sound features are computed once per home and sound configuration (a few seconds of
the backbone) and kept beside the catalog's other sound features (``references``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.novelty import References

SECONDS = 10.0  # each reference sound's length
VERSION = 1  # of the generators below: a new version computes the references again
FILE = f"non_music-v{VERSION}.npz"

# Vowel formants F1-F4 (Hz) of an adult male voice (Peterson & Barney); other voices scale them.
VOWELS = np.array(
    [
        [730, 1090, 2440, 3400],  # a
        [530, 1840, 2480, 3500],  # e
        [270, 2290, 3010, 3700],  # i
        [570, 840, 2410, 3300],  # o
        [300, 870, 2240, 3300],  # u
        [500, 1500, 2500, 3500],  # schwa
    ],
    dtype=np.float64,
)
BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0])  # Hz, of F1-F4


@dataclass(frozen=True)
class Voice:
    """A speech-like voice: its pitch range (Hz), formants scaled by ``formants``, syllables a second."""

    low: float
    high: float
    formants: float = 1.0
    rate: float = 4.0
    fricatives: float = 0.35  # share of syllables that open with one
    breath: float = 0.02  # noise in the glottal source, of its level


def white_noise(rng: np.random.Generator, *, sr: int, level: float = 0.2) -> np.ndarray:
    """``SECONDS`` of Gaussian white noise: ``(n,)`` float."""
    return rng.normal(0.0, level, int(sr * SECONDS))


def coloured_noise(rng: np.random.Generator, *, sr: int, slope: float = 0.5) -> np.ndarray:
    """1/f**slope noise (0.5: pink, 1: brown), peak 0.5: ``(n,)``."""
    n = int(sr * SECONDS)
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / sr)
    spectrum[1:] /= f[1:] ** slope
    spectrum[0] = 0
    y = np.fft.irfft(spectrum, n)
    return 0.5 * y / np.max(np.abs(y))


def sweep(rng: np.random.Generator, *, sr: int, fmin: float, fmax: float, linear: bool = False) -> np.ndarray:
    """A sine sweep from ``fmin`` to ``fmax`` Hz over ``SECONDS`` (logarithmic unless ``linear``)."""
    t = np.arange(int(sr * SECONDS)) / sr
    if linear:
        phase = 2 * np.pi * (fmin * t + (fmax - fmin) * t**2 / (2 * SECONDS))
    else:
        rate = np.log(fmax / fmin) / SECONDS
        phase = 2 * np.pi * fmin * (np.exp(rate * t) - 1) / rate
    return 0.5 * np.sin(phase)


def speech_like(rng: np.random.Generator, *, sr: int, voice: Voice) -> np.ndarray:
    """``SECONDS`` of a speech-like voice: ``(n,)`` float, peak 0.5.

    Phrases of syllables (about ``voice.rate`` a second) with pauses between them; each
    syllable a vowel, or two, held 80-200 ms and sung by a glottal pulse train whose pitch
    wanders and falls over the phrase within ``voice.low``-``voice.high``; some syllables
    open or close with a fricative (high-passed noise).
    """
    n = int(sr * SECONDS)
    vowel = np.full(n, -1)  # which vowel sounds at each sample (-1: none)
    envelope = np.zeros(n)
    pitch = np.full(n, voice.low)
    frication = np.zeros(n)
    at = int(rng.uniform(0.05, 0.3) * sr)
    while at < n:
        phrase_end = min(n, at + int(rng.uniform(1.0, 2.6) * sr))
        start_pitch = rng.uniform(0.55, 1.0)  # of the voice's range, falling over the phrase
        phrase_start = at
        while at < phrase_end:
            syllable = int(sr / voice.rate * rng.uniform(0.6, 1.4))
            stop = min(n, at + syllable)
            if rng.random() < voice.fricatives:  # a fricative onset: s, sh, f
                length = int(rng.uniform(0.05, 0.12) * sr)
                frication[at : min(n, at + length)] = rng.uniform(0.15, 0.4)
                at = min(n, at + length)
            cut = at
            while cut < stop:  # one vowel or a glide of two
                held = min(stop, cut + int(rng.uniform(0.08, 0.2) * sr))
                vowel[cut:held] = rng.integers(len(VOWELS))
                cut = held
            span = np.arange(at, stop)
            envelope[at:stop] = np.sin(np.pi * (span - at) / max(1, stop - at)) ** 0.7
            progress = (span - phrase_start) / max(1, phrase_end - phrase_start)
            wobble = 0.12 * np.sin(2 * np.pi * rng.uniform(1.5, 4.0) * span / sr + rng.uniform(0, 2 * np.pi))
            share = np.clip(start_pitch - 0.45 * progress + wobble, 0.0, 1.0)
            pitch[at:stop] = voice.low + (voice.high - voice.low) * share
            at = stop
            if rng.random() < 0.1:  # a stop consonant's silence
                at += int(rng.uniform(0.03, 0.08) * sr)
        at = phrase_end + int(rng.uniform(0.2, 0.6) * sr)  # a pause for breath
    return _voiced(rng, sr=sr, voice=voice, vowel=vowel, envelope=envelope, pitch=pitch, frication=frication)


def _voiced(
    rng: np.random.Generator, *, sr: int, voice: Voice, vowel: np.ndarray, envelope: np.ndarray,
    pitch: np.ndarray, frication: np.ndarray,
) -> np.ndarray:  # fmt: skip
    from scipy import signal

    n = len(vowel)
    jitter = 1 + 0.01 * rng.standard_normal(n)
    phase = np.cumsum(pitch * jitter / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse a glottal cycle
    source = signal.lfilter([1.0], [1.0, -1.9, 0.9025], pulses)  # glottal roll-off, -12 dB/octave
    source = np.diff(source, prepend=0.0)  # lip radiation, +6 dB/octave
    source += voice.breath * np.std(source) * rng.standard_normal(n)  # breathiness
    # Each vowel's formant filter over the whole source, then the vowel of each moment, cross-faded.
    weights = np.stack([(vowel == v).astype(np.float64) for v in range(len(VOWELS))])
    fade = np.hanning(int(0.03 * sr))
    weights = np.stack([np.convolve(w, fade / fade.sum(), mode="same") for w in weights])
    voiced = np.zeros(n)
    for v, formants in enumerate(VOWELS * voice.formants):
        if not weights[v].any():
            continue
        y = source
        for f, bandwidth in zip(formants, BANDWIDTHS, strict=True):
            y = _resonator(y, frequency=min(f, 0.45 * sr), bandwidth=bandwidth, sr=sr)
        voiced += weights[v] * y
    voiced *= np.convolve(envelope, fade / fade.sum(), mode="same")
    voiced /= max(1e-9, float(np.max(np.abs(voiced))))
    hiss = signal.sosfilt(
        signal.butter(4, min(3500.0, 0.4 * sr), "highpass", fs=sr, output="sos"), rng.normal(size=n)
    )
    hiss *= np.convolve(frication, fade / fade.sum(), mode="same") / max(1e-9, float(np.std(hiss)) * 3)
    y = voiced + hiss
    return 0.5 * y / max(1e-9, float(np.max(np.abs(y))))


def _resonator(x: np.ndarray, *, frequency: float, bandwidth: float, sr: int) -> np.ndarray:
    """A two-pole formant resonator of unit gain at 0 Hz (Klatt's)."""
    from scipy import signal

    r = np.exp(-np.pi * bandwidth / sr)
    a = [1.0, -2 * r * np.cos(2 * np.pi * frequency / sr), r * r]
    return signal.lfilter([sum(a)], a, x)


Generator = Callable[[np.random.Generator, int], np.ndarray]


def _sounds() -> list[tuple[str, Generator]]:
    """The reference sounds: ``(kind, generator(rng, sr))``, kinds as ``novelty.REASONS`` names them."""
    return [
        ("noise", lambda rng, sr: white_noise(rng, sr=sr)),
        ("noise", lambda rng, sr: white_noise(rng, sr=sr, level=0.05)),
        ("noise", lambda rng, sr: coloured_noise(rng, sr=sr, slope=0.5)),
        ("noise", lambda rng, sr: coloured_noise(rng, sr=sr, slope=1.0)),
        ("silence", lambda rng, sr: white_noise(rng, sr=sr, level=0.003)),
        ("silence", lambda rng, sr: white_noise(rng, sr=sr, level=0.0008)),
        ("sweep", lambda rng, sr: sweep(rng, sr=sr, fmin=60, fmax=6000)),
        ("sweep", lambda rng, sr: sweep(rng, sr=sr, fmin=100, fmax=8000, linear=True)),
        ("speech", lambda rng, sr: speech_like(rng, sr=sr, voice=Voice(110, 180, 1.05, 4.5))),
        ("speech", lambda rng, sr: speech_like(rng, sr=sr, voice=Voice(95, 200, 1.03, 5.0, 0.6, 0.1))),
        ("speech", lambda rng, sr: speech_like(rng, sr=sr, voice=Voice(100, 170, 1.0, 4.5, 0.7))),
        ("speech", lambda rng, sr: speech_like(rng, sr=sr, voice=Voice(90, 220, 1.0, 4.5))),
        ("speech", lambda rng, sr: speech_like(rng, sr=sr, voice=Voice(170, 250, 1.18, 4.5, 0.6, 0.1))),
    ]


def reference_audio(sr: int) -> list[tuple[str, np.ndarray]]:
    """Every reference sound at ``sr`` Hz: ``(kind, (n,) float32)``, the same on every run."""
    return [
        (kind, make(np.random.default_rng(i), sr).astype(np.float32))
        for i, (kind, make) in enumerate(_sounds())
    ]


def compute(sound) -> References:
    """What the backbones of ``sound`` (a ``backbone.SoundConfig``) hear in ``reference_audio``."""
    from recommender.audio import prepare
    from recommender.backbone import musicnn_mel, sound_features

    sr = sound.preprocessing.sample_rate
    made = reference_audio(sr)
    mels = [musicnn_mel(prepare(y, sr, config=sound.preprocessing, name=kind)) for kind, y in made]
    features = sound_features(mels, names=sound.backbones, max_patches=sound.max_patches, layout=sound.layout)
    return References(features.astype(np.float32), np.array([kind for kind, _ in made]))


_MEMO: dict[Path, References] = {}
_LOCK = threading.Lock()


def references(features_dir: Path, sound) -> References:
    """The references' sound features for ``sound``, read from the home's sound-feature folder
    (``features_dir``/``sound.key()``/``FILE``), else computed now and saved there for next time.

    A home that cannot be written still gets them (computed again by the next process).
    """
    from recommender.errors import WriteError
    from recommender.files import atomic_write, savez

    path = Path(features_dir) / sound.key() / FILE
    with _LOCK:
        if path in _MEMO:
            return _MEMO[path]
        refs = _read(path, width=sound.width)
        if refs is None:
            refs = compute(sound)
            with contextlib.suppress(WriteError):  # used all the same, computed again next time
                atomic_write(path, lambda tmp: savez(tmp, features=refs.features, kinds=refs.kinds))
        _MEMO[path] = refs
        return refs


def _read(path: Path, *, width: int) -> References | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            features, kinds = data["features"], data["kinds"]
    except (OSError, KeyError, ValueError):
        return None
    if features.ndim != 2 or features.shape != (len(kinds), width) or not np.isfinite(features).all():
        return None  # damaged, or of another layout: computed again
    return References(features.astype(np.float32), kinds.astype(str))
