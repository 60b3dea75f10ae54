"""Re-ranking with frozen features: what the catalog itself says about its neighbourhoods.

Classic tools of image and music retrieval with a frozen network, each measured on real
recordings by ``bench/listening.py`` (figures in ``bench/README.md``):

- ``database_augmented``: database-side augmentation (DBA): each catalog song's vector
  is replaced by the weighted mean of itself and its nearest catalog songs, done once at
  build time, so a query is answered as before;
- ``expanded_query``: average query expansion (αQE): the query is moved to the weighted
  mean of itself and its first results, and searched again;
- ``k_reciprocal``: k-reciprocal re-ranking (Zhong et al., CVPR 2017, without its
  local query expansion): candidates that also count the query among their own nearest
  neighbours move up;
- ``patch_set_similarity``: a song as the set of its 3-s patches; a candidate's score is
  the mean, over the query's patches, of each one's best match among the candidate's.

Every function takes and returns unit rows (cosine similarity is a dot product).
"""

from __future__ import annotations

import numpy as np

QUERY_EXPANSION = 3
"""Songs that expand a query (``expanded_search``) in ``similar`` and ``similar --file``; 0: none.
Measured by bench/listening.py (bench/README.md): album-P@10 +0.005 to +0.041 without labels,
-0.008 to +0.018 with the head."""


def unit_rows(x: np.ndarray) -> np.ndarray:
    """``x`` ``(n, d)`` with each row scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _weighted_mean(vectors: np.ndarray, similarity: np.ndarray, alpha: float) -> np.ndarray:
    weights = np.maximum(similarity, 0.0) ** alpha
    return unit_rows(np.einsum("...k,...kd->...d", weights, vectors))


def database_augmented(vectors: np.ndarray, *, k: int, alpha: float = 3.0, block: int = 4096) -> np.ndarray:
    """Each unit row of ``vectors`` ``(n, d)`` → the α-weighted mean of itself and its ``k`` nearest rows.

    The row itself weighs 1 (its cosine with itself); the others ``cosine ** alpha``
    (negative cosines weigh 0). ``k`` < 1 returns the rows unchanged. Memory is bounded
    by ``block`` rows at a time.
    """
    vectors = unit_rows(vectors)
    n = len(vectors)
    k = min(int(k), n - 1)
    if k < 1:
        return vectors
    out = np.empty_like(vectors)
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        similarity = vectors[rows] @ vectors.T
        similarity[np.arange(len(rows)), rows] = np.inf  # itself first, whatever ties
        nearest = np.argpartition(-similarity, k, axis=1)[:, : k + 1]
        sims = np.take_along_axis(similarity, nearest, axis=1)
        sims[np.isinf(sims)] = 1.0
        out[rows] = _weighted_mean(vectors[nearest], sims, alpha)
    return out


def expanded_query(query: np.ndarray, base: np.ndarray, *, k: int, alpha: float = 3.0) -> np.ndarray:
    """Unit query rows ``(m, d)`` moved to the α-weighted mean of themselves and their ``k`` nearest ``base`` rows."""
    query, base = unit_rows(np.atleast_2d(query)), unit_rows(base)
    k = min(int(k), len(base))
    if k < 1:
        return query
    similarity = query @ base.T
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    sims = np.concatenate([np.ones((len(query), 1)), np.take_along_axis(similarity, nearest, axis=1)], axis=1)
    stacked = np.concatenate([query[:, None, :], base[nearest]], axis=1)
    return _weighted_mean(stacked, sims, alpha)


def k_reciprocal(
    similarity: np.ndarray, base_similarity: np.ndarray, *, k: int = 10, weight: float = 0.3
) -> np.ndarray:
    """Query × base similarities ``(m, n)`` re-ranked by k-reciprocal neighbourhoods.

    ``base_similarity``: base × base ``(n, n)``. A base song's reciprocal set is the songs
    among its own ``k`` nearest that also count it among theirs; the query's is its ``k``
    nearest base songs that would count the query among their ``k`` nearest. The
    returned score is ``(1 - weight) · cosine + weight · (1 - Jaccard distance)`` of
    the two sets (as Zhong et al. blend the original and the Jaccard distance).
    """
    m, n = similarity.shape
    k = max(1, min(int(k), n - 1))
    base = base_similarity.copy()
    np.fill_diagonal(base, -np.inf)
    # The cosine of each base song's k-th neighbour: a query closer than that is in its top k.
    kth = -np.partition(-base, k - 1, axis=1)[:, k - 1]
    near_base = np.zeros((n, n), bool)
    near_base[np.arange(n)[:, None], np.argpartition(-base, k - 1, axis=1)[:, :k]] = True
    mutual = near_base & near_base.T
    out = np.empty_like(similarity, dtype=np.float64)
    for i in range(m):
        top = np.argpartition(-similarity[i], k - 1)[:k]
        q_set = np.zeros(n, bool)
        q_set[top[similarity[i, top] >= kth[top]]] = True
        inter = (mutual & q_set[None, :]).sum(axis=1) + q_set
        union = mutual.sum(axis=1) + 1 + q_set.sum() - inter
        out[i] = (1.0 - weight) * similarity[i] + weight * inter / np.maximum(union, 1)
    return out


def patch_set_similarity(query: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Query patches ``(p, d)`` × candidates' patches ``(c, q, d)`` (unit rows) → ``(c,)``.

    Each query patch's best cosine among a candidate's patches, averaged over the query's patches.
    """
    query, candidates = unit_rows(query), unit_rows(candidates)
    return np.einsum("pd,cqd->cpq", query, candidates).max(axis=2).mean(axis=1)


def expanded_search(index, vector: np.ndarray, *, k: int, expand: int, alpha: float = 3.0, **query) -> list:
    """``index.query(vector, k=k, **query)`` after average query expansion by ``expand`` songs.

    The query is moved to the α-weighted mean of itself and its ``expand`` nearest songs
    (the same ``query`` filters apply to them), then searched again; scores are cosines to
    the expanded query. ``expand`` < 1: a plain search.
    """
    if expand < 1:
        return index.query(vector, k=k, **query)
    first = index.query(vector, k=expand, **query)
    if not first:
        return first
    neighbours = np.stack([index.vector(track_id) for track_id, _ in first])
    return index.query(expanded_query(vector, neighbours, k=len(first), alpha=alpha)[0], k=k, **query)
