"""Old builds leave the disk: a home keeps its last few catalog builds and their models.

Every build writes a folder of its own below ``catalog/`` and a model below ``models/``,
failed builds included, so without pruning each build would stay on the disk for good.
At the end of a successful build (``build.py``, after the commit) ``prune`` records the
build in its folder (``catalog/<build_id>/build.json``, a copy of the home's) and keeps:

- the live build (the one ``build.json`` and the database name), always;
- the newest others that were committed, up to ``keep_builds()`` builds in all
  (``$MUSICREC_KEEP_BUILDS``, default 3);
- the models these builds use, models this home did not make (imported ones: a model
  made by a build here has its training history, ``<name>.history.csv``, beside it), and
  the newest from-scratch model, which later builds compare the backbone with.

Everything else goes: folders of older builds and of failed ones (never committed), and
the models that only they used.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

from recommender.config import Paths
from recommender.files import atomic_write_text

KEEP_BUILDS_ENV = "MUSICREC_KEEP_BUILDS"
DEFAULT_KEEP_BUILDS = 3
RECORD = "build.json"  # in a build's folder: what the build was, written once it was committed
_BUILD_ID = re.compile(r"^[a-z]+-(\d{8}-\d{6}-\d{6})$")  # build.py's "<source>-<UTC stamp>"


def keep_builds() -> int:
    """How many builds a home keeps (the live one included): ``$MUSICREC_KEEP_BUILDS``, else 3; at least 1."""
    value = os.environ.get(KEEP_BUILDS_ENV, "").strip()
    return max(1, int(value)) if value.isdigit() else DEFAULT_KEEP_BUILDS


def prune(paths: Paths, info: dict, *, keep: int | None = None) -> list[Path]:
    """Record the committed build ``info`` and remove old and failed builds; returns what was removed.

    Only the files named here are touched, and nothing the live build uses. A file that
    cannot be removed is left for the next build (this never fails a build).
    """
    keep = keep_builds() if keep is None else max(1, keep)
    live = {info.get("build_id"), _live_build_id(paths)} - {None}
    folder = paths.build_dir(info["build_id"]) if info.get("build_id") else None
    if folder is not None and folder.is_dir():
        _write_record(folder / RECORD, info)

    builds = sorted(
        (p for p in _build_folders(paths) if p.name not in live), key=lambda p: _stamp(p.name), reverse=True
    )
    committed = [p for p in builds if (p / RECORD).is_file()]
    kept = committed[: max(0, keep - len(live))]
    gone = [p for p in builds if p not in kept]

    used = {_model_name(paths.build_dir(b) / RECORD) for b in live} | {_model_name(p / RECORD) for p in kept}
    used |= {(info.get("model") or {}).get("name")}
    removed = []
    for path in gone:
        if _remove(path):
            removed.append(path)
    for name in _models_to_remove(paths.models_dir, used - {None}):
        for file in (f"{name}.keras", f"{name}.json", f"{name}.history.csv"):
            if _remove(paths.models_dir / file):
                removed.append(paths.models_dir / file)
    return removed


def _live_build_id(paths: Paths) -> str | None:
    """The build the home's ``build.json`` names (the database's committed build is ``info`` itself)."""
    try:
        return json.loads(paths.build_info.read_text(encoding="utf-8")).get("build_id")
    except (OSError, ValueError, AttributeError):
        return None


def _build_folders(paths: Paths) -> list[Path]:
    if not paths.catalog_dir.is_dir():
        return []
    return [
        p
        for p in paths.catalog_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and _BUILD_ID.match(p.name)
    ]


def _stamp(build_id: str) -> str:
    return _BUILD_ID.match(build_id).group(1)


def _write_record(path: Path, info: dict) -> None:
    from recommender.errors import RecommenderError

    # Unrecorded, a build is kept while it is live, and removed later like a failed one.
    with contextlib.suppress(OSError, RecommenderError):
        atomic_write_text(path, json.dumps(info, indent=2, ensure_ascii=False))


def _model_name(record: Path) -> str | None:
    try:
        return (json.loads(record.read_text(encoding="utf-8")).get("model") or {}).get("name")
    except (OSError, ValueError, AttributeError):
        return None


def _models_to_remove(models_dir: Path, used: set[str]) -> list[str]:
    """Models a build of this home made (they have a training history) that no kept build uses.

    The newest from-scratch one stays: builds with the backbone compare themselves with it.
    """
    from recommender import listeners

    if not models_dir.is_dir():
        return []
    made = sorted(p.name[: -len(".history.csv")] for p in models_dir.glob("*.history.csv"))
    scratch = []
    for name in made:
        try:
            meta = json.loads((models_dir / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("arch") in listeners.from_scratch():
            scratch.append((str(meta.get("created", "")), name))
    newest_scratch = max(scratch)[1] if scratch else None
    return [n for n in made if n not in used and n != newest_scratch]


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        return True
    except OSError:  # gone already, or left for the next build
        return False
