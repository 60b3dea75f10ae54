"""From an audio file to a log-mel spectrogram and its slices.

One code path serves training, the catalog and uploaded clips: ``mel_for_file``.
Decoding tries soundfile (libsndfile: wav, flac, ogg/vorbis, opus, mp3, aiff) first and
falls back to ffmpeg when it is installed (m4a and friends), else to audioread (the OS's
decoders). Whatever the decoder, only the centre window (30 s) is read, block by block,
mixed down to mono and brought to at most ``DECODE_RATE`` as it is read: the memory a
file costs follows that window, never its channel count or length. Files whose header
declares more than ``MAX_CHANNELS`` channels or ``MAX_SAMPLE_RATE`` are refused. Every
failure a user's file can cause raises ``AudioError`` with a message naming the file and
what is wrong with it.
"""

from __future__ import annotations

import codecs
import errno
import math
import os
import stat
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


MAX_CHANNELS = 32
"""Files whose header declares more audio channels are refused (22.2 surround has 24)."""
MAX_SAMPLE_RATE = 384_000
"""Files whose header declares a higher sample rate are refused."""
DECODE_RATE = 48_000
"""Decoded windows of files sampled faster are resampled down to this rate as they are read."""
BLOCK_SAMPLES = 1 << 18  # samples (all channels together) read at once: 1 MiB of float32
FFMPEG_TIMEOUT_S = 120


def can_decode(suffix: str) -> bool:
    """Whether this machine can decode files with ``suffix`` (``".m4a"``…): libsndfile's, or ffmpeg's when installed."""
    import shutil

    if suffix.lower() not in NEEDS_FFMPEG:
        return True
    return shutil.which("ffmpeg") is not None or shutil.which("avconv") is not None


def _name(path: str | os.PathLike) -> str:
    return Path(path).name or str(path)


class _MonoWindow:
    """The samples of one decoding window, kept mono and at most ``DECODE_RATE``, block by block.

    Each block ``(n, channels)`` is mixed down as it arrives (and resampled by a streaming
    resampler when the file's rate is above ``DECODE_RATE``), so memory follows the mono
    window, never the file's channel count.
    """

    def __init__(self, sr: int, frames: int):
        self.rate = min(int(sr), DECODE_RATE)
        self.wanted = int(frames)  # frames at the file's rate still to take
        self._chunks: list[np.ndarray] = []
        self._resampler = None
        if self.rate != sr:
            import soxr

            self._resampler = soxr.ResampleStream(sr, self.rate, 1, dtype="float32", quality="HQ")

    def add(self, block: np.ndarray) -> bool:
        """Take ``block`` ``(n, channels)`` float32; True once the window is full."""
        block = block[: self.wanted]
        self.wanted -= len(block)
        mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0].copy()
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono, last=self.wanted <= 0)
        self._chunks.append(mono)
        return self.wanted <= 0

    def samples(self) -> tuple[np.ndarray, int]:
        """``(samples (n, 1) float32, rate)``."""
        if self._resampler is not None and self.wanted > 0:  # the file ended first: flush the resampler
            self._chunks.append(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
            self.wanted = 0
        y = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        return y.astype(np.float32, copy=False)[:, None], self.rate


def _check_caps(path: str | os.PathLike, *, channels: int | None, sr: int | None) -> None:
    """``AudioError`` when the file's header declares more channels or a higher rate than is read."""
    if channels is not None and channels > MAX_CHANNELS:
        raise AudioError(
            f"{_name(path)}: has {channels} audio channels; at most {MAX_CHANNELS} are read "
            "(mix it down to stereo first)"
        )
    if sr is not None and sr > MAX_SAMPLE_RATE:
        raise AudioError(
            f"{_name(path)}: is sampled at {sr:,} Hz; at most {MAX_SAMPLE_RATE:,} Hz are read "
            "(convert it to 48 kHz first)"
        )


def _read_soundfile(path: str | os.PathLike, *, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode the centre ``max_seconds`` of a file with libsndfile, block by block.

    Returns ``(samples (n, 1) float32 mono, rate)``, the rate at most ``DECODE_RATE``.
    Reading only the window we keep makes long files as cheap as short ones.
    """
    with sf.SoundFile(str(path)) as f:
        _check_caps(path, channels=f.channels, sr=f.samplerate)
        want = int(math.ceil(max_seconds * f.samplerate))
        skip = max(0, (f.frames - want) // 2)
        if skip and f.seekable():
            f.seek(skip)
            skip = 0
        window = _MonoWindow(f.samplerate, want)
        buffer = np.empty((max(1024, BLOCK_SAMPLES // f.channels), f.channels), dtype=np.float32)
        while True:
            block = f.read(len(buffer), dtype="float32", always_2d=True, out=buffer)
            if not len(block):
                break
            if skip:  # a stream that cannot seek: read up to the window
                dropped = min(skip, len(block))
                skip -= dropped
                block = block[dropped:]
            if len(block) and window.add(block):
                break
    return window.samples()


def _read_fallback(path: str | os.PathLike, *, max_seconds: float) -> tuple[np.ndarray, int]:
    """Decode what libsndfile does not read: ffmpeg when installed, else audioread, window only."""
    import shutil
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return _read_audioread(path, max_seconds=max_seconds)
    try:
        return _read_ffmpeg(path, max_seconds=max_seconds, ffmpeg=ffmpeg, ffprobe=shutil.which("ffprobe"))
    except subprocess.TimeoutExpired:
        raise AudioError(
            f"{_name(path)}: took more than {FFMPEG_TIMEOUT_S} s to decode; convert it to MP3, FLAC, OGG or WAV"
        ) from None


def _probe(path: str | os.PathLike, ffprobe: str | None) -> tuple[int | None, int | None, float | None]:
    """``(channels, sample rate, seconds)`` of the first audio stream as the header says (None: unknown)."""
    if ffprobe is None:
        return None, None, None
    import json
    import subprocess

    run = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=channels,sample_rate:format=duration", "-of", "json", _ffmpeg_input(path)],
        capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if run.returncode != 0:
        raise ValueError("ffprobe cannot read the file")
    found = json.loads(run.stdout or b"{}")
    stream = (found.get("streams") or [{}])[0]
    seconds = (found.get("format") or {}).get("duration")

    def number(value, kind):
        try:
            return kind(value)
        except (TypeError, ValueError):
            return None

    return number(stream.get("channels"), int), number(stream.get("sample_rate"), int), number(seconds, float)


def _ffmpeg_input(path: str | os.PathLike) -> str:
    return "file:" + os.path.abspath(path)  # never read as an option or another protocol


def _read_ffmpeg(
    path: str | os.PathLike, *, max_seconds: float, ffmpeg: str, ffprobe: str | None
) -> tuple[np.ndarray, int]:
    """The centre ``max_seconds``, decoded by ffmpeg straight to mono at most ``DECODE_RATE``."""
    import subprocess

    channels, sr, seconds = _probe(path, ffprobe)
    _check_caps(path, channels=channels, sr=sr)
    start = max(0.0, (seconds - max_seconds) / 2) if seconds else 0.0
    rate = min(sr or DECODE_RATE, DECODE_RATE)
    # The channels' mean, as for every other file ("<": gains normalised); ffmpeg's own -ac 1 weighs them.
    mean = ["-af", "pan=mono|c0<" + "+".join(f"c{i}" for i in range(channels))] if channels else []
    run = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-ss", f"{start:.3f}", "-t", f"{max_seconds:.3f}",
         "-i", _ffmpeg_input(path), "-map", "0:a:0", *mean, "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
        capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if run.returncode != 0:
        raise ValueError("ffmpeg cannot decode the file")
    y = np.frombuffer(run.stdout, dtype="<f4")[: int(math.ceil(max_seconds * rate))]
    return y.astype(np.float32)[:, None], rate


def _read_audioread(path: str | os.PathLike, *, max_seconds: float) -> tuple[np.ndarray, int]:
    """The centre ``max_seconds`` through audioread (the OS's decoders), read until the window is full."""
    import audioread

    with audioread.audio_open(str(path)) as f:
        channels, sr = int(f.channels), int(f.samplerate)
        _check_caps(path, channels=channels, sr=sr)
        seconds = float(f.duration or 0)
        skip = int(max(0.0, (seconds - max_seconds) / 2) * sr) * channels  # interleaved samples
        window = _MonoWindow(sr, int(math.ceil(max_seconds * sr)))
        rest = np.zeros(0, dtype=np.int16)  # a frame cut between two buffers
        for buffer in f:
            samples = np.concatenate([rest, np.frombuffer(buffer, dtype="<i2")])
            dropped = min(skip, len(samples))
            skip -= dropped
            samples = samples[dropped:]
            whole = len(samples) - len(samples) % channels
            samples, rest = samples[:whole], samples[whole:]
            if whole and window.add(samples.reshape(-1, channels).astype(np.float32) / 32768.0):
                break
    return window.samples()


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
    """Decode the centre ``max_seconds`` of an audio file to ``(samples (n, 1) float32, sample rate)``.

    The samples are the channels' mean (mono); the rate is the file's, or ``DECODE_RATE``
    for files sampled faster. Raises ``AudioError`` if the file is missing, empty, not
    decodable audio, or declares more channels or a higher rate than is read.
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
    except AudioError:
        raise
    except Exception:  # libsndfile refuses the format or the stream is broken
        try:
            data, sr = _read_fallback(p, max_seconds=max_seconds)
        except AudioError:
            raise
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
    from recommender.librosa_import import load_librosa

    librosa = load_librosa()

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
    from recommender.librosa_import import load_librosa

    librosa = load_librosa()

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
