"""The owner's commands: the app's settings (owner) and the care of a profile (profile pin)."""

from __future__ import annotations

import sys

from recommender import access, catalogs
from recommender.cli.common import add_common, emit, open_catalog
from recommender.errors import RecommenderError, UserInputError


def profile_parser(sub) -> None:
    pr = sub.add_parser(
        "profile",
        help="the owner's care of a profile: set a new PIN (a forgotten one)",
        description="pin: give the profile a new PIN, read from stdin (one line; typed twice at a terminal). "
        "The command line runs on the server, as its owner: no PIN is asked for.",
    )
    add_common(pr, json_flag=True)
    pr.add_argument("action", choices=("pin",), help="what to do with the profile")
    pr.add_argument("--user", required=True, help="the profile name")
    pr.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin even at a terminal")


def owner_parser(sub) -> None:
    o = sub.add_parser(
        "owner",
        help="the app's owner: password, music folders, trust in browsers on this machine",
        description="The app's owner builds catalogs, cancels builds, loads models and types server paths; "
        "everyone else is a visitor. A browser on this machine is the owner (unless trust-loopback is off); "
        "anyone else unlocks with the owner's password. Typed folders must lie inside the music folders.",
    )
    add_common(o, json_flag=True)
    o.add_argument(
        "action",
        choices=("show", "set-password", "clear-password", "add-root", "remove-root", "trust-loopback"),
        help="show the settings; set-password (read from stdin); clear-password; add-root DIR / remove-root DIR "
        "(a music folder); trust-loopback yes|no",
    )
    o.add_argument(
        "value", nargs="?", default=None, help="add-root / remove-root: DIR; trust-loopback: yes|no"
    )


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
    cat = open_catalog(args)
    if cat.store.user_name(args.user) is None:
        raise RecommenderError(f"no profile named {args.user.strip()!r}")
    name = catalogs.set_pin(args.user, _read_pin(args), cat.paths, args.home)
    emit(args, {"user": name, "pin_set": True}, lambda o: f"{o['user']}: the new PIN is set")


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
    emit(args, out, _owner_text)


def _owner_text(out: dict) -> str:
    return "\n".join(
        [
            f"owner password: {'set' if out['password_set'] else 'not set'}",
            f"a browser on this machine is {'the owner' if out['trust_loopback'] else 'a visitor'}",
            "music folders:",
            *(f"  {root}" for root in out["roots"]),
        ]
    )
