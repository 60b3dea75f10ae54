"""Commands that make and describe a catalog: build, info, evaluate, add, and the home's catalogs."""

from __future__ import annotations

import json
from pathlib import Path

from recommender import catalogs, listeners
from recommender.build import BuildOptions, TqdmProgress, build
from recommender.catalog import Catalog
from recommender.cli.common import (
    MAX_EPOCHS,
    MAX_SEED,
    MAX_TRACKS,
    MAX_WORKERS,
    add_common,
    catalog_paths,
    emit,
    open_catalog,
    whole,
)
from recommender.errors import NoUsableAudioError, UserInputError
from recommender.uploads import default_title


def build_parser(sub) -> None:
    b = sub.add_parser("build", help="build a catalog: features, model, embeddings, map, index")
    add_common(b, json_flag=True)
    b.add_argument(
        "--source",
        choices=("demo", "fma", "folder"),
        default="demo",
        help="where the songs come from (default demo)",
    )
    b.add_argument(
        "--tracks", type=whole(1, MAX_TRACKS), default=None, help="demo: number of songs to synthesise"
    )
    b.add_argument(
        "--seed",
        type=whole(0, MAX_SEED),
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
        type=whole(1, MAX_EPOCHS),
        default=30,
        help=f"{'/'.join(listeners.from_scratch())}: at most this many epochs (default 30)",
    )
    b.add_argument(
        "--arch",
        choices=listeners.names(),
        default=None,
        help="; ".join(f"{name}: {listeners.get(name).help}" for name in listeners.names()),
    )
    b.add_argument(
        "--workers", type=whole(1, MAX_WORKERS), default=None, help="feature processes (default: all cores)"
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


def info_parser(sub) -> None:
    i = sub.add_parser("info", help="what the catalog holds")
    add_common(i, json_flag=True)


def evaluate_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="classifier accuracy and retrieval precision vs baselines")
    add_common(e, json_flag=True)


def cmd_build(args) -> None:
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
    target = catalogs.for_build(args.catalog, args.home)
    progress = TqdmProgress()
    try:
        result = build(options, home=target.paths.home, progress=progress)
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
    summary = Catalog.open(target.paths.home).summary()
    summary["skipped_files"] = result.skipped
    emit(args, summary | _named(args, target.name), _info_text)


def _named(args, name: str) -> dict:
    """The keys ``info --json`` adds: the catalog's name and every catalog of the home."""
    return {"catalog": name, "catalogs": catalogs.listing(args.home)}


def _info_text(info: dict) -> str:
    named = f"catalog {info['catalog']!r}, " if info.get("catalog") else ""
    lines = [
        f"{named}{info['source_label']}: {info['tracks']} tracks in {len(info['genres'])} genres ({info['home']})",
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
    others = [c["name"] for c in info.get("catalogs", []) if c["name"] != info.get("catalog")]
    if others:
        lines.append("  other catalogs of this home: " + ", ".join(others))
    return "\n".join(lines)


def cmd_info(args) -> None:
    paths = catalog_paths(args)
    name = next((e.name for e in catalogs.entries(args.home) if e.paths == paths), catalogs.MAIN)
    emit(args, Catalog.open(paths.home).summary() | _named(args, name), _info_text)


def cmd_evaluate(args) -> None:
    emit(args, open_catalog(args).metrics(), evaluate_text)


def evaluate_text(m: dict) -> str:
    """``evaluate``'s metrics for people: every way of listening by its name (``evaluate.retrieval_name``),
    each figure with its 95 % range and the test songs it rests on."""
    from recommender.evaluate import retrieval_name  # scikit-learn and librosa: only when evaluating
    from recommender.intervals import too_small_message

    if m.get("note"):
        return m["note"]
    c, r = m.get("classifier"), m["retrieval"]
    lines = []
    if c:
        lines.append(
            f"test accuracy {_percent(c['test_accuracy'])}{_range(c.get('test_interval'))} on {c['n_test']} "
            f"tracks; validation accuracy {_percent(c['val_accuracy'])}"
        )
    lines.append("genre precision@10 of the test songs' neighbours (95 % range, test songs):")
    lines += [
        f"  {retrieval_name(k):<32} {v['genre_precision_at_10']:.3f}{_range(v.get('interval'), '.3f')}"
        + (f" of {v['n']}" if "n" in v else "")
        for k, v in r.items()
    ]
    across = {k: v["cross_album_precision_at_10"] for k, v in r.items() if "cross_album_precision_at_10" in v}
    if any(v is not None for v in across.values()):
        lines.append("the same over neighbours from other albums only:")
        lines += [f"  {retrieval_name(k):<32} {v:.3f}" for k, v in across.items() if v is not None]
    if m.get("classifiers"):
        lines.append("test accuracy:")
        lines += [
            f"  {retrieval_name(k):<32} {_percent(v['test_accuracy'])}{_range(v.get('test_interval'))}"
            for k, v in m["classifiers"].items()
        ]
    if c:
        lines.append("per genre (the model in use):")
        lines += [f"  {g}: {_percent(v['accuracy'])} of {v['n']}" for g, v in c["per_genre"].items()]
    caveat = too_small_message(m)
    return "\n".join([*lines, caveat] if caveat else lines)


def _percent(value) -> str:
    return f"{value:.1%}" if isinstance(value, float) else "—"


def _range(interval, spec: str = ".0%") -> str:
    """`` (low–high)`` of a 95 % interval, or nothing without one."""
    return f" ({interval[0]:{spec}}–{interval[1]:{spec}})" if interval else ""


# ---- add: what the app's "Add to the catalog" does ---------------------------------------------------
MAX_ADD_MB = 50  # the largest clip, as the Upload page's limit (.streamlit/config.toml maxUploadSize)


def add_parser(sub) -> None:
    ad = sub.add_parser("add", help="add an audio clip to the catalog, as the app's Upload page does")
    add_common(ad, json_flag=True)
    ad.add_argument(
        "--file", type=Path, required=True, help=f"the audio file (3 s or more, {MAX_ADD_MB} MB at most)"
    )
    ad.add_argument("--title", default=None, help="its title (default: the file's name)")
    ad.add_argument("--artist", default="", help="its artist (default: Unknown artist)")
    ad.add_argument(
        "--genre", default=None, help="one of the catalog's genres (default: the one the model hears)"
    )


def cmd_add(args) -> None:
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
    catalog = open_catalog(args)
    title = default_title(path.name) if args.title is None else args.title
    track_id = catalog.add_upload(data, filename=path.name, title=title, artist=args.artist, genre=args.genre)
    track = catalog.track(track_id)
    out = {key: track[key] for key in ("track_id", "title", "artist", "album", "genre", "audio_path")}
    out["track_id"] = int(out["track_id"])
    emit(
        args, out, lambda o: f"added “{o['title']}” by {o['artist']} ({o['genre']}) as track {o['track_id']}"
    )


# ---- catalogs: the home's named catalogs --------------------------------------------------------------
def catalogs_parser(sub) -> None:
    c = sub.add_parser("catalogs", help="the home's catalogs; choose the current one, remove one")
    add_common(c, json_flag=True)
    c.add_argument("action", nargs="?", choices=("list", "use", "remove"), default="list")
    c.add_argument("name", nargs="?", default=None, help="the catalog to use or remove")
    c.add_argument(
        "--yes", action="store_true", help="remove: yes, delete its songs' files and its users' data"
    )


def cmd_catalogs(args) -> None:
    if args.action != "list" and not args.name:
        raise UserInputError(f"catalogs {args.action} needs the catalog's NAME")
    if args.action == "use":
        catalogs.set_current(args.name, args.home)
    elif args.action == "remove":
        if not args.yes:
            raise UserInputError(
                f"removing a catalog deletes its songs' files and its users' playlists, plays and likes: "
                f"add --yes to remove {args.name!r}"
            )
        catalogs.remove(args.name, args.home)
    emit(args, {"catalogs": catalogs.listing(args.home)}, _catalogs_text)


def _catalogs_text(obj: dict) -> str:
    if not obj["catalogs"]:
        return "no catalog yet: build one (python -m recommender build --catalog NAME)"
    lines = []
    for c in obj["catalogs"]:
        what = f"{c['source']}, {c['tracks']} songs" if c["built"] else "not built yet"
        lines.append(f"{'*' if c['current'] else ' '} {c['name']} ({what})")
    return "\n".join(lines)
