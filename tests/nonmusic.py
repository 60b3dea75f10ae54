"""Sounds that are not music, generated (never committed): noise, a sweep, hiss, speech.

Used by the tests of ``recommender.novelty`` and by ``bench/unlike.py``. Each writer
returns the WAV it wrote; ``speech`` needs ``espeak-ng`` (None without it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050
SECONDS = 10.0

SPEECH_TEXT = (
    "Good morning. This is a short announcement about the timetable. The train to the city centre "
    "leaves from platform four at twenty past nine, and the next one follows half an hour later. "
    "Please keep your luggage with you at all times, and thank you for travelling with us today."
)


def white_noise(path: Path, *, seed: int = 0, level: float = 0.2) -> Path:
    y = np.random.default_rng(seed).normal(0.0, level, int(SR * SECONDS))
    return _write(path, y)


def pink_noise(path: Path, *, seed: int = 0, slope: float = 0.5) -> Path:
    """1/f noise: white noise whose spectrum is shaped by 1/f**slope (slope 1: brown noise)."""
    n = int(SR * SECONDS)
    spectrum = np.fft.rfft(np.random.default_rng(seed).normal(size=n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spectrum[1:] /= f[1:] ** slope
    spectrum[0] = 0
    y = np.fft.irfft(spectrum, n)
    return _write(path, 0.5 * y / np.max(np.abs(y)))


def sine_sweep(path: Path, *, fmin: float = 40, fmax: float = 10000, linear: bool = False) -> Path:
    """A sweep from ``fmin`` to ``fmax`` Hz (logarithmic unless ``linear``)."""
    import librosa

    return _write(path, 0.5 * librosa.chirp(fmin=fmin, fmax=fmax, sr=SR, duration=SECONDS, linear=linear))


def hiss(path: Path, *, seed: int = 0, level: float = 0.003) -> Path:
    """Near silence: faint white noise (``level`` 0.003: about 50 dB below full scale)."""
    y = np.random.default_rng(seed).normal(0.0, level, int(SR * SECONDS))
    return _write(path, y)


def speech(path: Path, *, text: str = SPEECH_TEXT, voice: str = "en", speed: int = 150) -> Path | None:
    """About 10 s of synthesised speech (espeak-ng), or None where espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    command = ["espeak-ng", "-w", str(path), "-v", voice, "-s", str(speed), text]
    subprocess.run(command, check=True, capture_output=True)
    y, sr = sf.read(str(path), dtype="float32")
    return _write(path, y[: int(sr * SECONDS)], sr=sr)


WRITERS = {
    "white noise": white_noise,
    "pink noise": pink_noise,
    "sine sweep": sine_sweep,
    "silence with hiss": hiss,
    "speech": speech,
}


def write_all(folder: Path) -> dict[str, Path | None]:
    """Every kind of non-music above as a WAV in ``folder``: kind -> path (None: speech without espeak-ng)."""
    folder.mkdir(parents=True, exist_ok=True)
    return {kind: write(folder / f"{kind.replace(' ', '_')}.wav") for kind, write in WRITERS.items()}


def _write(path: Path, y: np.ndarray, *, sr: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(y, dtype=np.float32), sr, subtype="PCM_16")
    return path
