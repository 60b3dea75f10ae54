"""Sonic playlists found in the catalog: its songs clustered by sound, each group named by its tags.

The catalog's unit embeddings are clustered by k-means, a Gaussian mixture (diagonal
covariances) and, for catalogs of at most ``AGGLOMERATIVE_MAX`` songs, Ward agglomeration.
Each method is tried for every number of playlists in ``candidate_counts`` (or the one
asked for), and the method and number kept are those with the best silhouette (cosine)
among the partitions whose sizes are balanced enough (``MIN_BALANCE``) and whose smallest
playlist holds ``MIN_SIZE`` songs. Every partition tried is reported with its figures:

- ``silhouette``: cosine silhouette of the songs (on at most ``SILHOUETTE_SAMPLE``);
- ``tag_coherence``: how much closer, in tag space, a song is to its own playlist's mean
  tag profile than to the catalog's (mean cosine to own centroid minus mean cosine to the
  catalog's centroid; 0 = the playlists say nothing about the tags);
- ``balance``: entropy of the sizes over its maximum (1 = all the same size);
- ``genre_purity``: share of songs whose playlist's most common genre is their own.

A playlist is named by its most distinctive tags: those whose mean probability in it is
the highest multiple (``lift``) of their mean in the whole catalog, among tags heard at
least ``MIN_TAG_PROBABILITY`` on average in it ("Mellow · piano · slow").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from recommender.describe import merge_tags
from recommender.errors import UserInputError

MAX_PLAYLISTS = 50  # the most sonic playlists asked for (-n)
MIN_SIZE = 3  # a playlist of fewer songs is not a playlist
MIN_BALANCE = 0.7  # size entropy / its maximum, below which a partition is too lopsided
AGGLOMERATIVE_MAX = 3_000  # Ward needs O(n²) memory
FIT_SAMPLE = 5_000  # larger catalogs are clustered on a sample, the rest assigned to the nearest
SILHOUETTE_SAMPLE = 2_000
MIN_TAG_PROBABILITY = 0.08
TAGS_IN_NAME = 3
METHODS = ("kmeans", "gmm", "agglomerative")


@dataclass
class SonicPlaylist:
    """One group of songs that sound alike: its name, songs (representative first), tags, genres."""

    name: str
    track_ids: list[int]
    tags: list[str]  # most distinctive first
    genres: dict[str, int]  # genre -> songs, most first
    representative: int  # the song nearest the playlist's centre

    @property
    def size(self) -> int:
        return len(self.track_ids)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "size": self.size,
            "track_ids": self.track_ids,
            "tags": self.tags,
            "genres": self.genres,
            "representative": self.representative,
        }


@dataclass
class Discovery:
    """The playlists kept, how they were found, and the figures of every partition tried."""

    playlists: list[SonicPlaylist]
    method: str
    quality: dict  # the kept partition's figures
    tried: list[dict] = field(default_factory=list)  # {"method", "n", figures…} per partition

    def as_json(self) -> dict:
        return {
            "playlists": [p.as_json() for p in self.playlists],
            "method": self.method,
            "n": len(self.playlists),
            "quality": self.quality,
            "tried": self.tried,
        }

    def playlist_of(self) -> dict[int, str]:
        """Track id -> the name of its playlist."""
        return {t: p.name for p in self.playlists for t in p.track_ids}

    def find(self, name: str) -> SonicPlaylist:
        wanted = " ".join(str(name).split()).casefold()
        for playlist in self.playlists:
            if playlist.name.casefold() == wanted:
                return playlist
        raise UserInputError(
            f"no sonic playlist named {name!r}; there are: {', '.join(p.name for p in self.playlists[:10])}"
        )


def candidate_counts(n_songs: int) -> list[int]:
    """Numbers of playlists worth trying for ``n_songs``: about 4 to 40 songs each, 2 to 30 lists."""
    high = min(30, n_songs // (2 * MIN_SIZE))
    low = min(high, max(2, n_songs // 40))
    if high < 2:
        return []
    return sorted({int(round(x)) for x in np.geomspace(max(low, 2), max(high, 2), num=8)})


def check_count(n: int | None, n_songs: int) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or int(n) != n or not 2 <= n <= MAX_PLAYLISTS:
        raise UserInputError(
            f"the number of playlists must be a whole number from 2 to {MAX_PLAYLISTS}, got {n!r}"
        )
    if n * MIN_SIZE > n_songs:
        raise UserInputError(
            f"{n} playlists of at least {MIN_SIZE} songs need {n * MIN_SIZE} songs; the catalog has {n_songs}"
        )
    return int(n)


def cluster(embeddings: np.ndarray, method: str, n: int, *, seed: int = 0) -> np.ndarray:
    """Labels ``(m,)`` in ``0..n-1`` of unit ``embeddings`` ``(m, d)`` by ``method`` (one of ``METHODS``)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture

    x = np.asarray(embeddings, dtype=np.float64)
    fit = x
    if len(x) > FIT_SAMPLE:
        fit = x[np.random.default_rng(seed).choice(len(x), FIT_SAMPLE, replace=False)]
    if method == "kmeans":
        model = KMeans(n_clusters=n, n_init=4, random_state=seed).fit(fit)
        return model.predict(x)
    if method == "gmm":
        model = GaussianMixture(n, covariance_type="diag", reg_covar=1e-4, random_state=seed).fit(fit)
        return model.predict(x)
    if method == "agglomerative":
        if len(x) > AGGLOMERATIVE_MAX:
            raise UserInputError(f"agglomerative clustering takes at most {AGGLOMERATIVE_MAX:,} songs")
        return AgglomerativeClustering(n_clusters=n, linkage="ward").fit_predict(x)
    raise UserInputError(f"unknown clustering method {method!r}; use one of: {', '.join(METHODS)}")


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 by first appearance (empty clusters dropped)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse]


def quality(
    embeddings: np.ndarray,
    labels: np.ndarray,
    tags: np.ndarray | None,
    genres: np.ndarray | None,
    *,
    seed: int = 0,
) -> dict:
    """The figures of one partition (module docstring): silhouette, tag_coherence, balance, genre_purity."""
    from sklearn.metrics import silhouette_score

    k = len(np.unique(labels))
    sizes = np.bincount(labels)
    p = sizes / sizes.sum()
    out = {
        "silhouette": float("nan"),
        "balance": float(-(p * np.log(p)).sum() / np.log(k)) if k > 1 else 0.0,
        "smallest": int(sizes.min()),
        "largest": int(sizes.max()),
    }
    if 1 < k < len(labels):
        sample = min(SILHOUETTE_SAMPLE, len(labels))
        out["silhouette"] = float(
            silhouette_score(embeddings, labels, metric="cosine", sample_size=sample, random_state=seed)
        )
    if tags is not None and len(tags):
        out["tag_coherence"] = tag_coherence(tags, labels)
    if genres is not None:
        out["genre_purity"] = purity(labels, genres)
    return {key: round(v, 4) if isinstance(v, float) else v for key, v in out.items()}


def tag_coherence(tags: np.ndarray, labels: np.ndarray) -> float:
    """Mean cosine of each song's tag vector to its playlist's mean minus that to the catalog's mean."""
    t = np.asarray(tags, dtype=np.float64)
    unit = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)

    def cos_to(centre: np.ndarray) -> np.ndarray:
        return unit @ (centre / max(np.linalg.norm(centre), 1e-12))

    own = np.empty(len(t))
    for label in np.unique(labels):
        rows = labels == label
        own[rows] = cos_to(t[rows].mean(axis=0))[rows]
    return float(own.mean() - cos_to(t.mean(axis=0)).mean())


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Share of songs whose cluster's most common ``truth`` label is their own."""
    truth = np.asarray(truth).astype(str)
    right = 0
    for label in np.unique(labels):
        right += Counter(truth[labels == label].tolist()).most_common(1)[0][1]
    return float(right / len(labels))


def substyle(album: str) -> str:
    """The demo's sub-style, named in brackets at the end of its album's title (else the album)."""
    found = re.search(r"\(([^()]+)\)\s*$", str(album))
    return found.group(1) if found else str(album)


def _acceptable(figures: dict) -> bool:
    return figures["smallest"] >= MIN_SIZE and figures["balance"] >= MIN_BALANCE


def discover(
    embeddings: np.ndarray,
    track_ids: np.ndarray,
    *,
    tags: np.ndarray | None = None,
    tag_names: list[str] | None = None,
    genres: np.ndarray | None = None,
    n: int | None = None,
    methods: tuple[str, ...] | None = None,
    seed: int = 0,
) -> Discovery:
    """Sonic playlists of songs ``track_ids`` ``(m,)`` from their unit ``embeddings`` ``(m, d)``.

    ``tags`` ``(m, n_tags)``: tag probabilities named by ``tag_names`` (for names and
    coherence); ``genres`` ``(m,)``: labels (genre mix and purity). ``n``: that many
    playlists (else the best number found). ``methods``: those to try (default all that fit).
    """
    x = np.asarray(embeddings, dtype=np.float64)
    m = len(x)
    counts = [check_count(n, m)] if n is not None else candidate_counts(m)
    if not counts:
        raise UserInputError(f"the catalog has {m} songs: at least {2 * MIN_SIZE} are needed for playlists")
    methods = methods or tuple(mt for mt in METHODS if mt != "agglomerative" or m <= AGGLOMERATIVE_MAX)
    tried, best = [], None
    for method in methods:
        for count in counts:
            labels = _relabel(cluster(x, method, count, seed=seed))
            figures = quality(x, labels, tags, genres, seed=seed)
            tried.append({"method": method, "n": count, **figures})
            ok = _acceptable(figures)
            rank = (ok, np.nan_to_num(figures["silhouette"], nan=-1.0))
            if best is None or rank > best[0]:
                best = (rank, method, labels, figures)
    _, method, labels, figures = best
    playlists = _describe(x, labels, track_ids, tags, tag_names, genres)
    return Discovery(playlists=playlists, method=method, quality=figures, tried=tried)


def _describe(x, labels, track_ids, tags, tag_names, genres) -> list[SonicPlaylist]:
    """Each cluster as a ``SonicPlaylist``, largest first, names made unique."""
    ids = np.asarray(track_ids, dtype=np.int64)
    catalog_mean = None if tags is None else np.asarray(tags, dtype=np.float64).mean(axis=0)
    out: list[SonicPlaylist] = []
    for label in sorted(np.unique(labels), key=lambda lab: (-int((labels == lab).sum()), int(lab))):
        rows = np.flatnonzero(labels == label)
        centre = x[rows].mean(axis=0)
        order = rows[np.argsort(-(x[rows] @ centre), kind="stable")]
        top = distinctive_tags(np.asarray(tags)[rows], catalog_mean, tag_names) if tags is not None else []
        mix = Counter(np.asarray(genres)[rows].astype(str).tolist()) if genres is not None else Counter()
        out.append(
            SonicPlaylist(
                name=playlist_name(top) or f"Sound {len(out) + 1}",
                track_ids=[int(t) for t in ids[order]],
                tags=top,
                genres=dict(mix.most_common()),
                representative=int(ids[order[0]]),
            )
        )
    seen: Counter = Counter()
    for playlist in out:
        seen[playlist.name] += 1
        if seen[playlist.name] > 1:
            playlist.name = f"{playlist.name} {seen[playlist.name]}"
    return out


def distinctive_tags(
    tags: np.ndarray, catalog_mean: np.ndarray, tag_names: list[str], *, n: int = 5
) -> list[str]:
    """The ``n`` tags a group of songs ``tags`` ``(g, n_tags)`` has most more than the catalog (by lift)."""
    mean = np.asarray(tags, dtype=np.float64).mean(axis=0)
    lift = mean / np.maximum(catalog_mean, 1e-6)
    lift[mean < MIN_TAG_PROBABILITY] = 0.0
    ranked = {tag_names[i]: float(lift[i]) for i in np.argsort(-lift) if lift[i] > 1.0}
    return list(merge_tags(ranked))[:n]


def playlist_name(tags: list[str]) -> str:
    """The name "Mellow · piano · slow" from the distinctive tags (the first capitalised)."""
    words = tags[:TAGS_IN_NAME]
    if not words:
        return ""
    return " · ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def discover_catalog(catalog, *, n: int | None = None, seed: int = 0) -> Discovery:
    """``discover`` over every song of a built ``Catalog`` (its index's embeddings, tags and genres)."""
    index = catalog.index
    ids = index.track_ids_
    tags = catalog.tag_matrix(ids)
    return discover(
        index.embeddings_,
        ids,
        tags=tags if tags.shape[1] else None,
        tag_names=catalog.tag_names(),
        genres=index.genres_,
        n=n,
        seed=seed,
    )


def export_text(catalog, playlist: SonicPlaylist, *, fmt: str = "m3u8", relative_to=None) -> str:
    """A sonic playlist as the text of an M3U8 or XSPF file (``recommender.playlists``)."""
    from recommender.playlist_files import song_entries
    from recommender.playlists import playlist_text

    entries = song_entries(catalog.store, list(playlist.track_ids))
    return playlist_text(entries, fmt=fmt, name=playlist.name, creator="musicrec", relative_to=relative_to)
