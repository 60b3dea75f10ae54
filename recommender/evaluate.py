"""Metrics: classifier accuracy and confusion, and retrieval genre precision@k against baselines.

Retrieval asks "do a song's nearest neighbours share its genre?" for the CNN
embeddings, for a classic MFCC-statistics baseline and for random neighbours, so
the numbers say how much the learned embedding adds over both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from recommender import listeners
from recommender.errors import UserInputError
from recommender.librosa_import import load_librosa

_RANDOM_DRAWS = 5


def classification_report(true_genres: Sequence[str], proba: np.ndarray, genres: list[str]) -> dict:
    """Accuracy, per-genre recall and confusion of track-level predictions.

    ``proba`` ``(n, g)``: genre probabilities per track (columns in ``genres`` order);
    the prediction is the arg-max. Returns ``{"accuracy", "n", "per_genre": {genre:
    {"accuracy", "n"}}, "confusion": [[int]] (rows true, columns predicted), "genres"}``;
    an accuracy over no tracks is ``None``.
    """
    proba = np.asarray(proba, dtype=np.float64)
    n, g = len(true_genres), len(genres)
    if proba.ndim != 2 or proba.shape != (n, g):
        raise ValueError(f"proba must have shape ({n}, {g}), got {proba.shape}")
    column = {genre: i for i, genre in enumerate(genres)}
    unknown = sorted({t for t in true_genres if t not in column})
    if unknown:
        raise ValueError(f"true genres not among the model's genres: {unknown}")
    truth = np.array([column[t] for t in true_genres], dtype=np.int64)
    predicted = proba.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    confusion = np.zeros((g, g), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    per_genre = {}
    for i, genre in enumerate(genres):
        count = int(confusion[i].sum())
        per_genre[genre] = {"accuracy": _ratio(confusion[i, i], count), "n": count}
    return {
        "accuracy": _ratio(np.trace(confusion), n),
        "n": n,
        "per_genre": per_genre,
        "confusion": confusion.tolist(),
        "genres": list(genres),
    }


def evaluation_summary(test_report: dict, val_report: dict | None, retrieval: dict) -> dict:
    """The ``evaluate --json`` object from the test and validation reports and ``retrieval_report``."""
    return {
        "classifier": {
            "test_accuracy": test_report["accuracy"],
            "val_accuracy": None if val_report is None else val_report["accuracy"],
            "n_test": test_report["n"],
            "val_n": 0 if val_report is None else val_report["n"],
            "per_genre": test_report["per_genre"],
            "confusion": test_report["confusion"],
            "genres": test_report["genres"],
        },
        "retrieval": retrieval,
    }


def mfcc_stats(mel_db: np.ndarray, *, n_mfcc: int = 20) -> np.ndarray:
    """Mean and standard deviation over time of the MFCCs of ``mel_db`` ``(n_mels, n_frames)``.

    Returns ``(2 * n_mfcc,)`` float32: the means, then the standard deviations.
    """
    mfcc = load_librosa().feature.mfcc(S=np.asarray(mel_db, dtype=np.float32), n_mfcc=n_mfcc)
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]).astype(np.float32)


def mfcc_baseline_vectors(mels: Iterable[np.ndarray]) -> np.ndarray:
    """Standardised MFCC statistics of each song's log-mel: ``(n, 40)`` float32."""
    stats = [mfcc_stats(mel) for mel in mels]
    if not stats:
        raise ValueError("no spectrograms to compute MFCC statistics from")
    # Standardising keeps the large-variance first coefficients from dominating cosine.
    return StandardScaler().fit_transform(np.stack(stats)).astype(np.float32)


def cross_album_precision_at_k(
    vectors: np.ndarray, genres: Sequence[str], albums: Sequence[str], query_mask: np.ndarray, *, k: int = 10
) -> float | None:
    """``genre_precision_at_k`` over neighbours from OTHER albums only: each query track's ``k``
    nearest tracks of albums other than its own, and the share of them with its genre.

    Where an album holds one sub-style of a genre (the demo), it says whether the genre is
    heard across albums, not only within one. None when no query track has another album.
    """
    unit = np.asarray(vectors, dtype=np.float64)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    labels, albums = np.asarray(genres, dtype=str), np.asarray(albums, dtype=str)
    hits = []
    for query in np.flatnonzero(np.asarray(query_mask, dtype=bool)):
        others = np.flatnonzero(albums != albums[query])
        if not len(others):
            continue
        nearest = others[np.argsort(-(unit[others] @ unit[query]), kind="stable")[:k]]
        hits.append(np.mean(labels[nearest] == labels[query]))
    return float(np.mean(hits)) if hits else None


def genre_precision_at_k(
    vectors: np.ndarray,
    genres: Sequence[str],
    query_mask: np.ndarray,
    *,
    k: int = 10,
    metric: str = "cosine",
) -> float:
    """Mean fraction of each query track's ``k`` nearest other tracks that share its genre.

    ``vectors`` ``(n, d)``; ``genres`` ``(n,)``; ``query_mask`` ``(n,)`` bool picks the
    query tracks (typically the test split); neighbours come from all ``n`` tracks.
    ``k`` is lowered to ``n - 1`` when the catalog is smaller.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    labels, queries, k = _check_retrieval_inputs(len(vectors), genres, query_mask, k)
    finder = NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute").fit(vectors)
    _, neighbours = finder.kneighbors(vectors[queries])
    hits = []
    for query, row in zip(queries, neighbours, strict=True):
        # Drop the query itself wherever it landed (ties with copies may rank it below 0).
        others = row[row != query][:k]
        hits.append(np.mean(labels[others] == labels[query]))
    return float(np.mean(hits))


def random_precision_at_k(
    genres: Sequence[str], query_mask: np.ndarray, *, k: int = 10, seed: int = 0
) -> float:
    """Genre precision@k of ``k`` neighbours drawn at random from the other tracks.

    Averaged over a few draws; its expectation is the chance a random other track
    shares the query's genre (about ``1 / n_genres`` for balanced genres).
    """
    labels, queries, k = _check_retrieval_inputs(len(genres), genres, query_mask, k)
    n = len(labels)
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(_RANDOM_DRAWS):
        for query in queries:
            picks = rng.choice(n - 1, size=k, replace=False)
            picks[picks >= query] += 1  # skip the query itself
            total += np.mean(labels[picks] == labels[query])
    return float(total / (_RANDOM_DRAWS * len(queries)))


def retrieval_report(
    cnn_vectors: np.ndarray,
    mfcc_vectors: np.ndarray,
    genres: Sequence[str],
    query_mask: np.ndarray,
    *,
    k: int = 10,
    seed: int = 0,
) -> dict:
    """``{"cnn" | "mfcc_baseline" | "random": {"genre_precision_at_<k>": float}}``."""
    key = f"genre_precision_at_{k}"
    return {
        "cnn": {key: genre_precision_at_k(cnn_vectors, genres, query_mask, k=k)},
        "mfcc_baseline": {key: genre_precision_at_k(mfcc_vectors, genres, query_mask, k=k)},
        "random": {key: random_precision_at_k(genres, query_mask, k=k, seed=seed)},
    }


def _check_retrieval_inputs(
    n: int, genres: Sequence[str], query_mask: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Genre labels ``(n,)``, query row numbers and the usable ``k``; raises ``ValueError``."""
    labels = np.asarray(genres, dtype=str)
    mask = np.asarray(query_mask, dtype=bool)
    if labels.shape != (n,) or mask.shape != (n,):
        raise ValueError(
            f"need one genre and one query flag per track ({n}), got {labels.shape}, {mask.shape}"
        )
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if n < 2:
        raise ValueError("retrieval precision needs at least two tracks")
    queries = np.flatnonzero(mask)
    if len(queries) == 0:
        raise ValueError("no query tracks (is the test split empty?)")
    return labels, queries, min(k, n - 1)


def _ratio(part: float, whole: int) -> float | None:
    return float(part) / whole if whole else None


RETRIEVAL_NAMES = {
    "cnn": "the model in use",
    "backbone": "pretrained backbone alone",
    "backbone_head": "backbone + head",
    "mfcc_baseline": "MFCC baseline",
    "random": "random picks",
}
"""``retrieval`` keys that are no listener: the embedding in use, the backbone's variants, the baselines."""


def retrieval_name(key: str) -> str:
    """A ``retrieval`` or ``classifiers`` key for people (a from-scratch listener: its ``comparison``)."""
    if key in RETRIEVAL_NAMES:
        return RETRIEVAL_NAMES[key]
    try:
        return listeners.get(key).comparison
    except UserInputError:
        return key


def compare(
    *,
    genres: list[str],
    splits: list[str],
    in_use: str,
    embeddings: np.ndarray,
    proba: np.ndarray,
    classes: list[str],
    alternatives: dict[str, tuple[np.ndarray, np.ndarray, list[str]]],
    mels: Iterable[np.ndarray],
    k: int = 10,
    seed: int = 0,
    albums: Sequence[str] | None = None,
) -> dict:
    """The ``evaluate --json`` object of a build: every way of listening side by side on the test songs.

    ``in_use`` names the model the catalog uses (``"backbone_head"``, ``"backbone"``,
    ``"cnn1d"``…); its ``embeddings``/``proba`` (columns ``classes``) give ``classifier``
    and ``retrieval["cnn"]``. ``alternatives``: name → (embeddings, proba, classes).
    ``retrieval`` gives genre precision@k of the test songs' neighbours among all songs for
    each, the MFCC baseline (from ``mels``) and random picks; ``classifiers`` the test and
    validation accuracy of each way that classifies. With ``albums`` (one per track), each
    way also gets ``cross_album_precision_at_k``. A catalog with fewer than two genres
    gets ``classifier: None``, an empty ``retrieval`` and a ``note``.
    """
    labels = np.asarray(genres, dtype=str)
    split = np.asarray(splits, dtype=str)
    if len(set(labels.tolist())) < 2:
        return {
            "classifier": None,
            "retrieval": {},
            "classifiers": {},
            "in_use": in_use,
            "note": "this catalog has no genre labels to measure against (one genre, or none)",
        }
    test, val = split == "test", split == "validation"
    query = test if test.any() else np.ones(len(labels), dtype=bool)
    key = f"genre_precision_at_{k}"

    def classified(p: np.ndarray, names: list[str]) -> tuple[dict | None, dict | None]:
        if not names or p.shape[1] != len(names):
            return None, None
        known = np.isin(labels, names)
        reports = []
        for mask in (test & known, val & known):
            reports.append(classification_report(list(labels[mask]), p[mask], names))
        return reports[0], reports[1]

    test_report, val_report = classified(proba, classes)
    ways = {"cnn": (embeddings, proba, classes), **alternatives}
    retrieval = {
        name: {key: genre_precision_at_k(vectors, labels, query, k=k)}
        for name, (vectors, _, _) in ways.items()
    }
    if albums is not None:
        for name, (vectors, _, _) in ways.items():
            retrieval[name][f"cross_album_precision_at_{k}"] = cross_album_precision_at_k(
                vectors, labels, albums, query, k=k
            )
    retrieval["mfcc_baseline"] = {key: genre_precision_at_k(mfcc_baseline_vectors(mels), labels, query, k=k)}
    retrieval["random"] = {key: random_precision_at_k(labels, query, k=k, seed=seed)}
    classifiers = {}
    for name, (_, p, names) in ways.items():
        t, v = classified(p, names)
        if t is not None:
            classifiers[in_use if name == "cnn" else name] = {
                "test_accuracy": t["accuracy"],
                "val_accuracy": v["accuracy"],
                "n_test": t["n"],
            }
    summary = evaluation_summary(test_report, val_report, retrieval) if test_report else {
        "classifier": None, "retrieval": retrieval
    }  # fmt: skip
    summary["retrieval"] = {
        name: retrieval[name] for name in listeners.comparison_order() if name in retrieval
    }
    summary["classifiers"] = classifiers
    summary["in_use"] = in_use
    return summary
