"""How much of the machine one build may take: its worker processes, at most one per core.

Each feature worker holds a decoder, librosa and the backbone (about 1.45 GB), so more
workers than cores only add memory, never speed. ``cap_workers`` is the one rule: the
build applies it to whatever asked (the command line, the app's form, a saved build's
options) and says when it lowered the number.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recommender.build import BuildOptions, Progress


def worker_limit() -> int:
    """The most worker processes a build starts on this machine: its core count."""
    return max(1, os.cpu_count() or 1)


def capped_workers(requested: int | None) -> tuple[int | None, str | None]:
    """``requested`` workers within ``worker_limit()``, and a line saying so when it was lowered.

    ``None`` (one per core) stays ``None``; below 1 becomes 1.
    """
    if requested is None:
        return None, None
    limit = worker_limit()
    if requested > limit:
        cores = f"{limit} core" + ("s" if limit != 1 else "")
        return limit, f"{requested} worker processes asked for, and this machine has {cores}: using {limit}"
    return max(1, int(requested)), None


def cap_workers(options: BuildOptions, progress: Progress | None = None) -> BuildOptions:
    """``options`` with ``workers`` within ``worker_limit()``; a lowered number is noted on ``progress``."""
    workers, note = capped_workers(options.workers)
    if note is not None and progress is not None:
        progress.note(note)
    return options if workers == options.workers else dataclasses.replace(options, workers=workers)
