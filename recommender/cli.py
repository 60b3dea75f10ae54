"""``python -m recommender …``: build a catalog, then ask it questions.

Every command takes ``--home DIR`` (default ``$MUSICREC_HOME``, else ``./artifacts``).
Commands that print results take ``--json`` and then print exactly one JSON object on
stdout; logs and progress go to stderr. Exit code 0 on success; on failure a one-line
message on stderr and exit code 1 (2 for bad command-line usage). When the program
reading the output stops early (``… | head -1``), the command ends quietly with 141, the
status of a process ended by SIGPIPE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from recommender.errors import NoUsableAudioError, RecommenderError
from recommender.playlists import FORMATS
from recommender.words import plural


def _add_common(p: argparse.ArgumentParser, *, json_flag: bool = False) -> None:
    p.add_argument(
        "--home", type=Path, default=None, help="artifacts folder (default: $MUSICREC_HOME or ./artifacts)"
    )
    if json_flag:
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


# Ranges of the numeric options: what makes sense, and what NumPy, Keras and DuckDB can take.
MAX_K = 1_000_000  # results; a catalog of every FMA track has 106 574
MAX_TRACKS = 100_000  # demo songs to synthesise
MAX_SEED = 2**32 - 1  # NumPy, Keras and UMAP seeds
MAX_EPOCHS = 10_000
MAX_WORKERS = 1024
MAX_STEPS = 100  # songs in a path (recommender.profile.MAX_PATH_STEPS)

PATH_SCORE = (
    "score: the cosine similarity of each song to the previous one in the path (1 = identical; "
    "1.0 for the first song); the lowest score is the path's largest step."
)


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, or a message saying the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high:,}, got {value}")
        return value

    return parse


def _track_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a track id is a whole number, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m recommender", description="A music recommender that listens."
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="build a catalog: features, model, embeddings, map, index")
    _add_common(b, json_flag=True)
    b.add_argument(
        "--source",
        choices=("demo", "fma", "folder"),
        default="demo",
        help="where the songs come from (default demo)",
    )
    b.add_argument(
        "--tracks", type=_whole(1, MAX_TRACKS), default=None, help="demo: number of songs to synthesise"
    )
    b.add_argument(
        "--seed",
        type=_whole(0, MAX_SEED),
        default=0,
        help="seed of the demo, the splits and training (default 0)",
    )
    b.add_argument("--metadata", type=Path, help="fma: the fma_metadata folder (tracks.csv, genres.csv)")
    b.add_argument(
        "--audio", type=Path, help="fma: fma_small/medium/large folder; folder: any folder of audio"
    )
    b.add_argument(
        "--subset",
        choices=("small", "medium", "large"),
        default="small",
        help="fma: the subset to build (default small)",
    )
    b.add_argument(
        "--epochs",
        type=_whole(1, MAX_EPOCHS),
        default=30,
        help="cnn1d/seed-2d: at most this many epochs (default 30)",
    )
    b.add_argument(
        "--arch",
        choices=("musicnn", "cnn1d", "seed-2d"),
        default=None,
        help="musicnn (default): the pretrained backbone, with a head trained on the genres when there are "
        "any; cnn1d or seed-2d: a CNN trained from scratch on the genres (for comparison)",
    )
    b.add_argument(
        "--workers", type=_whole(1, MAX_WORKERS), default=None, help="feature processes (default: all cores)"
    )
    b.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="a Dask scheduler (tcp://host:8786) whose workers compute the features (default: $MUSICREC_SCHEDULER, "
        "else a local cluster of --workers processes)",
    )
    b.add_argument("--model", type=Path, help="use this .keras model instead of training one")
    b.add_argument(
        "--no-train",
        action="store_true",
        help="do not train: with --model use it as it is; else the pretrained backbone's embedding alone",
    )

    i = sub.add_parser("info", help="what the catalog holds")
    _add_common(i, json_flag=True)

    s = sub.add_parser("search", help="find tracks by title, artist or album")
    _add_common(s, json_flag=True)
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
        type=_whole(1, MAX_K),
        default=None,
        help="at most this many results (default 20; all without --query, --tag or --sounds)",
    )

    e = sub.add_parser("evaluate", help="classifier accuracy and retrieval precision vs baselines")
    _add_common(e, json_flag=True)

    sim = sub.add_parser("similar", help="songs that sound like a track or an audio file")
    _add_common(sim, json_flag=True)
    what = sim.add_mutually_exclusive_group(required=True)
    what.add_argument("--track", type=_track_id, help="a catalog track id (see search)")
    what.add_argument("--file", type=Path, help="an audio file to listen to (3 s or more)")
    sim.add_argument("-k", type=_whole(1, MAX_K), default=10, help="how many songs (default 10)")
    sim.add_argument("--genre", default=None, help="only songs of this genre")
    _add_other_than(sim, "the track's")

    for name, text in (("play", "record that a user played a track"), ("like", "like a track")):
        a = sub.add_parser(name, help=text)
        _add_common(a, json_flag=True)
        a.add_argument("--user", required=True, help="the profile name (created on first use)")
        a.add_argument("--track", type=_track_id, required=True, help="a catalog track id")

    pl = sub.add_parser(
        "playlist",
        help="a user's playlists; export one as an M3U8 or XSPF file, or import one",
        description="export writes extended M3U8 (#EXTINF lines, one path a line) or XSPF (XML, file:// URIs); "
        "paths are absolute unless --relative. import reads an .m3u, .m3u8 or .xspf file whose entries are "
        "the catalog's audio files (absolute paths, file:// URIs, or paths relative to the file's folder or "
        "the home); entries that are no song of the catalog are skipped and listed.",
    )
    _add_common(pl, json_flag=True)
    pl.add_argument(
        "action",
        choices=("create", "add", "remove", "show", "list", "delete", "export", "import"),
        help="what to do with the user's playlists",
    )
    pl.add_argument("--user", required=True, help="the profile name")
    pl.add_argument("--name", help="the playlist name")
    pl.add_argument("--track", type=_track_id, help="add/remove: a catalog track id")
    pl.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="export: m3u8 or xspf (default: --out's ending, else m3u8)",
    )
    pl.add_argument("--out", type=Path, help="export: the file to write (default: the playlist on stdout)")
    pl.add_argument("--force", action="store_true", help="export: replace --out if it exists (else refused)")
    pl.add_argument(
        "--relative",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="export: paths relative to DIR (default: --out's folder, else the home); players resolve them "
        "from the playlist file's folder, so save it there",
    )
    pl.add_argument("--file", type=Path, help="import: the .m3u, .m3u8 or .xspf file to read")

    pr = sub.add_parser(
        "profile",
        help="the owner's care of a profile: set a new PIN (a forgotten one)",
        description="pin: give the profile a new PIN, read from stdin (one line; typed twice at a terminal). "
        "The command line runs on the server, as its owner: no PIN is asked for.",
    )
    _add_common(pr, json_flag=True)
    pr.add_argument("action", choices=("pin",), help="what to do with the profile")
    pr.add_argument("--user", required=True, help="the profile name")
    pr.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin even at a terminal")

    h = sub.add_parser("history", help="a user's plays, newest first")
    _add_common(h, json_flag=True)
    h.add_argument("--user", required=True, help="the profile name")
    h.add_argument("-k", type=_whole(1, MAX_K), default=None, help="only the newest k plays (default all)")

    r = sub.add_parser("recommend", help="songs for a user, from their plays, likes and playlists")
    _add_common(r, json_flag=True)
    r.add_argument("--user", required=True, help="the profile name")
    r.add_argument("-k", type=_whole(1, MAX_K), default=10, help="how many songs (default 10)")
    r.add_argument("--genre", default=None, help="only songs of this genre")
    r.add_argument("--one-per-artist", action="store_true", help="at most one song per artist")
    _add_other_than(r, "the user's played or liked")

    pa = sub.add_parser(
        "path",
        help="a playlist moving smoothly from one song to another",
        description="Songs that walk from one song to another through the songs that lie between them, "
        "each step as small as the catalog allows, no artist twice in a row where it can be helped. "
        + PATH_SCORE,
    )
    _add_common(pa, json_flag=True)
    pa.add_argument("--from", dest="from_id", type=_track_id, required=True, help="the first song's track id")
    pa.add_argument("--to", dest="to_id", type=_track_id, required=True, help="the last song's track id")
    pa.add_argument(
        "--steps",
        type=_whole(2, MAX_STEPS),
        default=8,
        help="songs in the path, both ends included (default 8)",
    )
    _owner_parser(sub)
    _add_parser_add(sub)
    return root


def _owner_parser(sub) -> None:
    o = sub.add_parser(
        "owner",
        help="the app's owner: password, music folders, trust in browsers on this machine",
        description="The app's owner builds catalogs, cancels builds, loads models and types server paths; "
        "everyone else is a visitor. A browser on this machine is the owner (unless trust-loopback is off); "
        "anyone else unlocks with the owner's password. Typed folders must lie inside the music folders.",
    )
    _add_common(o, json_flag=True)
    o.add_argument(
        "action",
        choices=("show", "set-password", "clear-password", "add-root", "remove-root", "trust-loopback"),
        help="show the settings; set-password (read from stdin); clear-password; add-root DIR / remove-root DIR "
        "(a music folder); trust-loopback yes|no",
    )
    o.add_argument(
        "value", nargs="?", default=None, help="add-root / remove-root: DIR; trust-loopback: yes|no"
    )


# ---- output -----------------------------------------------------------------------------
def _emit(args, obj: dict, text: Callable[[dict], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(obj, ensure_ascii=False, default=str))
    else:
        print(text(obj))


def _table(rows: list[dict], columns: Sequence[str]) -> str:
    if not rows:
        return "(nothing)"
    frame = pd.DataFrame(rows)
    cols = [c for c in columns if c in frame]
    return frame[cols].to_string(index=False)


# ---- commands -----------------------------------------------------------------------------
def cmd_build(args) -> None:
    from recommender.build import BuildOptions, TqdmProgress, build
    from recommender.catalog import Catalog

    options = BuildOptions(
        source=args.source,
        tracks=args.tracks,
        seed=args.seed,
        metadata=args.metadata,
        audio=args.audio,
        subset=args.subset,
        epochs=args.epochs,
        arch=args.arch,
        workers=args.workers,
        scheduler=args.scheduler,
        model=args.model,
        no_train=args.no_train,
    )
    progress = TqdmProgress()
    try:
        result = build(options, home=args.home, progress=progress)
    except NoUsableAudioError as error:  # the reasons went to stderr; --json gets them too
        if args.json:
            print(
                json.dumps(
                    {"tracks": 0, "skipped_files": error.skipped, "error": str(error)}, ensure_ascii=False
                )
            )
        raise
    finally:
        progress.close()
    summary = Catalog.open(args.home).summary()
    summary["skipped_files"] = result.skipped
    _emit(args, summary, _info_text)


def _info_text(info: dict) -> str:
    lines = [
        f"{info['source_label']}: {info['tracks']} tracks in {len(info['genres'])} genres ({info['home']})",
        "  " + ", ".join(f"{g} {n}" for g, n in info["genres"].items()),
    ]
    if info.get("synthesised"):
        lines.append(
            "  The audio of this catalog is synthesised by the project itself; it is not real music."
        )
    m = info.get("model")
    if m:
        acc = m.get("test_accuracy")
        acc_text = f", test accuracy {acc:.1%}" if isinstance(acc, float) else ""
        about = m.get("description") or m["arch"]
        lines.append(f"  model {m['name']}: {about}, {m['embedding_dim']}-d embeddings{acc_text}")
    else:
        lines.append("  no model yet")
    if info.get("skipped"):
        lines.append(f"  {info['skipped']} files skipped (unreadable, missing or too short)")
    return "\n".join(lines)


def cmd_info(args) -> None:
    from recommender.catalog import Catalog

    _emit(args, Catalog.open(args.home).summary(), _info_text)


def cmd_search(args) -> None:
    from recommender.catalog import Catalog, results_json

    catalog = Catalog.open(args.home)
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
    _emit(args, out, lambda o: _table(o["results"], cols + [c for c in ("tag_probability",) if c in frame]))


def cmd_evaluate(args) -> None:
    from recommender.catalog import Catalog

    metrics = Catalog.open(args.home).metrics()

    def text(m: dict) -> str:
        if m.get("note"):
            return m["note"]
        c, r = m.get("classifier"), m["retrieval"]
        lines = []
        if c:
            lines.append(
                f"test accuracy {_percent(c['test_accuracy'])} on {c['n_test']} tracks; "
                f"validation accuracy {_percent(c['val_accuracy'])}"
            )
        lines.append("genre precision@10 of the test songs' neighbours:")
        lines += [f"  {RETRIEVAL_NAMES.get(k, k):<32} {v['genre_precision_at_10']:.3f}" for k, v in r.items()]
        across = {
            k: v["cross_album_precision_at_10"] for k, v in r.items() if "cross_album_precision_at_10" in v
        }
        if any(v is not None for v in across.values()):
            lines.append("the same over neighbours from other albums only:")
            lines += [
                f"  {RETRIEVAL_NAMES.get(k, k):<32} {v:.3f}" for k, v in across.items() if v is not None
            ]
        if m.get("classifiers"):
            lines.append("test accuracy:")
            lines += [
                f"  {RETRIEVAL_NAMES.get(k, k):<32} {_percent(v['test_accuracy'])}"
                for k, v in m["classifiers"].items()
            ]
        if c:
            lines.append("per genre (the model in use):")
            lines += [f"  {g}: {_percent(v['accuracy'])} of {v['n']}" for g, v in c["per_genre"].items()]
        return "\n".join(lines)

    _emit(args, metrics, text)


RESULT_COLS = ["track_id", "title", "artist", "genre", "score"]
RETRIEVAL_NAMES = {
    "cnn": "the model in use",
    "backbone": "pretrained backbone alone",
    "backbone_head": "backbone + head",
    "cnn1d": "cnn1d from scratch",
    "seed-2d": "seed-2d from scratch",
    "mfcc_baseline": "MFCC baseline",
    "random": "random picks",
}


def _percent(value) -> str:
    return f"{value:.1%}" if isinstance(value, float) else "—"


def _add_other_than(parser, whose: str) -> None:
    """``--other-albums`` / ``--other-artists``: leave out the seed songs' albums or artists."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--other-albums", dest="other_than", action="store_const", const="album",
                       help=f"never a song of {whose} albums")  # fmt: skip
    group.add_argument("--other-artists", dest="other_than", action="store_const", const="artist",
                       help=f"never a song of {whose} artists")  # fmt: skip


def cmd_similar(args) -> None:
    from recommender.catalog import Catalog, results_json
    from recommender.errors import UserInputError

    catalog = Catalog.open(args.home)
    out: dict = {}
    if args.file is not None:
        if args.other_than is not None:
            raise UserInputError(
                f"--other-{args.other_than}s needs --track: an audio file has no album or artist in the catalog"
            )
        clip = catalog.analyse(args.file)
        frame = catalog.similar_to_clip(clip, k=args.k, genre=args.genre)
        out["query"] = {
            "file": str(args.file),
            "genre_probabilities": clip.genre_probabilities,
            "tags": clip.top_tags(),
            "unlike_catalog": catalog.unlike_catalog(clip),
        }
    else:
        frame = catalog.similar(args.track, k=args.k, genre=args.genre, other_than=args.other_than)
        out["query"] = {"track_id": args.track, **catalog.track(args.track)}
    out["results"] = results_json(frame[RESULT_COLS])
    for row in out["results"]:
        row["score"] = round(row["score"], 3)
    _emit(args, out, _similar_text)


def _similar_text(out: dict) -> str:
    q, lines = out["query"], []
    if "file" in q:
        genres = list(q["genre_probabilities"].items())[:3]
        if genres:
            lines.append("sounds most like " + ", ".join(f"{g} ({p:.0%})" for g, p in genres))
        lines.append("the model hears: " + ", ".join(f"{t} ({p:.0%})" for t, p in q["tags"].items()))
        if q["unlike_catalog"]:
            lines.append(
                "unlike anything in this catalog: even its best match is far below how close catalog songs "
                "usually are to each other, so these are only the least different songs"
            )
    else:
        lines.append(f"songs that sound like “{q['title']}” by {q['artist']} ({q['genre']}):")
    return "\n".join([*lines, _table(out["results"], RESULT_COLS)])


def _store(args):
    from recommender.catalog import Catalog

    return Catalog.open(args.home)


def _user(store, typed: str) -> str:
    """The profile's name as stored ("Alice" for --user alice), else as typed, trimmed."""
    return store.user_name(typed) or typed.strip()


def cmd_play(args) -> None:
    catalog = _store(args)
    track = catalog.track(args.track)
    catalog.store.record_play(args.user, args.track, source="cli")
    _emit(
        args,
        {"user": _user(catalog.store, args.user), "track_id": args.track, "title": track["title"],
         "artist": track["artist"], "played": True},
        lambda o: f"{o['user']} played “{o['title']}” by {o['artist']}",
    )  # fmt: skip


def cmd_like(args) -> None:
    catalog = _store(args)
    track = catalog.track(args.track)
    catalog.store.like(args.user, args.track)
    _emit(
        args,
        {"user": _user(catalog.store, args.user), "track_id": args.track, "title": track["title"],
         "artist": track["artist"], "liked": True},
        lambda o: f"{o['user']} likes “{o['title']}” by {o['artist']}",
    )  # fmt: skip


def _read_pin(args) -> str:
    """The new PIN: one line of stdin, or typed twice (unseen) at a terminal."""
    if args.pin_stdin or not sys.stdin.isatty():
        return sys.stdin.readline(1024).rstrip("\r\n")
    import getpass

    pin = getpass.getpass("New PIN: ")
    if getpass.getpass("The same PIN again: ") != pin:
        raise RecommenderError("the two PINs differ; nothing was changed")
    return pin


def cmd_profile(args) -> None:
    store = _store(args).store
    if store.user_name(args.user) is None:
        raise RecommenderError(f"no profile named {args.user.strip()!r}")
    name = store.set_pin(args.user, _read_pin(args))
    _emit(args, {"user": name, "pin_set": True}, lambda o: f"{o['user']}: the new PIN is set")


def _check_playlist_options(args) -> None:
    """Options that belong to another action are a mistake worth saying, not something to ignore."""
    act = args.action
    if act != "list" and not args.name:
        raise RecommenderError(f"playlist {act} needs --name")
    if act in ("add", "remove") and args.track is None:
        raise RecommenderError(f"playlist {act} needs --track ID")
    if act == "import" and args.file is None:
        raise RecommenderError("playlist import needs --file PLAYLIST (.m3u, .m3u8 or .xspf)")
    owners = {"--file": ("import", args.file is not None)}
    for option, given in (("--out", args.out), ("--format", args.format), ("--relative", args.relative)):
        owners[option] = ("export", given is not None)
    owners["--force"] = ("export", args.force)
    for option, (owner, given) in owners.items():
        if given and act != owner:
            raise RecommenderError(f"{option} is for playlist {owner}, not playlist {act}")


def cmd_playlist(args) -> None:
    from recommender.catalog import results_json

    _check_playlist_options(args)
    catalog = _store(args)
    store = catalog.store
    act, user, name = args.action, args.user, args.name
    if act == "export":
        _playlist_export(args, catalog)
        return
    if act == "import":
        _playlist_import(args, catalog)
        return
    if act == "create":
        store.create_playlist(user, name)
    elif act == "add":
        store.add_to_playlist(user, name, args.track)
    elif act == "remove":
        store.remove_from_playlist(user, name, args.track)
    elif act == "delete":
        store.delete_playlist(user, name)
    user = _user(store, user)
    if act == "list":
        rows = results_json(store.playlists(user))
        _emit(args, {"user": user, "playlists": rows}, lambda o: _table(o["playlists"], ["name", "n_tracks"]))
        return
    if act == "delete":
        _emit(args, {"user": user, "name": name, "deleted": True}, lambda o: f"deleted playlist {o['name']}")
        return
    rows = results_json(store.playlist(user, name))
    cols = ["position", "track_id", "title", "artist", "genre"]

    def text(o: dict) -> str:
        head = f"playlist {o['name']!r} of {o['user']}: {plural(len(o['results']), 'song')}"
        return head + ("\n" + _table(o["results"], cols) if o["results"] else "")

    _emit(args, {"user": user, "name": name, "results": rows}, text)


def _playlist_export(args, catalog) -> None:
    from recommender.playlists import format_of, write_file

    fmt = args.format or format_of(args.out)
    relative = None
    if args.relative is not None:
        relative = (
            Path(args.relative) if args.relative else (args.out.parent if args.out else catalog.paths.home)
        )
    text, entries = catalog.export_playlist(args.user, args.name, fmt=fmt, relative_to=relative)
    out = {
        "user": _user(catalog.store, args.user),
        "name": catalog.playlist_name(args.user, args.name),
        "format": fmt,
        "path": None,
        "entries": entries,
    }
    if args.out is None:  # the playlist itself on stdout; with --json, inside the one JSON object
        if args.json:
            _emit(args, {**out, "playlist": text}, str)
        else:
            sys.stdout.write(text)
        return
    out["path"] = str(write_file(args.out, text, force=args.force))
    _emit(
        args,
        out,
        lambda o: (
            f"wrote {plural(o['entries'], 'song')} of playlist {o['name']!r} to {o['path']} ({o['format']})"
        ),
    )


def _playlist_import(args, catalog) -> None:
    from recommender.playlists import MAX_IMPORT_BYTES

    path = args.file
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_IMPORT_BYTES + 1)  # one byte more: too large is refused, not read whole
    except OSError as error:
        raise RecommenderError(f"cannot read {path}: {error.strerror or error}") from None
    found = catalog.import_playlist(
        args.user, args.name, data, file_name=path.name, bases=(Path(os.path.abspath(path)).parent,)
    )
    out = {
        "user": _user(catalog.store, args.user),
        "name": catalog.playlist_name(args.user, args.name),
        "imported": len(found.track_ids),
        "skipped": found.skipped,
        "repeated": found.repeated,
    }

    def text(o: dict) -> str:
        lines = [f"imported {plural(o['imported'], 'song')} into playlist {o['name']!r} of {o['user']}"]
        lines += [f"  skipped (no song of this catalog): {e}" for e in o["skipped"]]
        lines += [f"  skipped (listed before): {e}" for e in o["repeated"]]
        return "\n".join(lines)

    _emit(args, out, text)


def cmd_history(args) -> None:
    from recommender.catalog import results_json

    store = _store(args).store
    frame = store.history(args.user, k=args.k)
    cols = ["track_id", "title", "played_at", "source"]
    rows = results_json(frame[[c for c in cols + ["artist", "genre"] if c in frame]])

    def text(o: dict) -> str:  # times to the second; the JSON keeps them whole
        shown = [r | {"played_at": str(r["played_at"])[:19].replace("T", " ")} for r in o["results"]]
        return _table(shown, cols)

    _emit(args, {"user": _user(store, args.user), "results": rows}, text)


def cmd_recommend(args) -> None:
    from recommender.profile import recommend_for_user

    catalog = _store(args)
    recs, cold = recommend_for_user(
        catalog.store,
        catalog.index,
        args.user,
        k=args.k,
        genre=args.genre,
        one_per_artist=args.one_per_artist,
        other_than=args.other_than,
    )
    out = _recommendation_results(catalog, [(r.track_id, r.score, r.reason) for r in recs])
    out["cold_start"] = cold
    if cold:
        out["message"] = "no listening history yet: popular and diverse picks across genres"
        print(out["message"], file=sys.stderr)
    _emit(args, out, lambda o: _table(o["results"], RESULT_COLS + ["reason"]))


def cmd_path(args) -> None:
    from recommender.profile import song_path

    catalog = _store(args)
    catalog.track(args.from_id)
    catalog.track(args.to_id)
    steps = song_path(catalog.index, args.from_id, args.to_id, steps=args.steps, store=catalog.store)
    out = _recommendation_results(catalog, [(tid, score, "") for tid, score in steps])
    _emit(args, out, lambda o: _table(o["results"], RESULT_COLS) + "\n" + PATH_SCORE)


def _recommendation_results(catalog, triples) -> dict:
    from recommender.catalog import results_json

    tracks = catalog.tracks().set_index("track_id")
    rows = []
    for track_id, score, reason in triples:
        t = tracks.loc[track_id]
        row = {
            "track_id": int(track_id),
            "title": t["title"],
            "artist": t["artist"],
            "genre": t["genre"],
            "score": round(float(score), 3),
        }
        if reason:
            row["reason"] = reason
        rows.append(row)
    return {"results": results_json(pd.DataFrame(rows)) if rows else []}


def _read_password() -> str:
    """The new owner password: typed twice at a terminal, else the first line of stdin."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("New owner password: ")
        if getpass.getpass("Again: ") != first:
            raise RecommenderError("the two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_owner(args) -> None:
    from recommender import access
    from recommender.errors import UserInputError

    needs_value = {"add-root", "remove-root", "trust-loopback"}
    if args.action in needs_value and args.value is None:
        raise UserInputError(f"owner {args.action} needs a value (see --help)")
    if args.action not in needs_value and args.value is not None:
        raise UserInputError(f"owner {args.action} takes no value")
    done = ""
    if args.action == "set-password":
        access.set_password(_read_password(), args.home)
        done = "the owner password is set"
    elif args.action == "clear-password":
        access.clear_password(args.home)
        done = "the owner password is removed: only a browser on this machine is the owner"
    elif args.action == "add-root":
        done = f"music folder added: {access.add_root(args.value, args.home)}"
    elif args.action == "remove-root":
        if not access.remove_root(args.value, args.home):
            raise UserInputError(f"{args.value} is not an added music folder")
        done = f"music folder removed: {args.value}"
    elif args.action == "trust-loopback":
        choice = args.value.strip().lower()
        if choice not in ("yes", "no"):
            raise UserInputError(f"trust-loopback takes yes or no, got {args.value!r}")
        access.set_trust_loopback(choice == "yes", args.home)
        done = "a browser on this machine is " + ("the owner" if choice == "yes" else "a visitor")
    if done:
        print(done, file=sys.stderr)
    out = {
        "password_set": access.has_password(args.home),
        "roots": [str(r) for r in access.music_roots(args.home)],
        "trust_loopback": access.trusts_loopback(args.home),
    }
    _emit(args, out, _owner_text)


def _owner_text(out: dict) -> str:
    return "\n".join(
        [
            f"owner password: {'set' if out['password_set'] else 'not set'}",
            f"a browser on this machine is {'the owner' if out['trust_loopback'] else 'a visitor'}",
            "music folders:",
            *(f"  {root}" for root in out["roots"]),
        ]
    )


# ---- add: what the app's "Add to the catalog" does ---------------------------------------------------
MAX_ADD_MB = 50  # the largest clip, as the Upload page's limit (.streamlit/config.toml maxUploadSize)


def _add_parser_add(sub) -> None:
    ad = sub.add_parser("add", help="add an audio clip to the catalog, as the app's Upload page does")
    _add_common(ad, json_flag=True)
    ad.add_argument(
        "--file", type=Path, required=True, help=f"the audio file (3 s or more, {MAX_ADD_MB} MB at most)"
    )
    ad.add_argument("--title", default=None, help="its title (default: the file's name)")
    ad.add_argument("--artist", default="", help="its artist (default: Unknown artist)")
    ad.add_argument(
        "--genre", default=None, help="one of the catalog's genres (default: the one the model hears)"
    )


def cmd_add(args) -> None:
    from recommender.catalog import Catalog
    from recommender.errors import UserInputError
    from recommender.uploads import default_title

    path: Path = args.file
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UserInputError(f"{path} is not a file")
        if size > MAX_ADD_MB * 1_000_000:
            raise UserInputError(f"{path.name} is {size / 1e6:.0f} MB; a clip may be {MAX_ADD_MB} MB at most")
        data = path.read_bytes()
    except OSError as e:
        raise UserInputError(f"cannot read {path} ({(e.strerror or str(e)).lower()})") from None
    catalog = Catalog.open(args.home)
    title = default_title(path.name) if args.title is None else args.title
    track_id = catalog.add_upload(data, filename=path.name, title=title, artist=args.artist, genre=args.genre)
    track = catalog.track(track_id)
    out = {key: track[key] for key in ("track_id", "title", "artist", "album", "genre", "audio_path")}
    out["track_id"] = int(out["track_id"])
    _emit(
        args, out, lambda o: f"added “{o['title']}” by {o['artist']} ({o['genre']}) as track {o['track_id']}"
    )


def _reader_gone() -> int:
    """The program reading our output closed it (``… | head -1``): stop quietly, as Unix tools do.

    Output still buffered would fail again when Python flushes it at exit, so stdout is
    pointed at /dev/null first. The status is a SIGPIPE death's (128 + 13), which shells
    treat as such; no message: the reader asked for no more.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13


COMMANDS: dict[str, Callable] = {
    "build": cmd_build,
    "info": cmd_info,
    "search": cmd_search,
    "evaluate": cmd_evaluate,
    "similar": cmd_similar,
    "play": cmd_play,
    "like": cmd_like,
    "playlist": cmd_playlist,
    "history": cmd_history,
    "profile": cmd_profile,
    "recommend": cmd_recommend,
    "path": cmd_path,
    "owner": cmd_owner,
    "add": cmd_add,
}


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError:
        return _reader_gone()
    except RecommenderError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0
