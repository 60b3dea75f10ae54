"""The command line's discovery commands: ``discover``, ``mix``, ``radio`` and ``skip``.

``add_parsers`` adds them to ``recommender.cli``'s sub-commands and ``COMMANDS`` runs them;
they follow its contract (``--home``, ``--json`` prints one object, errors one line).
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

import json
from collections.abc import Callable

import pandas as pd

RESULT_COLS = ["track_id", "title", "artist", "genre", "score"]
MAX_IDS = 20  # songs one mix takes (recommender.alchemy.MAX_MIX_SONGS)


def add_parsers(sub, *, common: Callable, whole: Callable, track_id: Callable) -> None:
    """Add the commands to ``sub`` (argparse sub-parsers); ``common`` adds --home/--json, ``whole``
    and ``track_id`` are argparse types."""
    from recommender.alchemy import MAX_K as MIX_MAX_K
    from recommender.discover import MAX_PLAYLISTS
    from recommender.radio import MAX_K as RADIO_MAX_K

    d = sub.add_parser("discover", help="sonic playlists: the catalog's songs grouped by how they sound")
    common(d, json_flag=True)
    d.add_argument(
        "-n",
        type=whole(2, MAX_PLAYLISTS),
        default=None,
        help="this many playlists (default: the best number)",
    )

    m = sub.add_parser("mix", help="songs nearest a mix of songs, minus others, plus or minus tags")
    common(m, json_flag=True)
    m.add_argument("--add", type=track_id, action="append", default=[], help="a song in the mix (repeatable)")
    m.add_argument(
        "--subtract", type=track_id, action="append", default=[], help="a song taken out (repeatable)"
    )
    m.add_argument(
        "--tag",
        action="append",
        default=[],
        help="more of a tag (--tag piano) or less (--tag=-drums); repeatable",
    )
    m.add_argument("-k", type=whole(1, MIX_MAX_K), default=10, help="number of results (default 10)")

    r = sub.add_parser("radio", help="a radio that learns: start a station, or continue it")
    common(r, json_flag=True)
    r.add_argument("--user", required=True, help="profile name")
    start = r.add_mutually_exclusive_group()
    start.add_argument("--from", dest="from_id", type=track_id, default=None, help="start from this song")
    start.add_argument("--tag", default=None, help="start from a tag")
    r.add_argument("-k", type=whole(1, RADIO_MAX_K), default=5, help="next songs to show (default 5)")

    s = sub.add_parser("skip", help="a song was skipped: the radio moves away from its sound")
    common(s, json_flag=True)
    s.add_argument("--user", required=True, help="profile name")
    s.add_argument("--track", type=track_id, required=True, help="track id")


def _emit(args, obj: dict, text: Callable[[dict], str]) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str) if getattr(args, "json", False) else text(obj))


def _table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "(nothing)"
    frame = pd.DataFrame(rows)
    return frame[[c for c in columns if c in frame]].to_string(index=False)


def _rows(frame: pd.DataFrame, *, reason: bool = False) -> list[dict]:
    from recommender.catalog import results_json

    rows = results_json(frame[RESULT_COLS + (["reason"] if reason else [])])
    for row in rows:
        row["score"] = round(row["score"], 3)
    return rows


def cmd_discover(args) -> None:
    from recommender.catalog import Catalog
    from recommender.discover import discover_catalog

    found = discover_catalog(Catalog.open(args.home), n=args.n)

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

    _emit(args, found.as_json(), text)


def cmd_mix(args) -> None:
    from recommender.alchemy import catalog_mix
    from recommender.catalog import Catalog

    catalog = Catalog.open(args.home)
    mix, frame = catalog_mix(catalog, add=args.add, subtract=args.subtract, tags=args.tag, k=args.k)
    out = {
        "mix": {
            "add": list(mix.add),
            "subtract": list(mix.subtract),
            "tags": [f"{'+' if s > 0 else '-'}{t}" for t, s in mix.tags],
        },
        "results": _rows(frame),
    }
    _emit(args, out, lambda o: _table(o["results"], RESULT_COLS))


def cmd_radio(args) -> None:
    from recommender.catalog import Catalog
    from recommender.radio import Station, play_next, seed_from, stored_station

    catalog = Catalog.open(args.home)
    store = catalog.store
    if args.from_id is not None or args.tag is not None:
        seed = seed_from(catalog, track=args.from_id, tag=args.tag)
        store.start_station(args.user, seed.text())
        station, started = Station(seed), True
    else:
        station, started = stored_station(catalog, args.user), False
    frame = play_next(catalog, station, k=args.k, user=args.user)
    out = {
        "user": store.user_name(args.user) or args.user.strip(),
        "station": station.seed.text(),
        "started": started,
        "events": {kind: len(station.ids(kind)) for kind in ("heard", "like", "skip")},
        "results": _rows(frame, reason=True),
    }

    def text(o: dict) -> str:
        head = f"station from {station.seed.label} ({'started' if started else 'continued'}): next songs"
        return head + "\n" + _table(o["results"], RESULT_COLS + ["reason"])

    _emit(args, out, text)


def cmd_skip(args) -> None:
    from recommender.catalog import Catalog

    catalog = Catalog.open(args.home)
    track = catalog.track(args.track)
    catalog.store.record_skip(args.user, args.track)
    out = {"user": catalog.store.user_name(args.user) or args.user.strip(), "track_id": args.track,
           "title": track["title"], "skipped": True}  # fmt: skip
    _emit(args, out, lambda o: f"{o['user']} skipped “{o['title']}”")


COMMANDS: dict[str, Callable] = {
    "discover": cmd_discover,
    "mix": cmd_mix,
    "radio": cmd_radio,
    "skip": cmd_skip,
}
