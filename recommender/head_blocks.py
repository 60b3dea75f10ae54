"""Which of a song's sound features the head reads, in which blocks, and how much each block weighs.

The backbone (``recommender.backbone``) gives, per musicnn model, blocks of sound features
(``backbone.sound_layout``: the penultimate layer, the mid-end pooled over time, the tags; in
layout 2 also their signed square roots and the clip's log-mel band statistics). The head
(``recommender.head``) standardises each feature, scales each block it reads to unit length
(``block_unit``, as its saved ``BlockStandardize`` layer does) and weighs the blocks
(``block_weights``) before its PCA and LDA. ``bench/listening.py`` reads the same functions, so
what it measures is what a build does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.backbone import MEL_STATS, sound_layout

DEFAULT_POOLED_WEIGHT = 0.5
"""Each backbone's pooled mid-end blocks (max and mean over time) against its penultimate layer's,
once every block has unit length: 0.5 weighs the 200 learnt features as much as the two pooled
blocks together (measured on real recordings, bench/README.md); 1: every block the same."""
MEL_STATS_WEIGHT = 0.5
"""Sound-feature layout 2's log-mel band statistics (``backbone.MEL_STATS``), each block against a
penultimate one, in the LDA only: the PCA (the embedding without labels) does not read them. Measured
on real recordings (bench/README.md): they help tell albums apart once labels say which sounds
matter, and blur neighbours without labels."""
SOUND_LAYOUT = 2
"""The sound-feature layout (``backbone.LAYOUTS``) a new head reads; a saved head says its own."""


def default_penultimate(layout: int, labelled: bool) -> str:
    """The penultimate block a head reads: in layout 2, the rooted one with labels (it tells albums
    apart better) and musicnn's own without (the rooted one blurred label-free neighbours a little)."""
    return "penultimate_root" if layout >= 2 and labelled else "penultimate"


def head_blocks(
    names: Sequence[str], layout: int, penultimate: str | None = None
) -> list[tuple[int, int, str, str]]:
    """The sound-feature blocks the head reads: ``(start column, size, backbone, part)``.

    Layout 1: every block but the tags. Layout 2: the rooted pooled blocks, the ``penultimate``
    blocks (None: the rooted ones) and the log-mel statistics.
    """
    penultimate = penultimate or default_penultimate(layout, labelled=True)
    out, start = [], 0
    for name, part, size in sound_layout(names, layout):
        if layout == 1:
            wanted = part != "tags"
        else:
            wanted = part == penultimate or part.endswith("_pool_root") or name == MEL_STATS
        if wanted:
            out.append((start, size, name, part))
        start += size
    return out


def block_weights(
    names: Sequence[str],
    pooled: float = DEFAULT_POOLED_WEIGHT,
    layout: int = SOUND_LAYOUT,
    penultimate: str | None = None,
) -> np.ndarray:
    """Per embedding column (``embedding_blocks``' order): 1 in a penultimate block, ``pooled`` in a
    pooled one, ``MEL_STATS_WEIGHT`` in a log-mel statistics block."""

    def weight(name: str, part: str) -> float:
        if name == MEL_STATS:
            return MEL_STATS_WEIGHT
        return 1.0 if part.startswith("penultimate") else pooled

    return np.concatenate(
        [np.full(size, weight(name, part)) for _, size, name, part in head_blocks(names, layout, penultimate)]
    )


def pca_mask(names: Sequence[str], layout: int = SOUND_LAYOUT, penultimate: str | None = None) -> np.ndarray:
    """Per embedding column: 1 where the PCA reads it, 0 for the log-mel statistics (LDA only)."""
    return np.concatenate(
        [
            np.full(size, 0.0 if name == MEL_STATS else 1.0)
            for _, size, name, _ in head_blocks(names, layout, penultimate)
        ]
    )


def embedding_blocks(
    names: Sequence[str], layout: int = SOUND_LAYOUT, penultimate: str | None = None
) -> tuple[np.ndarray, list[int]]:
    """Columns of the sound features the head reads (``head_blocks``) and their block sizes."""
    blocks = head_blocks(names, layout, penultimate)
    return np.concatenate([np.arange(start, start + size) for start, size, *_ in blocks]), [
        b[1] for b in blocks
    ]


def block_unit(x: np.ndarray, blocks: Sequence[int]) -> np.ndarray:
    """Each block of columns of ``x`` ``(n, sum(blocks))`` scaled to unit length (as ``BlockStandardize``)."""
    out = np.empty_like(x)
    start = 0
    for size in blocks:
        part = x[:, start : start + size]
        out[:, start : start + size] = part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
        start += size
    return out
