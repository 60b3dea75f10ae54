"""Folk parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.dsp import Voice, filtered
from recommender.sources.demo.sequencing import Ctx, Part, Score, drum_track, pick, play


def fingerpick(ctx: Ctx, voice: Voice) -> np.ndarray:
    """Travis-style finger-picking in 8ths: alternating bass (root, then fifth) under the chord."""
    r, score = ctx.rng, Score()
    order = pick(r, [[0, 2, 1, 3, 0, 2, 1, 3], [0, 3, 2, 3, 1, 3, 2, 3], [0, 2, 3, 2, 1, 2, 3, 2]])
    for bar in range(ctx.bars):
        low = ctx.root(bar, 40)
        tones = [low, *ctx.chord(bar, 55, 3)]
        for i, s in enumerate(order):
            pitch = low + 7 if s == 0 and i >= 4 else tones[s]
            score.add(ctx.time(bar, 2 * i), ctx.sixteenth * 4, pitch, 0.9 if i % 2 == 0 else 0.7)
    return play(ctx, score, voice)


def strum(ctx: Ctx, voice: Voice) -> np.ndarray:
    """Strummed chords: down strokes low to high, up strokes high to low."""
    r, score = ctx.rng, Score()
    strums = pick(r, ["D.D.UDU.", "D.DUD.DU", "D..UD.DU", "D.DU.UDU"])
    for bar in range(ctx.bars):
        tones = [ctx.root(bar, 40), *ctx.chord(bar, 47, 3), *ctx.chord(bar, 59, 2)]
        for i, stroke in enumerate(strums):
            if stroke == ".":
                continue
            t0 = ctx.time(bar, 2 * i)
            for j, p in enumerate(tones if stroke == "D" else tones[::-1][:4]):
                score.add(t0 + j * 0.012, ctx.sixteenth * 3, p, 0.85 if stroke == "D" else 0.55)
    return play(ctx, score, voice)


def _folk_percussion(ctx: Ctx) -> list[Part]:
    """Stomp and clap, a shaker, or nothing."""
    r, kit = ctx.rng, ctx.kit
    percussion = r.random()
    if percussion < 0.3:
        stomp, _ = drum_track(ctx, kit.kick, "X.......X.......")
        clap, _ = drum_track(ctx, kit.clap, "....x.......x...")
        return [
            Part(filtered(stomp, "low", 300, ctx.sr), -6, 0.15, drums=True),
            Part(clap, -10, 0.3, drums=True),
        ]
    if percussion < 0.6:
        shaker, _ = drum_track(ctx, kit.shaker, "x.o.x.o.x.o.x.o.")
        return [Part(shaker, -16, 0.2, drums=True)]
    return []
