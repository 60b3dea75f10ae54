"""Listeners who played this also played that: item-to-item co-occurrence, blended with the sound.

``CoOccurrence.fit`` reads every profile's plays and likes (``Store.listening``) as a
users × songs matrix (``log1p(plays) + LIKE_WEIGHT`` per liked song), and two songs are as
close as the cosine of their columns: songs the same people listen to. ``scores`` gives,
for a set of seed songs, each other song's weighted mean co-occurrence with them (0..1:
1 when everyone who played the seeds played it too, and only they), and the seed song
that contributed most (for the reason shown).

The blend is additive: a candidate's audio score (cosine to the profile or the station)
plus ``HYBRID_WEIGHT`` times its co-occurrence score, so a song nobody played keeps its
audio score alone (cold start), and the hybrid needs at least ``MIN_LISTENERS`` other
profiles with plays before it is used at all. The reason says which signal won:
"listeners who played X also played it" when co-occurrence adds more than half of the
audio score's lead over the candidates' median, else the audio reason ("sounds like X").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from recommender.errors import UserInputError

LIKE_WEIGHT = 2.0
MIN_LISTENERS = 2  # profiles with plays (besides the one asking) before co-occurrence is used
HYBRID_WEIGHT = 0.8  # a song every listener of the seeds also played gains 0.8 of cosine
MAX_SEEDS = 200  # the most seed songs one question takes (the most weighted first)


class CoOccurrence:
    """Item-to-item cosine over who listened to what. Learned: ``track_ids_``, ``columns_``, ``users_``."""

    def fit(self, listening: pd.DataFrame) -> CoOccurrence:
        """From ``Store.listening()``'s frame: user_id, track_id, plays, liked."""
        frame = listening
        self.users_ = (
            np.unique(frame["user_id"].to_numpy(dtype=np.int64)) if len(frame) else np.zeros(0, np.int64)
        )
        self.track_ids_ = (
            np.unique(frame["track_id"].to_numpy(dtype=np.int64)) if len(frame) else np.zeros(0, np.int64)
        )
        rows = np.searchsorted(self.users_, frame["user_id"].to_numpy(dtype=np.int64))
        cols = np.searchsorted(self.track_ids_, frame["track_id"].to_numpy(dtype=np.int64))
        values = np.log1p(frame["plays"].to_numpy(dtype=np.float64)) + LIKE_WEIGHT * frame["liked"].to_numpy(
            bool
        )
        x = sparse.csc_matrix((values, (rows, cols)), shape=(len(self.users_), len(self.track_ids_)))
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0))).ravel()
        self.columns_ = x @ sparse.diags(1.0 / np.maximum(norms, 1e-12))
        self.index_ = {int(t): i for i, t in enumerate(self.track_ids_)}
        return self

    def listeners(self) -> int:
        return int(len(self.users_))

    def scores(self, seeds: dict[int, float]) -> tuple[dict[int, float], dict[int, int]]:
        """For seed songs (track id -> weight > 0): each other song's co-occurrence score in 0..1 (the
        seeds' weighted mean cosine with it) and the seed that gave it most. Songs nobody played with a
        seed are absent."""
        known = sorted(
            ((t, w) for t, w in seeds.items() if t in self.index_ and w > 0), key=lambda tw: -tw[1]
        )
        known = known[:MAX_SEEDS]
        if not known:
            return {}, {}
        seed_cols = self.columns_[:, [self.index_[t] for t, _ in known]]
        sims = (self.columns_.T @ seed_cols).toarray()  # (n_items, n_seeds)
        for j, (t, _) in enumerate(known):
            sims[self.index_[t], j] = 0.0  # a song does not co-occur with itself
        weighted = sims * np.array([w for _, w in known])[None, :]
        total = weighted.sum(axis=1)
        seed_ids = {t for t, _ in known}
        top = float(sum(w for _, w in known))
        out, best = {}, {}
        for i in np.flatnonzero(total > 0):
            tid = int(self.track_ids_[i])
            if tid in seed_ids:
                continue
            out[tid] = float(total[i] / top)
            best[tid] = known[int(np.argmax(weighted[i]))][0]
        return out, best


def model_for(store, user: str | None = None) -> CoOccurrence | None:
    """The co-occurrence of the server's listening, or None when too few other profiles listened."""
    listening = store.listening()
    model = CoOccurrence().fit(listening)
    others = model.listeners()
    if user is not None:
        profile = store.profile(user)
        if profile is not None:
            others -= 1  # roughly: the profile asking is not "other listeners"
    return model if others >= MIN_LISTENERS else None


def blend(audio: dict[int, float], boost: dict[int, float]) -> dict[int, float]:
    """Audio scores plus ``HYBRID_WEIGHT`` × co-occurrence (a song without plays: audio alone)."""
    return {t: s + HYBRID_WEIGHT * boost.get(t, 0.0) for t, s in audio.items()}


def recommend(
    store,
    index,
    user: str,
    *,
    k: int = 10,
    genre: str | None = None,
    one_per_artist: bool = False,
    other_than: str | None = None,
):
    """``profile.recommend_for_user`` with co-occurrence blended in when the server has listeners.

    Returns ``(recommendations, cold)`` like it; each reason says which signal chose the song.
    ``other_than``: ``"album"``/``"artist"`` leaves out the albums/artists the user has played or liked.
    """
    from recommender.profile import Recommendation, profile_vector, recommend_for_user, same_as_any

    if isinstance(k, bool) or not isinstance(k, int | float | np.integer) or int(k) != k or k < 1:
        raise UserInputError(f"k must be a whole number of at least 1, got {k!r}")
    k = int(k)
    pool = max(5 * k, 50)
    recs, cold = recommend_for_user(
        store, index, user, k=pool, genre=genre, one_per_artist=one_per_artist, other_than=other_than
    )
    model = None if cold else model_for(store, user)
    if model is None:
        return recs[:k], cold
    history = store.activity(user)
    seeds: dict[int, float] = {}
    for t in history.plays["track_id"]:
        seeds[int(t)] = seeds.get(int(t), 0.0) + 1.0
    for t in history.likes["track_id"]:
        seeds[int(t)] = seeds.get(int(t), 0.0) + LIKE_WEIGHT
    boost, best = model.scores(seeds)
    vector = profile_vector(store, index, user)
    heard = set(seeds) | {int(t) for t in store.skips(user)["track_id"]}
    if other_than is not None:
        heard |= same_as_any(store.tracks(), set(seeds), other_than)
    reason = {r.track_id: r.reason for r in recs}
    candidates = [r.track_id for r in recs] + [
        t for t in sorted(boost, key=lambda t: -boost[t]) if t not in heard and t in index.rows_
    ][:pool]
    if genre is not None and index.genres_ is not None:
        candidates = [t for t in candidates if str(index.genres_[index.rows_[t]]) == genre]
    candidates = list(dict.fromkeys(candidates))
    audio = {t: float(index.vector(t) @ vector) for t in candidates}
    scores = blend(audio, boost)
    ranked = sorted(candidates, key=lambda t: -scores[t])[:k]
    median = float(np.median(list(audio.values()))) if audio else 0.0
    titles = store.tracks(track_ids=sorted({best[t] for t in ranked if t in best})).set_index("track_id")[
        "title"
    ]
    out = []
    for t in ranked:
        from_listeners = HYBRID_WEIGHT * boost.get(t, 0.0)
        if t in best and from_listeners > 0.5 * max(audio[t] - median, 0.0):
            why = f'listeners who played "{titles.get(best[t], best[t])}" also played it'
        else:
            why = reason.get(t) or "sounds like your songs"
        out.append(Recommendation(t, audio[t], why))
    return out, False
