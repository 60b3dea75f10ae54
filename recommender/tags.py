"""The tags the backbone hears in a catalog's songs, read from the map's arrays.

The map (``map.npz``) holds per song its ``tags`` probabilities in ``tag_names`` order;
these functions find a tag by name, rank songs by a tag or by the tags words name, and
read one song's tags. ``Catalog`` answers tag questions through them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.clips import TOP_TAGS, by_probability
from recommender.describe import match_tags
from recommender.errors import UserInputError

DESCRIBE_MIN_SCORE = 0.5  # a described song is heard this many standard deviations above the usual


def tag_names(arrays: dict[str, np.ndarray]) -> list[str]:
    """The tags the backbone knows, in their stored order (none in a catalog without tags)."""
    return [str(t) for t in arrays["tag_names"]] if "tag_names" in arrays else []


def tag_column(names: list[str], tag: str) -> int:
    """The column of ``tag`` among ``names`` (any case, spaces squeezed); else a ``UserInputError`` with close ones."""
    wanted = " ".join(str(tag).split()).casefold()
    for i, name in enumerate(names):
        if name.casefold() == wanted:
            return i
    close = [n for n in names if wanted and (wanted in n or n in wanted)][:8]
    hint = f"; close: {', '.join(close)}" if close else f"; known tags: {', '.join(names[:30])}…"
    raise UserInputError(f"unknown tag {tag!r}{hint}")


def tagged(arrays: dict[str, np.ndarray], tag: str) -> pd.DataFrame:
    """``track_id, tag_probability`` of the songs among whose ``TOP_TAGS`` most probable tags ``tag`` is."""
    column = tag_column(tag_names(arrays), tag)
    probabilities = arrays["tags"].astype(np.float32)
    has = (probabilities >= np.sort(probabilities, axis=1)[:, [-TOP_TAGS]]) & (probabilities > 0)
    return pd.DataFrame(
        {
            "track_id": arrays["track_ids"][has[:, column]],
            "tag_probability": probabilities[has[:, column], column],
        }
    )


def tag_matrix(arrays: dict[str, np.ndarray], track_ids) -> np.ndarray:
    """Tag probabilities ``(len(track_ids), n_tags)`` float32 of catalog songs; an unknown song: zeros."""
    ids = np.asarray(track_ids, dtype=np.int64)
    if "tags" not in arrays:
        return np.zeros((len(ids), 0), dtype=np.float32)
    rows = {int(t): i for i, t in enumerate(arrays["track_ids"])}
    out = np.zeros((len(ids), arrays["tags"].shape[1]), dtype=np.float32)
    for i, t in enumerate(ids.tolist()):
        if t in rows:
            out[i] = arrays["tags"][rows[t]]
    return out


def song_tags(arrays: dict[str, np.ndarray], track_id: int, *, n: int | None = TOP_TAGS) -> dict[str, float]:
    """The tags heard in one catalog song, most probable first (``n`` of them; None: all)."""
    rows = np.flatnonzero(arrays["track_ids"] == int(track_id))
    if not len(rows):
        raise UserInputError(f"no track with id {track_id} in the catalog")
    if "tags" not in arrays:
        return {}
    ranked = by_probability(
        dict(zip(tag_names(arrays), arrays["tags"][rows[0]].astype(float).tolist(), strict=True))
    )
    return dict(list(ranked.items())[:n]) if n is not None else ranked


def described(arrays: dict[str, np.ndarray], text: str) -> tuple[pd.DataFrame, list[str]]:
    """Every song's ``score`` for the tags ``text``'s words name, and those tags.

    ``score``: the mean, over the matched tags, of how far the song's probability stands
    above the catalog's usual one, in standard deviations. No tag matched: ``UserInputError``
    listing some tags.
    """
    names = tag_names(arrays)
    matched = match_tags(text, names)
    if not matched:
        raise UserInputError(
            f"no tag the model knows matches {text.strip()!r}; try words such as "
            + ", ".join(names[:: max(1, len(names) // 12)][:12])
        )
    columns = [names.index(t) for t in matched]
    p = arrays["tags"][:, columns].astype(np.float64)
    z = (p - p.mean(axis=0)) / np.maximum(p.std(axis=0), 1e-9)
    return pd.DataFrame({"track_id": arrays["track_ids"], "score": z.mean(axis=1).round(3)}), matched
