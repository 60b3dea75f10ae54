"""When two profile names are one: the key a profile name is matched by.

Names that look alike must not make two profiles: ``alice``, ``ALICE``, ``ａｌｉｃｅ``
(fullwidth), ``аlice`` (Cyrillic а) and ``alıce`` (dotless ı) all have the key ``alice``.
The key is the name NFKC-normalised (compatibility forms: fullwidth, ligatures, circled
letters), case-folded, then reduced to a skeleton in which every character that Unicode's
confusables list (UTS #39, from the confusable-homoglyphs package) gives a single look-alike
for is replaced by it (``а`` → ``a``, ``ı`` → ``i``, ``0`` → ``o``, ``1`` → ``l``), repeated
until nothing changes. Two characters that are each other's only look-alike both become the
one with the lower code point.
"""

from __future__ import annotations

import functools
import unicodedata

from confusable_homoglyphs import confusables

_ROUNDS = 4  # folding converges in two rounds for every character; a bound all the same
_MARK = "\u200e"  # the package wraps right-to-left characters in left-to-right marks


def _glyph(entry: dict) -> str:
    return entry["c"].replace(_MARK, "")


@functools.cache
def _look_alikes() -> dict[str, str]:
    """Each character with one look-alike -> that look-alike (a character or a few)."""
    data = confusables.confusables_data
    table = {}
    for char, entries in data.items():
        if len(char) != 1 or len(entries) != 1:
            continue  # characters with many look-alikes are the ones others are folded to
        target = _glyph(entries[0])
        back = data.get(target)
        if back is not None and len(back) == 1 and _glyph(back[0]) == char:
            target = min(char, target)  # a pair: both become the same one of the two
        if target and target != char:
            table[char] = target
    return table


def _fold_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    table = _look_alikes()
    return unicodedata.normalize("NFKC", "".join(table.get(c, c) for c in text)).casefold()


def name_key(name: str) -> str:
    """The key ``name`` is matched by: equal for names that look alike (see the module's text)."""
    key = name
    for _ in range(_ROUNDS):
        folded = _fold_once(key)
        if folded == key:
            break
        key = folded
    return key
