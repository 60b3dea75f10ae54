"""Small words shown to people: counts with the right plural."""

from __future__ import annotations

_IRREGULAR = {"match": "matches", "this": "these"}


def plural(n: int, word: str, *, thousands: bool = True) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: ``plural(1, "song")`` → "1 song", ``plural(2, "song")`` →
    "2 songs", ``plural(1200, "song")`` → "1,200 songs" (no separator with ``thousands=False``)."""
    count = f"{n:,}" if thousands else str(n)
    return f"{count} {word if n == 1 else _IRREGULAR.get(word, word + 's')}"
