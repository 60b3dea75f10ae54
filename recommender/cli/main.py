"""The command line's parser and entry point: one table of commands, each with its parser and handler."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from recommender.cli import build, discover, owner, queries, users
from recommender.errors import RecommenderError

AddParser = Callable[[Any], None]
"""Adds a command's sub-parser to the ``add_subparsers()`` object it is given."""
Run = Callable[[argparse.Namespace], None]

# name: (adds the command's sub-parser, runs it with the parsed arguments); --help lists them in this order.
COMMANDS: dict[str, tuple[AddParser, Run]] = {
    "build": (build.build_parser, build.cmd_build),
    "info": (build.info_parser, build.cmd_info),
    "search": (queries.search_parser, queries.cmd_search),
    "evaluate": (build.evaluate_parser, build.cmd_evaluate),
    "similar": (queries.similar_parser, queries.cmd_similar),
    "play": (users.play_parser, users.cmd_play),
    "like": (users.like_parser, users.cmd_like),
    "playlist": (users.playlist_parser, users.cmd_playlist),
    "profile": (owner.profile_parser, owner.cmd_profile),
    "history": (users.history_parser, users.cmd_history),
    "recommend": (queries.recommend_parser, queries.cmd_recommend),
    "path": (queries.path_parser, queries.cmd_path),
    "owner": (owner.owner_parser, owner.cmd_owner),
    "add": (build.add_parser, build.cmd_add),
    "discover": (discover.discover_parser, discover.cmd_discover),
    "mix": (discover.mix_parser, discover.cmd_mix),
    "radio": (discover.radio_parser, discover.cmd_radio),
    "skip": (discover.skip_parser, discover.cmd_skip),
    "catalogs": (build.catalogs_parser, build.cmd_catalogs),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m recommender", description="A music recommender that listens."
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser, _run in COMMANDS.values():
        add_parser(sub)
    return root


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


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command][1](args)
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
