"""Whether a clip is unlike a catalog, and why: judged where the audio is heard.

The judgement reads the pretrained backbone's sound features (``backbone.sound_features``),
before any head fitted on the catalog's labels, so a sound the head never learned cannot
be pulled into a genre. Two kinds of evidence:

- **distance**: the clip's mean distance to its ``K`` nearest catalog songs, in the
  backbone's embedding and tag outputs (``PARTS``) standardised on the catalog, against
  the same leave-one-out distance of every catalog song (calibrated when the catalog is
  built, saved beside its index). A clip further than ``FAR_QUANTILE`` of the catalog's
  own songs, by ``MARGIN``, is ``"far"`` from it.
  A clip beyond that distance whose taggers hear music with confidence (a tag above
  ``CONFIDENT``: a chiptune in a catalog without one) is far only beyond ``STRONG`` times it.
- **evidence of sound that is not music**, the same on every catalog: reference sounds
  synthesised in ``recommender.non_music`` (noise, hiss, sweeps, a speech-like voice). A clip
  ``NEARER`` to one of them than to any catalog song, or a far clip ``NEARER_FAR`` to one of
  them, is that kind of sound, however varied the catalog. The taggers' outputs take part as
  half of ``PARTS``; on their own (the top tag's probability, their entropy) they did not tell
  noise or speech from game music (bench/unlike.py), so they only hold back a far verdict.

``NoveltyModel`` learns the first from a catalog; ``judge`` gives the ``Novelty`` verdict
with a reason the app and the command line show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.errors import ModelError

K = 5  # neighbours whose mean distance is a song's distance to the catalog
FAR_QUANTILE = 0.99  # share of the catalog's own songs a clip must be further than ...
MARGIN = 1.2  # ... by this factor: 1 % of real clips of the catalog's albums pass it (bench/unlike.py)
MIN_SONGS = 4  # fewer catalog songs: no distance calibration (a clip is judged by the references alone)
NEARER = 0.5  # a clip this much nearer to a non-music reference than to any catalog song is that sound
NEARER_FAR = 0.75  # ... and a far clip this much nearer (espeak-ng speech: 0.54-0.66, real music: 0.83+)
CONFIDENT = 0.6  # a top tag this probable is musical evidence: such a clip is far only beyond ...
STRONG = 1.5  # ... this many times the threshold (real clips of the catalog's albums: up to 1.3)
PARTS = ("penultimate", "tags")  # what of the sound features is compared (``backbone.SOUND_PARTS``)

REASONS = {
    "silence": "almost silent: no musical sound, only faint noise",
    "noise": "no musical sound: noise",
    "sweep": "no musical sound: a test tone or sweep",
    "speech": "sounds like speech, not music",
    "far": "far from every song in this catalog",
}
"""Why a clip is unlike the catalog (``Novelty.reason``) → the words the app and CLI show."""


@dataclass(frozen=True)
class Novelty:
    """The verdict on one clip.

    ``reason``: a key of ``REASONS`` (None when the clip is like the catalog);
    ``distance``: its distance to the catalog's songs; ``threshold``: where unlike starts
    (None without a calibration); ``further_than``: the share of the catalog's own songs
    that are nearer to their neighbours than the clip is to its nearest songs.
    """

    unlike: bool
    reason: str | None
    distance: float | None = None
    threshold: float | None = None
    further_than: float | None = None

    @property
    def message(self) -> str | None:
        """The reason in words, for a user (None when like the catalog)."""
        if self.reason is None:
            return None
        text = REASONS[self.reason]
        if self.reason == "far" and self.further_than is not None:
            text += (
                f" (further than {self.further_than:.0%} of the catalog's own songs are from their "
                "nearest neighbours)"
            )
        return text


def columns(backbones: Sequence[str]) -> np.ndarray:
    """Where ``PARTS`` lie in the sound features of ``backbones`` (``backbone.sound_layout``)."""
    from recommender.backbone import sound_layout

    out, start = [], 0
    for _, part, size in sound_layout(backbones):
        if part in PARTS:
            out += range(start, start + size)
        start += size
    return np.array(out, dtype=np.int64)


class NoveltyModel:
    """The catalog's songs in standardised sound features, and how far each is from the others.

    ``fit(features)`` with the ``(n_songs, width)`` sound features of ``backbones``; learned:
    ``mean_``, ``scale_`` ``(d,)`` over the ``PARTS`` columns, ``reference_`` ``(n_songs, d)``
    float16 standardised songs and ``loo_`` ``(n_songs,)`` each song's leave-one-out
    distance (the mean distance to its ``k`` nearest other songs), sorted.
    """

    def __init__(
        self, *, backbones: Sequence[str] | None = None, k: int = K, quantile: float = FAR_QUANTILE,
        margin: float = MARGIN,
    ):  # fmt: skip
        from recommender.backbone import BACKBONES

        self.backbones = tuple(backbones or BACKBONES)
        self.k = k
        self.quantile = quantile
        self.margin = margin

    def fit(self, features: np.ndarray) -> NoveltyModel:
        x = self._select(features)
        if len(x) < 1:
            raise ModelError("novelty needs the sound features of at least one song")
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        # A feature (nearly) constant over the catalog would make any clip infinitely far.
        self.scale_ = np.maximum(std, max(float(np.median(std)), 1e-6))
        z = (x - self.mean_) / self.scale_
        self.reference_ = z.astype(np.float16)
        self.loo_ = np.sort(self._distances(z, leave_one_out=True)) if len(x) >= MIN_SONGS else np.zeros(0)
        return self

    @property
    def threshold_(self) -> float | None:
        """The distance beyond which a clip is unlike the catalog (None for a catalog too small)."""
        if not len(self.loo_):
            return None
        return float(np.quantile(self.loo_, self.quantile)) * self.margin

    def standardise(self, features: np.ndarray) -> np.ndarray:
        """``(n, d)`` standardised ``PARTS`` of sound features ``(n, width)``."""
        return (self._select(features) - self.mean_) / self.scale_

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Each clip's mean distance to its k nearest catalog songs: ``(n,)`` of ``(n, width)``."""
        return self._distances(self.standardise(features), leave_one_out=False)

    def nearest(self, features: np.ndarray) -> np.ndarray:
        """Each clip's distance to its nearest catalog song: ``(n,)``."""
        return self._distances(self.standardise(features), leave_one_out=False, k=1)

    def further_than(self, distance: float) -> float:
        """The share of catalog songs whose own leave-one-out distance is below ``distance``."""
        if not len(self.loo_):
            return 0.0
        return float(np.searchsorted(self.loo_, distance) / len(self.loo_))

    def _select(self, features: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        cols = columns(self.backbones)
        if x.ndim != 2 or x.shape[1] <= cols[-1]:
            raise ModelError(f"sound features of {'+'.join(self.backbones)} expected, got shape {x.shape}")
        return x[:, cols]

    def _distances(self, z: np.ndarray, *, leave_one_out: bool, k: int | None = None) -> np.ndarray:
        return pairwise_knn(z, self.reference_.astype(np.float64), k=k or self.k, leave_one_out=leave_one_out)

    # ---- saved with the catalog ---------------------------------------------------------------
    def save(self, path: Path) -> None:
        from recommender.features import atomic_write

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(
                    f, mean=self.mean_.astype(np.float32), scale=self.scale_.astype(np.float32),
                    reference=self.reference_, loo=self.loo_.astype(np.float32),
                    params=np.array([self.k, self.quantile, self.margin], dtype=np.float64),
                    backbones=np.array(self.backbones),
                )  # fmt: skip

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> NoveltyModel:
        with np.load(path, allow_pickle=False) as data:
            k, quantile, margin = data["params"].tolist()
            model = cls(backbones=data["backbones"].tolist(), k=int(k), quantile=quantile, margin=margin)
            model.mean_ = data["mean"].astype(np.float64)
            model.scale_ = data["scale"].astype(np.float64)
            model.reference_ = data["reference"]
            model.loo_ = data["loo"].astype(np.float64)
        return model


def pairwise_knn(z: np.ndarray, ref: np.ndarray, *, k: int, leave_one_out: bool = False) -> np.ndarray:
    """Mean RMS distance of each row of ``z`` ``(n, d)`` to its ``k`` nearest rows of ``ref`` ``(m, d)``.

    ``leave_one_out``: ``z`` is ``ref`` itself and a row is never its own neighbour.
    """
    width = max(1, z.shape[1])
    out = np.empty(len(z))
    k = max(1, min(k, len(ref) - int(leave_one_out)))
    for start in range(0, len(z), 256):  # bounded memory for big catalogs
        block = z[start : start + 256]
        d2 = (block**2).sum(1)[:, None] + (ref**2).sum(1)[None, :] - 2 * block @ ref.T
        d = np.sqrt(np.maximum(d2, 0.0) / width)
        if leave_one_out:
            d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        out[start : start + len(block)] = np.sort(d, axis=1)[:, :k].mean(axis=1)
    return out


@dataclass(frozen=True)
class References:
    """Sound features of sounds that are not music (``non_music.references``): ``features``
    ``(n, width)`` in the layout of the clips they are compared with, ``kinds`` ``(n,)``."""

    features: np.ndarray
    kinds: np.ndarray


def judge(model: NoveltyModel | None, sound: np.ndarray, *, refs: References | None = None) -> Novelty:
    """The verdict on one clip's sound features ``(width,)`` against a catalog's ``NoveltyModel``.

    Far when its distance passes the catalog's threshold, unless its taggers hear music with
    confidence (a top tag above ``CONFIDENT``) and it lies within ``STRONG`` times the threshold.
    A sound that is not music (``refs``, ``non_music.references``; None: none) lying less than
    ``NEARER`` times as far from it as its nearest catalog song, or ``NEARER_FAR`` for a far
    clip, names its kind; else the reason is ``"far"``. Measured (bench/unlike.py): generated
    noise, hiss and sweeps lie at 0.1-0.3 of that distance, espeak-ng speech at 0.54-0.66, real
    clips at 0.83 and beyond.
    """
    if model is None:
        return Novelty(False, None)
    distance = float(model.distance(sound)[0])
    threshold = model.threshold_
    further = model.further_than(distance)
    far = threshold is not None and distance > threshold
    if far and threshold is not None and distance <= STRONG * threshold:
        far = top_tag(model, sound) < CONFIDENT
    kind, ratio = nearest_reference(model, sound, refs)
    if kind is not None and ratio < (NEARER_FAR if far else NEARER):
        return Novelty(True, kind, distance, threshold, further)
    return Novelty(far, "far" if far else None, distance, threshold, further)


def top_tag(model: NoveltyModel, sound: np.ndarray) -> float:
    """The probability of the tag the backbones of ``model`` hear most surely in ``sound`` ``(width,)``."""
    from recommender.backbone import tag_probabilities

    return float(tag_probabilities(np.atleast_2d(sound), model.backbones).max())


def nearest_reference(
    model: NoveltyModel, sound: np.ndarray, refs: References | None
) -> tuple[str | None, float]:
    """The kind of the reference sound nearest to the clip, and its distance over that of the
    clip's nearest catalog song (``(None, inf)`` without references of the clip's layout)."""
    width = np.atleast_2d(sound).shape[1]
    if refs is None or not len(refs.kinds) or refs.features.shape[1] != width:
        return None, float("inf")
    gaps = pairwise_knn(model.standardise(refs.features), model.standardise(sound), k=1)
    closest = int(np.argmin(gaps))
    return str(refs.kinds[closest]), float(gaps[closest]) / max(float(model.nearest(sound)[0]), 1e-12)


def by_nearest_match(index, embedding: np.ndarray, calibration: dict) -> Novelty:
    """The older verdict, for a catalog without sound features: the clip's best match in ``index``
    against how close catalog songs are to their nearest neighbour (the build's ``calibration``)."""
    hits = index.query(embedding, k=1, exclude_copies_of=[embedding])
    if hits and ("p05" not in calibration or "median" not in calibration):
        return Novelty(False, None)
    threshold = calibration["p05"] - (calibration["median"] - calibration["p05"]) if hits else 0.0
    far = not hits or hits[0][1] < threshold
    return Novelty(far, "far" if far else None)
