"""Personal recommendations: "for you", continuing a playlist, and a path between two songs.

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

A path from one song to another (``song_path``) walks through the songs that lie between
them: among the songs near the great circle joining their embeddings, the path whose
largest step (lowest cosine between two songs in a row) is as small as can be found,
then whose steps are the most even; no artist twice in a row where the catalog allows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from recommender.errors import UserInputError
from recommender.index import DUPLICATE_COSINE
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


# ---- a path from one song to another -------------------------------------------------------------
MAX_PATH_STEPS = 100
"""The most songs a path may hold (the searches below cost about steps × candidates² each)."""
PATH_POOL = 512
"""Candidate songs for a path: the whole catalog up to this size, else about this many songs
nearest to points along the great circle between the two ends."""
PATH_BEAMS = 64
"""Partial paths the beam search keeps at each step."""
ARTIST_PENALTY = 3.0
"""Taken off the cosine of two songs by the same artist: any step between two artists (cosine
>= -1) is preferred to a step within one (<= -2), which stays possible where nothing else is."""


def song_path(index, from_id: int, to_id: int, *, steps: int = 8, store=None) -> list[tuple[int, float]]:
    """A smooth walk of ``steps`` different songs from ``from_id`` to ``to_id`` as ``(track_id, score)``.

    ``score`` is the cosine similarity to the previous song of the path (1.0 for the first),
    so the lowest score is the path's largest step. The songs in between are chosen among
    those that lie between the two ends (``_path_pool``) so that the largest step is as
    small as can be found, then so that the steps are even (least sum of squared angles):
    two searches (``_widest_path`` lengthened by ``_pad_path``, and ``_beam_path``), the
    better path kept. No song comes twice, nor an exact copy of a song of the path (the
    index's duplicate rule). With a ``store``, no two songs in a row are by the same artist
    unless the catalog leaves no other way, and songs without a track row are left out.
    """
    if int(steps) != steps or steps < 2:
        raise UserInputError(f"a path needs at least 2 steps (start and end), got {steps}")
    if steps > MAX_PATH_STEPS:
        raise UserInputError(f"a path holds at most {MAX_PATH_STEPS} songs, got {steps}")
    steps = int(steps)
    from_id, to_id = int(from_id), int(to_id)
    if from_id == to_id:
        raise UserInputError("a path needs two different songs")
    index.vector(from_id), index.vector(to_id)  # an unknown id is a clear UserInputError
    if steps > len(index):
        raise UserInputError(
            f"a path of {steps} songs needs a catalog of at least {steps}; it has {len(index)}"
        )
    size = PATH_POOL
    pool, artists = _path_pool(index, from_id, to_id, size=size, store=store)
    while len(pool) < steps and size < len(index):  # many copies among the candidates: look wider
        size *= 4
        pool, artists = _path_pool(index, from_id, to_id, size=size, store=store)
    if len(pool) < steps:
        raise UserInputError(
            f"a path of {steps} songs needs {steps} different songs; the catalog has only {len(pool)} "
            "that are not copies of one another along this way"
        )
    vectors = index.embeddings_[[index.rows_[t] for t in pool.tolist()]].astype(np.float64)
    cosines = np.clip(vectors @ vectors.T, -1.0, 1.0)
    weights = cosines - ARTIST_PENALTY * (artists[:, None] == artists[None, :])
    np.fill_diagonal(weights, 1.0)
    hops = steps - 1
    found = [
        _pad_path(_widest_path(weights, cosines, hops=hops), weights, steps=steps),
        _beam_path(weights, cosines, hops=hops),
    ]
    rows = max(found, key=lambda path: _path_quality(path, weights, cosines))
    scores = [1.0] + [float(cosines[u, v]) for u, v in zip(rows, rows[1:], strict=False)]
    return [(int(pool[r]), s) for r, s in zip(rows, scores, strict=True)]


def _path_pool(index, from_id: int, to_id: int, *, size: int, store) -> tuple[np.ndarray, np.ndarray]:
    """The songs a path may use: track ids ``(m,)``, ``from_id`` and ``to_id`` first, and artist codes ``(m,)``.

    The whole catalog when it holds at most ``size`` songs; else the songs nearest to evenly
    spaced points on the great circle between the two ends, about ``size`` in all. No song
    is an exact copy of an earlier one. Artist codes are equal for songs of one artist
    (case-insensitive); without a store every song has an artist of its own.
    """
    ids = index.track_ids_
    if len(ids) > size:
        a, b = index.vector(from_id).astype(np.float64), index.vector(to_id).astype(np.float64)
        waypoints = max(16, size // 16)
        nearest = (
            track_id
            for t in np.linspace(0.0, 1.0, waypoints)
            for track_id, _ in index.query(
                _slerp(a, b, float(t)), k=-(-size // waypoints), exclude={from_id, to_id}
            )
        )
        ids = np.array(list(dict.fromkeys(nearest)), dtype=np.int64)
    ids = np.concatenate([[from_id, to_id], ids[(ids != from_id) & (ids != to_id)]]).astype(np.int64)
    if store is None:
        artists = np.arange(len(ids))
    else:
        rows = store.tracks(track_ids=ids.tolist()).set_index("track_id")["artist"]
        # A song without a track row (an interrupted upload) is invisible everywhere: not in a path either.
        ids = np.concatenate([ids[:2], ids[2:][np.isin(ids[2:], rows.index.to_numpy())]])
        names = [str(rows.get(int(t), f"#{t}")).casefold() for t in ids]
        artists = pd.factorize(pd.Series(names))[0]
    vectors = index.embeddings_[[index.rows_[t] for t in ids.tolist()]].astype(np.float64)
    copies = np.triu(vectors @ vectors.T >= DUPLICATE_COSINE, k=1)
    keep = np.ones(len(ids), dtype=bool)
    for row in np.flatnonzero(copies[:, 2:].any(axis=0)) + 2:  # only the songs that copy an earlier one
        keep[row] = not np.any(copies[:row, row] & keep[:row])
    return ids[keep], artists[keep]


def _path_quality(path: list[int], weights: np.ndarray, cosines: np.ndarray) -> tuple[float, float]:
    """How good a path of rows is, larger is better: its lowest step weight, then minus its sum of squared angles."""
    steps = (np.array(path[:-1]), np.array(path[1:]))
    return float(np.min(weights[steps])), -float(np.sum(np.arccos(cosines[steps]) ** 2))


def _widest_path(weights: np.ndarray, cosines: np.ndarray, *, hops: int) -> list[int]:
    """Rows of a path from row 0 to row 1 in at most ``hops`` steps over ``(m, m)`` step ``weights``.

    First the highest lowest weight any such path can have (a widest path with a hop
    limit: exact); then, among the paths whose steps all reach it, the one of least sum of
    squared angles (Bellman-Ford with a hop limit), so the steps are even. A song never
    comes twice: a detour only adds to the sum.
    """
    m = len(weights)
    widest = np.where(np.arange(m) == 0, np.inf, -np.inf)
    for _ in range(hops):
        wider = np.maximum(widest, np.max(np.minimum(widest[:, None], weights), axis=0))
        if np.array_equal(wider, widest):
            break
        widest = wider
    cost = np.where(weights >= widest[1], np.arccos(cosines) ** 2, np.inf)
    total = np.where(np.arange(m) == 0, 0.0, np.inf)
    parents = []  # per step: the row each row was reached from, -1 where it was not improved
    for _ in range(hops):
        through = total[:, None] + cost
        via = np.argmin(through, axis=0)
        new = through[via, np.arange(m)]
        better = new < total - 1e-12
        if not better.any():
            break
        parents.append(np.where(better, via, -1))
        total = np.where(better, new, total)
    path = [1]
    for parent in reversed(parents):
        if parent[path[-1]] >= 0:
            path.append(int(parent[path[-1]]))
    return path[::-1]


def _pad_path(path: list[int], weights: np.ndarray, *, steps: int) -> list[int]:
    """``path`` (rows) lengthened to ``steps`` rows by inserting unused rows one at a time.

    Each insertion keeps the path's lowest step weight as high as it can, then splits the
    step it improves most.
    """
    path = list(path)
    while len(path) < steps:
        unused = np.setdiff1d(np.arange(len(weights)), path)
        starts, ends = np.array(path[:-1]), np.array(path[1:])
        split = np.minimum(weights[np.ix_(starts, unused)], weights[np.ix_(ends, unused)])  # (steps, unused)
        current = weights[starts, ends]
        order = np.argsort(current)
        others = np.full(len(current), current[order[0]])  # the lowest step weight but for each step's own
        others[order[0]] = current[order[1]] if len(current) > 1 else np.inf
        lowest = np.minimum(split, others[:, None])
        best = np.lexsort(((current[:, None] - split).ravel(), -lowest.ravel()))[0]
        step, column = divmod(int(best), len(unused))
        path.insert(step + 1, int(unused[column]))
    return path


def _beam_path(weights: np.ndarray, cosines: np.ndarray, *, hops: int) -> list[int]:
    """Rows of a path of exactly ``hops`` steps from row 0 to row 1, no row twice (a beam search).

    Partial paths are ranked by the best lowest step weight they can still reach (bounded
    by walks of the steps left to row 1), then by their sum of squared angles plus the
    least the rest can add (the angle left to row 1, squared, over the steps left);
    ``PATH_BEAMS`` of them are kept at each step.
    """
    m = len(weights)
    angles2 = np.arccos(cosines) ** 2
    moves = weights.copy()
    np.fill_diagonal(moves, -np.inf)
    reach = [np.where(np.arange(m) == 1, np.inf, -np.inf)]  # reach[r][v]: walks of exactly r steps to row 1
    for _ in range(hops - 1):
        reach.append(np.max(np.minimum(moves, reach[-1][None, :]), axis=1))
    paths = np.zeros((1, 1), dtype=np.int64)
    lows, sums = np.array([np.inf]), np.array([0.0])
    used = np.arange(m)[None, :] == 0
    for left in range(hops - 1, -1, -1):  # steps still to take after this one
        last = paths[:, -1]
        low = np.minimum(lows[:, None], moves[last])  # (beams, m)
        total = sums[:, None] + angles2[last]
        if left:
            hope = np.where(used | (np.arange(m) == 1), -np.inf, np.minimum(low, reach[left][None, :]))
            guess = total + angles2[:, 1][None, :] / left
        else:
            hope = np.where(np.arange(m) == 1, low, -np.inf)
            guess = total
        order = np.lexsort((guess.ravel(), -hope.ravel()))[:PATH_BEAMS]
        order = order[np.isfinite(hope.ravel()[order])]
        beam, row = np.divmod(order, m)
        paths = np.column_stack([paths[beam], row])
        lows, sums, used = low[beam, row], total[beam, row], used[beam]
        used[np.arange(len(row)), row] = True
    return paths[np.lexsort((sums, -lows))[0]].tolist()


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The point at fraction ``t`` along the great circle from unit ``a`` to unit ``b`` ``(d,)``."""
    omega = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if omega < 1e-6:
        return a
    if np.pi - omega < 1e-6:
        # Opposite points: every great circle joins them; take one through a fixed perpendicular direction.
        axis = np.zeros_like(a)
        axis[int(np.argmin(np.abs(a)))] = 1.0
        u = axis - (axis @ a) * a
        u /= np.linalg.norm(u)
        return np.cos(np.pi * t) * a + np.sin(np.pi * t) * u
    return (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
