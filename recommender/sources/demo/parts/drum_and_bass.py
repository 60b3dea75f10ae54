"""Drum & Bass parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.dsp import Synth, Voice
from recommender.sources.demo.sequencing import Ctx, Part, Score, drum_track, pick, play

_DNB_KICKS = ["X.........X.....", "X.........x.X...", "X.....X...X.....", "X.x.......X....."]
_DNB_SNARES = ["..o.X..o.o..X..o", "....X..o....X.o.", "....X.o..o..X..o", "o...X..o.o..X.oo"]


def breakbeat(ctx: Ctx, *, chop: float = 0.3, ride: float = 0.35) -> list[Part]:
    """Fast two-step breakbeat with ghost snares, re-chopped in a share ``chop`` of the bars; 16th hats."""
    r, kit = ctx.rng, ctx.kit
    ka, sa = pick(r, _DNB_KICKS), pick(r, _DNB_SNARES)
    chopped = [
        (pick(r, _DNB_KICKS), pick(r, _DNB_SNARES)) if r.random() < chop else (ka, sa)
        for _ in range(ctx.bars)
    ]
    kick, _ = drum_track(ctx, kit.kick, [k for k, _ in chopped])
    snare, _ = drum_track(ctx, kit.snare, [s for _, s in chopped])
    hats = ["x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.xx", "xoxoxoxoxoxoxoxo"]
    hat, _ = drum_track(ctx, kit.hat, ctx.by_energy(hats))
    parts = [
        Part(kick, 0.0, 0.05, drums=True),
        Part(snare, 0.0, 0.2, drums=True),
        Part(hat, -11, 0.08, drums=True),
    ]
    if r.random() < ride:
        cymbal, _ = drum_track(ctx, kit.ride, "x...x...x...x...", ctx.blocks(0.6))
        parts.append(Part(cymbal, -16, 0.2, drums=True))
    return parts


def reese(tim: np.random.Generator) -> Synth:
    """Detuned saws, dark and growling."""
    return Synth(
        "saw",
        detune=(-tim.uniform(12, 25), tim.uniform(12, 25)),
        cutoff=tim.uniform(300, 800),
        drive=tim.uniform(1.0, 2.5),
        attack=0.02,
        sustain=1.0,
        release=0.1,
        sub=0.5,
    )


def dnb_bass(ctx: Ctx, voice: Voice) -> np.ndarray:
    """Long notes over two bars: the root, then a push an octave, fifth or third away."""
    bass = Score()
    for bar in range(0, ctx.bars, 2):
        root = ctx.root(bar, 28)
        bass.add(ctx.time(bar, 0), ctx.sixteenth * 22, root, 1.0)
        bass.add(ctx.time(bar + 1, 8), ctx.sixteenth * 6, root + pick(ctx.rng, [0, 12, 7, 3]), 0.9)
    return play(ctx, bass, voice)
