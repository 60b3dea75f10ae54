"""Commands that ask the catalog for songs: search, similar, recommend, path."""

from __future__ import annotations

import sys
from pathlib import Path

from recommender.cli.common import (
    MAX_K,
    MAX_STEPS,
    RESULT_COLS,
    add_common,
    emit,
    open_catalog,
    recommendation_results,
    results_json,
    table,
    track_id_type,
    whole,
)
from recommender.errors import RecommenderError, UserInputError

PATH_SCORE = (
    "score: the cosine similarity of each song to the previous one in the path (1 = identical; "
    "1.0 for the first song); the lowest score is the path's largest step."
)


def search_parser(sub) -> None:
    s = sub.add_parser("search", help="find tracks by title, artist or album")
    add_common(s, json_flag=True)
    s.add_argument("--query", default=None, help="words of a title, artist or album (typos forgiven)")
    s.add_argument("--genre", default=None, help="only songs of this genre")
    s.add_argument(
        "--tag", default=None, help="only songs in which the model hears this tag most (e.g. guitar, mellow)"
    )
    s.add_argument(
        "--sounds",
        default=None,
        metavar="WORDS",
        help="describe the sound in free words (e.g. 'calm acoustic guitar'): songs ranked by the tags they name",
    )
    s.add_argument(
        "-k",
        type=whole(1, MAX_K),
        default=None,
        help="at most this many results (default 20; all without --query, --tag or --sounds)",
    )


def similar_parser(sub) -> None:
    sim = sub.add_parser("similar", help="songs that sound like a track or an audio file")
    add_common(sim, json_flag=True)
    what = sim.add_mutually_exclusive_group(required=True)
    what.add_argument("--track", type=track_id_type, help="a catalog track id (see search)")
    what.add_argument("--file", type=Path, help="an audio file to listen to (3 s or more)")
    sim.add_argument("-k", type=whole(1, MAX_K), default=10, help="how many songs (default 10)")
    sim.add_argument("--genre", default=None, help="only songs of this genre")
    _add_other_than(sim, "the track's")


def recommend_parser(sub) -> None:
    r = sub.add_parser("recommend", help="songs for a user, from their plays, likes and playlists")
    add_common(r, json_flag=True)
    r.add_argument("--user", required=True, help="the profile name")
    r.add_argument("-k", type=whole(1, MAX_K), default=10, help="how many songs (default 10)")
    r.add_argument("--genre", default=None, help="only songs of this genre")
    r.add_argument("--one-per-artist", action="store_true", help="at most one song per artist")
    _add_other_than(r, "the user's played or liked")


def _add_other_than(parser, whose: str) -> None:
    """``--other-albums`` / ``--other-artists``: leave out the seed songs' albums or artists."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--other-albums", dest="other_than", action="store_const", const="album",
                       help=f"never a song of {whose} albums")  # fmt: skip
    group.add_argument("--other-artists", dest="other_than", action="store_const", const="artist",
                       help=f"never a song of {whose} artists")  # fmt: skip


def path_parser(sub) -> None:
    pa = sub.add_parser(
        "path",
        help="a playlist moving smoothly from one song to another",
        description="Songs that walk from one song to another through the songs that lie between them, "
        "each step as small as the catalog allows, no artist twice in a row where it can be helped. "
        + PATH_SCORE,
    )
    add_common(pa, json_flag=True)
    pa.add_argument(
        "--from", dest="from_id", type=track_id_type, required=True, help="the first song's track id"
    )
    pa.add_argument("--to", dest="to_id", type=track_id_type, required=True, help="the last song's track id")
    pa.add_argument(
        "--steps",
        type=whole(2, MAX_STEPS),
        default=8,
        help="songs in the path, both ends included (default 8)",
    )


def cmd_search(args) -> None:
    catalog = open_catalog(args)
    k = args.k if args.k is not None else (20 if args.query or args.tag or args.sounds else None)
    cols = ["track_id", "title", "artist", "album", "genre"]
    out: dict = {}
    if args.sounds is not None:
        if args.query or args.tag:
            raise RecommenderError("--sounds ranks the whole catalog: use it without --query and --tag")
        frame, matched = catalog.describe(args.sounds, k=k or 20, genre=args.genre)
        out["tags"] = matched
        print(f"the model hears for {args.sounds.strip()!r}: {', '.join(matched)}", file=sys.stderr)
    else:
        frame = catalog.search(args.query, genre=args.genre, tag=args.tag, k=k)
    shown = cols + ["score"] + (["tag_probability"] if "tag_probability" in frame else [])
    out["results"] = results_json(frame[[c for c in shown if c in frame]])
    emit(args, out, lambda o: table(o["results"], cols + [c for c in ("tag_probability",) if c in frame]))


def cmd_similar(args) -> None:
    catalog = open_catalog(args)
    out: dict = {}
    if args.file is not None:
        if args.other_than is not None:
            raise UserInputError(
                f"--other-{args.other_than}s needs --track: an audio file has no album or artist in the catalog"
            )
        clip = catalog.analyse(args.file)
        frame = catalog.similar_to_clip(clip, k=args.k, genre=args.genre)
        novelty = catalog.novelty_of(clip)
        out["query"] = {
            "file": str(args.file),
            "genre_probabilities": clip.genre_probabilities,
            "tags": clip.top_tags(),
            "unlike_catalog": novelty.unlike,
            "unlike_reason": novelty.reason,
            "unlike_message": novelty.message,
        }
    else:
        frame = catalog.similar(args.track, k=args.k, genre=args.genre, other_than=args.other_than)
        out["query"] = {"track_id": args.track, **catalog.track(args.track)}
    out["results"] = results_json(frame[RESULT_COLS])
    for row in out["results"]:
        row["score"] = round(row["score"], 3)
    emit(args, out, _similar_text)


def _similar_text(out: dict) -> str:
    q, lines = out["query"], []
    if "file" in q:
        genres = list(q["genre_probabilities"].items())[:3]
        if genres and not q["unlike_catalog"]:  # no genre fits a clip unlike the catalog
            lines.append("sounds most like " + ", ".join(f"{g} ({p:.0%})" for g, p in genres))
        lines.append("the model hears: " + ", ".join(f"{t} ({p:.0%})" for t, p in q["tags"].items()))
        if q["unlike_catalog"]:
            lines.append(
                f"unlike this catalog: {q.get('unlike_message') or 'far from every song in it'}; "
                "no genre fits it, and these are only the least different songs"
            )
    else:
        lines.append(f"songs that sound like “{q['title']}” by {q['artist']} ({q['genre']}):")
    return "\n".join([*lines, table(out["results"], RESULT_COLS)])


def cmd_recommend(args) -> None:
    from recommender.hybrid import recommend

    catalog = open_catalog(args)
    recs, cold = recommend(
        catalog.store,
        catalog.index,
        args.user,
        k=args.k,
        genre=args.genre,
        one_per_artist=args.one_per_artist,
        other_than=args.other_than,
    )
    out = recommendation_results(catalog, [(r.track_id, r.score, r.reason) for r in recs])
    out["cold_start"] = cold
    if cold:
        out["message"] = "no listening history yet: popular and diverse picks across genres"
        print(out["message"], file=sys.stderr)
    emit(args, out, lambda o: table(o["results"], RESULT_COLS + ["reason"]))


def cmd_path(args) -> None:
    from recommender.song_path import song_path  # scikit-learn: imported only when asked

    catalog = open_catalog(args)
    catalog.track(args.from_id)
    catalog.track(args.to_id)
    steps = song_path(catalog.index, args.from_id, args.to_id, steps=args.steps, store=catalog.store)
    out = recommendation_results(catalog, [(tid, score, "") for tid, score in steps])
    emit(args, out, lambda o: table(o["results"], RESULT_COLS) + "\n" + PATH_SCORE)
