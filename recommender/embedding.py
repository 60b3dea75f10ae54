"""The model stage of a build: from the cached features to every song's embedding.

Two kinds of model listen (``recommender.listeners``), both CNNs, both kept:

- ``"musicnn"`` (the default): the pretrained backbone (``recommender.backbone``, frozen)
  and a light head fitted on the catalog's labels (``recommender.head``). It needs no
  labels at all: a flat folder of untagged songs is embedded by the backbone alone.
- ``"cnn1d"`` / ``"seed-2d"``: CNNs trained from scratch on the catalog's genres
  (``recommender.model``), the original method, kept for comparison. They need at
  least two genres.

Besides the model in use, the stage embeds the catalog with the alternatives it can
afford (the backbone alone, the backbone with its head, the newest from-scratch model
of this home made for the same genres), so that ``evaluate`` compares them side by
side on the same test songs.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from recommender import listeners
from recommender.config import AudioConfig
from recommender.errors import ModelError, UserInputError
from recommender.files import atomic_write
from recommender.formats import safe_filename
from recommender.progress import EpochMetrics

HEAD_FIT_MAX_SONGS = 20_000  # a head learns from at most this many training songs (memory stays bounded)
UPLOAD = "upload"


@dataclass
class Embedded:
    """What the model stage gives the build: the model, its name, and every song's vectors."""

    model: object  # a head.BackboneModel or a model.GenreModel
    name: str
    embeddings: np.ndarray  # (n, dim) unit rows
    proba: np.ndarray  # (n, len(genres)) genre probabilities; (n, 0) without a classifier
    genres: list[str]  # the classifier's genres, [] without one
    alternatives: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = field(default_factory=dict)
    """Other ways of listening, for the comparison: name → (embeddings, proba, genres)."""
    evaluated: tuple[np.ndarray, np.ndarray] | None = None
    """``(embeddings, proba)`` of the model as measured, when the catalog uses it refitted on more songs."""


def resolve_arch(arch: str | None) -> str:
    """``arch`` checked (a registered listener), or the default (the pretrained backbone)."""
    return listeners.get(arch).name


def labelled_genres(genres: list[str]) -> list[str]:
    """The genres a classifier can learn: all of them when there are two or more, else none."""
    return sorted(set(genres)) if len(set(genres)) >= 2 else []


def read_sidecar(path: Path) -> dict:
    """The ``.json`` description saved beside a ``.keras`` model, or ``ModelError``."""
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.is_file():
        raise ModelError(
            f"Model {path} has no {sidecar.name} next to it (what it was made for); it cannot be checked."
        )
    try:
        return json.loads(sidecar.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelError(f"Model description {sidecar} is unreadable ({error}).") from None


def check_model_file(path: Path) -> None:
    """Raise ``ModelError`` unless ``path`` is a Keras model file with its description beside it.

    Cheap (no Keras): a build asks before its heavy stages, so that a wrong ``--model``
    is said at once, not after the features of every song.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"No model at {path}: --model takes a FILE.keras saved by a build (in the home's models/)."
        )
    if not zipfile.is_zipfile(path):
        raise ModelError(
            f"{path} is not a Keras model file (a .keras zip archive); --model takes a FILE.keras saved by a "
            "build, with FILE.json beside it."
        )
    read_sidecar(path)


def load_model(path: Path, *, config: AudioConfig, genres: list[str] | None = None):
    """Load either kind of saved model, refused when made for other settings or genres."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"No model at {path}; build the catalog first (python -m recommender build).")
    meta = read_sidecar(path)
    return listeners.of_model(meta).load(path, meta=meta, config=config, genres=genres)


def embed_catalog(
    options,
    tracks: list,
    *,
    mels,
    sounds,
    models_dir: Path,
    progress,
) -> Embedded:
    """Train, fit or load the model ``options`` ask for, then embed every track.

    ``mels``/``sounds``: the feature caches (log-mels, backbone sound features);
    ``progress``: the build's ``Progress``. The model is saved in ``models_dir``.
    """
    arch = resolve_arch(options.arch)
    ids = np.array([t.track_id for t in tracks], dtype=np.int64)
    all_genres = sorted({t.genre for t in tracks if t.source != UPLOAD} or {t.genre for t in tracks})
    genres = labelled_genres(all_genres)
    progress.stage("read features", len(ids))
    heard = _stack(sounds, ids, progress)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    evaluated = None

    if options.model is not None:
        progress.stage("load model")
        model = load_model(Path(options.model), config=mels.config, genres=genres or None)
        name = Path(options.model).stem
        if Path(options.model).resolve().parent != models_dir.resolve():
            model.save(models_dir, name)
    elif not listeners.get(arch).trained_on_genres:
        progress.stage("fitting the head" if genres and not options.no_train else "backbone embedding")
        model = _fit_head(
            tracks, heard, genres, head="none" if options.no_train else "auto", seed=options.seed
        )
        if model.genres_:
            # Measured as fitted on the training split; then fitted again, with the same choice, on
            # every labelled song for the catalog's use (a small catalog gains most from it).
            evaluated = model.embed_and_predict_many(heard)
            refit = _fit_head(
                tracks, heard, genres, head="lda" if model.uses_head_ else "classifier", seed=options.seed,
                splits=("training", "validation", "test"), lda_weight=model.lda_weight_,
            )  # fmt: skip
            refit.validation_ = model.validation_
            model = refit
        name = f"{options.source}-{arch}-{stamp}"
        model.save(models_dir, name)
    elif options.no_train:
        raise ModelError("--no-train with a from-scratch architecture needs --model FILE.keras")
    else:
        if not genres:
            raise UserInputError(
                f"training {arch} from scratch needs at least two genres, and this catalog has "
                f"{all_genres or 'none'}; the default pretrained backbone (--arch musicnn) needs no labels"
            )
        model = _train_from_scratch(options, arch, tracks, mels, genres, progress)
        name = f"{options.source}-{arch}-{stamp}"
        model.save(models_dir, name)

    progress.stage("embeddings", len(ids))
    embeddings, proba = _embed(model, ids, heard=heard, mels=mels, progress=progress)
    result = Embedded(model, name, embeddings, proba, list(getattr(model, "genres_", [])))
    if evaluated is not None:
        result.evaluated = evaluated
    if genres:
        progress.stage("alternatives")
        result.alternatives = _alternatives(model, tracks, heard, genres, mels, models_dir, options.seed)
    return result


def _stack(cache, ids: np.ndarray, progress) -> np.ndarray:
    """The cached features of ``ids`` as one float32 array ``(n, width)``."""
    out = None
    for i, track_id in enumerate(ids):
        row = cache.get(int(track_id))
        if out is None:
            out = np.empty((len(ids), row.shape[-1]), np.float32)
        out[i] = row
        if (i + 1) % 256 == 0 or i + 1 == len(ids):
            progress.advance(i + 1, len(ids))
    return out if out is not None else np.zeros((0, 0), np.float32)


def _split(tracks: list, name: str) -> np.ndarray:
    """Rows of the tracks in split ``name``; uploads never (their genre was chosen by a user or guessed)."""
    return np.array([i for i, t in enumerate(tracks) if t.split == name and t.source != UPLOAD], dtype=int)


def _fit_head(
    tracks: list,
    heard: np.ndarray,
    genres: list[str],
    *,
    head: str,
    seed: int,
    splits: tuple = ("training",),
    lda_weight: float | None = None,
):
    """A ``BackboneModel`` fitted on the songs of ``splits`` (validation songs choose, unless they are in them).

    Without labels (no genres, or head ``"none"``) nothing is learnt from the genres: the
    standardisation, PCA and whitening are fitted on every catalog song (uploads aside).
    """
    from recommender.head import BackboneModel

    if not genres or head == "none":
        splits = ("training", "validation", "test")
    train = np.sort(np.concatenate([_split(tracks, name) for name in splits]))
    val = _split(tracks, "validation") if "validation" not in splits else np.array([], dtype=int)
    if len(train) < 2:  # a handful of songs: learn the backbone embedding from all of them
        train, val = np.arange(len(tracks)), np.array([], dtype=int)
    if len(train) > HEAD_FIT_MAX_SONGS:
        train = np.sort(np.random.default_rng(seed).choice(train, HEAD_FIT_MAX_SONGS, replace=False))
    labels = [tracks[i].genre for i in train] if genres else None
    model = BackboneModel(genres=genres, head=head, seed=seed, lda_weight=lda_weight)
    return model.fit(
        heard[train],
        labels,
        val_features=heard[val] if len(val) and genres else None,
        val_genres=[tracks[i].genre for i in val] if len(val) and genres else None,
    )


def _train_from_scratch(options, arch: str, tracks: list, mels, genres: list[str], progress):
    from recommender import model as cnn

    def split(name: str) -> tuple[list[int], list[str]]:
        rows = _split(tracks, name)
        return [tracks[i].track_id for i in rows], [tracks[i].genre for i in rows]

    train_ids, train_genres = split("training")
    val_ids, val_genres = split("validation")
    if not train_ids or not val_ids:
        raise UserInputError("training needs tracks in both the training and the validation split")
    progress.stage("training", options.epochs)

    def on_epoch(epoch: int, epochs: int, logs: dict) -> None:
        progress.advance(epoch, epochs, EpochMetrics.from_logs(epoch, logs))

    return cnn.train(
        mels, train_ids, train_genres, val_ids, val_genres, genres=genres, arch=arch, epochs=options.epochs,
        seed=options.seed, config=mels.config, callbacks_progress=on_epoch,
    )  # fmt: skip


def _embed(model, ids: np.ndarray, *, heard: np.ndarray, mels, progress) -> tuple[np.ndarray, np.ndarray]:
    if listeners.get(model.arch_).hears == listeners.SOUND:
        embeddings, proba = model.embed_and_predict_many(heard)
        progress.advance(len(ids), len(ids))
        return embeddings, proba
    return model.embed_and_predict_many(_mels(mels, ids, progress.advance))


def _mels(cache, ids: np.ndarray, advance: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    for i, track_id in enumerate(ids, start=1):
        yield cache.get(int(track_id))
        if advance is not None and (i % 16 == 0 or i == len(ids)):
            advance(i, len(ids))


def _alternatives(model, tracks, heard, genres, mels, models_dir: Path, seed: int) -> dict:
    """The other ways of listening to this catalog, each fitted on the training split only."""
    out = {}
    for kind, head in (("backbone", "none"), ("backbone_head", "lda")):
        fitted = _fit_head(tracks, heard, genres, head=head, seed=seed)
        out[kind] = (*fitted.embed_and_predict_many(heard), list(fitted.genres_))
    scratch = (
        model
        if getattr(model, "arch_", None) in listeners.from_scratch()
        else _newest_from_scratch(models_dir, mels, genres)
    )
    if scratch is not None:
        ids = np.array([t.track_id for t in tracks], dtype=np.int64)
        embeddings, proba = scratch.embed_and_predict_many(_mels(mels, ids))
        out[scratch.arch_] = (embeddings, proba, list(scratch.genres_))
    return out


def _newest_from_scratch(models_dir: Path, mels, genres: list[str]):
    """The newest from-scratch model saved in this home for these genres and audio settings, or None."""
    found = []
    for path in Path(models_dir).glob("*.keras"):
        try:
            meta = read_sidecar(path)
        except ModelError:
            continue
        if meta.get("arch") in listeners.from_scratch() and sorted(meta.get("genres", [])) == genres:
            found.append((meta.get("created", ""), path))
    for _, path in sorted(found, reverse=True):
        try:
            return load_model(path, config=mels.config, genres=genres)
        except ModelError:
            continue
    return None


def import_model(
    models_dir: Path, files: dict[str, bytes], *, genres: list[str], config: AudioConfig
) -> Path:
    """Keep an uploaded ``.keras`` model and its ``.json`` description in ``models_dir``; returns the .keras path.

    Both are checked first, and the model is loaded (Keras safe mode) from its temporary
    name: its description must name this catalog's genres (a backbone model without a
    classifier fits any catalog) and the audio settings its kind was made for, and the
    file must be a musicrec model of that kind. A refused model is never kept.
    """

    keras_files = [n for n in files if n.lower().endswith(".keras")]
    json_files = [n for n in files if n.lower().endswith(".json")]
    if len(keras_files) != 1 or len(json_files) != 1:
        raise ModelError("upload exactly one .keras model together with its .json description")
    try:
        meta = json.loads(files[json_files[0]].decode("utf-8"))
        saved_genres = list(meta["genres"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise ModelError(f"{json_files[0]} is not a musicrec model description ({error})") from None
    try:
        listener = listeners.of_model(meta)
    except ModelError as error:
        raise ModelError(f"{json_files[0]}: {error}") from None
    if (saved_genres or listener.trained_on_genres) and sorted(saved_genres) != sorted(genres):
        raise ModelError(f"the model knows genres {saved_genres}, but this catalog has {sorted(genres)}")
    if listener.hears == listeners.SOUND:

        def check(tmp: Path) -> None:
            listener.load(tmp, meta=meta, config=config, genres=genres or None, name=keras_files[0])
    else:
        from recommender.model import check_model_file

        try:
            differences = config.mismatch(AudioConfig.from_dict(meta["config"]))
        except (KeyError, TypeError) as error:
            raise ModelError(f"{json_files[0]} is not a musicrec model description ({error})") from None
        if differences:
            raise ModelError(f"the model was trained with other audio settings: {'; '.join(differences)}")

        def check(tmp: Path) -> None:
            check_model_file(tmp, config=config, genres=saved_genres, name=keras_files[0])

    stem = Path(safe_filename(keras_files[0])).stem
    name, n = stem, 1
    while (Path(models_dir) / f"{name}.keras").exists():
        n += 1
        name = f"{stem}-{n}"
    target = Path(models_dir) / f"{name}.keras"

    def write_checked(tmp: Path) -> None:  # checked under its temporary name: a refused model never appears
        tmp.write_bytes(files[keras_files[0]])
        check(tmp)

    atomic_write(target, write_checked, suffix=".keras")
    # The description last: a .keras file without its .json is not offered among the saved models.
    atomic_write(target.with_suffix(".json"), lambda tmp: tmp.write_bytes(files[json_files[0]]))
    return target
