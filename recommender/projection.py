"""2-D map of the catalog: UMAP of the song embeddings, and a spot on it for a new clip.

UMAP's own ``transform`` needs the fitted reducer, which we do not save (it would
need a pickle). A new clip is instead placed at the similarity-weighted mean of the
map positions of its nearest catalog songs, which is where UMAP would put it anyway
for a song that sits among its neighbours.
"""

from __future__ import annotations

import threading

import numpy as np

_MIN_UMAP_POINTS = 4  # UMAP's spectral layout needs more points than output dimensions + 1


def umap_coordinates(
    embeddings: np.ndarray, *, seed: int = 42, n_neighbors: int = 15, min_dist: float = 0.1
) -> np.ndarray:
    """Map coordinates ``(n, 2)`` float32 of ``embeddings`` ``(n, d)`` by cosine UMAP.

    Deterministic for the same input and ``seed``. Small catalogs get fewer
    neighbours; three songs or fewer get a PCA layout, since UMAP cannot lay them out.
    """
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be (n, d), got shape {embeddings.shape}")
    n = embeddings.shape[0]
    if n < _MIN_UMAP_POINTS:
        return pca_coordinates(embeddings)
    import umap  # slow import (numba, and TensorFlow when present): only when a map is built

    reducer = umap.UMAP(
        n_neighbors=max(2, min(n_neighbors, n - 1)),
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,
        n_jobs=1,  # a random_state forces one thread anyway; saying so silences UMAP's warning
    )
    return reducer.fit_transform(embeddings).astype(np.float32)


def start_warm_up() -> threading.Thread:
    """``warm_up`` in a thread of its own, started after umap (and the TensorFlow it may import) is
    imported here: two threads importing TensorFlow at once deadlock on its module locks."""
    import umap  # noqa: F401

    thread = threading.Thread(target=warm_up, name="map-warm-up", daemon=True)
    thread.start()
    return thread


def warm_up() -> None:
    """Compile UMAP's numba code now, on 16 random points: the first map of a process costs ~16 CPU-s of it.

    A build calls it in a thread while the head is fitted (one core), so the map stage finds it done.
    """
    umap_coordinates(np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32), n_neighbors=5)


def pca_coordinates(embeddings: np.ndarray) -> np.ndarray:
    """First two principal components ``(n, 2)`` float32 of ``embeddings`` ``(n, d)``.

    Signs are fixed (largest loading positive) so the layout is deterministic.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    coords = np.zeros((x.shape[0], 2))
    if x.shape[0] < 2:
        return coords.astype(np.float32)
    centred = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    m = min(2, len(s))
    scores = u[:, :m] * s[:m]
    signs = np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(m)])
    coords[:, :m] = scores * np.where(signs == 0, 1.0, signs)
    return coords.astype(np.float32)


def locate(
    vector: np.ndarray, embeddings: np.ndarray, coords: np.ndarray, *, k: int = 5
) -> tuple[float, float]:
    """Map spot ``(x, y)`` of ``vector`` ``(d,)`` among ``embeddings`` ``(n, d)`` at ``coords`` ``(n, 2)``.

    The cosine-weighted mean of the positions of the ``k`` most similar catalog songs
    (negative similarities weigh nothing; if all do, a plain mean).
    """
    vector = np.asarray(vector, dtype=np.float64).reshape(-1)
    embeddings = np.asarray(embeddings, dtype=np.float64)
    coords = np.asarray(coords, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] == 0 or coords.shape != (embeddings.shape[0], 2):
        raise ValueError(f"need (n, d) embeddings and (n, 2) coords, got {embeddings.shape}, {coords.shape}")
    if vector.shape != (embeddings.shape[1],):
        raise ValueError(f"vector has {vector.shape[0]} dimensions, the catalog {embeddings.shape[1]}")
    norms = np.linalg.norm(embeddings, axis=1) * np.linalg.norm(vector)
    similarity = embeddings @ vector / np.where(norms == 0, 1.0, norms)
    k = max(1, min(k, len(similarity)))
    nearest = np.argpartition(-similarity, k - 1)[:k]
    weights = np.clip(similarity[nearest], 0.0, None)
    if weights.sum() <= 0:
        weights = np.ones(k)
    x, y = weights @ coords[nearest] / weights.sum()
    return float(x), float(y)
