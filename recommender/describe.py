"""Why two songs sound alike, in words a listener understands.

The neighbours come from the CNN embedding, which has no names for what it hears.
To explain a neighbour we put three things a person can check by ear side by side:
the genres the model hears most in both songs, their tempo (librosa beat tracking on
the onset envelope of the cached log-mel) and their brightness (spectral centroid of
the mel bands). All of it comes from the log-mel the catalog already caches: no audio
is decoded again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from recommender.config import DEFAULT_AUDIO, AudioConfig

TOP_GENRES = 2
MIN_GENRE_PROBABILITY = 0.15  # a genre below this is not "heard" in the song
SAME_TEMPO_RATIO = 1.06  # within 6 %: the same tempo to the ear
SAME_BRIGHTNESS_RATIO = 1.15


@dataclass(frozen=True)
class SoundTraits:
    """What a listener can check by ear: tempo (BPM), brightness (Hz) and the genres heard."""

    tempo_bpm: float
    brightness_hz: float
    top_genres: tuple[str, ...]  # most probable first, at most TOP_GENRES


def tempo_bpm(mel_db: np.ndarray, *, config: AudioConfig = DEFAULT_AUDIO) -> float:
    """Tempo in beats per minute of a log-mel ``(n_mels, n_frames)`` in dB; 0.0 when no beat is found."""
    import librosa

    mel_db = np.asarray(mel_db, dtype=np.float32)
    envelope = librosa.onset.onset_strength(S=mel_db, sr=config.sample_rate, hop_length=config.hop_length)
    if not np.any(envelope > 0):
        return 0.0
    tempo, _ = librosa.beat.beat_track(
        onset_envelope=envelope, sr=config.sample_rate, hop_length=config.hop_length, trim=False
    )
    return float(np.atleast_1d(tempo)[0])


def brightness_hz(mel_db: np.ndarray, *, config: AudioConfig = DEFAULT_AUDIO) -> float:
    """Spectral centroid in Hz of a log-mel ``(n_mels, n_frames)`` in dB, median over frames.

    The centroid of each frame weighs the mel bands' centre frequencies by their
    amplitude (as ``librosa.feature.spectral_centroid`` weighs by magnitude; power would
    let the bass drown everything); the median ignores the odd silent or noisy frame.
    """
    import librosa

    mel_db = np.asarray(mel_db, dtype=np.float64)
    freqs = librosa.mel_frequencies(n_mels=mel_db.shape[0], fmin=config.fmin, fmax=config.fmax)
    amplitude = librosa.db_to_amplitude(mel_db)
    total = amplitude.sum(axis=0)
    voiced = total > 0
    if not voiced.any():
        return 0.0
    centroids = freqs @ amplitude[:, voiced] / total[voiced]
    return float(np.median(centroids))


def top_genres(probabilities: Mapping[str, float], *, n: int = TOP_GENRES) -> tuple[str, ...]:
    """The ``n`` most probable genres with at least ``MIN_GENRE_PROBABILITY`` (always the first one)."""
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])
    kept = [g for i, (g, p) in enumerate(ranked[:n]) if i == 0 or p >= MIN_GENRE_PROBABILITY]
    return tuple(kept)


def sound_traits(
    mel_db: np.ndarray, probabilities: Mapping[str, float], *, config: AudioConfig = DEFAULT_AUDIO
) -> SoundTraits:
    """Tempo, brightness and top genres of one song from its log-mel ``(n_mels, n_frames)``."""
    return SoundTraits(
        tempo_bpm=round(tempo_bpm(mel_db, config=config), 1),
        brightness_hz=round(brightness_hz(mel_db, config=config), 1),
        top_genres=top_genres(probabilities),
    )


def _close(a: float, b: float, ratio: float) -> bool:
    low, high = sorted((a, b))
    return low > 0 and high / low <= ratio


def why(query: SoundTraits, neighbour: SoundTraits) -> str:
    """One line saying what a neighbour shares with the query song (and where they differ).

    >>> why(SoundTraits(120, 2000, ("Techno",)), SoundTraits(122, 2100, ("Techno", "House")))
    'both Techno · same tempo (120 vs 122 BPM) · similar brightness (2.0 vs 2.1 kHz)'
    """
    shared = [g for g in query.top_genres if g in neighbour.top_genres]
    if shared:
        parts = ["both " + " and ".join(shared)]
    else:
        parts = [f"{'/'.join(query.top_genres) or '?'} vs {'/'.join(neighbour.top_genres) or '?'}"]

    qt, nt = query.tempo_bpm, neighbour.tempo_bpm
    pair = f"{qt:.0f} vs {nt:.0f} BPM"
    if qt <= 0 or nt <= 0:
        pass  # no beat found in one of them: nothing honest to compare
    elif _close(qt, nt, SAME_TEMPO_RATIO):
        parts.append(f"same tempo ({pair})")
    elif _close(qt, 2 * nt, SAME_TEMPO_RATIO) or _close(2 * qt, nt, SAME_TEMPO_RATIO):
        parts.append(f"half/double tempo ({pair})")
    else:
        parts.append(f"tempo {pair}")

    qb, nb = query.brightness_hz, neighbour.brightness_hz
    pair = f"{qb / 1000:.1f} vs {nb / 1000:.1f} kHz"
    if qb <= 0 or nb <= 0:
        pass
    elif _close(qb, nb, SAME_BRIGHTNESS_RATIO):
        parts.append(f"similar brightness ({pair})")
    else:
        parts.append(f"{'brighter' if nb > qb else 'darker'} ({pair})")
    return " · ".join(parts)
