"""Found songs as a frame: ``(track_id, score)`` pairs joined with their titles, artists and genres.

Every song list the catalog answers with (similar songs, recommendations, paths, radio,
mixes) has this one shape: ``RESULT_COLUMNS``, then ``reason`` when there are reasons,
then ``album``.
"""

from __future__ import annotations

import pandas as pd

RESULT_COLUMNS = ["track_id", "title", "artist", "genre", "score"]


def results_frame(store, hits: list[tuple[int, float]], *, reasons: list[str] | None = None) -> pd.DataFrame:
    """``hits`` (and their ``reasons``), in order, with the songs' rows read from ``store``."""
    extra = ["reason"] if reasons is not None else []
    if not hits:
        return pd.DataFrame(columns=RESULT_COLUMNS + extra)
    scores = pd.DataFrame(hits, columns=["track_id", "score"])
    if reasons is not None:
        scores["reason"] = reasons
    # Inner: an indexed song without a committed track row (an interrupted upload) stays invisible.
    rows = store.tracks(track_ids=scores["track_id"].tolist())  # only these: the catalog may be large
    merged = scores.merge(rows, on="track_id", how="inner")
    return merged[RESULT_COLUMNS + extra + [c for c in ("album",) if c in merged]]
