"""A radio that learns: a station plays on from a seed, steered by what the listener does in it.

A station starts from a seed (``Seed``): a song, a tag (the mean of the songs that have it
most), a sonic playlist (the mean of its songs) or a profile's taste (its profile vector).
Each next song is chosen from the seed and the station's events (``Event``):

- the station's direction is the seed's vector (``SEED_WEIGHT``) plus the mean of the songs
  kept (``KEPT_WEIGHT``; heard to the end ``HEARD_WEIGHT``, liked ``LIKE_WEIGHT`` in that
  mean), minus the mean of the songs skipped (``SKIP_WEIGHT``), normalised: Rocchio's
  relevance feedback. Means, not sums: twenty songs in, a run of skips (or of songs kept)
  does not drown the seed and the rest; the weights were chosen with bench/radio.py's
  listeners on a 240-song demo and checked on two 400-song demos (bench/README.md);
- each candidate (the ``POOL`` nearest to that direction) scores its cosine to it, less
  ``SKIP_PENALTY`` times how much closer it is to a skipped song than to the station (and
  than the catalog's usual cosine between two songs): a skip pushes the station away from
  that sound, not only from that song;
- no song heard or skipped in the station comes again, and no artist of the last
  ``ARTIST_WINDOW`` songs.

A skip is Next or Skip pressed within ``SKIP_SECONDS`` of a song's start (or half of a
shorter song); later, the song counts as heard. ``score`` in results is the cosine to the
station's direction. The reason names the liked, heard or seed song each pick is closest
to ("sounds like X"), or, with co-occurrence (``recommender.hybrid``), the song its
listeners played ("listeners who played X also played it").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.errors import UserInputError

SKIP_SECONDS = 30.0
SEED_WEIGHT = 1.0
KEPT_WEIGHT = 1.0  # the mean of the songs kept
SKIP_WEIGHT = (
    0.5  # the mean of the songs skipped: less than the seed's, so a skipped seed never turns it round
)
HEARD_WEIGHT = 1.0  # in the mean of the songs kept: a song heard to the end ...
LIKE_WEIGHT = 2.0  # ... and a song liked
SKIP_PENALTY = 1.0
ARTIST_WINDOW = 2
POOL = 100  # candidates re-ranked per next song
MAX_K = 50  # songs asked for at once
MAX_EVENTS = 500  # the most recent events a station remembers
TAG_SONGS = 20
KINDS = ("heard", "like", "skip")


@dataclass(frozen=True)
class Seed:
    """Where a station starts: ``kind`` is "track", "tag", "playlist" or "taste"; ``label`` for people."""

    kind: str
    value: str
    label: str
    vector: np.ndarray  # (d,) unit
    tracks: tuple[int, ...] = ()  # the seed's own songs (a track, a playlist): reasons may name them

    def text(self) -> str:
        """How the seed is stored (``Store.start_station``): ``"track:12"``, ``"tag:piano"``."""
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Event:
    track_id: int
    kind: str  # one of KINDS


@dataclass
class Station:
    """A seed and what happened since it started (oldest event first)."""

    seed: Seed
    events: list[Event] = field(default_factory=list)

    def note(self, track_id: int, kind: str) -> None:
        if kind not in KINDS:
            raise UserInputError(f"unknown radio event {kind!r}; use one of: {', '.join(KINDS)}")
        self.events.append(Event(int(track_id), kind))
        del self.events[:-MAX_EVENTS]

    def ids(self, kind: str) -> list[int]:
        return [e.track_id for e in self.events if e.kind == kind]


@dataclass(frozen=True)
class Pick:
    track_id: int
    score: float  # cosine to the station's direction
    reason: str


def is_skip(seconds_played: float, length: float | None) -> bool:
    """Whether moving on after ``seconds_played`` of a song ``length`` s long (None: unknown) is a skip."""
    limit = SKIP_SECONDS if not length else min(SKIP_SECONDS, 0.5 * float(length))
    return seconds_played < limit


def _unit(v: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(v))
    return None if norm < 1e-9 else (np.asarray(v, dtype=np.float64) / norm)


def track_seed(index, track_id: int, title: str = "") -> Seed:
    v = index.vector(int(track_id))
    return Seed(
        "track", str(int(track_id)), f"“{title}”" if title else f"song {track_id}", v, (int(track_id),)
    )


def tag_seed(index, tag: str, probabilities: np.ndarray) -> Seed:
    """A station from tag ``tag``: the mean of the ``TAG_SONGS`` songs most probable to have it."""
    p = np.asarray(probabilities, dtype=np.float64)
    top = np.argsort(-p, kind="stable")[: max(1, min(TAG_SONGS, len(p) // 4))]
    vector = _unit(index.embeddings_[top].astype(np.float64).mean(axis=0))
    if vector is None or not np.any(p[top] > 0):
        raise UserInputError(f"no song of this catalog has the tag {tag!r}")
    return Seed("tag", tag, f"the tag “{tag}”", vector)


def playlist_seed(index, name: str, track_ids: list[int]) -> Seed:
    ids = [int(t) for t in track_ids if int(t) in index.rows_]
    if not ids:
        raise UserInputError(f"the playlist {name!r} has no song of this catalog")
    vector = _unit(np.mean([index.vector(t) for t in ids], axis=0))
    return Seed("playlist", name, f"the playlist “{name}”", vector, tuple(ids))


def taste_seed(vector: np.ndarray | None, user: str) -> Seed:
    if vector is None:
        raise UserInputError(
            f"{user} has no plays, likes or playlists yet: start the radio from a song or a tag"
        )
    return Seed("taste", user, f"{user}'s taste", np.asarray(vector, dtype=np.float64))


def direction(index, station: Station) -> np.ndarray:
    """The station's unit direction ``(d,)``: the seed, plus the mean of the songs kept (heard or
    liked), minus the mean of the songs skipped (Rocchio's feedback; module docstring)."""
    v = SEED_WEIGHT * np.asarray(station.seed.vector, dtype=np.float64)
    kept, weights, skipped = [], [], []
    for event in station.events:
        if event.track_id not in index.rows_:
            continue
        if event.kind == "skip":
            skipped.append(index.vector(event.track_id))
        else:
            kept.append(index.vector(event.track_id))
            weights.append(LIKE_WEIGHT if event.kind == "like" else HEARD_WEIGHT)
    if kept:
        v = v + KEPT_WEIGHT * np.average(np.asarray(kept, dtype=np.float64), axis=0, weights=weights)
    if skipped:
        v = v - SKIP_WEIGHT * np.asarray(skipped, dtype=np.float64).mean(axis=0)
    unit = _unit(v)
    return unit if unit is not None else np.asarray(station.seed.vector, dtype=np.float64)


def usual_cosine(index, *, sample: int = 500, seed: int = 0) -> float:
    """The catalog's median cosine between two songs (on a sample of at most ``sample`` songs)."""
    x = index.embeddings_
    if len(x) > sample:
        x = x[np.random.default_rng(seed).choice(len(x), sample, replace=False)]
    c = x @ x.T
    return float(np.median(c[np.triu_indices(len(x), 1)])) if len(x) > 1 else 0.0


def next_songs(
    index,
    station: Station,
    *,
    k: int = 5,
    artists: dict[int, str] | None = None,
    usual: float | None = None,
    boost: dict[int, float] | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[Pick]:
    """The ``k`` songs the station would play next, in order (module docstring).

    ``exclude``: songs not to pick besides those the station played (the one playing now).

    ``artists``: track id -> artist, for the artist window (None: not applied).
    ``boost``: track id -> a co-occurrence score in 0..1 to blend in (``hybrid.radio_boost``).
    """
    if isinstance(k, bool) or int(k) != k or not 1 <= k <= MAX_K:
        raise UserInputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    target = direction(index, station)
    done = {e.track_id for e in station.events} | {int(t) for t in exclude}
    if station.seed.kind == "track":
        done |= set(station.seed.tracks)  # the seed song was played first
    skipped = [t for t in station.ids("skip") if t in index.rows_]
    pool = index.query(target.astype(np.float32), k=min(len(index), POOL + len(done)), exclude=done)
    ids = [t for t, _ in pool]
    if boost:
        ids += [t for t in sorted(boost, key=lambda t: -boost[t]) if t not in done and t in index.rows_][
            :POOL
        ]
        ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    vectors = index.embeddings_[[index.rows_[t] for t in ids]].astype(np.float64)
    cosine = vectors @ target
    score = cosine.copy()
    if skipped:
        base = usual_cosine(index) if usual is None else usual
        near = (vectors @ np.stack([index.vector(t) for t in skipped]).T.astype(np.float64)).max(axis=1)
        score -= SKIP_PENALTY * np.clip(near - np.maximum(base, cosine), 0.0, None)
    if boost:
        score += np.array([boost.get(t, 0.0) for t in ids]) * HYBRID_WEIGHT
    played = [
        *(station.seed.tracks if station.seed.kind == "track" else ()),
        *(e.track_id for e in station.events),
    ]
    recent = played[-ARTIST_WINDOW:] + [int(t) for t in exclude]
    banned = {_key(artists, t) for t in recent} if artists is not None else set()
    picks: list[Pick] = []
    for i in np.argsort(-score, kind="stable"):
        tid = ids[int(i)]
        if artists is not None:
            who = _key(artists, tid)
            if who in banned:
                continue
            banned.add(who)  # no artist twice among the picks either
        picks.append(Pick(tid, float(cosine[i]), ""))
        if len(picks) == k:
            break
    return picks


HYBRID_WEIGHT = 0.5  # how much a co-occurrence score of 1 adds to a candidate's score


def _key(artists: dict[int, str], track_id: int) -> str:
    return str(artists.get(int(track_id), f"#{track_id}")).casefold()


def reasons(
    index, station: Station, picks: list[Pick], titles: dict[int, str], *, because: dict | None = None
) -> list[Pick]:
    """``picks`` with a reason: the co-occurrence one from ``because`` (track -> that reason), else
    "sounds like X" for the liked, heard or seed song X closest to it, else the seed."""
    anchors = list(dict.fromkeys([*station.ids("like"), *station.ids("heard"), *station.seed.tracks]))
    anchors = [t for t in anchors if t in index.rows_]
    out = []
    for pick in picks:
        if because and pick.track_id in because:
            out.append(Pick(pick.track_id, pick.score, because[pick.track_id]))
            continue
        if anchors:
            v = index.vector(pick.track_id)
            near = max(anchors, key=lambda t: float(index.vector(t) @ v))
            why = f"sounds like “{titles.get(near, f'#{near}')}”"
        else:
            why = f"near {station.seed.label}"
        out.append(Pick(pick.track_id, pick.score, why))
    return out


# ---- a station over a built catalog ------------------------------------------------------------------
def seed_from(catalog, *, track: int | None = None, tag: str | None = None, user: str | None = None) -> Seed:
    """The seed of a station from a catalog ``track``, a ``tag``, or (neither) ``user``'s taste."""
    index = catalog.index
    if track is not None:
        title = str(catalog.track(int(track))["title"])  # an unknown id: UserInputError
        return track_seed(index, int(track), title)
    if tag is not None:
        names = catalog.tag_names()
        wanted = " ".join(str(tag).split()).casefold()
        found = [n for n in names if n.casefold() == wanted]
        if not found:
            close = [n for n in names if wanted and (wanted in n.casefold() or n.casefold() in wanted)][:6]
            hint = f"; close: {', '.join(close)}" if close else f"; tags are such as {', '.join(names[:12])}"
            raise UserInputError(f"no tag {tag!r} in this catalog{hint}")
        column = names.index(found[0])
        return tag_seed(index, found[0], catalog.tag_matrix(index.track_ids_)[:, column])
    if user is None:
        raise UserInputError("start a station from a song (--from ID) or a tag (--tag TAG)")
    from recommender.profile import profile_vector

    return taste_seed(profile_vector(catalog.store, index, user), user)


def seed_from_text(catalog, text: str) -> Seed:
    """A seed as ``Seed.text`` stored it: ``track:ID``, ``tag:NAME`` or ``taste:USER``."""
    kind, _, value = str(text).partition(":")
    if kind == "track" and value.isdigit():
        return seed_from(catalog, track=int(value))
    if kind == "tag":
        return seed_from(catalog, tag=value)
    if kind == "taste":
        return seed_from(catalog, user=value)
    raise UserInputError(f"this profile's station ({text!r}) cannot be continued: start a new one")


def stored_station(catalog, user: str) -> Station:
    """``user``'s station from the store: its seed, and the plays (heard), likes and skips since it started.

    A song played and then skipped counts as skipped.
    """
    store = catalog.store
    found = store.station(user)
    if found is None:
        raise UserInputError(
            f"the profile {user!r} has no station yet: start one with --from ID or --tag TAG"
        )
    text, started = found
    history = store.activity(user)
    started = pd.Timestamp(started)
    rows = [
        (pd.Timestamp(t), int(tid), "heard")
        for tid, t in zip(history.plays["track_id"], history.plays["played_at"], strict=True)
        if pd.Timestamp(t) >= started
    ]
    rows += [
        (pd.Timestamp(t), int(tid), "like")
        for tid, t in zip(history.likes["track_id"], history.likes["liked_at"], strict=True)
        if pd.Timestamp(t) >= started
    ]
    skips = store.skips(user, since=started.to_pydatetime())
    rows += [
        (pd.Timestamp(t), int(tid), "skip")
        for tid, t in zip(skips["track_id"], skips["skipped_at"], strict=True)
    ]
    skipped = {tid for _, tid, kind in rows if kind == "skip"}
    station = Station(seed_from_text(catalog, text))
    for _, tid, kind in sorted(rows, key=lambda r: (r[0], KINDS.index(r[2]))):
        if kind == "heard" and tid in skipped:
            continue
        station.note(tid, kind)
    return station


def play_next(
    catalog,
    station: Station,
    *,
    k: int = 5,
    user: str | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> pd.DataFrame:
    """The next ``k`` songs of ``station`` as a ``similar``-shaped frame with a ``reason`` column.

    With other profiles' listening on the server (``recommender.hybrid``), songs the same
    listeners played with the station's liked and heard songs are blended in.
    """
    from recommender.hybrid import model_for

    index, store = catalog.index, catalog.store
    boost, best = {}, {}
    model = model_for(store, user)
    if model is not None:
        seeds = {t: LIKE_WEIGHT for t in station.ids("like")}
        for t in [*station.ids("heard"), *station.seed.tracks]:
            seeds[t] = seeds.get(t, 0.0) + HEARD_WEIGHT
        boost, best = model.scores(seeds)
    pool = index.query(direction(index, station).astype(np.float32), k=min(len(index), POOL))
    candidates = list(dict.fromkeys([t for t, _ in pool] + list(boost)[:POOL]))
    artists = store.tracks(track_ids=candidates + [e.track_id for e in station.events]).set_index("track_id")
    picks = next_songs(index, station, k=k, artists=artists["artist"].to_dict(), boost=boost, exclude=exclude)
    titles = store.tracks(
        track_ids=[*station.seed.tracks, *(e.track_id for e in station.events), *best.values()]
    ).set_index("track_id")["title"]
    because = {
        p.track_id: f"listeners who played “{titles.get(best[p.track_id], best[p.track_id])}” also played it"
        for p in picks
        if p.track_id in best and HYBRID_WEIGHT * boost[p.track_id] > 0.1
    }
    picks = reasons(index, station, picks, titles.to_dict(), because=because)
    return catalog.results([(p.track_id, p.score) for p in picks], reasons=[p.reason for p in picks])
