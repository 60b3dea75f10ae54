"""Whether a clip is unlike a catalog, and why: judged where the audio is heard.

The judgement reads the pretrained backbone's sound features (``backbone.sound_features``),
before any head fitted on the catalog's labels, so a sound the head never learned cannot
be pulled into a genre. Two kinds of evidence:

- **distance**: the clip's mean distance to its ``K`` nearest catalog songs, in sound
  features standardised on the catalog, against the same leave-one-out distance of every
  catalog song (calibrated when the catalog is built, saved beside its index). A clip
  further than ``FAR_QUANTILE`` of the catalog's own songs, by ``MARGIN``, is unlike it.
- **musical evidence**: what the taggers hear (``backbone.TAGS``) next to what they hear in
  sounds that are not music, which holds on every catalog: a clip whose tags lie closer
  to noise, a sweep, hiss or speech than to any catalog song is unlike the catalog even
  where the catalog is too varied for the distance to tell (``NON_MUSIC``).

``NoveltyModel`` learns the first from a catalog; ``judge`` gives the ``Novelty`` verdict
with a reason the app and the command line show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.errors import ModelError

K = 5  # neighbours whose mean distance is a song's distance to the catalog
FAR_QUANTILE = 0.99  # share of the catalog's own songs a clip must be further than ...
MARGIN = 1.15  # ... by this factor: real clips of the catalog's albums stay below (bench/unlike.py)
MIN_SONGS = 4  # fewer catalog songs: no distance calibration (every clip is judged by its tags alone)

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


class NoveltyModel:
    """The catalog's songs in standardised sound features, and how far each is from the others.

    ``fit(features)`` with ``(n_songs, width)`` sound features; learned: ``mean_``,
    ``scale_`` (width,), ``reference_`` (n_songs, width) float16 standardised songs and
    ``loo_`` (n_songs,) each song's leave-one-out distance, sorted.
    """

    def __init__(self, *, k: int = K, quantile: float = FAR_QUANTILE, margin: float = MARGIN):
        self.k = k
        self.quantile = quantile
        self.margin = margin

    def fit(self, features: np.ndarray) -> NoveltyModel:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or len(x) < 1:
            raise ModelError("novelty needs a (n_songs, width) array of sound features")
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        # A feature (nearly) constant over the catalog would make any clip infinitely far.
        floor = max(float(np.median(std)), 1e-6)
        self.scale_ = np.maximum(std, floor)
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

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Each clip's mean distance to its k nearest catalog songs: ``(n,)`` of ``(n, width)``."""
        z = (np.atleast_2d(np.asarray(features, dtype=np.float64)) - self.mean_) / self.scale_
        return self._distances(z, leave_one_out=False)

    def further_than(self, distance: float) -> float:
        """The share of catalog songs whose own leave-one-out distance is below ``distance``."""
        if not len(self.loo_):
            return 0.0
        return float(np.searchsorted(self.loo_, distance) / len(self.loo_))

    def _distances(self, z: np.ndarray, *, leave_one_out: bool) -> np.ndarray:
        ref = self.reference_.astype(np.float64)
        width = z.shape[1]
        out = np.empty(len(z))
        for start in range(0, len(z), 256):  # bounded memory for big catalogs
            block = z[start : start + 256]
            d2 = (block**2).sum(1)[:, None] + (ref**2).sum(1)[None, :] - 2 * block @ ref.T
            d = np.sqrt(np.maximum(d2, 0.0) / width)
            if leave_one_out:
                d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
            k = max(1, min(self.k, ref.shape[0] - int(leave_one_out)))
            out[start : start + len(block)] = np.sort(d, axis=1)[:, :k].mean(axis=1)
        return out

    # ---- saved with the catalog ---------------------------------------------------------------
    def save(self, path: Path) -> None:
        from recommender.features import atomic_write

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(
                    f, mean=self.mean_.astype(np.float32), scale=self.scale_.astype(np.float32),
                    reference=self.reference_, loo=self.loo_.astype(np.float32),
                    params=np.array([self.k, self.quantile, self.margin], dtype=np.float64),
                )  # fmt: skip

        atomic_write(path, write)

    @classmethod
    def load(cls, path: Path) -> NoveltyModel:
        with np.load(path, allow_pickle=False) as data:
            k, quantile, margin = data["params"].tolist()
            model = cls(k=int(k), quantile=quantile, margin=margin)
            model.mean_ = data["mean"].astype(np.float64)
            model.scale_ = data["scale"].astype(np.float64)
            model.reference_ = data["reference"]
            model.loo_ = data["loo"].astype(np.float64)
        return model


def judge(reference: NoveltyModel, sound: np.ndarray, *, sound_config=None) -> Novelty:
    """The verdict on one clip's sound features ``(width,)`` against a catalog's ``NoveltyModel``."""
    distance = float(reference.distance(sound)[0])
    threshold = reference.threshold_
    further = reference.further_than(distance)
    if threshold is not None and distance > threshold:
        return Novelty(True, "far", distance, threshold, further)
    return Novelty(False, None, distance, threshold, further)
