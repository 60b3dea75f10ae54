"""Commands about a listener: play, like, history and their playlists (export and import included)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from recommender import playlists
from recommender.cli.common import (
    MAX_K,
    add_common,
    emit,
    open_catalog,
    results_json,
    table,
    track_id_type,
    user_name,
    whole,
)
from recommender.errors import RecommenderError
from recommender.words import plural

if TYPE_CHECKING:
    from recommender.store import Store


def _play_like_parser(sub, name: str, text: str) -> None:
    a = sub.add_parser(name, help=text)
    add_common(a, json_flag=True)
    a.add_argument("--user", required=True, help="the profile name (created on first use)")
    a.add_argument("--track", type=track_id_type, required=True, help="a catalog track id")


def play_parser(sub) -> None:
    _play_like_parser(sub, "play", "record that a user played a track")


def like_parser(sub) -> None:
    _play_like_parser(sub, "like", "like a track")


def playlist_parser(sub) -> None:
    pl = sub.add_parser(
        "playlist",
        help="a user's playlists; export one as an M3U8 or XSPF file, or import one",
        description="export writes extended M3U8 (#EXTINF lines, one path a line) or XSPF (XML, file:// URIs); "
        "paths are absolute unless --relative. import reads an .m3u, .m3u8 or .xspf file whose entries are "
        "the catalog's audio files (absolute paths, file:// URIs, or paths relative to the file's folder or "
        "the home); entries that are no song of the catalog are skipped and listed.",
    )
    add_common(pl, json_flag=True)
    pl.add_argument(
        "action",
        choices=("create", "add", "remove", "show", "list", "delete", "export", "import"),
        help="what to do with the user's playlists",
    )
    pl.add_argument("--user", required=True, help="the profile name")
    pl.add_argument("--name", help="the playlist name")
    pl.add_argument("--track", type=track_id_type, help="add/remove: a catalog track id")
    pl.add_argument(
        "--format",
        choices=playlists.formats(),
        default=None,
        help=f"export: {' or '.join(playlists.formats())} (default: --out's ending, else {playlists.DEFAULT_FORMAT})",
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


def history_parser(sub) -> None:
    h = sub.add_parser("history", help="a user's plays and skips, newest first")
    add_common(h, json_flag=True)
    h.add_argument("--user", required=True, help="the profile name")
    h.add_argument(
        "-k", type=whole(1, MAX_K), default=None, help="only the newest k plays and skips (default all)"
    )


def cmd_play(args) -> None:
    _on_track(args, lambda store: store.record_play(args.user, args.track, source="cli"), "played", "played")


def cmd_like(args) -> None:
    _on_track(args, lambda store: store.like(args.user, args.track), "liked", "likes")


def _on_track(args, record: Callable[[Store], object], done: str, verb: str) -> None:
    """Record what ``--user`` did with ``--track`` (``record``), then say it: ``{…, done: true}`` in JSON."""
    catalog = open_catalog(args)
    track = catalog.track(args.track)
    record(catalog.store)
    emit(
        args,
        {"user": user_name(catalog.store, args.user), "track_id": args.track, "title": track["title"],
         "artist": track["artist"], done: True},
        lambda o: f"{o['user']} {verb} “{o['title']}” by {o['artist']}",
    )  # fmt: skip


def _check_playlist_options(args) -> None:
    """Options that belong to another action are a mistake worth saying, not something to ignore."""
    act = args.action
    if act != "list" and not args.name:
        raise RecommenderError(f"playlist {act} needs --name")
    if act in ("add", "remove") and args.track is None:
        raise RecommenderError(f"playlist {act} needs --track ID")
    if act == "import" and args.file is None:
        raise RecommenderError(f"playlist import needs --file PLAYLIST ({', '.join(playlists.suffixes())})")
    owners = {"--file": ("import", args.file is not None)}
    for option, given in (("--out", args.out), ("--format", args.format), ("--relative", args.relative)):
        owners[option] = ("export", given is not None)
    owners["--force"] = ("export", args.force)
    for option, (owner, given) in owners.items():
        if given and act != owner:
            raise RecommenderError(f"{option} is for playlist {owner}, not playlist {act}")


def cmd_playlist(args) -> None:
    _check_playlist_options(args)
    catalog = open_catalog(args)
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
    user = user_name(store, user)
    if act == "list":
        rows = results_json(store.playlists(user))
        emit(args, {"user": user, "playlists": rows}, lambda o: table(o["playlists"], ["name", "n_tracks"]))
        return
    if act == "delete":
        emit(args, {"user": user, "name": name, "deleted": True}, lambda o: f"deleted playlist {o['name']}")
        return
    rows = results_json(store.playlist(user, name))
    cols = ["position", "track_id", "title", "artist", "genre"]

    def text(o: dict) -> str:
        head = f"playlist {o['name']!r} of {o['user']}: {plural(len(o['results']), 'song')}"
        return head + ("\n" + table(o["results"], cols) if o["results"] else "")

    emit(args, {"user": user, "name": name, "results": rows}, text)


def _playlist_export(args, catalog) -> None:
    fmt = args.format or playlists.format_of(args.out)
    relative = None
    if args.relative is not None:
        relative = (
            Path(args.relative) if args.relative else (args.out.parent if args.out else catalog.paths.home)
        )
    text, entries = catalog.export_playlist(args.user, args.name, fmt=fmt, relative_to=relative)
    out = {
        "user": user_name(catalog.store, args.user),
        "name": catalog.playlist_name(args.user, args.name),
        "format": fmt,
        "path": None,
        "entries": entries,
    }
    if args.out is None:  # the playlist itself on stdout; with --json, inside the one JSON object
        if args.json:
            emit(args, {**out, "playlist": text}, str)
        else:
            sys.stdout.write(text)
        return
    out["path"] = str(playlists.write_file(args.out, text, force=args.force))
    emit(
        args,
        out,
        lambda o: (
            f"wrote {plural(o['entries'], 'song')} of playlist {o['name']!r} to {o['path']} ({o['format']})"
        ),
    )


def _playlist_import(args, catalog) -> None:
    path = args.file
    try:
        with open(path, "rb") as f:
            data = f.read(
                playlists.MAX_IMPORT_BYTES + 1
            )  # one byte more: too large is refused, not read whole
    except OSError as error:
        raise RecommenderError(f"cannot read {path}: {error.strerror or error}") from None
    found = catalog.import_playlist(
        args.user, args.name, data, file_name=path.name, bases=(Path(os.path.abspath(path)).parent,)
    )
    out = {
        "user": user_name(catalog.store, args.user),
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

    emit(args, out, text)


def cmd_history(args) -> None:
    store = open_catalog(args).store
    frame = store.history_with_skips(args.user, k=args.k)
    cols = ["track_id", "title", "played_at", "source", "event"]
    rows = results_json(frame[[c for c in cols + ["artist", "genre"] if c in frame]])

    def text(o: dict) -> str:  # times to the second; the JSON keeps them whole
        shown = [
            r | {"played_at": str(r["played_at"])[:19].replace("T", " "), "source": r["source"] or "-"}
            for r in o["results"]
        ]
        return table(shown, cols)

    emit(args, {"user": user_name(store, args.user), "results": rows}, text)
