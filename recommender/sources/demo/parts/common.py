"""Parts every genre may use: a lead melody and a lo-fi master.

Each function of ``parts`` plays one role (drums, bass, harmony, lead, texture) in the idiom
of one genre. A sub-style is a handful of them; a hybrid takes some from its own genre and
some from the genre it borrows from.
"""

from __future__ import annotations

from recommender.sources.demo.dsp import Voice
from recommender.sources.demo.sequencing import Ctx, Part, melody_score, play


def lead_part(
    ctx: Ctx, voice: Voice, *, level: float, send: float = 0.3, p: float = 1.0, **melody
) -> list[Part]:
    """A melody (``melody_score``'s options) played by ``voice``, with probability ``p``; busier when energetic."""
    if ctx.rng.random() >= p:
        return []
    melody["density"] = melody["density"] * (0.75 + 0.5 * ctx.energy)
    return [Part(play(ctx, melody_score(ctx, **melody), voice), level, send)]


def lo_fi(ctx: Ctx, p: float) -> None:
    """With probability ``p``: a dull tape and vinyl crackle on the master."""
    if ctx.rng.random() < p:
        ctx.master_cutoff = ctx.rng.uniform(3500, 8000)
        ctx.crackle = ctx.rng.uniform(0.002, 0.01)
