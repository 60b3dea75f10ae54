"""The named catalogs of a home: several catalogs side by side on one server, one of them current.

A home (``--home``, ``$MUSICREC_HOME``) is the server's folder: the owner's password and
music folders (``recommender.access``), the background build's status file
(``recommender.jobs``). Its catalogs each have a folder laid out like a home of their own
(``build.json``, ``musicrec.duckdb`` with the catalog's users' data, ``audio/``, ``features/``,
``models/``, ``catalog/``), so ``Paths(home=folder)`` is a catalog's paths:

- the home itself holds the first catalog built in it (and every catalog built before homes
  held several): its name is ``"Main"`` unless the build that made it named it;
- every other catalog lives in ``HOME/catalogs/<folder>/``.

``HOME/catalogs.json`` (written whole, under a lock) records the names, each catalog's folder and
the home's current catalog: the one every command and every new browser session opens unless
told otherwise (``--catalog NAME``, the sidebar, ``?catalog=NAME``). A home without that file
(one built before) is a home of one catalog, "Main", and opens unchanged. Names are matched as
profile names are (``recommender.profile_names``): "Demo" and "demo" are one catalog.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from recommender.config import Paths, resolve_home
from recommender.errors import UserInputError
from recommender.files import atomic_write_text
from recommender.locks import is_building
from recommender.profile_names import name_key

try:
    import fcntl
except ImportError:  # Windows: no lock between processes
    fcntl = None  # type: ignore[assignment]

CATALOGS_FILE = "catalogs.json"
CATALOGS_DIR = "catalogs"
MAIN = "Main"
"""The name of the catalog at the home's root when no build named it (homes built before names)."""
MAX_NAME = 40
_LOCK_FILE = "catalogs.lock"
_NAME = re.compile(r"^[\w][\w .,'&()+-]*$")  # letters and digits of any script, and a few marks
_FOLDER = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


@dataclass(frozen=True)
class Entry:
    """One catalog of a home: its name, its paths, whether a build has completed in it."""

    name: str
    paths: Paths
    at_root: bool

    @property
    def key(self) -> str:
        return name_key(self.name)

    @property
    def built(self) -> bool:
        return self.paths.build_info.is_file()


# ---- names ------------------------------------------------------------------------------------
def check_name(name: object) -> str:
    """``name`` trimmed, if it can name a catalog; else a ``UserInputError`` saying what a name is."""
    if not isinstance(name, str):
        raise UserInputError("a catalog's name is text")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise UserInputError("a catalog's name cannot be empty")
    if len(clean) > MAX_NAME:
        raise UserInputError(f"a catalog's name has at most {MAX_NAME} characters, this one has {len(clean)}")
    if not _NAME.match(clean) or "_" in clean[:1]:
        raise UserInputError(
            f"a catalog's name is letters, digits, spaces and . , ' & ( ) + - (starting with a letter or "
            f"digit), not {clean!r}"
        )
    return clean


def _folder_for(name: str, taken: set[str]) -> str:
    """A new folder name for catalog ``name``: its ASCII letters and digits, then -2, -3 … if taken."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = "-".join(re.findall(r"[a-z0-9]+", ascii_name))[:40].strip("-") or "catalog"
    folder, n = base, 1
    while folder in taken:
        n += 1
        folder = f"{base}-{n}"
    return folder


# ---- the record ------------------------------------------------------------------------------
def _read(home: Path) -> dict:
    """``catalogs.json``, its entries checked (a hostile or damaged file never names a folder outside)."""
    try:
        data = json.loads((home / CATALOGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    entries, seen = [], set()
    for item in data.get("catalogs", []) if isinstance(data.get("catalogs"), list) else []:
        if not isinstance(item, dict):
            continue
        name, folder = item.get("name"), item.get("folder")
        try:
            name = check_name(name)
        except UserInputError:
            continue
        if not isinstance(folder, str) or not _FOLDER.match(folder) or name_key(name) in seen:
            continue
        seen.add(name_key(name))
        entries.append({"name": name, "folder": folder})
    root = data.get("root")
    try:
        root = check_name(root) if root is not None else MAIN
    except UserInputError:
        root = MAIN
    if name_key(root) in seen:
        root = MAIN
    current = data.get("current") if isinstance(data.get("current"), str) else None
    return {"root": root, "current": current, "catalogs": entries}


@contextlib.contextmanager
def _editing(home: Path) -> Iterator[dict]:
    """The record, to change in place: written back whole when the block ends, one writer at a time."""
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        data = _read(home)
        yield data
        atomic_write_text(home / CATALOGS_FILE, json.dumps(data, ensure_ascii=False, indent=1))
    finally:
        os.close(fd)


def _home(home: str | os.PathLike | None) -> Path:
    return resolve_home(home)


def _entries(home: Path, data: dict) -> list[Entry]:
    root = Entry(data["root"], Paths(home), at_root=True)
    return [root] + [
        Entry(item["name"], Paths(home / CATALOGS_DIR / item["folder"]), at_root=False)
        for item in data["catalogs"]
    ]


# ---- questions -------------------------------------------------------------------------------
def entries(home: str | os.PathLike | None = None, *, built_only: bool = False) -> list[Entry]:
    """The home's catalogs, the one at its root first (when built, or being built), then in order made."""
    folder = _home(home)
    found = _entries(folder, _read(folder))
    root, others = found[0], found[1:]
    listed = ([root] if root.built or is_building(root.paths) else []) + others
    return [e for e in listed if e.built] if built_only else listed


def find(name: str, home: str | os.PathLike | None = None) -> Entry | None:
    """The catalog named ``name`` (or a name that folds to it), or None."""
    try:
        key = name_key(check_name(name))
    except UserInputError:
        return None
    return next((e for e in entries(home) if e.key == key), None)


def current(home: str | os.PathLike | None = None) -> Entry | None:
    """The home's current catalog: the one chosen, else the root's, else the first built; None if none."""
    folder = _home(home)
    data = _read(folder)
    built = entries(folder, built_only=True)
    if data["current"]:
        key = name_key(data["current"])
        chosen = next((e for e in built if e.key == key), None)
        if chosen is not None:
            return chosen
    return built[0] if built else None


def resolve(name: str | None = None, home: str | os.PathLike | None = None) -> Paths:
    """The paths of catalog ``name`` (None: the current one; a home with none: its root, as before)."""
    if name is None:
        chosen = current(home)
        return chosen.paths if chosen is not None else Paths(_home(home))
    found = find(name, home)
    if found is None:
        raise UserInputError(unknown_words(name, home))
    return found.paths


def unknown_words(name: object, home: str | os.PathLike | None = None) -> str:
    """The one message for a catalog name the home does not have, naming those it has."""
    names = [e.name for e in entries(home, built_only=True)]
    shown = repr(name) if isinstance(name, str) and len(name) <= 2 * MAX_NAME else "of that name"
    return f"there is no catalog {shown} on this server; its catalogs: " + (
        ", ".join(names) if names else "none yet (build one first)"
    )


def listing(home: str | os.PathLike | None = None) -> list[dict]:
    """The ``info --json`` list: each catalog's name, whether it is current and built, its source and songs."""
    chosen = current(home)
    out = []
    for entry in entries(home):
        info = _build_summary(entry.paths)
        out.append(
            {
                "name": entry.name,
                "current": chosen is not None and entry.key == chosen.key,
                "built": entry.built,
                "source": info.get("source"),
                "tracks": info.get("tracks"),
                "path": str(entry.paths.home),
            }
        )
    return out


def _build_summary(paths: Paths) -> dict:
    try:
        info = json.loads(paths.build_info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(info, dict):
        return {}
    tracks = info.get("tracks")
    return {
        "source": info.get("source") if isinstance(info.get("source"), str) else None,
        "tracks": tracks if isinstance(tracks, int) and not isinstance(tracks, bool) else None,
    }


# ---- profiles: one name and PIN in every catalog of the home ---------------------------------------
def bring_profile(name: str, into: Paths, home: str | os.PathLike | None = None) -> bool:
    """Make profile ``name`` in the catalog at ``into`` from another catalog of the home that has it.

    Only its name and its PIN's hash travel (``Store.share_profile``), and only where ``into``
    has no profile of that name (or one without a PIN): the same PIN opens it, and nothing of
    its plays, likes or playlists moves. Returns whether another catalog had it.
    """
    from recommender.store import Store

    target = Store(into.database)
    for entry in entries(home, built_only=True):
        if entry.paths.home.resolve() == into.home.resolve() or not entry.paths.database.is_file():
            continue
        source = Store(entry.paths.database)
        if source.profile(name) is not None:
            return source.share_profile(name, target) is not None
    return False


def set_pin(name: str, pin: str, into: Paths, home: str | os.PathLike | None = None) -> str:
    """The owner's reset of profile ``name``'s PIN: in the catalog at ``into`` and in every other
    catalog of the home that has the profile, so the new PIN opens it everywhere and the old one
    nowhere. Returns its name; ``UserInputError`` if ``into`` has no such profile."""
    from recommender.store import Store

    stored = Store(into.database).set_pin(name, pin)
    for entry in entries(home, built_only=True):
        if entry.paths.home.resolve() == into.home.resolve() or not entry.paths.database.is_file():
            continue
        other = Store(entry.paths.database)
        if other.user_name(name) is not None:
            other.set_pin(name, pin)
    return stored


# ---- changes (the owner's: the command line runs as the owner, the app asks first) ------------
def for_build(name: str | None, home: str | os.PathLike | None = None) -> Entry:
    """The catalog a build of ``name`` goes into, made (recorded) if it is new.

    None: the current catalog (the root's, "Main", in a home with none). A new name takes the
    home's root while nothing is built there (a home of one catalog stays laid out as before),
    else a new folder below ``catalogs/``. Never another catalog's folder.
    """
    folder = _home(home)
    if name is None:
        chosen = current(folder)
        if chosen is not None:
            return chosen
        return _entries(folder, _read(folder))[0]
    clean = check_name(name)
    with _editing(folder) as data:
        for entry in _entries(folder, data):
            if entry.key == name_key(clean):
                return entry
        root = Paths(folder)
        if not root.build_info.is_file() and not is_building(root):
            data["root"] = clean
            return Entry(clean, root, at_root=True)
        taken = {item["folder"] for item in data["catalogs"]}
        if (folder / CATALOGS_DIR).is_dir():
            taken |= {p.name for p in (folder / CATALOGS_DIR).iterdir()}
        made = {"name": clean, "folder": _folder_for(clean, taken)}
        data["catalogs"].append(made)
        return Entry(clean, Paths(folder / CATALOGS_DIR / made["folder"]), at_root=False)


def set_current(name: str, home: str | os.PathLike | None = None) -> Entry:
    """Make ``name`` the home's current catalog; it must be built."""
    folder = _home(home)
    found = find(name, folder)
    if found is None or not found.built:
        raise UserInputError(unknown_words(name, folder))
    with _editing(folder) as data:
        data["current"] = found.name
    return found


def remove(name: str, home: str | os.PathLike | None = None) -> Entry:
    """Delete catalog ``name``: its folder, its songs' files and its users' data. Not the root's, not one building."""
    folder = _home(home)
    found = find(name, folder)
    if found is None:
        raise UserInputError(unknown_words(name, folder))
    if found.at_root:
        raise UserInputError(
            f"the catalog {found.name!r} lives in the server's own folder and cannot be removed; rebuild it instead"
        )
    if is_building(found.paths):
        raise UserInputError(f"the catalog {found.name!r} is being built: cancel the build first")
    with _editing(folder) as data:
        data["catalogs"] = [item for item in data["catalogs"] if name_key(item["name"]) != found.key]
        if data["current"] and name_key(data["current"]) == found.key:
            data["current"] = None
    _remove_folder(found.paths.home)
    return found


def _remove_folder(path: Path, rmtree: Callable[[Path], None] = shutil.rmtree) -> None:
    from recommender.store.connection import close_all

    close_all()  # this process's connections to its database, before the file goes
    with contextlib.suppress(FileNotFoundError):
        rmtree(path)
