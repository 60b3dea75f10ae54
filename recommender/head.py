"""The head: what musicrec learns on top of the frozen pretrained backbone.

The backbone (``recommender.backbone``) hears each song as a sound-feature vector. The
head reads, per musicnn model, the mean over the song's 3-s patches of its 200-d
penultimate layer and of its mid-end features max- and mean-pooled over time (753 +
753), every patch's values signed-square-rooted first (sound-feature layout 2; layout 1,
of catalogs built before, kept them as musicnn gives them), and the clip's log-mel band
means and deviations (96 + 96). It turns them into the song's embedding and, when the
catalog has genre labels, its genre probabilities. Everything it learns is linear,
fitted on the training split only:

1. **Standardise** each feature over the training songs and scale each block (one
   layer of one model) to unit length; the pooled blocks and the band statistics then
   weigh half a penultimate block (``head_blocks``).
2. **Backbone embedding**: PCA of the model blocks (up to ``components`` dimensions;
   not the band statistics). With no labels (a flat folder, one genre) this *is* the
   embedding: the build needs no training at all.
3. **With labels**: linear discriminant analysis of every block (Ledoit-Wolf shrinkage,
   so it needs no tuning and copes with more features than songs) projects the vector
   onto the directions that separate the genres; the embedding is the backbone
   embedding and that projection side by side, each of unit length. The same LDA gives
   the genre probabilities.
4. **Measure and choose**: on the validation split, genre precision@10 of the
   embedding with and without the LDA part; the head's part is kept only where it
   measures at least as well.

``bench/real_audio.py`` measured the choices on real recordings (album-P@10, query
tracks unseen by the catalog): penultimate layers alone 0.60, with the pooled mid-end
0.59 (no training); + a linear head 0.66 (penultimate only) and 0.70 (all blocks),
where logistic regression and LDA were within 0.02 of each other and LDA needs no
tuning. See ``bench/README.md``.

The fitted head is saved as a small Keras model (``.keras``: standardisation, PCA and
LDA as layers, safe to load) with a ``.json`` description, like the from-scratch CNNs,
so the app's Model page saves, lists and loads both kinds the same way.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recommender import keras_runtime
from recommender.backbone import BACKBONES, LAYOUTS, MUSICNN, BackboneConfig, sound_width
from recommender.discriminant import fit_lda, fit_temperature, softmax
from recommender.errors import ModelError, UserInputError
from recommender.head_blocks import (
    DEFAULT_POOLED_WEIGHT,
    SOUND_LAYOUT,
    block_unit,
    block_weights,
    default_penultimate,
    embedding_blocks,
    pca_mask,
)
from recommender.keras_runtime import EMBEDDING_LAYER

ARCH = "musicnn"
DEFAULT_COMPONENTS = 128
HEADS = ("auto", "lda", "classifier", "none")
"""``auto``: LDA where validation says it helps; ``lda``: always; ``classifier``: genre
probabilities only, the embedding without LDA; ``none``: the backbone embedding alone."""
MIN_SONGS_PER_GENRE = 1  # a genre the classifier knows has at least one training song
VALIDATION_K = 10
LDA_WEIGHTS = (0.5,)
"""Weights of the LDA part beside the backbone part of the embedding that validation chooses from
(``lda_weight`` None); 0.5: both parts weigh the same."""
DEFAULT_WHITEN: float | None = None
"""Shrinkage of the PCA whitening of the backbone embedding (``whitening_scale``); None: plain PCA."""


def _keras():
    keras = keras_runtime.keras()
    _register_layers(keras)
    return keras


_LAYERS: dict[str, type] = {}


def _register_layers(keras) -> None:
    """Define (once) the one custom layer the saved heads use; Keras loads it in safe mode."""
    if _LAYERS:
        return

    @keras.saving.register_keras_serializable(package="musicrec")
    class BlockStandardize(keras.layers.Layer):
        """``(x - mean) / scale`` per feature, then each block of ``blocks`` sizes scaled to unit length."""

        def __init__(self, blocks: Sequence[int], **kwargs):
            super().__init__(**kwargs)
            self.blocks = [int(b) for b in blocks]

        def build(self, input_shape):
            width = sum(self.blocks)
            self.mean = self.add_weight(shape=(width,), initializer="zeros", trainable=False, name="mean")
            self.scale = self.add_weight(shape=(width,), initializer="ones", trainable=False, name="scale")

        def call(self, x):
            ops = keras.ops
            z = (x - self.mean) / self.scale
            bounds = np.cumsum(self.blocks)[:-1].tolist()
            parts = ops.split(z, bounds, axis=-1) if bounds else [z]
            return ops.concatenate(
                [p / ops.maximum(ops.norm(p, axis=-1, keepdims=True), 1e-12) for p in parts], axis=-1
            )

        def get_config(self):
            return super().get_config() | {"blocks": self.blocks}

    _LAYERS["BlockStandardize"] = BlockStandardize


class BackboneModel:
    """Song embeddings (and genre probabilities) from the backbone's sound features.

    Hyperparameters (no work here): ``genres`` (the catalog's genre names, sorted; empty
    or one genre: no classifier), ``backbones`` (musicnn models whose features are used),
    ``components`` (PCA dimensions at most), ``head`` (one of ``HEADS``), ``seed``.

    Learned (``fit``): ``model_`` (Keras), ``genres_`` (empty without a classifier),
    ``uses_head_``, ``embedding_dim_``, ``validation_`` (genre precision@10 on the
    validation split with and without the head, when there is one), ``arch_`` =
    ``"musicnn"``, ``history_`` (empty: nothing is trained by epochs).
    """

    def __init__(
        self,
        *,
        genres: Sequence[str] = (),
        backbones: Sequence[str] = BACKBONES,
        components: int = DEFAULT_COMPONENTS,
        head: str = "auto",
        seed: int = 0,
        config: BackboneConfig = MUSICNN,
        whiten: float | None = DEFAULT_WHITEN,
        lda_weight: float | None = None,
        pooled_weight: float = DEFAULT_POOLED_WEIGHT,
        layout: int = SOUND_LAYOUT,
    ):
        self.genres = genres
        self.backbones = backbones
        self.components = components
        self.head = head
        self.seed = seed
        self.config = config
        self.whiten = whiten
        self.lda_weight = lda_weight
        self.pooled_weight = pooled_weight
        self.layout = layout

    # ---- learning
    def fit(
        self,
        features: np.ndarray,
        genres: Sequence[str] | None = None,
        *,
        val_features: np.ndarray | None = None,
        val_genres: Sequence[str] | None = None,
    ) -> BackboneModel:
        """Learn from the training songs' sound features ``(n, width)`` and their genres (None: no labels)."""
        from sklearn.decomposition import PCA

        if self.head not in HEADS:
            raise UserInputError(f"unknown head {self.head!r}; choose one of {', '.join(HEADS)}")
        classes = self._classes(genres)
        self.penultimate_ = default_penultimate(self.layout, labelled=bool(classes) and self.head != "none")
        columns, blocks = self._blocks()
        x = self._check_features(features)[:, columns].astype(np.float64)
        if len(x) < 1:
            raise ModelError("the backbone model needs at least one song to learn from")
        # Songs that all sound the same (one song, or copies of one) have no spread to centre on: their
        # own features give their direction, or every embedding would be the zero vector.
        mean = x.mean(axis=0) if np.ptp(x, axis=0).max(initial=0.0) > 0 else np.zeros(x.shape[1])
        scale = np.maximum(x.std(axis=0), 1e-6 * max(float(np.abs(x).max()), 1.0))
        # The PCA and the LDA see each block weighted; the weights are folded into their kernels.
        weights = block_weights(self.backbones, self.pooled_weight, self.layout, self.penultimate_)
        standard = block_unit((x - mean) / scale, blocks) * weights

        mask = pca_mask(self.backbones, self.layout, self.penultimate_)
        n_components = min(int(self.components), len(x) - 1, int(mask.sum()))
        pca = PCA(n_components, random_state=self.seed).fit(standard * mask) if n_components >= 2 else None
        if pca is not None:
            pca.components_[:, mask == 0] = 0.0  # the LDA-only blocks (no variance there) stay out exactly
        whiten = None if pca is None else whitening_scale(pca.explained_variance_, self.whiten)

        lda = fit_lda(standard, np.asarray(genres), classes) if classes and self.head != "none" else None
        use_lda = lda is not None and self.head != "classifier"
        network = functools.partial(
            _head_network,
            _keras(),
            blocks=blocks,
            mean=mean,
            scale=scale,
            pca=pca,
            lda=lda,
            classes=classes,
            whiten=whiten,
            weights=weights,
        )
        self.model_ = network(use_lda=use_lda)
        self.genres_ = list(classes) if lda is not None else []
        self.uses_head_ = use_lda
        self.validation_ = None
        self.temperature_ = 1.0
        self.typical_strangeness_ = None
        if lda is not None and val_features is not None and val_genres is not None and len(val_genres):
            self.temperature_ = fit_temperature(self._logits(val_features), self.genres_, val_genres)
        if lda is not None:
            self._fit_typical_strangeness(features, val_features)
        self.lda_weight_ = 0.5 if self.lda_weight is None else float(self.lda_weight)
        validated = use_lda and val_features is not None and val_genres is not None and len(val_genres) > 0
        if validated and self.lda_weight is None and LDA_WEIGHTS != (0.5,):
            self.lda_weight_ = self._choose_weight(features, genres, val_features, val_genres)
        if use_lda and self.lda_weight_ != 0.5:
            self.model_ = network(use_lda=True, lda_weight=self.lda_weight_)
        if use_lda and val_features is not None and val_genres is not None and len(val_genres):
            self.validation_ = self._validate(features, genres, val_features, val_genres)
            if self.head == "auto" and self.validation_["with_head"] < self.validation_["backbone_only"]:
                self.model_ = network(use_lda=False)
                self.uses_head_ = False
        self._set_fitted()
        return self

    def _classes(self, genres: Sequence[str] | None) -> list[str]:
        """The genres to classify, or [] when the labels cannot train a classifier."""
        declared = sorted(set(self.genres))
        if genres is None or len(declared) < 2:
            return []
        counts = {g: 0 for g in declared}
        for g in genres:
            if g not in counts:
                raise ModelError(f"the training split has genre {g!r}, which is not in {declared}")
            counts[g] += 1
        trainable = [g for g, n in counts.items() if n >= MIN_SONGS_PER_GENRE]
        if len(trainable) < len(declared):
            few = [g for g, n in counts.items() if n < MIN_SONGS_PER_GENRE]
            raise ModelError(
                f"genres {few} have fewer than {MIN_SONGS_PER_GENRE} training songs; add songs or merge genres"
            )
        return declared

    def _choose_weight(self, features, genres, val_features, val_genres) -> float:
        """The ``LDA_WEIGHTS`` weight whose embedding gives the best validation genre precision@10."""
        embedded, _ = self._run(self.model_, np.concatenate([features, val_features]))  # weights 0.5 : 0.5
        backbone_dim = embedded.shape[1] - (len(self.genres_ or self._classes(genres)) - 1)
        labels = np.array(list(genres) + list(val_genres))
        queries = np.arange(len(features), len(labels))
        scores = {
            w: _precision_at_k(
                np.concatenate([(1 - w) * embedded[:, :backbone_dim], w * embedded[:, backbone_dim:]], axis=1),
                labels, queries, len(features),
            )
            for w in LDA_WEIGHTS
        }  # fmt: skip
        return max(LDA_WEIGHTS, key=lambda w: (scores[w], -abs(w - 0.5)))

    def _validate(self, features, genres, val_features, val_genres) -> dict:
        """Genre precision@10 of the validation songs among the training songs, with and without the head."""
        with_head, _ = self._run(self.model_, np.concatenate([features, val_features]))
        backbone_dim = with_head.shape[1] - (len(self.genres_ or self._classes(genres)) - 1)
        without = with_head[:, :backbone_dim]
        labels = np.array(list(genres) + list(val_genres))
        queries = np.arange(len(features), len(labels))
        return {
            "with_head": _precision_at_k(with_head, labels, queries, len(features)),
            "backbone_only": _precision_at_k(without, labels, queries, len(features)),
            "n": len(queries),
        }

    def _set_fitted(self) -> None:
        self.arch_ = ARCH
        self.embedding_dim_ = int(self.model_.get_layer(EMBEDDING_LAYER).output.shape[-1])
        self.history_: list[dict] = []
        self.epochs_run_ = 0
        self.versions_ = _versions()

    def _blocks(self) -> tuple[np.ndarray, list[int]]:
        """The columns and block sizes this head reads (``embedding_blocks``)."""
        penultimate = getattr(self, "penultimate_", None) or default_penultimate(self.layout, labelled=True)
        return embedding_blocks(self.backbones, self.layout, penultimate)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ModelError(
                "the backbone model is not fitted: build the catalog or load a saved model first"
            )

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        features = np.atleast_2d(np.asarray(features, dtype=np.float32))
        width = sound_width(self.backbones, self.layout)
        if features.shape[1] != width:
            other = [n for n in LAYOUTS if sound_width(self.backbones, n) == features.shape[1]]
            if other:
                raise ModelError(
                    f"this head reads sound-feature layout {self.layout}, and these features are of layout "
                    f"{other[0]}: build the catalog again without this model, so that a head is fitted on them"
                )
            raise ModelError(
                f"sound features have {features.shape[1]} values, the backbones {list(self.backbones)} "
                f"give {width}; compute the features again"
            )
        return features

    # ---- inference
    def embed_and_predict_many(self, features: np.ndarray, *, batch_size: int = 1024):
        """Embeddings ``(n, embedding_dim)`` (unit rows) and genre probabilities ``(n, len(genres_))``."""
        self._check_fitted()
        return self._run(self.model_, self._check_features(features), batch_size=batch_size)

    def _run(self, model, features: np.ndarray, *, batch_size: int = 1024):
        columns, _ = self._blocks()
        x = np.asarray(features, dtype=np.float32)[:, columns]
        embeddings, probabilities = [], []
        for start in range(0, len(x), batch_size):
            out = model(x[start : start + batch_size], training=False)  # eager: no retracing per batch size
            out = out if isinstance(out, list | tuple) else [out]
            embeddings.append(np.asarray(out[0]))
            if len(out) > 1:
                probabilities.append(np.asarray(out[1]))
        n_genres = len(getattr(self, "genres_", []))
        emb = np.concatenate(embeddings) if embeddings else np.zeros((0, self.embedding_dim_))
        proba = np.concatenate(probabilities) if probabilities else np.zeros((len(x), n_genres))
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
        if n_genres and len(x):
            proba = softmax(self._logits(features, model=model) / getattr(self, "temperature_", 1.0))
            weight = self.confidence_weights(features, model=model)[:, None]
            proba = weight * proba + (1.0 - weight) / n_genres
        return emb.astype(np.float32), proba.astype(np.float32)

    def _fit_typical_strangeness(self, features, val_features) -> None:
        """How unusual the catalog's own songs sound to the head: the 95th percentile of ``strangeness``."""
        seen = (
            features
            if val_features is None or not len(val_features)
            else np.concatenate([features, val_features])
        )
        self.typical_strangeness_ = round(max(float(np.percentile(self.strangeness(seen), 95)), 1e-3), 6)

    def strangeness(self, features: np.ndarray, *, model=None) -> np.ndarray:
        """Per song ``(n,)``: the mean squared z-score of its sound features against the training songs'
        (about 1 for a training song; far above for a sound unlike all of them)."""
        model = model if model is not None else self.model_
        columns, _ = self._blocks()
        x = np.asarray(features, dtype=np.float64)[:, columns]
        mean, scale = (np.asarray(w, dtype=np.float64) for w in model.get_layer("standardise").get_weights())
        return np.mean(((x - mean) / scale) ** 2, axis=1)

    def _standardised(self, features: np.ndarray, *, model) -> np.ndarray:
        columns, _ = self._blocks()
        x = np.asarray(features, dtype=np.float64)[:, columns]
        standardise = model.get_layer("standardise")
        mean, scale = (np.asarray(w, dtype=np.float64) for w in standardise.get_weights())
        return block_unit((x - mean) / scale, standardise.blocks)

    def confidence_weights(self, features: np.ndarray, *, model=None) -> np.ndarray:
        """Per song ``(n,)``, how much of its genre guess to keep: 1 up to the strangeness that 95 % of
        the catalog's songs stay within, falling to 0 at twice that.

        Far from every genre, a linear classifier still names one with near certainty; this
        draws such songs' probabilities towards uniform instead.
        """
        typical = getattr(self, "typical_strangeness_", None)
        if not typical:
            return np.ones(len(features))
        return np.clip(2.0 - self.strangeness(features, model=model) / typical, 0.0, 1.0)

    def _logits(self, features: np.ndarray, *, model=None) -> np.ndarray:
        """The genre layer's logits ``(n, len(genres_))`` in float64 (Keras' float32 softmax saturates at 1)."""
        model = model if model is not None else self.model_
        weights, bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer("genre").get_weights())
        return self._standardised(features, model=model) @ weights + bias

    # ---- persistence
    def save(self, models_dir: Path, name: str) -> Path:
        """Write ``<name>.keras`` and ``<name>.json`` (backbones, their config, genres, choices)."""
        self._check_fitted()
        return keras_runtime.save_model(self.model_, models_dir, name, sidecar=self._sidecar())

    def _sidecar(self) -> dict:
        return {
            "arch": ARCH,
            "backbones": list(self.backbones),
            "backbone_config": self.config.to_dict(),
            "genres": self.genres_,
            "head": "lda" if self.uses_head_ else "none",
            "classifier": bool(self.genres_),
            "embedding_dim": self.embedding_dim_,
            "components": self.components,
            "whiten": self.whiten,
            "pooled_weight": self.pooled_weight,
            "sound_layout": self.layout,
            "penultimate": self.penultimate_,
            "lda_weight": getattr(self, "lda_weight_", 0.5),
            "validation": self.validation_,
            "temperature": getattr(self, "temperature_", 1.0),
            "typical_strangeness": getattr(self, "typical_strangeness_", None),
            "metrics": getattr(self, "metrics_", None),
            "versions": self.versions_,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": self.seed,
        }

    @classmethod
    def load(
        cls, path: Path, *, meta: dict, genres: Sequence[str] | None = None, name: str | None = None
    ) -> BackboneModel:
        """A head saved by ``save`` (``meta``: its .json), refused for another backbone config or genres.

        ``name``: how to call the file in messages (an uploaded file's own name; default its name).
        """
        label = name or Path(path).name
        saved = BackboneConfig.from_dict(meta.get("backbone_config", {}))
        differences = MUSICNN.mismatch(saved)
        if differences:
            raise ModelError(f"Model {label} was made for other backbone settings: {'; '.join(differences)}")
        backbones = list(meta.get("backbones", BACKBONES))
        unknown = sorted(set(backbones) - set(BACKBONES))
        if unknown:
            raise ModelError(f"Model {label} uses unknown backbones {unknown}")
        saved_genres = list(meta.get("genres", []))
        if genres is not None and saved_genres and sorted(genres) != saved_genres:
            raise ModelError(
                f"Model {label} was trained on genres {saved_genres}, "
                f"but the catalog has {sorted(genres)}; train a head on this catalog."
            )
        _keras()  # registers the head's layer before Keras reads the file
        model = keras_runtime.load_model(Path(path), name=label)
        layout = int(meta.get("sound_layout", 1))  # a head saved before layouts read layout 1
        if layout not in LAYOUTS:
            raise ModelError(
                f"Model {label} reads sound-feature layout {layout}, which this version does not know"
            )
        penultimate = meta.get("penultimate") or default_penultimate(layout, labelled=True)
        if penultimate not in ("penultimate", "penultimate_root") or (
            layout == 1 and penultimate != "penultimate"
        ):
            raise ModelError(
                f"Model {label} reads {penultimate!r} sound features, which layout {layout} does not have"
            )
        width = len(embedding_blocks(backbones, layout, penultimate)[0])
        widths = [output.shape[-1] for output in model.outputs]
        if saved_genres and (len(widths) != 2 or widths[1] != len(saved_genres)):
            raise ModelError(
                f"{label} predicts {widths[-1]} genres, but this catalog has {len(saved_genres)}."
            )
        if tuple(model.inputs[0].shape[1:]) != (width,):
            raise ModelError(
                f"{label} reads {tuple(model.inputs[0].shape[1:])} inputs, not the {width} sound features of "
                f"the backbones {backbones}: it is not a musicrec head; build the catalog again."
            )
        obj = cls(genres=saved_genres, backbones=backbones, components=meta.get("components", DEFAULT_COMPONENTS),
                  head=meta.get("head", "none"), seed=meta.get("seed", 0), whiten=meta.get("whiten"),
                  lda_weight=meta.get("lda_weight"),
                  pooled_weight=meta.get("pooled_weight", 1.0), layout=layout)  # fmt: skip
        obj.model_ = model
        obj.penultimate_ = penultimate
        obj.genres_ = saved_genres if len(model.outputs) > 1 else []
        obj.uses_head_ = meta.get("head") == "lda"
        obj.lda_weight_ = float(meta.get("lda_weight", 0.5))
        obj.validation_ = meta.get("validation")
        obj.temperature_ = float(meta.get("temperature", 1.0))
        obj.typical_strangeness_ = meta.get("typical_strangeness")
        obj._set_fitted()
        obj.versions_ = meta.get("versions", {})
        if meta.get("metrics") is not None:
            obj.metrics_ = meta["metrics"]
        return obj


def whitening_scale(variance: np.ndarray, shrink: float | None) -> np.ndarray:
    """Per PCA component, the factor that whitens it: ``(variance + shrink · mean variance)^-1/2``.

    Classic for retrieval with frozen features (Jégou & Chum, ECCV 2012): whitening evens
    out the few directions that carry most of the catalog's variance (loudness, recording
    quality) against the many that tell songs apart; the shrinkage keeps the smallest,
    noisiest components from being blown up. None: no whitening (all ones).
    """
    variance = np.asarray(variance, dtype=np.float64)
    if shrink is None or not len(variance):
        return np.ones(len(variance))
    return 1.0 / np.sqrt(variance + float(shrink) * max(float(variance.mean()), 1e-12))


def _head_network(
    keras, *, blocks, mean, scale, pca, lda, classes, use_lda: bool, whiten=None, lda_weight: float = 0.5,
    weights=None,
):  # fmt: skip
    """The fitted head as a Keras model: sound features (embedding columns) → [embedding, genre probabilities].

    ``pca`` and ``lda`` were fitted on the standardised blocks times ``weights`` (per column; None:
    all 1), which scale the rows of their kernels here: the saved model needs no other layer.
    """
    layers = keras.layers
    width = sum(blocks)
    inputs = keras.Input((width,), name="sound")
    standardize = _LAYERS["BlockStandardize"](blocks, name="standardise")
    x = standardize(inputs)
    standardize.set_weights([mean.astype(np.float32), scale.astype(np.float32)])
    w = np.ones((width, 1)) if weights is None else np.asarray(weights, dtype=np.float64)[:, None]
    if pca is not None:
        dense = layers.Dense(pca.n_components_, name="pca")
        backbone = dense(x)
        # Whitening scales each component: it is part of the same saved layer, so an upload is
        # projected exactly as the catalog was.
        factor = np.ones(pca.n_components_) if whiten is None else np.asarray(whiten)
        dense.set_weights(
            [
                (w * pca.components_.T * factor).astype(np.float32),
                (-(pca.mean_ @ pca.components_.T) * factor).astype(np.float32),
            ]
        )
        backbone = layers.UnitNormalization(name="pca_unit")(backbone)
    else:
        backbone = x
    outputs = []
    if lda is not None and use_lda:
        dims = len(classes) - 1
        dense = layers.Dense(dims, name="lda")
        projected = dense(x)
        # The training songs' mean projects to the origin.
        dense.set_weights(
            [(w * lda.scalings).astype(np.float32), (-lda.centre @ lda.scalings).astype(np.float32)]
        )
        projected = layers.UnitNormalization(name="lda_unit")(projected)
        if lda_weight != 0.5:  # the LDA part against the backbone part: w to 1 - w
            projected = layers.Rescaling(lda_weight / (1.0 - lda_weight), name="lda_weight")(projected)
        outputs.append(layers.Concatenate(name=EMBEDDING_LAYER)([backbone, projected]))
    else:
        outputs.append(layers.Identity(name=EMBEDDING_LAYER)(backbone))
    if lda is not None:
        coef, intercept = lda.coef, lda.intercept
        dense = layers.Dense(len(classes), activation="softmax", name="genre")
        outputs.append(dense(x))
        dense.set_weights([(w * coef.T).astype(np.float32), intercept.astype(np.float32)])
    return keras.Model(inputs, outputs, name="musicnn_head")


def _precision_at_k(vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, n_base: int) -> float:
    """Mean share of each query's ``VALIDATION_K`` nearest base rows (the first ``n_base``) with its label."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similarity = unit[queries] @ unit[:n_base].T
    k = min(VALIDATION_K, n_base)
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    return float(np.mean(labels[:n_base][nearest] == labels[queries][:, None]))


def _versions() -> dict[str, str]:
    found = keras_runtime.versions()
    with contextlib.suppress(Exception):
        from importlib import metadata

        found["musicnn"] = metadata.version("musicnn")
        found["scikit-learn"] = metadata.version("scikit-learn")
    return found
