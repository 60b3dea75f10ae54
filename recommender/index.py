"""Ball-tree index of song embeddings: the nearest songs to a song, a clip or a profile.

Embeddings are L2-normalised, so Euclidean order on them is cosine order:
``|a - b|² = 2 - 2·cos(a, b)``. Scores reported to callers are cosine similarities
(``1 = identical``), computed back from the tree's distances as ``1 - d²/2``.

One tree covers the whole catalog and one tree per genre makes genre-filtered
queries exact (no over-fetch-and-hope on the global tree) and as fast as the rest.
The saved form is a plain ``.npz`` (embeddings, ids, genres): no pickle; the trees
are rebuilt on load, which takes a fraction of a second for a catalog.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.neighbors import BallTree

from recommender.errors import ModelError, NotBuiltError, UserInputError

DUPLICATE_COSINE = 1.0 - 1e-6
"""Catalog songs at least this similar to a query song are copies of it, never recommended."""

_MARGIN = 8  # extra neighbours fetched per round, so a few filtered-out ids rarely need a second round
_FORMAT_VERSION = 1


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row of ``vectors`` ``(n, d)``; zero or non-finite rows raise ``ValueError``.

    Rows already of unit length (within float32 rounding) are left untouched, so
    normalising a saved index again on load reproduces it bit for bit.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    if not np.all(np.isfinite(vectors)):
        raise ValueError("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if np.any(norms == 0):
        bad = np.flatnonzero(norms[:, 0] == 0)[:5].tolist()
        raise ValueError(f"embeddings at rows {bad} are zero vectors and have no direction")
    return vectors / np.where(np.abs(norms - 1.0) > 1e-6, norms, 1.0)


class SimilarityIndex:
    """Nearest songs by cosine similarity, optionally within one genre.

    Learned attributes (after ``fit``): ``embeddings_`` ``(n, d)`` float32 unit rows,
    ``track_ids_`` ``(n,)`` int64, ``genres_`` ``(n,)`` str or ``None``, ``tree_`` (all
    songs), ``genre_trees_`` ``{genre: (BallTree, rows)}`` where ``rows`` maps the
    tree's points back to catalog rows, and ``rows_`` ``{track_id: row}``.
    """

    def __init__(self, *, leaf_size: int = 40):
        self.leaf_size = leaf_size

    # ---------------------------------------------------------------- learning
    def fit(
        self, embeddings: np.ndarray, track_ids: np.ndarray, genres: np.ndarray | None = None
    ) -> SimilarityIndex:
        """Build the trees from ``embeddings`` ``(n, d)``, unique ``track_ids`` and ``genres`` ``(n,)``."""
        embeddings = np.asarray(embeddings)
        if embeddings.ndim != 2 or embeddings.shape[0] == 0 or embeddings.shape[1] == 0:
            raise ValueError(f"embeddings must be a non-empty (n, d) array, got shape {embeddings.shape}")
        n = embeddings.shape[0]
        unit = normalise_rows(embeddings)  # defensive: callers should already pass unit vectors
        track_ids = np.asarray(track_ids).astype(np.int64, casting="same_kind").reshape(-1)
        if track_ids.shape != (n,):
            raise ValueError(f"{track_ids.shape[0]} track ids for {n} embeddings")
        unique, counts = np.unique(track_ids, return_counts=True)
        if len(unique) != n:
            raise ValueError(f"track ids must be unique; repeated: {unique[counts > 1][:5].tolist()}")
        if genres is not None:
            genres = np.asarray(genres, dtype=str).reshape(-1)
            if genres.shape != (n,):
                raise ValueError(f"{genres.shape[0]} genres for {n} embeddings")

        self.embeddings_ = unit.astype(np.float32)
        self.track_ids_ = track_ids
        self.genres_ = genres
        self.rows_ = {int(t): i for i, t in enumerate(track_ids)}
        # Trees hold exactly the stored float32 vectors (as float64): a loaded index answers identically.
        unit = self.embeddings_.astype(np.float64)
        self.tree_ = BallTree(unit, leaf_size=self.leaf_size)
        self.genre_trees_: dict[str, tuple[BallTree, np.ndarray]] = {}
        if genres is not None:
            for genre in np.unique(genres):
                rows = np.flatnonzero(genres == genre)
                self.genre_trees_[str(genre)] = (BallTree(unit[rows], leaf_size=self.leaf_size), rows)
        return self

    def add(self, embedding: np.ndarray, track_id: int, genre: str | None) -> None:
        """Add one song (e.g. an uploaded clip) to the catalog; ``embedding`` ``(d,)``.

        Rebuilds the trees, which is fast enough for an interactive upload.
        """
        self._check_built()
        track_id = int(track_id)
        if track_id in self.rows_:
            raise UserInputError(f"track {track_id} is already in the catalog")
        vector = self._as_query(embedding)
        if self.genres_ is None and genre is not None:
            raise UserInputError("this catalog has no genres; add the track without one")
        if self.genres_ is not None and not genre:
            raise UserInputError("a genre is needed to add a track to this catalog")
        genres = None if self.genres_ is None else np.append(self.genres_, str(genre))
        self.fit(
            np.vstack([self.embeddings_, vector[None, :].astype(np.float32)]),
            np.append(self.track_ids_, np.int64(track_id)),
            genres,
        )

    # ---------------------------------------------------------------- queries
    def query(
        self,
        vector: np.ndarray,
        *,
        k: int = 10,
        genre: str | None = None,
        exclude: Iterable[int] = (),
    ) -> list[tuple[int, float]]:
        """The ``k`` songs nearest to ``vector`` ``(d,)`` as ``(track_id, cosine)``, best first.

        ``genre`` keeps only songs of that genre; ids in ``exclude`` are never returned.
        Fewer than ``k`` results only when fewer songs are available.
        """
        self._check_built()
        k = self._check_k(k)
        tree, rows = self._tree_for(genre)
        unit = self._as_query(vector)
        excluded = {int(t) for t in exclude}
        return self._nearest(
            unit, tree, rows, k=k, skip=lambda tid, cos: tid in excluded, n_skip=len(excluded)
        )

    def query_track(
        self,
        track_id: int,
        *,
        k: int = 10,
        genre: str | None = None,
        exclude: Iterable[int] = (),
    ) -> list[tuple[int, float]]:
        """The ``k`` songs nearest to catalog song ``track_id``, never itself nor an exact copy of it."""
        self._check_built()
        k = self._check_k(k)
        tree, rows = self._tree_for(genre)
        unit = self.vector(track_id).astype(np.float64)
        excluded = {int(t) for t in exclude} | {int(track_id)}

        def skip(tid: int, cos: float) -> bool:
            return tid in excluded or cos >= DUPLICATE_COSINE

        return self._nearest(unit, tree, rows, k=k, skip=skip, n_skip=len(excluded))

    def vector(self, track_id: int) -> np.ndarray:
        """The unit embedding ``(d,)`` float32 of catalog song ``track_id`` (a copy)."""
        self._check_built()
        row = self.rows_.get(int(track_id))
        if row is None:
            raise UserInputError(f"no track with id {track_id} in the catalog")
        return self.embeddings_[row].copy()

    def __len__(self) -> int:
        self._check_built()
        return len(self.track_ids_)

    @property
    def genres(self) -> list[str]:
        """Genres known to the index, sorted (empty when built without genres)."""
        self._check_built()
        return sorted(self.genre_trees_)

    # ---------------------------------------------------------------- storage
    def save(self, path: Path) -> None:
        """Write embeddings, ids and genres to ``path`` (``.npz``, no pickle), atomically."""
        self._check_built()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        has_genres = self.genres_ is not None
        genres = self.genres_ if has_genres else np.zeros(0, dtype="<U1")
        # A file object stops np.savez from appending ".npz" to the temporary name.
        with open(tmp, "wb") as f:
            np.savez(
                f,
                embeddings=self.embeddings_,
                track_ids=self.track_ids_,
                genres=np.asarray(genres, dtype=str),
                has_genres=np.array(has_genres),
                leaf_size=np.array(self.leaf_size, dtype=np.int64),
                format_version=np.array(_FORMAT_VERSION, dtype=np.int64),
            )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> SimilarityIndex:
        """Read an index written by ``save`` and rebuild its trees."""
        path = Path(path)
        if not path.exists():
            raise NotBuiltError(f"no similarity index at {path}: build the catalog first")
        try:
            with np.load(path, allow_pickle=False) as data:
                embeddings = data["embeddings"]
                track_ids = data["track_ids"]
                genres = data["genres"] if bool(data["has_genres"]) else None
                leaf_size = int(data["leaf_size"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise NotBuiltError(
                f"the similarity index at {path} is unreadable ({exc}); build the catalog again"
            ) from exc
        return cls(leaf_size=leaf_size).fit(embeddings, track_ids, genres)

    # ---------------------------------------------------------------- helpers
    def _check_built(self) -> None:
        if not hasattr(self, "tree_"):
            raise NotBuiltError("the similarity index is empty: build the catalog first")

    @staticmethod
    def _check_k(k: int) -> int:
        if int(k) != k or k < 1:
            raise UserInputError(f"k must be a whole number of at least 1, got {k}")
        return int(k)

    def _tree_for(self, genre: str | None) -> tuple[BallTree, np.ndarray | None]:
        """The tree to search and the map from its points to catalog rows (``None``: identity)."""
        if genre is None:
            return self.tree_, None
        if genre not in self.genre_trees_:
            known = ", ".join(self.genres) or "none"
            raise UserInputError(f"unknown genre {genre!r}; known genres: {known}")
        return self.genre_trees_[genre]

    def _as_query(self, vector: np.ndarray) -> np.ndarray:
        """One query vector as a float64 unit vector ``(d,)``."""
        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        d = self.embeddings_.shape[1]
        if vector.shape != (d,):
            raise ModelError(
                f"the query embedding has {vector.shape[0]} dimensions but the catalog was built with {d}: "
                "build the catalog again with this model"
            )
        norm = np.linalg.norm(vector)
        if not np.isfinite(norm) or norm == 0:
            raise UserInputError("the query has no usable embedding (zero or non-finite vector)")
        return vector / norm

    def _nearest(self, unit, tree, rows, *, k, skip, n_skip) -> list[tuple[int, float]]:
        """Nearest ``k`` songs in ``tree`` not rejected by ``skip(track_id, cosine)``.

        Fetches ``k + n_skip + margin`` and widens the search until ``k`` are kept or the
        tree is exhausted, so filters never cost results (exact duplicates are unbounded).
        """
        available = tree.data.shape[0]
        fetch = min(available, k + n_skip + _MARGIN)
        while True:
            dist, idx = tree.query(unit[None, :], k=fetch)
            found = idx[0] if rows is None else rows[idx[0]]
            cosines = 1.0 - dist[0] ** 2 / 2.0
            results = []
            for row, cos in zip(found, cosines, strict=True):
                tid = int(self.track_ids_[row])
                if not skip(tid, cos):
                    results.append((tid, float(np.clip(cos, -1.0, 1.0))))
                    if len(results) == k:
                        return results
            if fetch == available:
                return results
            fetch = min(available, fetch * 2)
