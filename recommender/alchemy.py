"""Song alchemy: add songs, take some away, ask for more or less of a tag; get the songs nearest the mix.

The mix is a point in embedding space: the mean of the added songs' unit embeddings,
minus ``SUBTRACT_WEIGHT`` times the mean of the subtracted ones, plus, for each tag, its
direction (``tag_direction``: from the catalog's mean towards the mean of the songs that
have the tag most), ``TAG_WEIGHT`` long, towards it ("more piano") or away ("less drums",
written ``-drums``). Songs are ranked by their cosine to the mix (``score``); the songs of
the mix itself are never results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.errors import UserInputError

MAX_MIX_SONGS = 20  # songs added and subtracted together
MAX_MIX_TAGS = 10
MAX_K = 200
SUBTRACT_WEIGHT = 0.5
TAG_WEIGHT = 0.5
TAG_SONGS = 20  # the songs that have a tag most, whose mean gives the tag's direction
LESS_PREFIXES = ("-", "less ", "no ", "without ")
MORE_PREFIXES = ("+", "more ", "with ")


@dataclass(frozen=True)
class Mix:
    """What went into a mix, and where it lands: ``vector`` ``(d,)`` unit float32."""

    add: tuple[int, ...]
    subtract: tuple[int, ...]
    tags: tuple[tuple[str, int], ...]  # (tag, +1 more | -1 less)
    vector: np.ndarray


def parse_tag(text: str) -> tuple[str, int]:
    """``"piano"``/``"+piano"``/``"more piano"`` → ``("piano", 1)``; ``"-drums"``/``"less drums"`` → ``("drums", -1)``."""
    clean = " ".join(str(text).split())
    low = clean.casefold()
    for prefix in LESS_PREFIXES:
        if low.startswith(prefix):
            return clean[len(prefix) :].strip(), -1
    for prefix in MORE_PREFIXES:
        if low.startswith(prefix):
            return clean[len(prefix) :].strip(), 1
    return clean, 1


def tag_direction(embeddings: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Unit direction ``(d,)`` from the catalog's mean embedding towards its ``TAG_SONGS`` songs (at most a
    quarter of them) with the highest ``probabilities`` ``(n,)`` of one tag (``embeddings`` ``(n, d)`` unit rows)."""
    x = np.asarray(embeddings, dtype=np.float64)
    top = np.argsort(-np.asarray(probabilities, dtype=np.float64), kind="stable")[
        : max(1, min(TAG_SONGS, len(x) // 4))
    ]
    direction = x[top].mean(axis=0) - x.mean(axis=0)
    norm = np.linalg.norm(direction)
    return direction / norm if norm > 1e-9 else direction


def _check_ids(index, ids, what: str) -> list[int]:
    out = []
    for t in ids:
        try:
            tid = int(t)
        except (TypeError, ValueError):
            raise UserInputError(f"{what}: a track id is a whole number, got {t!r}") from None
        if tid not in index.rows_:
            raise UserInputError(f"{what}: no track with id {tid} in the catalog")
        if tid not in out:
            out.append(tid)
    return out


def make_mix(index, *, add=(), subtract=(), tags=(), tag_column=None, tag_probabilities=None) -> Mix:
    """The ``Mix`` of songs ``add`` minus ``subtract`` plus ``tags`` (texts for ``parse_tag``).

    ``tag_column(name) -> int`` finds a tag (raising ``UserInputError`` for an unknown one);
    ``tag_probabilities`` ``(n, n_tags)`` are the index's songs' tags, in its row order.
    """
    add_ids, sub_ids = _check_ids(index, add, "add"), _check_ids(index, subtract, "subtract")
    parsed = [parse_tag(t) for t in tags]
    if not add_ids and not parsed and sub_ids:
        raise UserInputError("subtracting alone leaves nothing to move from: add a song (--add ID) or a tag")
    if not add_ids and not parsed:
        raise UserInputError("an empty mix: add at least one song (--add ID) or a tag (--tag TAG)")
    if len(add_ids) + len(sub_ids) > MAX_MIX_SONGS:
        raise UserInputError(f"a mix takes at most {MAX_MIX_SONGS} songs, got {len(add_ids) + len(sub_ids)}")
    if len(parsed) > MAX_MIX_TAGS:
        raise UserInputError(f"a mix takes at most {MAX_MIX_TAGS} tags, got {len(parsed)}")
    both = sorted(set(add_ids) & set(sub_ids))
    if both:
        raise UserInputError(f"track {both[0]} is both added and subtracted: keep it on one side")
    if not add_ids and all(sign < 0 for _, sign in parsed):
        raise UserInputError("a mix of only things taken away has nothing to move from: add a song or a tag")
    d = index.embeddings_.shape[1]
    vector = np.zeros(d)
    if add_ids:
        vector += np.mean([index.vector(t) for t in add_ids], axis=0)
    if sub_ids:
        vector -= SUBTRACT_WEIGHT * np.mean([index.vector(t) for t in sub_ids], axis=0)
    steps = []
    for name, sign in parsed:
        if not name:
            raise UserInputError("an empty tag in the mix")
        if tag_column is None or tag_probabilities is None or not np.asarray(tag_probabilities).size:
            raise UserInputError("this catalog has no tags to mix with")
        column = tag_column(name)
        steps.append((name, sign))
        vector += (
            sign * TAG_WEIGHT * tag_direction(index.embeddings_, np.asarray(tag_probabilities)[:, column])
        )
    norm = np.linalg.norm(vector)
    if norm < 1e-6:
        raise UserInputError("the mix cancels out: what is subtracted takes away everything that is added")
    return Mix(tuple(add_ids), tuple(sub_ids), tuple(steps), (vector / norm).astype(np.float32))


def mix_songs(index, mix: Mix, *, k: int = 10, genre: str | None = None) -> list[tuple[int, float]]:
    """The ``k`` songs nearest the mix as ``(track_id, cosine)``, none of the mix's own songs."""
    if isinstance(k, bool) or int(k) != k or not 1 <= k <= MAX_K:
        raise UserInputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    hits = index.query(mix.vector, k=int(k), genre=genre, exclude=set(mix.add) | set(mix.subtract))
    if not hits:
        raise UserInputError("no song is left outside the mix: every song of the catalog is in it")
    return hits


def catalog_mix(catalog, *, add=(), subtract=(), tags=(), k: int = 10, genre: str | None = None):
    """``(Mix, results frame)`` for a built ``Catalog``: songs nearest the mix, shaped like ``similar``'s."""
    index = catalog.index
    probabilities = catalog.tag_matrix(index.track_ids_) if tags else None
    names = catalog.tag_names()

    def column(name: str) -> int:
        from recommender.describe import TAG_MERGE

        wanted = " ".join(name.split()).casefold()
        for i, known in enumerate(names):  # a merged spelling ("drums" for "drum") finds its tag too
            if known.casefold() == wanted or TAG_MERGE.get(known.casefold()) == wanted:
                return i
        close = [n for n in names if wanted and (wanted in n.casefold() or n.casefold() in wanted)][:6]
        hint = f"; close: {', '.join(close)}" if close else f"; tags are such as {', '.join(names[:12])}"
        raise UserInputError(f"no tag {name!r} in this catalog{hint}")

    mix = make_mix(
        index, add=add, subtract=subtract, tags=tags, tag_column=column, tag_probabilities=probabilities
    )
    if genre is not None and genre not in index.genres:
        raise UserInputError(f"unknown genre {genre!r}; known genres: {', '.join(index.genres) or 'none'}")
    return mix, catalog.results(mix_songs(index, mix, k=k, genre=genre))
