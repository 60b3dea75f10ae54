"""Exact nearest-neighbour index of song embeddings: the nearest songs to a song, a clip or a profile.

Embeddings are L2-normalised, so Euclidean order on them is cosine order:
``|a - b|² = 2 - 2·cos(a, b)``. Scores reported to callers are cosine similarities
(``1 = identical``), always computed in float64 from the stored float32 unit vectors.

Two exact search methods give the same answers (tests check both against brute force):

- ``"ball_tree"``: a scikit-learn Ball-tree; scores come back from its distances as
  ``1 - d²/2``. It prunes well only when the embeddings are low-dimensional. (It ranks
  by Euclidean distance, so two songs whose cosines differ by less than the float32
  rounding of the stored norms, ~1e-7, may come back swapped.)
- ``"brute"``: one float32 matrix-vector product over the candidates, ``argpartition``
  for the best few, then those within the float32 rounding bound of the cut are
  re-scored in float64 and sorted. The bound makes it exact: no song whose float64
  cosine belongs in the top ``k`` can fall below the float32 cut.

``algorithm="auto"`` (the default) uses the Ball-tree for catalogs of up to
``BALL_TREE_MAX_TRACKS`` songs (the demo, a class's folder, fma_small: a k=10 query
stays under 8 ms at 20 000 × 256-d on 2 cores) and for embeddings of at most
``BALL_TREE_MAX_DIM`` dimensions at any size. Above that it switches to the matrix
product, with the same answers: for the CNN's 256-d embeddings a Ball-tree cannot prune
(distances concentrate in high dimension), and at FMA-full scale (106 574 random unit
vectors, 2 cores) it took a p95 of 97 ms per k=10 query against 3.8 ms for the matrix
product, and its float64 copies of the catalog cost four times the memory (see
``bench/query.py`` and ``bench/README.md``).

Each genre gets its own structure (a tree, or a contiguous copy of its rows), so
genre-filtered queries are exact (no over-fetch-and-hope) and as fast as the rest.
The saved form is a plain ``.npz`` (embeddings, ids, genres): no pickle; the search
structures are rebuilt on load, which takes a fraction of a second for a catalog.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.neighbors import BallTree

from recommender.errors import ModelError, NotBuiltError, UserInputError
from recommender.files import atomic_write

DUPLICATE_COSINE = 1.0 - 1e-6
"""Two songs at least this similar are exact copies: a copy of a song the query avoids (the query
song, an excluded song, a song already in the list) is never returned."""
# Unit vectors a, b with cos >= DUPLICATE_COSINE are within sqrt(2 - 2 * DUPLICATE_COSINE) ~ 1.42e-3 of
# each other, so their cosines to any unit query differ by at most that (plus float32 rounding).
_COPY_SLACK = 2e-3

ALGORITHMS = ("auto", "ball_tree", "brute")
BALL_TREE_MAX_DIM = 4
"""``algorithm="auto"`` uses a Ball-tree at any catalog size up to this many dimensions."""
BALL_TREE_MAX_TRACKS = 20_000
"""``algorithm="auto"`` uses a Ball-tree for catalogs of up to this many songs, the matrix product above."""

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

    ``algorithm``: ``"auto"``, ``"ball_tree"`` or ``"brute"`` (see the module docstring;
    all give the same answers). ``leaf_size`` is the Ball-tree's.

    Learned attributes (after ``fit``): ``embeddings_`` ``(n, d)`` float32 unit rows,
    ``track_ids_`` ``(n,)`` int64, ``genres_`` ``(n,)`` str or ``None``, ``rows_``
    ``{track_id: row}``, ``algorithm_`` (the method in use), and ``searchers_``
    ``{genre or None: (searcher, rows)}``: the structure searched for all songs (key
    ``None``) and for each genre, with ``rows`` mapping its points back to catalog rows
    (``None``: identity). A searcher is a ``BallTree`` or a float32 ``(m, d)`` matrix.
    """

    def __init__(self, *, leaf_size: int = 40, algorithm: str = "auto"):
        self.leaf_size = leaf_size
        self.algorithm = algorithm

    # ---------------------------------------------------------------- learning
    def fit(
        self, embeddings: np.ndarray, track_ids: np.ndarray, genres: np.ndarray | None = None
    ) -> SimilarityIndex:
        """Build the trees from ``embeddings`` ``(n, d)``, unique ``track_ids`` and ``genres`` ``(n,)``."""
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
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
        self.rows_ = dict(zip(track_ids.tolist(), range(n), strict=True))
        self.algorithm_ = self._resolve_algorithm(*self.embeddings_.shape)
        self.searchers_ = {None: (self._searcher(self.embeddings_), None)}
        if genres is not None:
            for genre in np.unique(genres):
                rows = np.flatnonzero(genres == genre)
                self.searchers_[str(genre)] = (self._searcher(self.embeddings_[rows]), rows)
        return self

    def _resolve_algorithm(self, n: int, dim: int) -> str:
        if self.algorithm != "auto":
            return self.algorithm
        return "ball_tree" if n <= BALL_TREE_MAX_TRACKS or dim <= BALL_TREE_MAX_DIM else "brute"

    def _searcher(self, unit: np.ndarray) -> BallTree | np.ndarray:
        """The search structure over float32 unit rows ``(m, d)``."""
        if self.algorithm_ == "ball_tree":
            # Trees hold exactly the stored float32 vectors (as float64): a loaded index answers identically.
            return BallTree(unit.astype(np.float64), leaf_size=self.leaf_size)
        return np.ascontiguousarray(unit, dtype=np.float32)

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
        exclude_copies_of: Iterable[np.ndarray] = (),
    ) -> list[tuple[int, float]]:
        """The ``k`` songs nearest to ``vector`` ``(d,)`` as ``(track_id, cosine)``, best first.

        ``genre`` keeps only songs of that genre. The songs in ``exclude`` and their exact
        copies are never returned, nor copies of the vectors ``exclude_copies_of`` (each
        ``(d,)``, e.g. an uploaded clip), and no two songs returned are copies of each other
        (the duplicate rule: cosine >= ``DUPLICATE_COSINE``). Fewer than ``k`` results only
        when fewer songs are available.
        """
        self._check_built()
        k = self._check_k(k)
        searcher, rows = self._searcher_for(genre)
        unit = self._as_query(vector)
        excluded = {int(t) for t in exclude}
        extra = [self._as_query(v) for v in exclude_copies_of]
        return self._nearest(unit, searcher, rows, k=k, excluded=excluded, copies_of=extra)

    def query_track(
        self,
        track_id: int,
        *,
        k: int = 10,
        genre: str | None = None,
        exclude: Iterable[int] = (),
    ) -> list[tuple[int, float]]:
        """The ``k`` songs nearest to catalog song ``track_id``, never itself nor an exact copy of it.

        ``exclude`` and the duplicate rule as in ``query``.
        """
        self._check_built()
        k = self._check_k(k)
        searcher, rows = self._searcher_for(genre)
        unit = self.vector(track_id).astype(np.float64)
        excluded = {int(t) for t in exclude} | {int(track_id)}
        return self._nearest(unit, searcher, rows, k=k, excluded=excluded, copies_of=[])

    def is_copy(self, track_id: int, *, of: Iterable[int]) -> bool:
        """True when catalog song ``track_id`` is an exact copy of one of the catalog songs ``of``.

        The same duplicate rule as the queries (cosine >= ``DUPLICATE_COSINE``), for lists
        of songs made without a query (the cold start's picks).
        """
        others = self._vectors_of(int(t) for t in of if int(t) != int(track_id))
        return _copy_of(self.vector(track_id).astype(np.float64), others)

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
        return sorted(g for g in self.searchers_ if g is not None)

    # ---------------------------------------------------------------- storage
    def save(self, path: Path) -> None:
        """Write embeddings, ids and genres to ``path`` (``.npz``, no pickle), atomically."""
        self._check_built()

        has_genres = self.genres_ is not None
        genres = self.genres_ if has_genres else np.zeros(0, dtype="<U1")
        arrays = {
            "embeddings": self.embeddings_,
            "track_ids": self.track_ids_,
            "genres": np.asarray(genres, dtype=str),
            "has_genres": np.array(has_genres),
            "leaf_size": np.array(self.leaf_size, dtype=np.int64),
            "algorithm": np.array(self.algorithm),
            "format_version": np.array(_FORMAT_VERSION, dtype=np.int64),
        }

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file object stops np.savez from appending ".npz"
                np.savez(f, **arrays)

        atomic_write(Path(path), write)

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
                algorithm = str(data["algorithm"]) if "algorithm" in data.files else "auto"
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise NotBuiltError(
                f"the similarity index at {path} is unreadable ({exc}); build the catalog again"
            ) from exc
        return cls(leaf_size=leaf_size, algorithm=algorithm).fit(embeddings, track_ids, genres)

    # ---------------------------------------------------------------- helpers
    def _check_built(self) -> None:
        if not hasattr(self, "searchers_"):
            raise NotBuiltError("the similarity index is empty: build the catalog first")

    @staticmethod
    def _check_k(k: int) -> int:
        if int(k) != k or k < 1:
            raise UserInputError(f"k must be a whole number of at least 1, got {k}")
        return int(k)

    def _searcher_for(self, genre: str | None) -> tuple[BallTree | np.ndarray, np.ndarray | None]:
        """The structure to search and the map from its points to catalog rows (``None``: identity)."""
        if genre is not None and genre not in self.searchers_:
            known = ", ".join(self.genres) or "none"
            raise UserInputError(f"unknown genre {genre!r}; known genres: {known}")
        return self.searchers_[genre]

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

    def _vectors_of(self, track_ids: Iterable[int]) -> np.ndarray:
        """Float64 embeddings ``(m, d)`` of the catalog songs among ``track_ids`` (others are ignored)."""
        rows = [self.rows_[t] for t in track_ids if t in self.rows_]
        return self.embeddings_[rows].astype(np.float64)

    def _nearest(
        self, unit, searcher, rows, *, k, excluded: set[int], copies_of: list
    ) -> list[tuple[int, float]]:
        """Nearest ``k`` songs in ``searcher``: none in ``excluded``, none a copy of an excluded song,
        of a vector in ``copies_of`` or of a song already kept.

        Fetches ``k + len(excluded) + margin`` and widens the search until ``k`` are kept or
        the catalog is exhausted, so filters never cost results (exact duplicates are unbounded).
        """
        avoided = np.vstack([self._vectors_of(excluded), *(v[None, :] for v in copies_of)])
        avoided_cos = avoided @ unit
        available = searcher.data.shape[0] if isinstance(searcher, BallTree) else len(searcher)
        fetch = min(available, k + len(excluded) + _MARGIN)
        while True:
            points, cosines = _top(searcher, unit, fetch)
            found = points if rows is None else rows[points]
            # A copy's cosine to the query is within |copy - original| <= _COPY_SLACK of its original's:
            # only the avoided vectors that close to the candidates can have copies among them.
            near = avoided[avoided_cos >= cosines.min() - _COPY_SLACK] if len(cosines) else avoided[:0]
            results, kept = [], []
            for row, cos in zip(found.tolist(), cosines.tolist(), strict=True):
                tid = int(self.track_ids_[row])
                vector = self.embeddings_[row].astype(np.float64)
                if tid in excluded or _copy_of(vector, near) or (kept and _copy_of(vector, np.array(kept))):
                    continue
                results.append((tid, float(np.clip(cos, -1.0, 1.0))))
                kept.append(vector)
                if len(results) == k:
                    return results
            if fetch == available:
                return results
            fetch = min(available, fetch * 2)


def _copy_of(vector: np.ndarray, others: np.ndarray) -> bool:
    """The duplicate rule: ``vector`` ``(d,)`` is an exact copy of one of the unit rows ``others`` ``(m, d)``."""
    return bool(len(others)) and float(np.max(others @ vector)) >= DUPLICATE_COSINE


def _top(searcher: BallTree | np.ndarray, unit: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``m`` points of ``searcher`` nearest to float64 unit ``unit`` ``(d,)``, best first.

    Returns ``(points (m,), cosines (m,) float64)``.
    """
    if isinstance(searcher, BallTree):
        dist, idx = searcher.query(unit[None, :], k=m)
        return idx[0], 1.0 - dist[0] ** 2 / 2.0
    return _top_brute(searcher, unit, m)


_blas = None


def _one_blas_thread():
    """Run one matrix-vector product on one BLAS thread.

    The product is memory-bound, so a second thread barely speeds it up, but waking it
    costs a scheduler slice when the other core is busy: on a shared two-core machine
    that took the p95 of a 106 574 x 256 query from 3.6 ms to 13 ms (bench/query.py).
    """
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def _top_brute(matrix: np.ndarray, unit: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``m`` of float32 unit rows ``matrix`` ``(n, d)`` by float64 cosine with ``unit``.

    A float32 pass finds the candidates; any row whose float32 score is within the
    rounding bound of the ``m``-th best is re-scored in float64, so the answer is the
    float64 one. Ties are broken by row (the order a stable sort gives).
    """
    n, d = matrix.shape
    if m < n:
        with _one_blas_thread():
            rough = matrix @ unit.astype(np.float32)
        cut = rough[np.argpartition(rough, n - m)[n - m :]].min()
        # Rounding of a float32 dot product of unit vectors: at most (d + 2)·2⁻²⁴ per score
        # (query rounding plus d accumulations); twice that, doubled again for safety.
        candidates = np.flatnonzero(rough >= cut - 4 * (d + 2) * 2.0**-24)
    else:
        candidates = np.arange(n)
    exact = matrix[candidates].astype(np.float64) @ unit
    order = np.lexsort((candidates, -exact))[:m]
    return candidates[order], exact[order]
