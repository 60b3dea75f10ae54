"""Who may change the server, and which of its folders may be read: the owner and the music roots.

The **owner** may build, cancel, load models and type server paths; everyone else is a
**visitor**. A browser on the server machine itself (a loopback address: 127.0.0.0/8, ::1)
is the owner, unless a proxy header shows the connection was relayed or the owner turned
that trust off (``trust_loopback``: a reverse proxy on the same machine makes every visitor
look local). Anyone else becomes the owner with the owner's password, stored only as a
scrypt hash (``recommender.passwords``) in ``owner.json`` in the home; guesses are rate-limited.

The **music roots** are the only folders whose paths the owner may type: the home's
``music/`` folder, the folders of ``$MUSICREC_MUSIC_ROOTS`` and those added with
``python -m recommender owner add-root DIR``. A path outside them (after ``~``, ``.``,
``..`` and symlinks are resolved) gets one message, whatever the path is, so the answer
says nothing about what exists on the server.

The command line runs on the server and is the owner: nothing here limits it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from recommender.config import Paths
from recommender.errors import RecommenderError, UserInputError
from recommender.files import atomic_write
from recommender.passwords import GUESSES, Guesses, check_secret, hash_secret

PASSWORD_ENV = "MUSICREC_OWNER_PASSWORD"
ROOTS_ENV = "MUSICREC_MUSIC_ROOTS"
TRUST_LOOPBACK_ENV = "MUSICREC_TRUST_LOOPBACK"
ACCESS_FILE = "owner.json"
MUSIC_DIR = "music"
MAX_PATH_CHARS = 1024  # a typed server path; the OS's own limit is 4096, a music folder needs far fewer
MAX_ROOTS = 64
# Headers a proxy adds: a relayed connection is a visitor, whatever address it comes from.
PROXY_HEADERS = frozenset({"x-forwarded-for", "forwarded", "x-real-ip"})
GUESS_KEY = "\0owner-password"  # the rate limit's key: no profile name can be this
OUTSIDE_ROOTS = "only folders inside this server's music folders can be used"
NO_PASSWORD = (
    "no owner password is set on this server: the owner sets one with "
    "`python -m recommender owner set-password`"
)
_FALSE = {"0", "no", "false", "off"}
_lock = threading.Lock()
_from_env: dict[str, str] = {}  # home -> hash of $MUSICREC_OWNER_PASSWORD, when the home could not keep it


@dataclass(frozen=True)
class Settings:
    """The owner's settings of one home: the password's hash, the music roots added, the loopback trust."""

    password_hash: str | None = None
    roots: tuple[str, ...] = ()
    trust_loopback: bool = True

    def to_dict(self) -> dict:
        return {
            "password": self.password_hash,
            "roots": list(self.roots),
            "trust_loopback": self.trust_loopback,
        }


def _file(home: str | os.PathLike | None) -> Path:
    return Paths.at(home).home / ACCESS_FILE


def _read(home: str | os.PathLike | None) -> Settings:
    try:
        data = json.loads(_file(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    stored = data.get("password")
    roots = data.get("roots")
    return Settings(
        password_hash=stored if isinstance(stored, str) and stored else None,
        roots=tuple(r for r in roots if isinstance(r, str))[:MAX_ROOTS] if isinstance(roots, list) else (),
        trust_loopback=data.get("trust_loopback") is not False,
    )


def _write(home: str | os.PathLike | None, settings: Settings) -> None:

    def write(tmp: Path) -> None:
        tmp.chmod(0o600)  # only the server needs to read the hash: nobody gets to try guesses offline
        tmp.write_text(json.dumps(settings.to_dict(), indent=2), encoding="utf-8")

    atomic_write(_file(home), write)


def _replace(home: str | os.PathLike | None, **changes) -> Settings:
    with _lock:
        changed = dataclasses.replace(_read(home), **changes)
        _write(home, changed)
    return changed


def settings(home: str | os.PathLike | None = None) -> Settings:
    """The home's settings; ``$MUSICREC_OWNER_PASSWORD``, when set, is hashed into them first."""
    _take_password_from_environment(home)
    stored = _read(home)
    key = str(Paths.at(home).home.resolve())
    if key in _from_env:
        stored = dataclasses.replace(stored, password_hash=_from_env[key])
    return stored


def _take_password_from_environment(home: str | os.PathLike | None) -> None:
    """``$MUSICREC_OWNER_PASSWORD`` becomes the home's password hash, and leaves the environment.

    Read once: the clear password is then gone from this process's environment (so the build
    processes it starts never see it), and only its hash is kept.
    """
    secret = os.environ.pop(PASSWORD_ENV, None)
    if secret is None:
        return
    try:
        check_secret(secret, what="owner password")
    except UserInputError as error:
        print(f"warning: ${PASSWORD_ENV} is not used: {error}", file=sys.stderr)
        return
    stored = hash_secret(secret)
    try:
        _replace(home, password_hash=stored)
    except (OSError, RecommenderError):  # a home that cannot be written keeps it in memory
        _from_env[str(Paths.at(home).home.resolve())] = stored


# ---- the password -------------------------------------------------------------------------------
def set_password(secret: str, home: str | os.PathLike | None = None) -> None:
    """Store the owner's password (4 to 128 characters) as a scrypt hash in the home."""
    check_secret(secret, what="owner password")
    _replace(home, password_hash=hash_secret(secret))
    _from_env.pop(str(Paths.at(home).home.resolve()), None)


def clear_password(home: str | os.PathLike | None = None) -> None:
    """Forget the owner's password: then only a browser on the server machine is the owner."""
    _replace(home, password_hash=None)
    _from_env.pop(str(Paths.at(home).home.resolve()), None)


def has_password(home: str | os.PathLike | None = None) -> bool:
    return settings(home).password_hash is not None


def check_password(
    guess: str, home: str | os.PathLike | None = None, *, guesses: Guesses | None = None
) -> bool:
    """Whether ``guess`` is the owner's password. Raises ``UserInputError`` when none is set, and
    ``passwords.TooManyGuesses`` while wrong guesses came too fast (for everyone: one server, one owner)."""
    stored = settings(home).password_hash
    if stored is None:
        raise UserInputError(NO_PASSWORD)
    return (guesses or GUESSES).check(GUESS_KEY, guess, stored)


# ---- who is at the browser ------------------------------------------------------------------------
def is_loopback(address: str | None) -> bool:
    """Whether ``address`` is this machine's own (127.0.0.0/8, ::1, or IPv4 loopback in IPv6 form)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def relayed(header_names: Iterable[str]) -> bool:
    """Whether the request's headers show that a proxy relayed it."""
    return any(name.strip().lower() in PROXY_HEADERS for name in header_names)


def trusts_loopback(home: str | os.PathLike | None = None) -> bool:
    """Whether a browser on the server machine is the owner: ``$MUSICREC_TRUST_LOOPBACK`` if set
    (``0``/``no``/``false``/``off``: not trusted), else the home's setting (default: trusted)."""
    value = os.environ.get(TRUST_LOOPBACK_ENV)
    if value is not None and value.strip():
        return value.strip().lower() not in _FALSE
    return settings(home).trust_loopback


def local_owner(
    remote_ip: str | None, header_names: Iterable[str], *, home: str | os.PathLike | None = None
) -> bool:
    """Whether a connection from ``remote_ip`` (None: unknown) with these headers is the owner by
    where it comes from: a loopback address, no proxy header, and loopback trusted."""
    return is_loopback(remote_ip) and not relayed(header_names) and trusts_loopback(home)


def set_trust_loopback(trust: bool, home: str | os.PathLike | None = None) -> None:
    _replace(home, trust_loopback=bool(trust))


# ---- the music roots ------------------------------------------------------------------------------
def music_roots(home: str | os.PathLike | None = None) -> list[Path]:
    """The folders whose paths the owner may type, resolved: ``HOME/music``, ``$MUSICREC_MUSIC_ROOTS``
    (separated by ``os.pathsep``), then the roots added; each once, in that order."""
    paths = Paths.at(home)
    typed = [str(paths.home / MUSIC_DIR)]
    typed += [p for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    typed += list(settings(home).roots)
    roots: list[Path] = []
    for text in typed:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            root = Path(text.strip()).expanduser().resolve()
            if root not in roots:
                roots.append(root)
    return roots


def add_root(folder: str | os.PathLike, home: str | os.PathLike | None = None) -> Path:
    """Offer ``folder`` (an existing folder; stored resolved) as a music root; returns it."""
    try:
        root = Path(folder).expanduser().resolve()
        is_dir = root.is_dir()
    except (OSError, ValueError, RuntimeError) as error:
        raise UserInputError(f"cannot use {folder} as a music folder: {error}") from None
    if not is_dir:
        raise UserInputError(f"not a folder: {root}")
    current = settings(home).roots
    if str(root) not in current:
        if len(current) >= MAX_ROOTS:
            raise UserInputError(f"at most {MAX_ROOTS} music folders can be added")
        _replace(home, roots=(*current, str(root)))
    return root


def remove_root(folder: str | os.PathLike, home: str | os.PathLike | None = None) -> bool:
    """Stop offering ``folder``; False when it was not an added root."""
    current = settings(home).roots
    try:
        wanted = {str(folder), str(Path(folder).expanduser().resolve())}
    except (OSError, ValueError, RuntimeError):
        wanted = {str(folder)}
    kept = tuple(r for r in current if r not in wanted)
    if kept == current:
        return False
    _replace(home, roots=kept)
    return True


def server_folder(text: str, home: str | os.PathLike | None = None) -> Path:
    """The folder a typed path names, resolved, if it lies inside a music root; else ``UserInputError``.

    ``~`` is expanded; a relative path is taken from the first music root (``HOME/music``);
    ``.``, ``..`` and symlinks are resolved before the check. Every path outside the roots,
    existing or not, readable or not, gets the same message (``OUTSIDE_ROOTS``).
    """
    text = (text or "").strip()
    if not text:
        raise UserInputError("no folder given")
    if len(text) > MAX_PATH_CHARS:
        raise UserInputError(f"a folder path can have at most {MAX_PATH_CHARS:,} characters")
    if "\0" in text:
        raise UserInputError(OUTSIDE_ROOTS)
    roots = music_roots(home)
    try:
        typed = Path(text).expanduser()
        if not typed.is_absolute():
            typed = roots[0] / typed
        resolved = typed.resolve()
    except (OSError, ValueError, RuntimeError):  # a loop of symlinks, a name too long, an unknown ~user
        raise UserInputError(OUTSIDE_ROOTS) from None
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise UserInputError(OUTSIDE_ROOTS)
    return resolved


def export_base(audio_paths: Iterable[str | os.PathLike]) -> Path | None:
    """The deepest folder holding every one of ``audio_paths``: what a visitor's playlist
    download gives its songs' paths relative to (None: no paths)."""
    folders = {os.path.dirname(os.path.abspath(p)) for p in audio_paths}
    if not folders:
        return None
    return Path(os.path.commonpath(sorted(folders)))
