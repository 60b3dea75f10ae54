"""Discovery commands: ``discover``, ``mix``, ``radio`` and ``skip``.

The command line is the server's owner: ``radio`` and ``skip`` take ``--user`` without a PIN.

- ``discover [-n N]``: sonic playlists (``recommender.discover``);
- ``mix --add ID … [--subtract ID …] [--tag TAG …] [-k 10]``: songs nearest a mix
  (``recommender.alchemy``; ``--tag=-drums`` asks for less drums);
- ``radio --user NAME (--from ID | --tag TAG) [-k N]`` starts (or restarts) a station and
  shows its next songs; without ``--from``/``--tag`` it continues the station, steered by the
  plays (``play``: heard to the end), likes and skips made since it started;
- ``skip --user NAME --track ID``: the song was skipped (the station moves away from it).
"""

from __future__ import annotations

import pandas as pd

from recommender.cli.common import (
    RESULT_COLS,
    add_common,
    emit,
    open_catalog,
    results_json,
    table,
    track_id_type,
    user_name,
    whole,
)


def discover_parser(sub) -> None:
    from recommender.discover import MAX_PLAYLISTS

    d = sub.add_parser("discover", help="sonic playlists: the catalog's songs grouped by how they sound")
    add_common(d, json_flag=True)
    d.add_argument(
        "-n",
        type=whole(2, MAX_PLAYLISTS),
        default=None,
        help="this many playlists (default: the best number)",
    )


def mix_parser(sub) -> None:
    from recommender.alchemy import MAX_K

    m = sub.add_parser("mix", help="songs nearest a mix of songs, minus others, plus or minus tags")
    add_common(m, json_flag=True)
    m.add_argument(
        "--add", type=track_id_type, action="append", default=[], help="a song in the mix (repeatable)"
    )
    m.add_argument(
        "--subtract", type=track_id_type, action="append", default=[], help="a song taken out (repeatable)"
    )
    m.add_argument(
        "--tag",
        action="append",
        default=[],
        help="more of a tag (--tag piano) or less (--tag=-drums); repeatable",
    )
    m.add_argument("-k", type=whole(1, MAX_K), default=10, help="number of results (default 10)")


def radio_parser(sub) -> None:
    from recommender.radio import MAX_K

    r = sub.add_parser("radio", help="a radio that learns: start a station, or continue it")
    add_common(r, json_flag=True)
    r.add_argument("--user", required=True, help="profile name")
    start = r.add_mutually_exclusive_group()
    start.add_argument(
        "--from", dest="from_id", type=track_id_type, default=None, help="start from this song"
    )
    start.add_argument("--tag", default=None, help="start from a tag")
    r.add_argument("-k", type=whole(1, MAX_K), default=5, help="next songs to show (default 5)")


def skip_parser(sub) -> None:
    s = sub.add_parser("skip", help="a song was skipped: the radio moves away from its sound")
    add_common(s, json_flag=True)
    s.add_argument("--user", required=True, help="profile name")
    s.add_argument("--track", type=track_id_type, required=True, help="track id")


def _rows(frame: pd.DataFrame, *, reason: bool = False) -> list[dict]:
    rows = results_json(frame[RESULT_COLS + (["reason"] if reason else [])])
    for row in rows:
        row["score"] = round(row["score"], 3)
    return rows


def cmd_discover(args) -> None:
    from recommender.discover import discover_catalog

    found = discover_catalog(open_catalog(args), n=args.n)

    def text(o: dict) -> str:
        q = o["quality"]
        lines = [
            f"{o['n']} sonic playlists by {o['method']} (silhouette {q['silhouette']:.2f}, "
            f"size balance {q['balance']:.2f}"
            + (f", tag coherence {q['tag_coherence']:.2f}" if "tag_coherence" in q else "")
            + ")"
        ]
        for p in o["playlists"]:
            mix = ", ".join(f"{g} {n}" for g, n in list(p["genres"].items())[:3])
            lines.append(f"  {p['name']} · {p['size']} songs · {mix}")
        return "\n".join(lines)

    emit(args, found.as_json(), text)


def cmd_mix(args) -> None:
    from recommender.alchemy import catalog_mix

    catalog = open_catalog(args)
    mix, frame = catalog_mix(catalog, add=args.add, subtract=args.subtract, tags=args.tag, k=args.k)
    out = {
        "mix": {
            "add": list(mix.add),
            "subtract": list(mix.subtract),
            "tags": [f"{'+' if s > 0 else '-'}{t}" for t, s in mix.tags],
        },
        "results": _rows(frame),
    }
    emit(args, out, lambda o: table(o["results"], RESULT_COLS))


def cmd_radio(args) -> None:
    from recommender.radio import Station, play_next, seed_from, stored_station

    catalog = open_catalog(args)
    store = catalog.store
    if args.from_id is not None or args.tag is not None:
        seed = seed_from(catalog, track=args.from_id, tag=args.tag)
        store.start_station(args.user, seed.text())
        station, started = Station(seed), True
    else:
        station, started = stored_station(catalog, args.user), False
    frame = play_next(catalog, station, k=args.k, user=args.user)
    out = {
        "user": user_name(store, args.user),
        "station": station.seed.text(),
        "started": started,
        "events": {kind: len(station.ids(kind)) for kind in ("heard", "like", "skip")},
        "results": _rows(frame, reason=True),
    }

    def text(o: dict) -> str:
        head = f"station from {station.seed.label} ({'started' if started else 'continued'}): next songs"
        return head + "\n" + table(o["results"], RESULT_COLS + ["reason"])

    emit(args, out, text)


def cmd_skip(args) -> None:
    catalog = open_catalog(args)
    track = catalog.track(args.track)
    catalog.store.record_skip(args.user, args.track)
    out = {"user": user_name(catalog.store, args.user), "track_id": args.track,
           "title": track["title"], "skipped": True}  # fmt: skip
    emit(args, out, lambda o: f"{o['user']} skipped “{o['title']}”")
