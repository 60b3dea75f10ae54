"""The from-scratch CNNs' data: log-mels checked and sliced, stacked for training, and cut into batches.

A song's mel ``(n_mels, n_frames)`` becomes the networks' time-major slices
``(n_slices, slice_frames, n_mels)`` (``song_slices``). For training, the mels are stacked
in one float16 array (``MelStack``, memory-mapped when large), random crops of it are fed
as a ``tf.data`` pipeline (``crop_dataset``), and rare genres are weighted up
(``class_weights``). ``recommender.model`` trains and listens with these.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from recommender import keras_runtime
from recommender.audio import slice_mel
from recommender.config import AudioConfig
from recommender.errors import ModelError

# Above this size the stacked training mels go to a temporary memory-mapped file.
RAM_LIMIT_BYTES = 4 << 30


class MelProvider(Protocol):
    def get(self, track_id: Any) -> np.ndarray | None: ...


def song_slices(mel: np.ndarray, *, config: AudioConfig) -> np.ndarray:
    """All non-overlapping slices of a song: ``(n_mels, n_frames)`` → ``(n_slices, slice_frames, n_mels)``.

    The network's time-major view of ``audio.slice_mel`` (same slicing: a clip shorter
    than one slice is padded with its minimum, frames after the last full slice dropped).
    Returns float32.
    """
    mel = check_mel(np.asarray(mel), config=config)
    return np.ascontiguousarray(slice_mel(mel, config=config).transpose(0, 2, 1))


def check_mel(mel: np.ndarray, *, config: AudioConfig) -> np.ndarray:
    if mel.ndim != 2 or mel.shape[0] != config.n_mels or mel.shape[1] == 0:
        raise ModelError(
            f"Expected a log-mel of shape (n_mels={config.n_mels}, n_frames), got {mel.shape}; "
            "recompute the features with the current audio config."
        )
    return mel


class MelStack:
    """Training mels stacked time-major in one float16 array ``(n_tracks, max_frames, n_mels)``.

    Random crops are then one numpy gather per batch. Large sets go to a temporary
    memory-mapped file instead of RAM.
    """

    def __init__(self, mels: MelProvider | Mapping, ids: Sequence, *, config: AudioConfig):
        frames = max(config.clip_frames, config.slice_frames)
        shape = (len(ids), frames, config.n_mels)
        self._file = None
        if math.prod(shape) * 2 > RAM_LIMIT_BYTES:
            # Deleted when closed (close()); honours TMPDIR.
            self._file = tempfile.TemporaryFile(prefix="musicrec-mels-")  # noqa: SIM115
            self.data = np.memmap(self._file, dtype=np.float16, mode="w+", shape=shape)
        else:
            self.data = np.empty(shape, dtype=np.float16)
        self.lengths = np.empty(len(ids), dtype=np.int64)
        for i, track_id in enumerate(ids):
            # Clips are at most clip_seconds long; anything longer is cut to the stack's width.
            mel = fetch_time_major(mels, track_id, config=config)[:frames]
            self.lengths[i] = len(mel)
            self.data[i, : len(mel)] = mel
            self.data[i, len(mel) :] = mel.min()
        self.config = config
        self.slice_frames = config.slice_frames

    def crops(self, tracks: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Float32 crops ``(len(tracks), slice_frames, n_mels)`` starting at ``starts``."""
        frames = starts[:, None] + np.arange(self.slice_frames)[None, :]
        return self.data[tracks[:, None], frames].astype(np.float32)

    def moments(self, *, per_band: bool, max_tracks: int = 2000) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the valid frames (per mel band, or overall) of up to ``max_tracks`` tracks."""
        picks = np.linspace(0, len(self.lengths) - 1, min(max_tracks, len(self.lengths))).astype(int)
        total = np.zeros(self.data.shape[2])
        squares = np.zeros(self.data.shape[2])
        count = 0
        for i in np.unique(picks):
            block = self.data[i, : self.lengths[i]].astype(np.float64)
            total += block.sum(axis=0)
            squares += (block**2).sum(axis=0)
            count += len(block)
        if not per_band:
            count *= len(total)
            total, squares = total.sum(keepdims=True), squares.sum(keepdims=True)
        mean = total / count
        variance = np.maximum(squares / count - mean**2, 1e-6)
        return mean, variance

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def fetch_mel(mels: MelProvider | Mapping, track_id) -> np.ndarray:
    mel = mels.get(track_id)
    if mel is None:
        raise ModelError(f"No features for track {track_id}; run the feature extraction first.")
    return mel


def fetch_time_major(mels: MelProvider | Mapping, track_id, *, config: AudioConfig) -> np.ndarray:
    """One track's mel as ``(max(n_frames, slice_frames), n_mels)`` float32, padded with its minimum."""
    mel = check_mel(np.asarray(fetch_mel(mels, track_id), dtype=np.float32), config=config)
    if mel.shape[1] < config.slice_frames:
        mel = np.pad(mel, ((0, 0), (0, config.slice_frames - mel.shape[1])), constant_values=mel.min())
    return mel.T


def validation_slices(
    mels: MelProvider | Mapping, ids: Sequence, labels: np.ndarray, *, config: AudioConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Every non-overlapping slice of every validation track, as float16 ``(n, slice_frames, n_mels)``.

    Returns the slices and their labels ``(n,)``. Fixed slices make validation loss
    comparable from epoch to epoch.
    """
    xs, ys = [], []
    for track_id, label in zip(ids, labels, strict=True):
        sliced = song_slices(fetch_mel(mels, track_id), config=config)
        xs.append(sliced.astype(np.float16))
        ys.append(np.full(len(sliced), label, dtype=np.int32))
    return np.concatenate(xs), np.concatenate(ys)


def batch_dataset(make_batches: Callable[[], Iterator], n_batches: int, *, config: AudioConfig):
    """A prefetching ``tf.data.Dataset`` over ``make_batches()``, called afresh for every epoch."""
    keras_runtime.keras()  # imports TensorFlow quietly
    import tensorflow as tf

    spec = (
        tf.TensorSpec((None, config.slice_frames, config.n_mels), tf.float32),
        tf.TensorSpec((None,), tf.int32),
    )
    dataset = tf.data.Dataset.from_generator(make_batches, output_signature=spec)
    # Knowing the length lets Keras size epochs without a first counting pass.
    return dataset.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)


def crop_dataset(stack: MelStack, labels: np.ndarray, *, slices_per_track: int, batch_size: int, seed: int):
    """Each epoch: ``slices_per_track`` random crops of every training track, shuffled, in batches."""
    n_crops = len(labels) * slices_per_track
    epoch = iter(range(1 << 62))

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng([seed, next(epoch)])
        tracks = rng.permutation(np.repeat(np.arange(len(labels)), slices_per_track))
        room = stack.lengths[tracks] - stack.slice_frames + 1
        starts = (rng.random(len(tracks)) * room).astype(np.int64)
        for b in range(0, n_crops, batch_size):
            picked = tracks[b : b + batch_size]
            yield stack.crops(picked, starts[b : b + batch_size]), labels[picked]

    return batch_dataset(batches, math.ceil(n_crops / batch_size), config=stack.config)


def array_dataset(x: np.ndarray, y: np.ndarray, *, batch_size: int, config: AudioConfig):
    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for b in range(0, len(y), batch_size):
            yield x[b : b + batch_size].astype(np.float32), y[b : b + batch_size]

    return batch_dataset(batches, math.ceil(len(y) / batch_size), config=config)


def class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """Balanced weights ``n / (k * count)`` so rare genres count as much as common ones."""
    counts = np.bincount(labels, minlength=n_classes)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}
