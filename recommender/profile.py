"""Personal recommendations: "for you" and continuing a playlist (a path between two songs: ``song_path``).

A profile is a point in embedding space: the weighted mean of the unit embeddings of
the songs a user played (recent plays count more, halving every ``half_life_days``),
liked (``LIKE_WEIGHT`` each) and put in playlists (``PLAYLIST_WEIGHT`` per playlist),
less the songs skipped (``SKIP_WEIGHT`` each, decaying like plays: negative evidence),
normalised to unit length. Songs skipped in the last ``recent_days`` are not recommended. Its nearest catalog songs (``SimilarityIndex.query``) are the
recommendations; each gets the cosine to the profile as ``score`` and a ``reason``
naming the user's song it is closest to.

A user with no history gets a cold start: the most played songs across all users,
taken round-robin across genres, then the songs most typical of each genre (nearest
their genre's mean embedding), so the first page shows every genre.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from recommender.errors import UserInputError
from recommender.store import Activity

LIKE_WEIGHT = 3.0
PLAYLIST_WEIGHT = 1.0
PLAY_WEIGHT = 1.0  # a play today; halves every half_life_days
SKIP_WEIGHT = 2.0  # a skip today, taken off (outweighs the play its press recorded); halves likewise


@dataclass(frozen=True)
class Recommendation:
    """One recommended song: ``score`` is a cosine similarity (1 = identical), ``reason`` says why."""

    track_id: int
    score: float
    reason: str


def _utc_naive(now: datetime | None) -> datetime:
    """``now`` as a naive UTC datetime (the store's convention); a naive value is taken as UTC."""
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now


def _weights(
    history: Activity, *, now: datetime, half_life_days: float, skips: pd.DataFrame | None = None
) -> dict[int, float]:
    """Weight of each track of the history: decayed plays + likes + playlist memberships - decayed skips."""
    if half_life_days <= 0:
        raise UserInputError(f"half_life_days must be positive, got {half_life_days}")
    weights: dict[int, float] = defaultdict(float)
    if len(history.plays):
        age = (pd.Timestamp(now) - pd.to_datetime(history.plays["played_at"])).dt.total_seconds() / 86_400.0
        decay = PLAY_WEIGHT * 0.5 ** (np.clip(age.to_numpy(dtype=float), 0.0, None) / half_life_days)
        for track_id, w in zip(history.plays["track_id"], decay, strict=True):
            weights[int(track_id)] += float(w)
    for track_id in history.likes["track_id"]:
        weights[int(track_id)] += LIKE_WEIGHT
    for track_id in history.playlist_tracks["track_id"]:
        weights[int(track_id)] += PLAYLIST_WEIGHT
    if skips is not None and len(skips):
        age = (pd.Timestamp(now) - pd.to_datetime(skips["skipped_at"])).dt.total_seconds() / 86_400.0
        decay = SKIP_WEIGHT * 0.5 ** (np.clip(age.to_numpy(dtype=float), 0.0, None) / half_life_days)
        for track_id, w in zip(skips["track_id"], decay, strict=True):
            weights[int(track_id)] -= float(w)
    return dict(weights)


def _mean_direction(index, weights: dict[int, float]) -> np.ndarray | None:
    """Unit weighted mean ``(d,)`` of the embeddings of ``weights``' tracks that are in ``index``.

    Negative weights (skips) pull away; None without any positive weight.
    """
    known = set(index.track_ids_.tolist())
    ids = [t for t in weights if t in known and weights[t] != 0]
    if not any(weights[t] > 0 for t in ids):
        return None
    vectors = np.stack([index.vector(t) for t in ids]).astype(np.float64)
    w = np.array([weights[t] for t in ids])
    mean = w @ vectors
    norm = np.linalg.norm(mean)
    return None if norm < 1e-12 else (mean / norm).astype(np.float32)


def profile_vector(
    store, index, user: str, *, now: datetime | None = None, half_life_days: float = 14.0
) -> np.ndarray | None:
    """The unit profile vector ``(d,)`` float32 of ``user``, or ``None`` without usable history."""
    history = store.activity(user)
    weights = _weights(history, now=_utc_naive(now), half_life_days=half_life_days, skips=store.skips(user))
    return _mean_direction(index, weights)


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | float | np.integer) or int(k) != k or k < 1:
        raise UserInputError(f"k must be a whole number of at least 1, got {k!r}")
    return int(k)


def _check_genre(index, genre: str | None) -> None:
    if genre is not None and genre not in index.genres:
        raise UserInputError(f"unknown genre {genre!r}; known genres: {', '.join(index.genres) or 'none'}")


def _nearest_distinct(
    store, index, vector: np.ndarray, *, k: int, genre: str | None, exclude: set[int], one_per_artist: bool
) -> list[tuple[int, float]]:
    """The ``k`` nearest songs to ``vector``; with ``one_per_artist``, only each artist's best song."""
    if not one_per_artist:
        return index.query(vector, k=k, genre=genre, exclude=exclude)
    fetch = 3 * k
    while True:
        found = index.query(vector, k=fetch, genre=genre, exclude=exclude)
        kept = _one_per_artist(store, found, k)
        if len(kept) == k or len(found) < fetch:
            return kept
        fetch *= 2  # many songs by the same artists: look further


def _one_per_artist(store, ranked: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The first song of each artist in ``ranked`` (best first), at most ``k``."""
    if not ranked:
        return []
    artists = store.tracks(track_ids=[t for t, _ in ranked]).set_index("track_id")["artist"]
    seen: set[str] = set()
    kept = []
    for track_id, score in ranked:
        artist = str(artists.get(track_id, f"#{track_id}")).casefold()
        if artist not in seen:
            seen.add(artist)
            kept.append((track_id, score))
            if len(kept) == k:
                break
    return kept


def _reasons(store, index, picks: list[tuple[int, float]], seeds: dict[int, str]) -> list[Recommendation]:
    """Name, for each pick, the seed song it is closest to; ``seeds`` maps seed id -> reason template."""
    known = set(index.track_ids_.tolist())
    seed_ids = [t for t in seeds if t in known]
    if not picks or not seed_ids:
        return [Recommendation(t, s, "") for t, s in picks]
    seed_vectors = np.stack([index.vector(t) for t in seed_ids])
    closest = [seed_ids[int(np.argmax(seed_vectors @ index.vector(t)))] for t, _ in picks]
    titles = store.tracks(track_ids=sorted(set(closest))).set_index("track_id")["title"]
    return [
        Recommendation(t, float(s), seeds[c].format(title=titles.get(c, f"#{c}")))
        for (t, s), c in zip(picks, closest, strict=True)
    ]


def _seed_reasons(history: Activity) -> dict[int, str]:
    """Reason template for each song of the history: likes first, then playlists, then plays."""
    seeds: dict[int, str] = {}
    for track_id in history.plays["track_id"]:
        seeds[int(track_id)] = 'because you played "{title}"'
    for name, track_id in zip(
        history.playlist_tracks["playlist"], history.playlist_tracks["track_id"], strict=True
    ):
        seeds[int(track_id)] = (
            'because "{title}" is in your playlist "' + str(name).replace("{", "{{").replace("}", "}}") + '"'
        )
    for track_id in history.likes["track_id"]:
        seeds[int(track_id)] = 'because you liked "{title}"'
    return seeds


def recommend_for_user(
    store,
    index,
    user: str,
    *,
    k: int = 10,
    genre: str | None = None,
    one_per_artist: bool = False,
    recent_days: float = 30,
    now: datetime | None = None,
    other_than: str | None = None,
) -> tuple[list[Recommendation], bool]:
    """Songs for ``user``, best first, and whether this is a cold start (no history).

    Never returns songs liked, or played in the last ``recent_days``. ``genre`` keeps one
    genre; ``one_per_artist`` keeps each artist's best song (still ``k`` when possible);
    ``other_than`` ``"album"``/``"artist"``: never a song of an album/artist the user played or liked.
    """
    k = _check_k(k)
    _check_genre(index, genre)
    if recent_days < 0:
        raise UserInputError(f"recent_days cannot be negative, got {recent_days}")
    now = _utc_naive(now)
    history = store.activity(user)
    recent = history.plays[pd.to_datetime(history.plays["played_at"]) >= now - timedelta(days=recent_days)]
    skips = store.skips(user)
    exclude = {int(t) for t in recent["track_id"]} | {int(t) for t in history.likes["track_id"]}
    exclude |= {
        int(t)
        for t in skips[pd.to_datetime(skips["skipped_at"]) >= now - timedelta(days=recent_days)]["track_id"]
    }
    if other_than is not None:
        heard = {int(t) for t in history.plays["track_id"]} | {int(t) for t in history.likes["track_id"]}
        exclude |= same_as_any(store.tracks(), heard, other_than)
    vector = _mean_direction(index, _weights(history, now=now, half_life_days=14.0, skips=skips))
    if vector is None:
        return _cold_start(
            store, index, k=k, genre=genre, exclude=exclude, one_per_artist=one_per_artist
        ), True
    picks = _nearest_distinct(
        store, index, vector, k=k, genre=genre, exclude=exclude, one_per_artist=one_per_artist
    )
    return _reasons(store, index, picks, _seed_reasons(history)), False


def same_as_any(tracks: pd.DataFrame, track_ids: set[int], what: str) -> set[int]:
    """Ids of the ``tracks`` sharing an album (artist and album name) with any of ``track_ids``.

    ``what`` ``"artist"``: sharing an artist instead.
    """
    if what not in ("album", "artist"):
        raise UserInputError(f"other than {what!r}? Choose one of: album, artist.")
    keys = ["artist", "album"] if what == "album" else ["artist"]
    seeds = tracks.loc[tracks["track_id"].isin(list(track_ids)), keys].drop_duplicates()
    same = tracks.merge(seeds, on=keys, how="inner")
    return {int(t) for t in same["track_id"]}


def _cold_start(
    store, index, *, k: int, genre: str | None, exclude: set[int], one_per_artist: bool
) -> list[Recommendation]:
    """Popular songs round-robin across genres, then each genre's most typical songs."""
    ids = index.track_ids_
    genres = index.genres_ if index.genres_ is not None else np.full(len(ids), "")
    wanted = [str(g) for g in np.unique(genres)] if genre is None else [genre]
    counts = store.play_counts()
    plays = pd.Series(counts["plays"].to_numpy(), index=counts["track_id"].to_numpy(dtype=np.int64))
    ranked = {g: _genre_ranking(index, genres, g, plays, exclude) for g in wanted}
    # Genres with the most plays go first; ties by name, so the order is deterministic.
    order = sorted(wanted, key=lambda g: (-int(ranked[g][2].sum()), g))
    depth = k
    while True:  # look deeper into each genre only when skipped artists or copies leave too few picks
        picks = _round_robin(
            store, index, [ranked[g] for g in order], order, k=k, depth=depth, exclude=exclude,
            one_per_artist=one_per_artist,
        )  # fmt: skip
        if len(picks) == k or all(len(ranked[g][0]) <= depth for g in order):
            return picks
        depth *= 4


def _genre_ranking(
    index, genres: np.ndarray, genre: str, plays: pd.Series, exclude: set[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cold-start order of one genre: most played first, then nearest the genre's mean embedding.

    Returns ``(track_ids, typicality, plays)``, each ``(n,)`` in that order, ``exclude`` left out;
    typicality (cosine to the genre's mean) is the score of every cold-start pick.
    """
    rows = np.flatnonzero(genres == genre)
    vectors = index.embeddings_[rows].astype(np.float64)
    centroid = vectors.mean(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    typicality = vectors @ centroid
    track_ids = index.track_ids_[rows]
    counts = plays.reindex(track_ids).fillna(0).to_numpy(dtype=np.int64)
    keep = ~np.isin(track_ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
    order = np.lexsort((-typicality, -counts))
    order = order[keep[order]]
    return track_ids[order], typicality[order], counts[order]


def _round_robin(
    store,
    index,
    rankings: list[tuple],
    genres: list[str],
    *,
    k: int,
    depth: int,
    exclude: set[int],
    one_per_artist: bool,
) -> list[Recommendation]:
    """One song per genre in turn from the first ``depth`` of each ranking, up to ``k``.

    The index's duplicate rule holds: no copy of an excluded song nor of a song already picked.
    """
    artists = None
    if one_per_artist:
        candidates = np.concatenate([r[0][:depth] for r in rankings])
        artists = store.tracks(track_ids=candidates.tolist()).set_index("track_id")["artist"]
    picks: list[Recommendation] = []
    seen: set[str] = set()
    cursors = [0] * len(rankings)
    while len(picks) < k and any(c < min(depth, len(r[0])) for c, r in zip(cursors, rankings, strict=True)):
        for g, (track_ids, typicality, counts) in enumerate(rankings):
            while cursors[g] < min(depth, len(track_ids)):
                i = cursors[g]
                cursors[g] += 1
                track_id = int(track_ids[i])
                if index.is_copy(track_id, of=[p.track_id for p in picks] + list(exclude)):
                    continue
                if artists is not None:
                    artist = str(artists.get(track_id, f"#{track_id}")).casefold()
                    if artist in seen:
                        continue
                    seen.add(artist)
                picks.append(
                    Recommendation(track_id, float(typicality[i]), _cold_reason(genres[g], counts[i]))
                )
                break
            if len(picks) == k:
                break
    return picks


def _cold_reason(genre: str, plays: int) -> str:
    if plays:
        return f"popular in {genre} (no history yet)" if genre else "popular (no history yet)"
    return f"a typical {genre} song (no history yet)" if genre else "a typical song (no history yet)"


def continue_playlist(
    store, index, user: str, name: str, *, k: int = 10, genre: str | None = None
) -> list[Recommendation]:
    """Songs to add to playlist ``name``: nearest the playlist's mean, its later songs weighing more."""
    k = _check_k(k)
    _check_genre(index, genre)
    items = store.playlist(user, name)
    if items.empty:
        raise UserInputError(f'playlist "{name.strip()}" is empty: add a few songs first')
    ids = [int(t) for t in items["track_id"]]
    n = len(ids)
    # A ramp from 1 (first song) to 2 (last song): the continuation follows where the playlist is going.
    weights = {t: 1.0 + (i / (n - 1) if n > 1 else 0.0) for i, t in enumerate(ids)}
    vector = _mean_direction(index, weights)
    if vector is None:
        raise UserInputError(f'no song of playlist "{name.strip()}" is in the catalog any more')
    picks = index.query(vector, k=k, genre=genre, exclude=set(ids))
    label = name.strip().replace("{", "{{").replace("}", "}}")
    return _reasons(store, index, picks, dict.fromkeys(ids, 'like "{title}" in playlist "' + label + '"'))
