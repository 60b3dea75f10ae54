"""A path from one song to another: a playlist that moves smoothly between two songs.

``song_path`` walks through the songs that lie between them: among the songs near the
great circle joining their embeddings, the path whose largest step (lowest cosine between
two songs in a row) is as small as can be found, then whose steps are the most even; no
artist twice in a row where the catalog allows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.errors import UserInputError
from recommender.index import DUPLICATE_COSINE

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
