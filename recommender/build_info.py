"""A built home's description (``build.json``): read and checked, repaired from the database,
and where the current build's files are."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

from recommender.config import Paths
from recommender.errors import NotBuiltError, RecommenderError
from recommender.files import atomic_write_text

ARTIFACTS = {"index": "index.npz", "map": "map.npz", "metrics": "metrics.json", "novelty": "novelty.npz"}
"""The files of a build's folder, by kind."""
OLD_ARTIFACTS = {
    "index": "index-{}.npz",
    "map": "catalog-{}.npz",
    "metrics": "metrics-{}.json",
    "novelty": "novelty-{}.npz",
}
"""The same files of a build from before builds had folders of their own, named after the model."""


def read_build_info(path: Path) -> tuple[dict | None, str]:
    """``build.json`` as a dict, or None and what is wrong with it (unreadable, not JSON, not an object)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        return None, f"unreadable: {error.strerror or error}"
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except ValueError as error:
        return None, f"not JSON: {error}"
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        return None, "not a build description"
    return info, ""


def settled_build_info(
    paths: Paths, info: dict | None, damage: str, committed_build: Callable[[], dict | None] | None
) -> dict:
    """The catalog's description: ``info`` (read from ``build.json``, None when damaged) unless the
    database's committed build (``committed_build``; None: no database) says otherwise.

    A build switched in by its database transaction but stopped before ``build.json`` followed
    (or a ``build.json`` damaged since) is repaired from the database's copy; ``info`` itself
    is returned when it stands. Neither: ``NotBuiltError`` saying why.
    """
    committed = None
    if committed_build is not None:
        try:
            committed = committed_build()
        except RecommenderError:
            if info is None:  # nothing else to go by: say why
                raise
            # else a busy database: build.json alone, repaired later
    if info is None and committed is None:
        raise NotBuiltError(
            f"{paths.build_info} is damaged ({damage}) and the database holds no build to repair it from: "
            "build the catalog again"
        )
    if committed is not None and (info is None or committed.get("build_id") != info.get("build_id")):
        with contextlib.suppress(RecommenderError, OSError):  # a read-only home: repaired in memory only
            atomic_write_text(paths.build_info, json.dumps(committed, indent=2, ensure_ascii=False))
        return committed
    assert info is not None
    return info


def artifact_path(paths: Paths, info: dict, kind: str, model_name: Callable[[], str]) -> Path:
    """The ``kind`` file (``ARTIFACTS``) of the build ``info`` describes (``model_name`` names an old one's)."""
    build_id = info.get("build_id")
    if build_id is None:  # built before builds had folders of their own
        return paths.catalog_dir / OLD_ARTIFACTS[kind].format(model_name())
    return paths.build_dir(build_id) / ARTIFACTS[kind]
