"""How far the model's figures can be trusted: how many test songs each rests on, and a 95 % interval.

An accuracy measured on 2 test songs says next to nothing: 1 of 2 right is anything from
9 % to 91 % (Wilson 95 % interval). Each figure of ``evaluate`` gets the number of test
songs ``n`` it rests on and its ``interval``, and a catalog with fewer than
``MIN_TEST_SONGS`` test songs is called too small to judge the model.

``MIN_TEST_SONGS`` = 20: below it even the best-placed interval (an accuracy near 50 %)
is more than 40 points wide (10 of 20 right → 30–70 %), wider than the gap between the
model and random picks on any catalog measured here (bench/README.md), so no ranking of
the ways of listening on such a catalog means anything.
"""

from __future__ import annotations

import math

MIN_TEST_SONGS = 20
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def wilson(rate: float, n: int, *, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a share ``rate`` of ``n`` trials: ``(low, high)``, None for n = 0.

    For a mean of values in [0, 1] that are not 0/1 (a song's precision@10), the interval
    is conservative: such a mean varies at most as much as a share of the same size.
    """
    if n <= 0 or rate is None:
        return None
    p = min(max(float(rate), 0.0), 1.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def with_intervals(metrics: dict, *, n_queries: int | None = None) -> dict:
    """``metrics`` (``evaluate.compare``'s object) with ``n`` and ``interval`` beside each figure.

    Adds ``classifier.test_interval`` (and ``val_interval``), ``n`` and ``interval`` to every
    ``retrieval`` entry (``n_queries``: the songs whose neighbours were counted; default the
    classifier's test songs) and to every ``classifiers`` entry, and ``too_small`` (bool) with
    ``min_test_songs``. Existing keys are left as they are; a new dict is returned.
    """
    out = dict(metrics)
    c = dict(out.get("classifier") or {})
    if c:
        c["test_interval"] = _interval(c.get("test_accuracy"), c.get("n_test", 0))
        c["val_interval"] = _interval(c.get("val_accuracy"), c.get("val_n", 0))
        out["classifier"] = c
    n = n_queries if n_queries is not None else int(c.get("n_test") or 0)
    retrieval = {}
    for name, figures in (out.get("retrieval") or {}).items():
        figures = dict(figures)
        value = next((v for k, v in figures.items() if k.startswith("genre_precision_at_")), None)
        figures.setdefault("n", n)
        figures["interval"] = _interval(value, figures["n"])
        retrieval[name] = figures
    if "retrieval" in out:
        out["retrieval"] = retrieval
    classifiers = {}
    for name, figures in (out.get("classifiers") or {}).items():
        figures = dict(figures)
        figures["test_interval"] = _interval(figures.get("test_accuracy"), figures.get("n_test", 0))
        classifiers[name] = figures
    if "classifiers" in out:
        out["classifiers"] = classifiers
    measured = bool(c) or bool(retrieval)
    out["min_test_songs"] = MIN_TEST_SONGS
    out["too_small"] = measured and n < MIN_TEST_SONGS
    return out


def _interval(rate: float | None, n: int) -> list[float] | None:
    found = wilson(rate, int(n or 0)) if rate is not None else None
    return list(found) if found else None


def too_small_message(metrics: dict) -> str | None:
    """A plain sentence when ``metrics`` rest on too few test songs to judge the model, else None."""
    if not metrics.get("too_small"):
        return None
    c = metrics.get("classifier") or {}
    n = next((f["n"] for f in (metrics.get("retrieval") or {}).values() if "n" in f), c.get("n_test", 0))
    return (
        f"This catalog is too small to judge the model: its figures rest on {n} test song"
        f"{'' if n == 1 else 's'} (at least {metrics.get('min_test_songs', MIN_TEST_SONGS)} are needed). "
        "The ranges show how little they pin down; with so few songs, random picks can beat the model "
        "by chance."
    )
