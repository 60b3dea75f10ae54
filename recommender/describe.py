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
TOP_TAGS = 5
SHARED_TAGS_SHOWN = 3
MIN_GENRE_PROBABILITY = 0.15  # a genre below this is not "heard" in the song
SAME_TEMPO_RATIO = 1.06  # within 6 %: the same tempo to the ear
SAME_BRIGHTNESS_RATIO = 1.15


@dataclass(frozen=True)
class SoundTraits:
    """What a listener can check by ear: tempo (BPM), brightness (Hz) and the genres heard."""

    tempo_bpm: float
    brightness_hz: float
    top_genres: tuple[str, ...]  # most probable first, at most TOP_GENRES
    top_tags: tuple[str, ...] = ()  # the tags the model hears most, most probable first


def tempo_bpm(mel_db: np.ndarray, *, config: AudioConfig = DEFAULT_AUDIO) -> float:
    """Tempo in beats per minute of a log-mel ``(n_mels, n_frames)`` in dB; 0.0 when no beat is found."""
    from recommender.librosa_import import load_librosa

    librosa = load_librosa()

    mel_db = np.asarray(mel_db, dtype=np.float32)
    envelope = librosa.onset.onset_strength(S=mel_db, sr=config.sample_rate, hop_length=config.hop_length)
    if not np.any(envelope > 0):
        return 0.0
    # The tempo beat_track would report, without its beat tracker: that runs numba gufuncs whose
    # on-disk cache two processes compiling at once can corrupt into a crash (numba issue 10128).
    tempo = librosa.feature.tempo(
        onset_envelope=envelope, sr=config.sample_rate, hop_length=config.hop_length
    )
    return float(np.atleast_1d(tempo)[0])


def brightness_hz(mel_db: np.ndarray, *, config: AudioConfig = DEFAULT_AUDIO) -> float:
    """Spectral centroid in Hz of a log-mel ``(n_mels, n_frames)`` in dB, median over frames.

    The centroid of each frame weighs the mel bands' centre frequencies by their
    amplitude (as ``librosa.feature.spectral_centroid`` weighs by magnitude; power would
    let the bass drown everything); the median ignores the odd silent or noisy frame.
    """
    from recommender.librosa_import import load_librosa

    librosa = load_librosa()

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
    mel_db: np.ndarray,
    probabilities: Mapping[str, float],
    *,
    tags: Mapping[str, float] | None = None,
    config: AudioConfig = DEFAULT_AUDIO,
) -> SoundTraits:
    """Tempo, brightness, top genres and top tags of one song from its log-mel ``(n_mels, n_frames)``.

    ``tags``: the tags the model hears in it, most probable first (``TOP_TAGS`` are kept).
    """
    return SoundTraits(
        tempo_bpm=round(tempo_bpm(mel_db, config=config), 1),
        brightness_hz=round(brightness_hz(mel_db, config=config), 1),
        top_genres=top_genres(probabilities),
        top_tags=tuple(list(merge_tags(tags or {}))[:TOP_TAGS]),
    )


def _close(a: float, b: float, ratio: float) -> bool:
    low, high = sorted((a, b))
    return low > 0 and high / low <= ratio


def why(query: SoundTraits, neighbour: SoundTraits) -> str:
    """One line saying what a neighbour shares with the query song (and where they differ).

    >>> why(SoundTraits(120, 2000, ("Techno",)), SoundTraits(122, 2100, ("Techno", "House")))
    'both Techno · same tempo (120 vs 122 BPM) · similar brightness (2.0 vs 2.1 kHz)'
    """
    parts = []
    shared = [g for g in query.top_genres if g in neighbour.top_genres]
    if shared:
        parts.append("both " + " and ".join(shared))
    elif query.top_genres or neighbour.top_genres:
        parts.append(f"{'/'.join(query.top_genres) or '?'} vs {'/'.join(neighbour.top_genres) or '?'}")
    heard = [t for t in query.top_tags if t in neighbour.top_tags][:SHARED_TAGS_SHOWN]
    if heard:
        parts.append("both sound " + ", ".join(heard))

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


# Everyday words for sounds, each with the tags (of musicnn's MSD and MTT vocabularies) it means.
TAG_SYNONYMS = {
    "calm": ("mellow", "chill", "soft", "quiet", "chillout"),
    "relaxing": ("chillout", "chill", "mellow", "easy listening"),
    "relaxed": ("chillout", "chill", "mellow"),
    "peaceful": ("soft", "quiet", "mellow", "new age"),
    "gentle": ("soft", "mellow", "quiet"),
    "energetic": ("fast", "loud", "party", "dance"),
    "upbeat": ("happy", "catchy", "party"),
    "cheerful": ("happy",),
    "melancholic": ("sad",),
    "melancholy": ("sad",),
    "dark": ("sad", "heavy metal"),
    "heavy": ("metal", "heavy metal", "hard rock", "loud"),
    "orchestral": ("classical", "strings", "violin", "cello"),
    "orchestra": ("classical", "strings", "violin", "cello"),
    "epic": ("classical", "strings", "loud"),
    "vocals": ("vocal", "vocals", "singing", "voice"),
    "singer": ("vocal", "singing", "voice"),
    "sung": ("singing", "vocal"),
    "instrumental": ("instrumental", "no vocals", "no vocal", "no voice"),
    "electric": ("electronic", "electro", "synth"),
    "synthesizer": ("synth",),
    "synthesiser": ("synth",),
    "drum": ("drums", "beat", "beats"),
    "percussion": ("drums", "beats"),
    "hiphop": ("hip-hop",),
    "rap": ("hip-hop",),
    "hip": ("hip-hop",),
    "rnb": ("rnb",),
    "slowly": ("slow",),
    "loud": ("loud",),
    "quiet": ("quiet", "soft"),
}


TAG_MERGE = {
    "beats": "beat", "electro": "electronic", "electronica": "electronic", "vocals": "vocal",
    "female vocals": "female vocal", "female": "female vocal", "woman": "female vocal",
    "male vocals": "male vocal", "male": "male vocal", "man": "male vocal", "no vocals": "no vocal",
    "no voice": "no vocal", "drums": "drum", "classic": "classical", "hip hop": "hip-hop", "chill": "chillout",
}  # fmt: skip
"""Tags the two backbones name differently, shown under one name (the first spelling, lower case)."""


def merge_tags(tags: Mapping[str, float]) -> dict[str, float]:
    """``tags`` (name → probability) with synonyms under one name (``TAG_MERGE``), each keeping its
    highest probability; most probable first. "beat" 0.4 and "beats" 0.6 → "beat" 0.6."""
    merged: dict[str, float] = {}
    for name, p in tags.items():
        key = TAG_MERGE.get(str(name).casefold(), str(name))
        merged[key] = max(merged.get(key, 0.0), float(p))
    return dict(sorted(merged.items(), key=lambda kv: -kv[1]))


def match_tags(text: str, tag_names: list[str]) -> list[str]:
    """The tags among ``tag_names`` that the words of ``text`` name, in the order the words come.

    A tag matches when the text contains it as words ("female vocal", "guitar"; a
    trailing plural "s" is forgiven) or through ``TAG_SYNONYMS`` ("calm" → mellow, chill…).
    """
    import re

    words = [w for w in re.split(r"[^\w-]+", str(text).casefold()) if w]
    singular = [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]
    known = {t.casefold(): t for t in tag_names}
    found: list[str] = []

    def add(tag: str) -> None:
        if tag in known and known[tag] not in found:
            found.append(known[tag])

    for i in range(len(words)):
        for size in (3, 2, 1):  # the longest phrase first: "female vocal" before "female"
            for seq in (words, singular):
                phrase = " ".join(seq[i : i + size])
                if len(seq[i : i + size]) == size and phrase in known:
                    add(phrase)
        for w in (words[i], singular[i]):
            for tag in TAG_SYNONYMS.get(w, ()):
                add(tag)
    return found


NEIGHBOURS_FOR_VERDICT = 5
CONFIDENT_PROBABILITY = 0.5  # below this the top genre is a guess, not "sounds most like"


@dataclass(frozen=True)
class GenreVerdict:
    """What to say about a clip's genre: ``confident`` only when the model and the neighbours agree."""

    confident: bool
    genre: str | None  # the model's top genre (None without a classifier)
    probability: float
    neighbour_genre: str | None  # the genre most of the closest songs have
    reason: str  # "" when confident; else why the genre is only a guess ("unlike", "neighbours", "unsure")


def genre_verdict(
    probabilities: Mapping[str, float], neighbour_genres: list[str], *, unlike_catalog: bool
) -> GenreVerdict:
    """Whether the top genre of a clip may be stated plainly.

    ``neighbour_genres``: the genres of its closest catalog songs, closest first (the first
    ``NEIGHBOURS_FOR_VERDICT`` count). Confident only when the clip is like the catalog, its
    top genre has at least ``CONFIDENT_PROBABILITY`` and most of those neighbours have that genre.
    """
    genre, p = next(iter(probabilities.items()), (None, 0.0))
    near = [str(g) for g in neighbour_genres[:NEIGHBOURS_FOR_VERDICT]]
    majority = max(set(near), key=lambda g: (near.count(g), -near.index(g))) if near else None
    if unlike_catalog:
        reason = "unlike"
    elif genre is not None and near and near.count(genre) * 2 <= len(near):
        reason = "neighbours"
    elif genre is not None and p < CONFIDENT_PROBABILITY:
        reason = "unsure"
    else:
        reason = ""
    return GenreVerdict(not reason, genre, float(p), majority, reason)


FAR_PERCENT = 50.0  # below this a neighbour is "far": the least different song, not a sound-alike


def similarity_percent(score: float, calibration: Mapping[str, float]) -> float:
    """Cosine similarity as 0–100 %, read against the catalog's own nearest neighbours.

    ``calibration``: ``build.nearest_neighbour_calibration`` (median and 5th percentile of
    each song's best match). 100 % is the same sound; a song's usual nearest neighbour
    (the median) is 90 %; the 5th percentile 75 %; ``FAR_PERCENT`` (50 %) lies one gap
    (median − 5th percentile) below that (where the catalog's least different songs begin;
    ``Catalog.novelty_of`` judges whether a clip is unlike the catalog); 0 % two gaps
    further. Linear in between. Without a calibration: the cosine itself, from 0.
    """
    if "median" not in calibration or "p05" not in calibration:
        return float(np.clip(score, 0.0, 1.0) * 100.0)
    median, p05 = float(calibration["median"]), float(calibration["p05"])
    gap = max(median - p05, 1e-3)
    anchors = [p05 - 3 * gap, p05 - gap, p05, median, max(1.0, median + 1e-3)]
    return float(np.interp(score, anchors, [0.0, FAR_PERCENT, 75.0, 90.0, 100.0]))
