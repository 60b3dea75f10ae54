"""The pretrained backbone: musicnn's MSD and MTT taggers, ported to Keras 3.

musicnn (Pons & Serra, ISMIR 2019 LBD; ISC licence) ships two TensorFlow-1 checkpoints
trained on real music: ``MSD_musicnn`` (Million Song Dataset, 50 tags) and
``MTT_musicnn`` (MagnaTagATune, 50 tags). Its own code needs legacy Keras and turns off
eager execution for the whole process, so it is never imported: the PyPI package is
installed with ``--no-deps`` only for its checkpoint files, which are read into a Keras 3
re-implementation of the graph (``recommender.musicnn_net``).

The data's path, exactly as musicnn's ``extractor.py`` computes it:

1. ``musicnn_mel``: mono 16 kHz → power mel spectrogram (librosa defaults, n_fft 512,
   hop 256, 96 bands) → ``log10(1 + 10000·x)`` in float32 → ``(n_frames, 96)``.
   musicnn 0.1.0 casts to float16 before the log, where ``10000·x`` overflows to inf as
   soon as a band's power exceeds 6.55; the models then give silently wrong tags.
2. ``patches``: non-overlapping 187-frame (3 s) patches ``(n_patches, 187, 96)``.
3. ``musicnn_net.build_musicnn``: per patch, a musically motivated front-end (timbral 7×38 and 7×67
   and temporal 128/64/32×1 convolutions, each followed by batch norm and a max over
   frequency), a dense 1-D convolutional mid-end with residuals, max + mean pooling over
   time, then a 200-unit dense layer (its batch-normed output is the *penultimate*
   embedding) and 50 sigmoid tags.
4. ``Backbone``: patches of many songs share batches; a song's embedding and tags are the
   means over its patches (musicnn's tagger also averages its taggram over time).

``tests/test_backbone.py`` checks the port against outputs of the original graph.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommender.config import AudioConfig
from recommender.errors import ModelError
from recommender.keras_runtime import keras as _keras
from recommender.musicnn_net import BACKBONES, PENULTIMATE_DIM, TAGS, checkpoint_dir, load_musicnn

if TYPE_CHECKING:
    import keras

# Measured by bench/backbone.py on 2 cores (bench/README.md): XLA runs the front-end's
# convolutions at half the speed of TensorFlow's oneDNN kernels; patches/s is flat from
# batch 8 to 64 while peak RSS grows (1.2 GB at 16, 2.2 GB at 64); 16 holds a 30-s clip.
DEFAULT_BATCH_SIZE = 16
# 3-s patches heard per song, spread evenly over its clip. On real recordings (bench/README.md,
# "patches per song") 5 of a 30-s clip's 10 gave the same album precision (0.690 against 0.681)
# for half the inference; 3 or fewer lost some.
DEFAULT_MAX_PATCHES = 5
DEFAULT_JIT_COMPILE = False


@dataclass(frozen=True)
class BackboneConfig:
    """musicnn's preprocessing. Frozen and fixed by the pretrained weights: never change it.

    Saved next to anything computed from it (``to_dict``/``key``) and checked on load
    (``mismatch``), like ``recommender.config.AudioConfig``, whose methods it shares.
    """

    sample_rate: int = 16_000
    clip_seconds: float = 30.0
    min_seconds: float = 3.0
    n_mels: int = 96
    n_fft: int = 512
    hop_length: int = 256
    fmin: float = 0.0
    fmax: float = 8_000.0  # librosa's default, sample_rate / 2
    log_c: float = 10_000.0  # log10(1 + log_c · power), musicnn's "logC"
    patch_frames: int = 187  # librosa.time_to_frames(3 s) + 1, as musicnn computes it

    # The same generic implementations as AudioConfig (they only read the dataclass fields).
    clip_samples = AudioConfig.clip_samples
    min_samples = AudioConfig.min_samples
    clip_frames = AudioConfig.clip_frames
    to_dict = AudioConfig.to_dict
    from_dict = AudioConfig.__dict__["from_dict"]
    key = AudioConfig.key
    mismatch = AudioConfig.mismatch


MUSICNN = BackboneConfig()


# --------------------------------------------------------------------------- preprocessing


def musicnn_mel(y: np.ndarray) -> np.ndarray:
    """musicnn's log-mel of a mono 16 kHz signal ``(n_samples,)`` → float32 ``(n_frames, 96)``.

    ``n_frames = 1 + n_samples // 256`` (librosa's centred frames). Computed as musicnn's
    ``batch_data`` does, except that the log is taken in float32 instead of float16.
    """
    from recommender.librosa_import import load_librosa

    librosa = load_librosa()

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"Expected a mono signal (n_samples,), got shape {y.shape}.")
    power = librosa.feature.melspectrogram(
        y=y,
        sr=MUSICNN.sample_rate,
        n_fft=MUSICNN.n_fft,
        hop_length=MUSICNN.hop_length,
        n_mels=MUSICNN.n_mels,
        fmin=MUSICNN.fmin,
        fmax=MUSICNN.fmax,
    ).T
    return np.log10(np.float32(MUSICNN.log_c) * power + np.float32(1.0)).astype(np.float32, copy=False)


def patches(
    mel: np.ndarray, *, patch_frames: int = 187, hop: int = 187, max_patches: int | None = None
) -> np.ndarray:
    """Patches of a log-mel ``(n_frames, n_mels)`` → float32 ``(n_patches, patch_frames, n_mels)``.

    musicnn's batching: patches start every ``hop`` frames from frame 0, frames after the
    last full patch are dropped. A mel shorter than one patch is repeat-padded (tiled
    from its start) to one patch, as musicnn's training padded short clips
    (``"pad_short": "repeat-pad"`` in each checkpoint's config.json); zeros would add
    a silence that is not in the song. ``max_patches`` keeps that many
    patches spread evenly over the song (the centre patch of each of ``max_patches``
    equal stretches).
    """
    mel = np.asarray(mel, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[0] == 0:
        raise ValueError(f"Expected a log-mel (n_frames, n_mels) with frames, got shape {mel.shape}.")
    if patch_frames < 1 or hop < 1 or (max_patches is not None and max_patches < 1):
        raise ValueError(
            f"patch_frames, hop and max_patches must be >= 1, got {patch_frames}, {hop}, {max_patches}."
        )
    if len(mel) < patch_frames:
        mel = np.resize(mel, (patch_frames, mel.shape[1]))  # np.resize repeats the rows in order
    starts = np.arange(0, len(mel) - patch_frames + 1, hop)
    if max_patches is not None and max_patches < len(starts):
        starts = starts[(np.arange(max_patches) * 2 + 1) * len(starts) // (2 * max_patches)]
    return np.stack([mel[s : s + patch_frames] for s in starts])


_LOADING = threading.RLock()


def _once(load):
    """``functools.cache`` for loaders that the app's sessions may call at the same moment: one loads, the rest wait."""
    cached = functools.cache(load)

    @functools.wraps(load)
    def once(*args):
        with _LOADING:
            return cached(*args)

    once.cache_clear = cached.cache_clear
    return once


@_once
def _shared_model(name: str) -> keras.Model:
    """One loaded model per backbone and process."""
    return load_musicnn(name)


@_once
def _forward(name: str, jit_compile: bool):
    """The shared model's forward pass as a compiled function: ``(batch, 187, 96)`` → (penultimate, tags)."""
    import tensorflow as tf

    model = _shared_model(name)

    # Traced once for any batch size; XLA still compiles once per batch size it meets.
    @tf.function(
        jit_compile=jit_compile,
        input_signature=[tf.TensorSpec((None, MUSICNN.patch_frames, MUSICNN.n_mels), tf.float32)],
    )
    def forward(x):
        out = model(x, training=False)
        return out["penultimate"], out["tags"]

    return forward


# --------------------------------------------------------------------------- songs


@dataclass(frozen=True)
class BackboneOutput:
    """What the backbone hears in each song; row ``i`` is the ``i``-th song given."""

    penultimate: dict[str, np.ndarray]
    """Backbone name → ``(n_songs, 200)`` float32, the mean of the song's patch penultimates."""
    tags: dict[str, np.ndarray]
    """Backbone name → ``(n_songs, 50)`` float32, mean tag probabilities (names in ``TAGS[name]``)."""
    n_patches: np.ndarray
    """``(n_songs,)`` int, patches heard per song."""


class Backbone:
    """The frozen pretrained backbones as a transformer: songs' log-mels → embeddings and tags.

    Parameters are kept as given (no work in ``__init__``); models are loaded on first use,
    once per process. ``names``: any of ``BACKBONES``. ``max_patches``: patches per song,
    spread evenly (10 covers a 30-s clip). ``batch_size`` patches per forward pass, taken
    from consecutive songs; ``jit_compile`` runs the forward pass through XLA.
    """

    def __init__(
        self,
        names: Sequence[str] = BACKBONES,
        *,
        max_patches: int | None = DEFAULT_MAX_PATCHES,
        batch_size: int = DEFAULT_BATCH_SIZE,
        jit_compile: bool = DEFAULT_JIT_COMPILE,
    ):
        self.names = names
        self.max_patches = max_patches
        self.batch_size = batch_size
        self.jit_compile = jit_compile

    def transform(self, mels: Iterable[np.ndarray]) -> BackboneOutput:
        """Each song's log-mel ``(n_frames, 96)`` from ``musicnn_mel`` → a ``BackboneOutput``.

        ``mels`` may be a generator: only one batch of patches is held at a time.
        """
        names = list(self.names)
        for name in names:
            checkpoint_dir(name)  # fail before any work on a bad name or a missing package
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}.")
        forwards = {name: _forward(name, bool(self.jit_compile)) for name in names}
        outputs: dict[str, list] = {name: [] for name in names}
        owners: list[np.ndarray] = []
        batches = _patch_batches(
            mels, max_patches=self.max_patches, batch_size=self.batch_size, pad=bool(self.jit_compile)
        )
        for x, who in batches:
            owners.append(who)
            for name, forward in forwards.items():
                p, t = forward(x)
                outputs[name].append((p.numpy()[: len(who)], t.numpy()[: len(who)]))
        return _song_means(outputs, owners)


def _patch_batches(
    mels: Iterable[np.ndarray], *, max_patches: int | None, batch_size: int, pad: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches ``(batch_size, 187, 96)`` of consecutive songs' patches, and the song index of each.

    The last batch may be shorter; with ``pad`` it is zero-padded to a power of two
    (under XLA every batch shape compiles once), and only its first ``len(who)`` rows are real.
    """
    pending: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for i, mel in enumerate(mels):
        if np.shape(mel)[-1:] != (MUSICNN.n_mels,):
            raise ModelError(
                f"Song {i}: expected musicnn's log-mel (n_frames, {MUSICNN.n_mels}), got shape "
                f"{np.shape(mel)}; compute it with recommender.backbone.musicnn_mel."
            )
        p = patches(mel, patch_frames=MUSICNN.patch_frames, max_patches=max_patches)
        pending.append(p)
        owners.append(np.full(len(p), i))
        while sum(map(len, pending)) >= batch_size:
            x, who = np.concatenate(pending), np.concatenate(owners)
            yield x[:batch_size], who[:batch_size]
            pending, owners = [x[batch_size:]], [who[batch_size:]]
    if sum(map(len, pending)):
        x, who = np.concatenate(pending), np.concatenate(owners)
        yield (_pad_batch(x, batch_size=batch_size) if pad else x), who


def _pad_batch(x: np.ndarray, *, batch_size: int) -> np.ndarray:
    """``x`` with zero rows appended up to the next power of two (at most ``batch_size``)."""
    size = min(batch_size, 1 << (len(x) - 1).bit_length())
    return np.concatenate([x, np.zeros((size - len(x), *x.shape[1:]), x.dtype)])


def _song_means(outputs: dict[str, list], owners: list[np.ndarray]) -> BackboneOutput:
    """Per-patch (penultimate, tags) batches of each backbone → per-song means."""
    who = np.concatenate(owners) if owners else np.zeros(0, dtype=int)
    n_songs = int(who[-1]) + 1 if len(who) else 0  # every song gives at least one patch, in order
    counts = np.bincount(who, minlength=n_songs)
    means: dict[str, dict[str, np.ndarray]] = {"penultimate": {}, "tags": {}}
    for name, batches in outputs.items():
        for kind, k, dim in (("penultimate", 0, PENULTIMATE_DIM), ("tags", 1, len(TAGS[name]))):
            sums = np.zeros((n_songs, dim))
            if batches:
                np.add.at(sums, who, np.concatenate([b[k] for b in batches]))
            means[kind][name] = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
    return BackboneOutput(penultimate=means["penultimate"], tags=means["tags"], n_patches=counts)


# --------------------------------------------------------------------------- sound features


@dataclass(frozen=True)
class SoundConfig:
    """What a build keeps of the backbone for each song: its sound features (``sound_features``).

    ``backbones``: the musicnn models heard; ``max_patches``: 3-s patches per song, spread
    evenly over its clip (10 cover a 30-s clip); ``preprocessing``: musicnn's fixed ``BackboneConfig``.
    Saved beside the feature cache it names (``key``) and checked like ``AudioConfig``.
    """

    backbones: tuple[str, ...] = BACKBONES
    max_patches: int = DEFAULT_MAX_PATCHES
    layout: int = 2  # the version of sound_layout (``LAYOUTS``); 1: what catalogs built before kept

    @property
    def preprocessing(self) -> BackboneConfig:
        return MUSICNN

    @property
    def width(self) -> int:
        return sound_width(self.backbones, self.layout)

    def to_dict(self) -> dict:
        return {
            "backbones": list(self.backbones),
            "max_patches": self.max_patches,
            "layout": self.layout,
            "preprocessing": MUSICNN.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SoundConfig:
        return cls(
            backbones=tuple(data.get("backbones", BACKBONES)),
            max_patches=int(data.get("max_patches", 10)),  # what a config without it meant
            layout=int(data.get("layout", 1)),
        )

    key = AudioConfig.key

    def mismatch(self, other: SoundConfig) -> list[str]:
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}: {theirs[k]} != {mine[k]}" for k in mine if mine[k] != theirs[k]]


DEFAULT_SOUND = SoundConfig()

SOUND_PARTS = {"penultimate": PENULTIMATE_DIM, "max_pool": 753, "mean_pool": 753, "tags": None}
"""What the backbone keeps of a song, per model: each a mean over the song's patches.

``penultimate``: the 200-d embedding layer; ``max_pool``/``mean_pool``: the mid-end's
753 features pooled over time by max and by mean (the layer the dense back-end reads);
``tags``: the tag probabilities (``len(TAGS[name])``).
"""

ROOTED = {"max_pool", "mean_pool"}
"""Layout 2: the parts whose every patch value ``v`` becomes ``sign(v)·|v|^½`` before the mean over the
song's patches (power normalisation: a few large activations weigh less; measured on real
recordings, bench/README.md). The penultimate layer and the tags stay as musicnn gives them (the
novelty judgement and the tags read them), and a rooted penultimate block is appended."""

MEL_STATS = "log-mel"
"""The name of layout 2's last two blocks: per band of musicnn's 96-band log-mel, its mean and its
standard deviation over the song's whole clip (the timbre and loudness shape of the recording)."""

LAYOUTS = (1, 2)
"""1: ``SOUND_PARTS`` per backbone, every one a plain mean over patches (catalogs built before);
2: the same blocks in the same places, ``ROOTED`` parts rooted per patch, then per backbone
``penultimate_root`` (the penultimate layer rooted per patch), then the ``MEL_STATS`` blocks
``band_mean`` and ``band_std``."""


def sound_layout(names: Sequence[str] = BACKBONES, layout: int = 2) -> list[tuple[str, str, int]]:
    """The blocks of a sound-feature vector, in order: ``(backbone name or MEL_STATS, part, size)``.

    A layout-2 vector begins with layout 1's blocks in their places, so what reads the
    penultimate layers and the tags finds them where it always did.
    """
    if layout not in LAYOUTS:
        raise ModelError(f"unknown sound-feature layout {layout}; this version knows {list(LAYOUTS)}")
    blocks = [
        (
            name,
            f"{part}_root" if layout >= 2 and part in ROOTED else part,
            len(TAGS[name]) if size is None else size,
        )
        for name in names
        for part, size in SOUND_PARTS.items()
    ]
    if layout >= 2:
        blocks += [(name, "penultimate_root", PENULTIMATE_DIM) for name in names]
        blocks += [(MEL_STATS, "band_mean", MUSICNN.n_mels), (MEL_STATS, "band_std", MUSICNN.n_mels)]
    return blocks


def sound_width(names: Sequence[str] = BACKBONES, layout: int = 2) -> int:
    """The length of a sound-feature vector: the sizes of ``sound_layout``'s blocks summed."""
    return sum(size for *_, size in sound_layout(names, layout))


def signed_root(x: np.ndarray) -> np.ndarray:
    """``sign(x)·|x|^½``, elementwise."""
    return np.sign(x) * np.sqrt(np.abs(x))


@_once
def _sound_forward(name: str):
    """The shared model as a function ``(batch, 187, 96)`` → its ``SOUND_PARTS`` per patch, in order.

    Made once per backbone and process, not a new Keras model and traced function for
    every batch of songs a long build hears.
    """
    keras = _keras()  # imports TensorFlow quietly
    import tensorflow as tf

    model = _shared_model(name)
    outputs = [
        model.get_layer("penultimate").output,
        model.get_layer("max_time").output,
        model.get_layer("mean_time").output,
        model.get_layer("tags").output,
    ]
    multi = keras.Model(model.inputs, outputs, name=f"{model.name}_sound")

    @tf.function(input_signature=[tf.TensorSpec((None, MUSICNN.patch_frames, MUSICNN.n_mels), tf.float32)])
    def forward(x):
        return multi(x, training=False)

    return forward


def sound_features(
    mels: Iterable[np.ndarray],
    *,
    names: Sequence[str] = BACKBONES,
    max_patches: int | None = DEFAULT_MAX_PATCHES,
    batch_size: int = DEFAULT_BATCH_SIZE,
    layout: int = 2,
) -> np.ndarray:
    """Each song's sound features: ``(n_songs, sum of sound_layout(names, layout) sizes)`` float32.

    ``mels`` are ``musicnn_mel`` log-mels ``(n_frames, 96)``; patches of consecutive songs
    share batches, and every backbone block is the mean over the song's patches (layout 2:
    of rooted values where ``sound_layout`` says ``_root``).
    """
    names = list(names)
    blocks = sound_layout(names, layout)  # refuses an unknown layout before any work
    for name in names:
        checkpoint_dir(name)
    forwards = [_sound_forward(name) for name in names]
    stats: list[np.ndarray] = []

    def heard(songs: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for mel in songs:
            if layout >= 2 and np.shape(mel)[-1:] == (MUSICNN.n_mels,):
                m = np.asarray(mel, dtype=np.float64)
                stats.append(np.concatenate([m.mean(axis=0), m.std(axis=0)]))
            yield mel

    per_patch: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for x, who in _patch_batches(heard(mels), max_patches=max_patches, batch_size=batch_size, pad=False):
        parts = [part.numpy() for forward in forwards for part in forward(x)]
        if layout >= 2:
            per_model = len(SOUND_PARTS)
            rooted = [
                signed_root(p) if list(SOUND_PARTS)[i % per_model] in ROOTED else p
                for i, p in enumerate(parts)
            ]
            roots = [signed_root(parts[k * per_model]) for k in range(len(names))]
            parts = rooted + roots
        per_patch.append(np.concatenate(parts, axis=1))
        owners.append(who)
    width = sum(size for _, _, size in blocks)
    if not owners:
        return np.zeros((0, width), np.float32)
    who = np.concatenate(owners)
    patched = np.concatenate(per_patch)
    sums = np.zeros((int(who[-1]) + 1, patched.shape[1]))
    np.add.at(sums, who, patched)
    out = sums / np.bincount(who)[:, None]
    if layout >= 2:
        out = np.concatenate([out, np.stack(stats)], axis=1)
    return out.astype(np.float32)


def tag_names(names: Sequence[str] = BACKBONES) -> list[str]:
    """The tags of ``names`` as one vocabulary: lower-case, each name once, in first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        for tag in TAGS[name]:
            seen.setdefault(tag.lower())
    return list(seen)


def tag_probabilities(features: np.ndarray, names: Sequence[str] = BACKBONES) -> np.ndarray:
    """Tag probabilities ``(n, len(tag_names(names)))`` of sound features ``(n, width)``.

    A tag both models know (rock, guitar, …) takes the larger of their probabilities.
    """
    features = np.atleast_2d(np.asarray(features, dtype=np.float32))
    vocabulary = {tag: i for i, tag in enumerate(tag_names(names))}
    out = np.zeros((len(features), len(vocabulary)), np.float32)
    start = 0
    for name, part, size in sound_layout(names):
        if part == "tags":
            for j, tag in enumerate(TAGS[name]):
                column = vocabulary[tag.lower()]
                out[:, column] = np.maximum(out[:, column], features[:, start + j])
        start += size
    return out
