"""The genre CNN: build, train, save/load, and song embeddings from its penultimate layer.

Every network takes a batch of log-mel slices shaped ``(batch, slice_frames, n_mels)``
(time-major, in dB) and ends in a dense layer named ``"embedding"`` followed by a
softmax over genres. A song's embedding is the mean of that layer over all its
non-overlapping slices, L2-normalised, so that Euclidean distance between songs
ranks like cosine similarity.

Architectures (``ARCHS``):

- ``"cnn1d"``: 1-D convolutions over time with the mel bands as channels, in the
  spirit of Dieleman's Spotify convnet; global average + max pooling; a 256-unit ELU
  embedding (ELU units cannot die, so every dimension carries information). Fast on CPUs.
- ``"seed-2d"``: the original project's 2-D CNN on 128×128 slices (stacked
  Conv2D/ReLU/max-pool blocks, flatten, a 32-unit ReLU embedding), kept for comparison.

The mels are sliced, stacked and batched by ``recommender.mel_data``. TensorFlow is imported
on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommender import keras_runtime
from recommender.config import AudioConfig
from recommender.errors import ModelError, UserInputError
from recommender.files import atomic_write
from recommender.keras_runtime import EMBEDDING_LAYER
from recommender.mel_data import (
    MelProvider,
    MelStack,
    array_dataset,
    class_weights,
    crop_dataset,
    song_slices,
    validation_slices,
)

if TYPE_CHECKING:
    import keras

ARCHS = ("cnn1d", "seed-2d")
HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr")

EARLY_STOP_PATIENCE = 6
LR_PATIENCE = 2

ProgressFn = Callable[[int, int, dict], None]
"""``(epoch, epochs, logs)`` after every epoch; ``epoch`` counts finished epochs from 1."""

# --------------------------------------------------------------------------- architectures


def build_model(
    arch: str,
    *,
    n_genres: int,
    config: AudioConfig,
    mean: np.ndarray | float = 0.0,
    variance: np.ndarray | float = 1.0,
) -> keras.Model:
    """An uncompiled network for ``arch``: ``(batch, slice_frames, n_mels)`` → ``(batch, n_genres)``.

    ``mean``/``variance`` are the input statistics of the training slices (per mel band
    for cnn1d, one scalar for seed-2d); they live in a Normalization layer so the saved
    model carries its own input scaling.
    """
    builders = {"cnn1d": _build_cnn1d, "seed-2d": _build_seed_2d}
    if arch not in builders:
        raise UserInputError(f"Unknown architecture {arch!r}; choose one of: {', '.join(ARCHS)}.")
    if n_genres < 2:
        raise ModelError(f"A genre classifier needs at least 2 genres, got {n_genres}.")
    return builders[arch](n_genres=n_genres, config=config, mean=mean, variance=variance)


def _build_cnn1d(*, n_genres: int, config: AudioConfig, mean, variance) -> keras.Model:
    keras = keras_runtime.keras()
    layers = keras.layers
    inputs = keras.Input((config.slice_frames, config.n_mels), name="mel")
    x = layers.Normalization(
        axis=-1, mean=_as_list(mean, config.n_mels), variance=_as_list(variance, config.n_mels), name="scale"
    )(inputs)
    # Mel bands are channels: each filter sees the whole spectrum over a few frames.
    for i, (filters, pool) in enumerate([(128, 4), (128, 2), (256, 2), (256, None)], start=1):
        x = layers.Conv1D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        if pool:
            x = layers.MaxPooling1D(pool, name=f"pool{i}")(x)
    x = layers.Concatenate(name="pool_time")(
        [layers.GlobalAveragePooling1D(name="mean_time")(x), layers.GlobalMaxPooling1D(name="max_time")(x)]
    )
    x = layers.Dense(256, activation="elu", name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(0.4, name="dropout")(x)
    outputs = layers.Dense(n_genres, activation="softmax", name="genre")(x)
    return keras.Model(inputs, outputs, name="cnn1d")


def _build_seed_2d(*, n_genres: int, config: AudioConfig, mean, variance) -> keras.Model:
    keras = keras_runtime.keras()
    layers = keras.layers
    inputs = keras.Input((config.slice_frames, config.n_mels), name="mel")
    # The seed scaled 8-bit images to [0, 1]; one global scale is the float equivalent.
    x = layers.Normalization(axis=None, mean=_as_scalar(mean), variance=_as_scalar(variance), name="scale")(
        inputs
    )
    x = layers.Reshape((config.slice_frames, config.n_mels, 1), name="image")(x)
    for i, filters in enumerate([32, 64, 128, 256], start=1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(32, activation="relu", name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(n_genres, activation="softmax", name="genre")(x)
    return keras.Model(inputs, outputs, name="seed_2d")


def _as_list(value, size: int) -> list[float]:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (size,)).tolist()


def _as_scalar(value) -> float:
    return float(np.mean(value))


# --------------------------------------------------------------------------- training progress


def _history_callback(history: list[dict], progress: ProgressFn | None, epochs: int):
    keras = keras_runtime.keras()

    class EpochLog(keras.callbacks.Callback):
        """Records each epoch (with the learning rate it ran at) and reports progress."""

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            row = {"epoch": epoch + 1} | {k: float(logs.get(k, np.nan)) for k in HISTORY_COLUMNS[1:5]}
            row["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            history.append(row)
            if progress is not None:
                progress(epoch + 1, epochs, dict(row))

    return EpochLog()


# --------------------------------------------------------------------------- the estimator


class GenreModel:
    """A genre classifier whose penultimate layer embeds songs.

    Hyperparameters are set here; ``fit`` learns. Learned state: ``model_`` (the Keras
    model), ``genres_``, ``config_``, ``arch_``, ``history_`` (one dict per epoch),
    ``embedding_dim_``, ``versions_``, ``epochs_run_``; callers may set ``metrics_``
    (a dict) before ``save`` to store evaluation results with the model.
    """

    def __init__(
        self,
        *,
        genres: Sequence[str],
        config: AudioConfig,
        arch: str = "cnn1d",
        epochs: int = 30,
        seed: int = 0,
        batch_size: int = 64,
        slices_per_track: int = 4,
        learning_rate: float = 1e-3,
    ):
        self.genres = genres
        self.config = config
        self.arch = arch
        self.epochs = epochs
        self.seed = seed
        self.batch_size = batch_size
        self.slices_per_track = slices_per_track
        self.learning_rate = learning_rate

    # ---- training

    def fit(
        self,
        mels: MelProvider | Mapping,
        train_ids: Sequence,
        train_genres: Sequence[str],
        val_ids: Sequence,
        val_genres: Sequence[str],
        *,
        callbacks_progress: ProgressFn | None = None,
    ) -> GenreModel:
        """Train on the training tracks; stop early and lower the learning rate on validation loss.

        ``mels`` maps a track id to its log-mel ``(n_mels, n_frames)`` (a FeatureCache or a dict).
        """
        keras = keras_runtime.keras()
        genres = self._check_params()
        y_train = _encode(train_genres, genres, ids=train_ids, split="training")
        y_val = _encode(val_genres, genres, ids=val_ids, split="validation")
        keras.utils.set_random_seed(self.seed)

        stack = MelStack(mels, list(train_ids), config=self.config)
        try:
            mean, variance = stack.moments(per_band=self.arch == "cnn1d")
            x_val, y_val = validation_slices(mels, list(val_ids), y_val, config=self.config)
            model = build_model(
                self.arch, n_genres=len(genres), config=self.config, mean=mean, variance=variance
            )
            model.compile(
                optimizer=keras.optimizers.Adam(self.learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            history: list[dict] = []
            model.fit(
                crop_dataset(
                    stack,
                    y_train,
                    slices_per_track=self.slices_per_track,
                    batch_size=self.batch_size,
                    seed=self.seed,
                ),
                validation_data=array_dataset(x_val, y_val, batch_size=256, config=self.config),
                epochs=self.epochs,
                class_weight=class_weights(y_train, len(genres)),
                callbacks=[
                    _history_callback(history, callbacks_progress, self.epochs),
                    keras.callbacks.ReduceLROnPlateau(
                        monitor="val_loss", factor=0.5, patience=LR_PATIENCE, min_lr=self.learning_rate / 32
                    ),
                    keras.callbacks.EarlyStopping(
                        monitor="val_loss", patience=EARLY_STOP_PATIENCE, restore_best_weights=True
                    ),
                ],
                shuffle=False,  # the crop pipeline shuffles, deterministically
                verbose=0,
            )
        finally:
            stack.close()
        self._set_fitted(model, genres=genres, history=history, versions=keras_runtime.versions())
        return self

    def _check_params(self) -> list[str]:
        if self.arch not in ARCHS:
            raise UserInputError(f"Unknown architecture {self.arch!r}; choose one of: {', '.join(ARCHS)}.")
        genres = list(self.genres)
        if len(set(genres)) != len(genres) or len(genres) < 2:
            raise ModelError(f"Genres must be at least 2 distinct names, got {genres}.")
        if self.epochs < 1 or self.batch_size < 1 or self.slices_per_track < 1:
            raise UserInputError("epochs, batch_size and slices_per_track must be at least 1.")
        return genres

    def _set_fitted(self, model, *, genres: list[str], history: list[dict], versions: dict) -> None:
        self.model_ = model
        self.genres_ = list(genres)
        self.config_ = self.config
        self.arch_ = self.arch
        self.history_ = history
        self.epochs_run_ = len(history)
        self.embedding_dim_ = int(model.get_layer(EMBEDDING_LAYER).output.shape[-1])
        self.versions_ = versions
        self._dual = None

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ModelError("The genre model is not trained: train it (build) or load a saved one first.")

    # ---- inference

    def embed(self, mel: np.ndarray) -> np.ndarray:
        """Song embedding ``(embedding_dim,)`` float32, unit length, from a log-mel ``(n_mels, n_frames)``."""
        return self.embed_and_predict_many([mel])[0][0]

    def embed_many(self, mels: Iterable[np.ndarray], *, batch_size: int = 256) -> np.ndarray:
        """Embeddings ``(n_songs, embedding_dim)`` float32, unit rows."""
        return self.embed_and_predict_many(mels, batch_size=batch_size)[0]

    def predict_proba(self, mel: np.ndarray) -> np.ndarray:
        """Genre probabilities ``(n_genres,)`` in ``genres_`` order: mean of the slices' softmax."""
        return self.embed_and_predict_many([mel])[1][0]

    def predict_proba_many(self, mels: Iterable[np.ndarray], *, batch_size: int = 256) -> np.ndarray:
        """Genre probabilities ``(n_songs, n_genres)``."""
        return self.embed_and_predict_many(mels, batch_size=batch_size)[1]

    def embed_and_predict_many(
        self, mels: Iterable[np.ndarray], *, batch_size: int = 256
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings ``(n, embedding_dim)`` and probabilities ``(n, n_genres)`` in one forward pass.

        Slices of consecutive songs share batches, so short songs do not waste batch slots;
        ``mels`` may be a generator (songs are not all held in memory).
        """
        self._check_fitted()
        net = self._dual_model()
        emb_sums: list[np.ndarray] = []
        prob_sums: list[np.ndarray] = []
        counts: list[int] = []
        pending: list[np.ndarray] = []
        owners: list[np.ndarray] = []

        def run(x: np.ndarray, who: np.ndarray) -> None:
            emb, prob = net.predict_on_batch(x)
            for song in np.unique(who):
                emb_sums[song] += emb[who == song].sum(axis=0)
                prob_sums[song] += prob[who == song].sum(axis=0)

        for i, mel in enumerate(mels):
            sliced = song_slices(mel, config=self.config_)
            emb_sums.append(np.zeros(self.embedding_dim_))
            prob_sums.append(np.zeros(len(self.genres_)))
            counts.append(len(sliced))
            pending.append(sliced)
            owners.append(np.full(len(sliced), i))
            if sum(map(len, pending)) >= batch_size:
                x, who = np.concatenate(pending), np.concatenate(owners)
                full = len(x) // batch_size * batch_size
                for b in range(0, full, batch_size):
                    run(x[b : b + batch_size], who[b : b + batch_size])
                pending, owners = [x[full:]], [who[full:]]
        if sum(map(len, pending)):
            run(np.concatenate(pending), np.concatenate(owners))

        if not counts:
            return np.zeros((0, self.embedding_dim_), np.float32), np.zeros(
                (0, len(self.genres_)), np.float32
            )
        n = np.asarray(counts, dtype=np.float64)[:, None]
        emb = np.stack(emb_sums) / n
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        return emb.astype(np.float32), (np.stack(prob_sums) / n).astype(np.float32)

    def _dual_model(self):
        """The network with two outputs: the embedding layer and the softmax (built once)."""
        if getattr(self, "_dual", None) is None:
            keras = keras_runtime.keras()
            embedding = self.model_.get_layer(EMBEDDING_LAYER).output
            self._dual = keras.Model(self.model_.inputs, [embedding, self.model_.outputs[0]])
        return self._dual

    # ---- persistence

    def save(self, models_dir: Path, name: str) -> Path:
        """Write ``<name>.keras``, ``<name>.json`` (config, genres, …) and ``<name>.history.csv``.

        Each file is written under a temporary name and then renamed, so an interrupted
        save never leaves a half-written file under the final name. Returns the .keras path.
        """
        self._check_fitted()
        target = keras_runtime.save_model(self.model_, models_dir, name, sidecar=self._sidecar())
        atomic_write(target.with_suffix(".history.csv"), self._write_history, suffix=".csv")
        return target

    def _sidecar(self) -> dict:
        return {
            "config": self.config_.to_dict(),
            "genres": self.genres_,
            "arch": self.arch_,
            "embedding_dim": self.embedding_dim_,
            "metrics": getattr(self, "metrics_", None),
            "versions": self.versions_,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": self.seed,
            "epochs": self.epochs_run_,
            "max_epochs": self.epochs,
            "batch_size": self.batch_size,
            "slices_per_track": self.slices_per_track,
            "learning_rate": self.learning_rate,
        }

    def _write_history(self, path: Path) -> None:
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS)
            writer.writeheader()
            writer.writerows({k: row.get(k) for k in HISTORY_COLUMNS} for row in self.history_)

    @classmethod
    def load(cls, path: Path, *, config: AudioConfig, genres: Sequence[str] | None = None) -> GenreModel:
        """Load a model saved by ``save``, refusing one built for other audio settings or genres."""
        path = Path(path)
        sidecar = path.with_suffix(".json")
        if not path.is_file():
            raise ModelError(f"No model at {path}; train one first (python -m recommender build).")
        if not sidecar.is_file():
            raise ModelError(
                f"Model {path} has no {sidecar.name} next to it (its audio config and genres); "
                "it cannot be checked, so retrain it."
            )
        try:
            meta = json.loads(sidecar.read_text())
            saved_config = AudioConfig.from_dict(meta["config"])
            saved_genres = list(meta["genres"])
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(
                f"Model description {sidecar} is unreadable ({error}); retrain the model."
            ) from None
        differences = config.mismatch(saved_config)
        if differences:
            raise ModelError(
                f"Model {path.name} was trained on features computed with other audio settings "
                f"(model != current): {'; '.join(differences)}. Retrain it or use the matching settings."
            )
        if genres is not None and list(genres) != saved_genres:
            raise ModelError(
                f"Model {path.name} was trained on genres {saved_genres}, "
                f"but the catalog has {list(genres)}; retrain the model on this catalog."
            )
        model = keras_runtime.load_model(path)
        obj = cls(
            genres=saved_genres,
            config=config,
            arch=meta.get("arch", "cnn1d"),
            epochs=meta.get("max_epochs", meta.get("epochs", 0)),
            seed=meta.get("seed", 0),
            batch_size=meta.get("batch_size", 64),
            slices_per_track=meta.get("slices_per_track", 4),
            learning_rate=meta.get("learning_rate", 1e-3),
        )
        history = _read_history(path.with_suffix(".history.csv"))
        obj._set_fitted(model, genres=saved_genres, history=history, versions=meta.get("versions", {}))
        obj.epochs_run_ = meta.get("epochs", len(history))
        if meta.get("metrics") is not None:
            obj.metrics_ = meta["metrics"]
        return obj


def train(
    mels: MelProvider | Mapping,
    train_ids: Sequence,
    train_genres: Sequence[str],
    val_ids: Sequence,
    val_genres: Sequence[str],
    *,
    genres: list[str],
    arch: str = "cnn1d",
    epochs: int = 30,
    seed: int = 0,
    config: AudioConfig,
    batch_size: int = 64,
    slices_per_track: int = 4,
    learning_rate: float = 1e-3,
    callbacks_progress: ProgressFn | None = None,
) -> GenreModel:
    """Train a ``GenreModel`` (see ``GenreModel.fit``) and return it."""
    model = GenreModel(
        genres=genres,
        config=config,
        arch=arch,
        epochs=epochs,
        seed=seed,
        batch_size=batch_size,
        slices_per_track=slices_per_track,
        learning_rate=learning_rate,
    )
    return model.fit(
        mels, train_ids, train_genres, val_ids, val_genres, callbacks_progress=callbacks_progress
    )


# --------------------------------------------------------------------------- helpers


def _encode(labels: Sequence[str], genres: list[str], *, ids: Sequence, split: str) -> np.ndarray:
    """Genre names → class indices ``(n,)`` int32; unknown genres and empty splits are errors."""
    if len(labels) != len(ids):
        raise ModelError(f"The {split} split has {len(ids)} track ids but {len(labels)} genres.")
    if not len(ids):
        raise ModelError(f"The {split} split is empty; the model needs {split} tracks.")
    index = {g: i for i, g in enumerate(genres)}
    unknown = sorted(set(labels) - index.keys())
    if unknown:
        raise ModelError(f"The {split} split has genres not in the genre list: {unknown}.")
    return np.array([index[g] for g in labels], dtype=np.int32)


def check_model_file(
    path: Path, *, config: AudioConfig, genres: Sequence[str], name: str | None = None
) -> None:
    """Refuse a ``.keras`` file this catalog cannot use, loading it (Keras ``safe_mode``) without keeping it.

    Not a Keras archive (truncated, another kind of file), code Keras will not run in
    safe mode, no embedding layer, another input shape than ``config``'s slices, or
    another number of genres than ``genres``: a ``ModelError`` naming the file (``name``,
    e.g. an uploaded file's own name; default the file's name).
    """
    label = name or Path(path).name
    model = keras_runtime.load_model(Path(path), name=label)
    expected = (config.slice_frames, config.n_mels)
    shape = tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else None
    if shape != expected:
        raise ModelError(
            f"{label} takes inputs of shape {shape}, but this catalog's audio settings give slices of "
            f"{expected} (frames, mels); it was not trained on this catalog's features."
        )
    n_outputs = model.outputs[0].shape[-1]
    if n_outputs != len(genres):
        raise ModelError(f"{label} predicts {n_outputs} genres, but this catalog has {len(genres)}.")


def _read_history(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [
            {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if k in HISTORY_COLUMNS and v}
            for row in csv.DictReader(f)
        ]
