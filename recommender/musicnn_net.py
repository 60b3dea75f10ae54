"""musicnn's network, rebuilt in Keras 3, and its trained weights read from musicnn's TF1 checkpoints.

musicnn (Pons & Serra, ISMIR 2019 LBD; ISC licence) ships two TensorFlow-1 checkpoints
trained on real music: ``MSD_musicnn`` (Million Song Dataset, 50 tags) and ``MTT_musicnn``
(MagnaTagATune, 50 tags). Its own code needs legacy Keras and turns off eager execution for
the whole process, so it is never imported: the PyPI package is installed with ``--no-deps``
only for its checkpoint files, which ``load_musicnn`` reads with
``tf.compat.v1.train.NewCheckpointReader`` into ``build_musicnn``'s graph, variable by
variable, refusing a checkpoint with one the port does not use. ``recommender.backbone``
hears songs with it; ``tests/test_backbone.py`` checks it against the original graph's outputs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from recommender.errors import ModelError, UserInputError
from recommender.keras_runtime import keras as _keras

if TYPE_CHECKING:
    import keras

BACKBONES = ("musicnn-msd", "musicnn-mtt")

# Copied from musicnn 0.1.0's configuration.py, spelled as musicnn spells them.
MSD_LABELS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul",
    "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies",
    "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop",
    "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
    "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip
MTT_LABELS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal",
    "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice",
    "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice",
    "choral",
)  # fmt: skip
TAGS = {"musicnn-msd": MSD_LABELS, "musicnn-mtt": MTT_LABELS}
"""Tag names of each backbone, in the order of its outputs."""

PACKAGE = "musicnn"
CHECKPOINTS = {"musicnn-msd": "MSD_musicnn", "musicnn-mtt": "MTT_musicnn"}
"""Checkpoint folder of each backbone inside the installed ``musicnn`` package."""

PENULTIMATE_DIM = 200


# Keras layer → TF1 variable scope in musicnn's checkpoints (tf.compat.v1.layers numbers
# the layers of each kind in the order models.py creates them).
_SCOPES = {
    "input_bn": "batch_normalization",
    "timbral_7x38": "conv2d",
    "timbral_7x38_bn": "batch_normalization_1",
    "timbral_7x67": "conv2d_1",
    "timbral_7x67_bn": "batch_normalization_2",
    "temporal_128": "conv2d_2",
    "temporal_128_bn": "batch_normalization_3",
    "temporal_64": "conv2d_3",
    "temporal_64_bn": "batch_normalization_4",
    "temporal_32": "conv2d_4",
    "temporal_32_bn": "batch_normalization_5",
    "midend_1": "conv2d_5",
    "midend_1_bn": "batch_normalization_6",
    "midend_2": "conv2d_6",
    "midend_2_bn": "batch_normalization_7",
    "midend_3": "conv2d_7",
    "midend_3_bn": "batch_normalization_8",
    "pool_bn": "batch_normalization_9",
    "dense": "dense",
    "penultimate": "batch_normalization_10",
    "logits": "dense_1",
}
_BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default (as Keras 3's)


def build_musicnn(n_tags: int = 50, *, patch_frames: int = 187, n_mels: int = 96) -> keras.Model:
    """musicnn's architecture (untrained): ``(batch, patch_frames, n_mels)`` → two outputs.

    ``{"penultimate": (batch, 200), "tags": (batch, n_tags)}``: the batch-normed ReLU
    output of the 200-unit dense layer (musicnn's ``penultimate`` feature) and the
    sigmoid tag probabilities. Dropout layers are kept (inactive at inference).
    """
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input((patch_frames, n_mels), name="mel")
    x = layers.Reshape((patch_frames, n_mels, 1), name="image")(inputs)
    x = _bn("input_bn")(x)

    # Front-end. Timbral: 'same' in time only (musicnn pads 3 frames), 'valid' in frequency.
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)), name="pad_time")(x)
    front = [
        _conv_bn_freq_max(padded, 204, (7, int(0.4 * n_mels)), "valid", f"timbral_7x{int(0.4 * n_mels)}"),
        _conv_bn_freq_max(padded, 204, (7, int(0.7 * n_mels)), "valid", f"timbral_7x{int(0.7 * n_mels)}"),
    ]
    front += [_conv_bn_freq_max(x, 51, (k, 1), "same", f"temporal_{k}") for k in (128, 64, 32)]
    front = layers.Concatenate(name="frontend")(front)  # (batch, time, 561)

    # Mid-end: 7-frame convolutions over all channels; the 2nd and 3rd add their input.
    mid1 = _bn("midend_1_bn")(layers.Conv1D(64, 7, padding="same", activation="relu", name="midend_1")(front))
    mid2 = _bn("midend_2_bn")(layers.Conv1D(64, 7, padding="same", activation="relu", name="midend_2")(mid1))
    mid2 = layers.Add(name="midend_2_res")([mid2, mid1])
    mid3 = _bn("midend_3_bn")(layers.Conv1D(64, 7, padding="same", activation="relu", name="midend_3")(mid2))
    mid3 = layers.Add(name="midend_3_res")([mid3, mid2])
    features = layers.Concatenate(name="midend")([front, mid1, mid2, mid3])  # (batch, time, 753)

    # Back-end. musicnn concatenates max and mean on a trailing axis, then flattens:
    # the dense layer sees them interleaved, [max_0, mean_0, max_1, mean_1, ...].
    n_features = 561 + 3 * 64
    pooled = [
        layers.Reshape((n_features, 1), name=f"{kind}_time_col")(pool(name=f"{kind}_time")(features))
        for kind, pool in (("max", layers.GlobalMaxPooling1D), ("mean", layers.GlobalAveragePooling1D))
    ]
    x = layers.Flatten(name="interleave")(layers.Concatenate(name="max_mean")(pooled))
    x = layers.Dropout(0.5, name="pool_dropout")(_bn("pool_bn")(x))
    penultimate = _bn("penultimate")(layers.Dense(PENULTIMATE_DIM, activation="relu", name="dense")(x))
    x = layers.Dropout(0.5, name="penultimate_dropout")(penultimate)
    logits = layers.Dense(n_tags, name="logits")(x)
    tags = layers.Activation("sigmoid", name="tags")(logits)
    return keras.Model(inputs, {"penultimate": penultimate, "tags": tags}, name="musicnn")


def _bn(name: str):
    return _keras().layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)


def _conv_bn_freq_max(x, filters: int, kernel: tuple[int, int], padding: str, name: str):
    """Conv2D + ReLU, batch norm, then max over all frequency positions: → ``(batch, time, filters)``."""
    layers = _keras().layers
    x = layers.Conv2D(filters, kernel, padding=padding, activation="relu", name=name)(x)
    x = _bn(f"{name}_bn")(x)
    x = layers.MaxPooling2D((1, x.shape[2]), name=f"{name}_freq_max")(x)
    return layers.Reshape((x.shape[1], filters), name=f"{name}_squeeze")(x)


# --------------------------------------------------------------------------- the weights


def checkpoint_dir(name: str) -> Path:
    """The folder of ``name``'s TF1 checkpoint inside the installed musicnn package."""
    if name not in CHECKPOINTS:
        raise UserInputError(f"Unknown backbone {name!r}; choose one of: {', '.join(BACKBONES)}.")
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without importing it
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / CHECKPOINTS[name]
        if (path / ".index").is_file():
            return path
    problem = f"is incomplete ({folders[0]} has no {CHECKPOINTS[name]}/)" if folders else "is not installed"
    raise ModelError(
        f"The pretrained backbone {name!r} needs musicnn's weights, but the Python package "
        f"'{PACKAGE}==0.1.0' {problem}; install it with the README's set-up line "
        "(pip install --no-deps -r requirements-nodeps.txt)."
    )


def load_musicnn(name: str) -> keras.Model:
    """A new ``build_musicnn`` model for ``name`` (one of ``BACKBONES``) with musicnn's trained weights."""
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(str(checkpoint_dir(name)) + "/")
    model = build_musicnn(len(TAGS[name]))
    for layer_name, scope in _SCOPES.items():
        _set_from_checkpoint(model.get_layer(layer_name), reader, scope)
    # Everything trained must have a place in the port (the rest are Adam's slots).
    trained = {k for k in reader.get_variable_to_shape_map() if "/Adam" not in k and not k.endswith("_power")}
    unused = sorted(trained - {f"{scope}/{key}" for scope in _SCOPES.values() for key in _variables(scope)})
    if unused:
        raise ModelError(f"musicnn's checkpoint for {name!r} has variables the port does not use: {unused}.")
    return model


def _variables(scope: str) -> tuple[str, ...]:
    """Variable names of a TF1 layer, in the order of the Keras layer's weights."""
    if scope.startswith("batch_normalization"):
        return ("gamma", "beta", "moving_mean", "moving_variance")
    return ("kernel", "bias")


def _set_from_checkpoint(layer, reader, scope: str) -> None:
    values = [reader.get_tensor(f"{scope}/{key}") for key in _variables(scope)]
    expected = [tuple(w.shape) for w in layer.weights]
    if values[0].ndim == 4 and len(expected[0]) == 3:
        values[0] = values[0][:, :, 0, :]  # the mid-end's Conv2D (7, C, 1, 64) is a Conv1D (7, C, 64)
    if [v.shape for v in values] != expected:
        raise ModelError(f"musicnn's {scope} has shapes {[v.shape for v in values]}, expected {expected}.")
    layer.set_weights(values)
