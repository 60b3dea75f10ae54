"""From an audio file to a log-mel spectrogram and its slices.

One code path serves training, the catalog and uploaded clips: ``mel_for_file``.
Decoding tries soundfile (libsndfile: wav, flac, ogg/vorbis, opus, mp3, aiff) first and
falls back to librosa/audioread (which can use ffmpeg or the OS decoders for m4a and
friends when they are installed). Every failure a user's file can cause raises
``AudioError`` with a message naming the file and what is wrong with it.
"""

from __future__ import annotations

import codecs
import errno
import math
import os
import stat
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from recommender.config import DEFAULT_AUDIO, AudioConfig
from recommender.errors import AudioError
from recommender.formats import NEEDS_FFMPEG

# Peak amplitude under which a clip counts as silent (about -80 dBFS).
SILENCE_PEAK = 1e-4
# Dynamic range kept in the log-mel: values lie in [-TOP_DB, 0] dB relative to the clip's loudest bin.
TOP_DB = 80.0


def can_decode(suffix: str) -> bool:
    """Whether this machine can decode files with ``suffix`` (``".m4a"``…): libsndfile's, or ffmpeg's when installed."""
    import shutil

    if suffix.lower() not in NEEDS_FFMPEG:
        return True
    return shutil.which("ffmpeg") is not None or shutil.which("avconv") is not None


def _name(path: str | os.PathLike) -> str:
    return Path(path).name or str(path)


def _read_soundfile(path: str | os.PathLike, *, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode the centre ``max_seconds`` of a file with libsndfile.

    Returns ``(samples (n, channels) float32, sample_rate)``. Reading only the window
    we keep makes long files as cheap as short ones.
    """
    with sf.SoundFile(str(path)) as f:
        sr = f.samplerate
        want = int(math.ceil(max_seconds * sr))
        total = f.frames
        if f.seekable() and total > want:
            f.seek((total - want) // 2)
            data = f.read(want, dtype="float32", always_2d=True)
        else:
            data = f.read(dtype="float32", always_2d=True)
    return data, sr


def _read_fallback(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode with librosa (audioread backends) at the native rate; (n, channels) float32."""
    import librosa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns that it falls back to audioread
        y, sr = librosa.load(str(path), sr=None, mono=False, dtype=np.float32)
    return np.atleast_2d(y).T, int(sr)


def _looks_like_text(path: Path) -> bool:
    """True when the file's first bytes are printable text (a web page or a note saved as .mp3).

    Checked before decoding so that such files get a plain answer, and the MP3 decoder
    never prints its resync warnings for them.
    """
    with open(path, "rb") as f:
        head = f.read(512)
    try:  # an incremental decoder tolerates a character cut at the 512-byte mark
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _readable_file_size(p: Path) -> int:
    """The size of a regular file at ``p``, else ``AudioError`` saying what is there instead.

    Checked before anything opens the file: opening a FIFO would wait for a writer.
    """
    try:
        info = p.stat()
    except FileNotFoundError:
        raise AudioError(f"{_name(p)}: file not found") from None
    except OSError as error:  # e.g. a folder on the way that this user may not enter
        raise AudioError(f"{_name(p)}: cannot be read ({_reason(error)})") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioError(f"{_name(p)}: is a folder, not an audio file")
    if not stat.S_ISREG(info.st_mode):
        kind = next((k for test, k in _KINDS if test(info.st_mode)), "a special file")
        raise AudioError(f"{_name(p)}: is not a regular file ({kind})")
    return info.st_size


def _reason(error: OSError) -> str:
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return (error.strerror or str(error)).lower()


def decode(
    path: str | os.PathLike, *, max_seconds: float = DEFAULT_AUDIO.clip_seconds
) -> tuple[np.ndarray, int]:
    """Decode an audio file to ``(samples (n, channels) float32, native sample rate)``.

    Raises ``AudioError`` if the file is missing, empty or not decodable audio.
    """
    p = Path(path)
    size = _readable_file_size(p)
    if size == 0:
        raise AudioError(f"{_name(p)}: the file is empty (0 bytes)")
    try:
        text = _looks_like_text(p)
    except OSError as error:
        raise AudioError(f"{_name(p)}: cannot be read ({_reason(error)})") from None
    if text:
        raise AudioError(f"{_name(p)}: not an audio file (it contains text)")
    try:
        data, sr = _read_soundfile(p, max_seconds=max_seconds)
    except Exception:  # libsndfile refuses the format or the stream is broken
        try:
            data, sr = _read_fallback(p)
        except Exception:
            if p.suffix.lower() in NEEDS_FFMPEG and not can_decode(p.suffix):
                raise AudioError(
                    f"{_name(p)}: {p.suffix.lstrip('.').upper()} audio needs ffmpeg to be decoded, and this "
                    "machine has none; convert the file to MP3, FLAC, OGG or WAV, or install ffmpeg"
                ) from None
            raise AudioError(
                f"{_name(p)}: not a readable audio file (it is corrupt, or in a format this machine cannot decode)"
            ) from None
    if data.size == 0:
        raise AudioError(f"{_name(p)}: contains no audio samples (truncated or corrupt)")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{_name(p)}: decoded to invalid sample values (corrupt)")
    return data, sr


def prepare(
    samples: np.ndarray, sr: int, *, config: AudioConfig = DEFAULT_AUDIO, name: str = "clip"
) -> np.ndarray:
    """Mono, resampled to ``config.sample_rate``, centre ``config.clip_seconds`` window.

    ``samples`` is ``(n,)`` or ``(n, channels)``. Clips shorter than the window are kept
    at their own length (no padding: silence would dilute their embedding); clips
    shorter than ``config.min_seconds`` or silent raise ``AudioError``.
    Returns float32 ``(n_samples,)`` with ``min_samples <= n_samples <= clip_samples``.
    """
    import librosa

    y = samples.mean(axis=1) if samples.ndim == 2 else samples
    y = np.ascontiguousarray(y, dtype=np.float32)
    seconds = len(y) / sr
    if seconds < config.min_seconds:
        raise AudioError(
            f"{name}: {_below(seconds, config.min_seconds)} s of audio is too short; "
            f"at least {config.min_seconds:g} s are needed"
        )
    # Crop at the native rate first: resampling 30 s is cheaper than resampling a whole song.
    keep = int(math.ceil(config.clip_seconds * sr))
    if len(y) > keep:
        start = (len(y) - keep) // 2
        y = y[start : start + keep]
    if np.max(np.abs(y)) < SILENCE_PEAK:
        raise AudioError(f"{name}: the clip is silent; there is nothing to listen to")
    if sr != config.sample_rate:
        y = librosa.resample(y, orig_sr=sr, target_sr=config.sample_rate, res_type="soxr_hq")
    y = y[: config.clip_samples]
    if len(y) < config.min_samples:  # rounding after resampling
        y = np.pad(y, (0, config.min_samples - len(y)))
    return y.astype(np.float32, copy=False)


def _below(seconds: float, limit: float) -> str:
    """``seconds`` with just enough decimals to read as less than ``limit`` (2.99 → "2.99", not "3.0")."""
    for digits in range(1, 5):
        text = f"{seconds:.{digits}f}"
        if float(text) < limit:
            return text
    return f"{math.floor(seconds * 10_000) / 10_000:.4f}"


def load_clip(path: str | os.PathLike, *, config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """Decode a file into the clip the model hears: float32 mono ``(n_samples,)`` at ``config.sample_rate``."""
    data, sr = decode(path, max_seconds=config.clip_seconds)
    return prepare(data, sr, config=config, name=_name(path))


def log_mel(y: np.ndarray, *, config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """Log-mel spectrogram of a prepared clip: float32 ``(n_mels, n_frames)`` in dB, within [-80, 0].

    Relative to the clip's loudest bin, so the same song at another volume looks the same.
    """
    import librosa

    power = librosa.feature.melspectrogram(
        y=y,
        sr=config.sample_rate,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        n_mels=config.n_mels,
        fmin=config.fmin,
        fmax=config.fmax,
        power=2.0,
    )
    db = librosa.power_to_db(power, ref=np.max, top_db=TOP_DB)
    return db.astype(np.float32, copy=False)


def mel_for_file(path: str | os.PathLike, *, config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """The one feature path: file → clip → log-mel ``(n_mels, n_frames)`` float32."""
    return log_mel(load_clip(path, config=config), config=config)


def slice_mel(mel: np.ndarray, *, config: AudioConfig = DEFAULT_AUDIO) -> np.ndarray:
    """Non-overlapping slices of ``config.slice_frames`` frames: ``(n_slices, n_mels, slice_frames)``.

    A trailing partial slice is dropped; a mel shorter than one slice is padded with its
    minimum (the quietest value) to exactly one slice.
    """
    n_mels, n_frames = mel.shape
    width = config.slice_frames
    if n_frames < width:
        mel = np.pad(mel, ((0, 0), (0, width - n_frames)), constant_values=float(mel.min()))
        n_frames = width
    n = n_frames // width
    out = mel[:, : n * width].reshape(n_mels, n, width).transpose(1, 0, 2)
    return np.ascontiguousarray(out, dtype=np.float32)


def duration_of(path: str | os.PathLike) -> float | None:
    """Length in seconds from the file header, or None when the header does not say."""
    try:
        info = sf.info(str(path))
        return float(info.duration) if info.duration > 0 else None
    except Exception:
        return None
