"""The radio that learns, and the hybrid, measured with simulated listeners on a built catalog.

**Radio.** Each simulated listener likes one genre (or one sub-style, read from the demo's
album "Name (Sub-style)") and skips everything else. Starting from a random song they
like (or, third case, from a song of another sub-style of the same genre: a start the
station must learn its way out of), three ways of going on are compared over 20 songs: the radio (``radio.next_songs``,
one song at a time, told of each skip or song heard to the end), the fixed list of the
seed's most similar songs (``similar``) under the radio's artist rule (no artist of the
last ``radio.ARTIST_WINDOW`` songs), the same list without that rule (the seed's own
album first), and 20 random songs. Printed: the share of songs kept (not skipped) after
5, 10 and 20 songs, mean over the listeners, and two ceilings: every liked song first (no
artist rule), and the best a listener who knew their liked songs could do under the artist
rule (a sub-style of two artists leaves it every third song).

**Hybrid.** Simulated classes: taste groups, each liking three sub-styles of three
different genres drawn at random (a taste the sound alone does not hold together); each
member played a random 40 % of the group's songs. For each member, "For you" (k=10) is scored on the group's songs they
have not played (precision@10), by sound alone (``profile.recommend_for_user``) and blended
with co-occurrence (``hybrid.recommend``). Plays go to a copy of the home's database.

    python bench/radio.py --home DIR [--listeners 40] [--groups 4] [--members 6] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender import radio  # noqa: E402
from recommender.catalog import Catalog  # noqa: E402
from recommender.discover import substyle  # noqa: E402

CHECKPOINTS = (5, 10, 20)


def listen(
    index, liked: set[int], seed: int, artists: dict[int, str], usual: float, rng
) -> dict[str, list[bool]]:
    """Kept (True) or skipped for each of 20 songs, per way of going on."""
    n = max(CHECKPOINTS)
    station = radio.Station(radio.track_seed(index, seed))
    kept_radio = []
    for _ in range(n):
        picks = radio.next_songs(index, station, k=1, artists=artists, usual=usual)
        if not picks:
            break
        t = picks[0].track_id
        kept_radio.append(t in liked)
        station.note(t, "heard" if t in liked else "skip")
    ranked = [t for t, _ in index.query_track(seed, k=len(index) - 1)]
    fixed = [t in liked for t in ranked[:n]]
    windowed, recent, left = [], [seed], list(ranked)
    while len(windowed) < n and left:  # the same list under the radio's rule: each time the most similar
        banned = {artists[r] for r in recent[-radio.ARTIST_WINDOW :]}  # song left whose artist is not
        t = next((t for t in left if artists[t] not in banned), left[0])  # among the last ARTIST_WINDOW
        left.remove(t)
        windowed.append(t in liked)
        recent.append(t)
    others = [int(t) for t in index.track_ids_ if int(t) != seed]
    rand = [int(t) in liked for t in rng.choice(others, size=n, replace=False)]
    return {"radio": kept_radio, "similar, fixed list, same artist rule": windowed,
            "similar, fixed list, artists repeating": fixed, "random": rand,
            "best possible under the artist rule": best_under_rule(liked, seed, ranked, artists, n)}  # fmt: skip


def best_under_rule(
    liked: set[int], seed: int, ranked: list[int], artists: dict[int, str], n: int
) -> list[bool]:
    """What a listener who knew every liked song would keep under the radio's artist rule: each time a
    liked song whose artist is allowed (of the artist with most liked songs left), else a song it skips."""
    left, recent, kept = [t for t in ranked if t in liked], [seed], []
    for _ in range(n):
        banned = {artists[r] for r in recent[-radio.ARTIST_WINDOW :]}
        allowed = [t for t in left if artists[t] not in banned]
        if allowed:
            count = {a: sum(artists[t] == a for t in left) for a in {artists[t] for t in allowed}}
            t = max(allowed, key=lambda t: count[artists[t]])
            left.remove(t)
        else:  # every liked song left is by an artist just played: one the listener skips
            outside = [t for t in ranked if t not in liked and t not in recent]
            t = next((t for t in outside if artists[t] not in banned), outside[0] if outside else None)
            if t is None:
                break
        kept.append(t in liked)
        recent.append(t)
    return kept


def bench_radio(catalog, *, listeners: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    index = catalog.index
    tracks = catalog.tracks().set_index("track_id").loc[index.track_ids_]
    artists = tracks["artist"].astype(str).to_dict()
    usual = radio.usual_cosine(index)
    out = {}
    genre_of = tracks["genre"].astype(str)
    for level, labels, elsewhere in (
        ("genre", genre_of, False),
        ("sub-style", tracks["album"].map(substyle), False),
        ("sub-style, started from another sub-style of its genre", tracks["album"].map(substyle), True),
    ):
        groups = labels.groupby(labels).groups
        names = [g for g, ids in groups.items() if len(ids) >= 8]
        shares: dict[str, list[list[bool]]] = {}
        for i in range(listeners):
            liked = {int(t) for t in groups[names[i % len(names)]]}
            first = int(rng.choice(sorted(liked)))
            if elsewhere:  # a song of the same genre the listener does not like: the station must learn
                genre = genre_of[first]
                first = int(
                    rng.choice([int(t) for t in genre_of.index[genre_of == genre] if int(t) not in liked])
                )
            for way, kept in listen(index, liked, first, artists, usual, rng).items():
                shares.setdefault(way, []).append(kept)
            shares.setdefault("best possible (every liked song first)", []).append(
                [j < len(liked) - (0 if elsewhere else 1) for j in range(max(CHECKPOINTS))]
            )
        out[level] = {
            way: {str(c): round(float(np.mean([np.mean(k[:c]) for k in kept])), 3) for c in CHECKPOINTS}
            for way, kept in shares.items()
        }
        out[level]["listeners"] = listeners
        out[level]["liked_share_of_catalog"] = round(
            float(np.mean([len(groups[g]) for g in names]) / len(index)), 3
        )
    return out


def bench_hybrid(home: Path, *, groups: int, members: int, seed: int = 0) -> dict:
    from recommender.hybrid import recommend
    from recommender.profile import recommend_for_user

    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "home"
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("audio", "features", "*.lock", "*.wait"))
        catalog = Catalog.open(copy)
        index, store = catalog.index, catalog.store
        tracks = catalog.tracks().set_index("track_id").loc[index.track_ids_]
        styles = tracks.groupby([tracks["genre"], tracks["album"].map(substyle)]).groups
        genres = sorted({g for g, _ in styles})
        users = []
        for g in range(groups):
            chosen = rng.choice(genres, size=3, replace=False)
            songs = []
            for genre in chosen:
                options = [s for s in styles if s[0] == genre]
                songs += [int(t) for t in styles[options[int(rng.integers(len(options)))]]]
            for m in range(members):
                played = [
                    int(t) for t in rng.choice(songs, size=max(2, int(0.4 * len(songs))), replace=False)
                ]
                name = f"group{g}-member{m}"
                for t in played:
                    store.record_play(name, t, source="cli")
                users.append((name, set(songs) - set(played)))
        scores = {"audio alone": [], "hybrid": []}
        for name, held_out in users:
            audio, _ = recommend_for_user(store, index, name, k=10)
            blended, _ = recommend(store, index, name, k=10)
            scores["audio alone"].append(np.mean([r.track_id in held_out for r in audio]))
            scores["hybrid"].append(np.mean([r.track_id in held_out for r in blended]))
            co = sum(r.reason.startswith("listeners who played") for r in blended)
            scores.setdefault("hybrid picks from co-occurrence", []).append(co / max(1, len(blended)))
    return {k: round(float(np.mean(v)), 3) for k, v in scores.items()} | {
        "users": len(users),
        "groups": groups,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--listeners", type=int, default=40)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--members", type=int, default=6)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    catalog = Catalog.open(args.home)
    out = {"songs": len(catalog.index), "radio": bench_radio(catalog, listeners=args.listeners),
           "hybrid": bench_hybrid(args.home, groups=args.groups, members=args.members)}  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{out['songs']} songs")
    for level, table in out["radio"].items():
        print(f"\nlisteners who like one {level} ({table['listeners']} listeners; "
              f"a {level} is {table['liked_share_of_catalog']:.0%} of the catalog): share of songs kept")  # fmt: skip
        print("| way | after 5 | after 10 | after 20 |\n|---|---|---|---|")
        for way, row in table.items():
            if isinstance(row, dict):
                print(f"| {way} | " + " | ".join(f"{row[str(c)]:.0%}" for c in CHECKPOINTS) + " |")
    h = out["hybrid"]
    print(f"\nFor you, precision@10 on the group's unplayed songs ({h['users']} users in {h['groups']} taste groups "
          f"of three sub-styles): audio alone {h['audio alone']:.0%}, hybrid {h['hybrid']:.0%} "
          f"({h['hybrid picks from co-occurrence']:.0%} of its picks from co-occurrence)")  # fmt: skip


if __name__ == "__main__":
    main()
