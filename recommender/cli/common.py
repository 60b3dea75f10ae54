"""What every command shares: the common options, number ranges, and how results are printed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recommender import catalogs
from recommender.catalog import Catalog
from recommender.config import Paths


def add_common(p: argparse.ArgumentParser, *, json_flag: bool = False) -> None:
    p.add_argument(
        "--home", type=Path, default=None, help="artifacts folder (default: $MUSICREC_HOME or ./artifacts)"
    )
    p.add_argument(
        "--catalog",
        default=None,
        metavar="NAME",
        help="which of the home's catalogs (default: its current one; `catalogs` lists them)",
    )
    if json_flag:
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


# Ranges of the numeric options: what makes sense, and what NumPy, Keras and DuckDB can take.

MAX_K = 1_000_000  # results; a catalog of every FMA track has 106 574
MAX_TRACKS = 100_000  # demo songs to synthesise
MAX_SEED = 2**32 - 1  # NumPy, Keras and UMAP seeds
MAX_EPOCHS = 10_000
MAX_WORKERS = 1024
MAX_STEPS = 100  # songs in a path (recommender.song_path.MAX_PATH_STEPS)


def whole(low: int, high: int) -> Callable[[str], int]:
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


def track_id_type(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a track id is a whole number, got {text!r}") from None


# ---- output -----------------------------------------------------------------------------
def emit(args, obj: dict, text: Callable[[dict], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(obj, ensure_ascii=False, default=str))
    else:
        print(text(obj))


def table(rows: list[dict], columns: Sequence[str]) -> str:
    if not rows:
        return "(nothing)"
    frame = pd.DataFrame(rows)
    cols = [c for c in columns if c in frame]
    return frame[cols].to_string(index=False)


RESULT_COLS = ["track_id", "title", "artist", "genre", "score"]


def catalog_paths(args) -> Paths:
    """The paths of the catalog ``--catalog`` names in ``--home`` (its current one without ``--catalog``)."""
    return catalogs.resolve(getattr(args, "catalog", None), args.home)


def open_catalog(args):
    return Catalog.open(catalog_paths(args).home)


def user_name(store, typed: str) -> str:
    """The profile's name as stored ("Alice" for --user alice), else as typed, trimmed."""
    return store.user_name(typed) or typed.strip()


def recommendation_results(catalog, triples) -> dict:
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


def results_json(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain JSON objects (ints, floats, strings)."""
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            if isinstance(value, float) and np.isnan(value):
                value = None
            clean[key] = value
        out.append(clean)
    return out
