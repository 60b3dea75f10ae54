"""Jazz parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.dsp import Voice, filtered
from recommender.sources.demo.sequencing import Ctx, Part, Score, drum_track, pick, play


def swing_drums(ctx: Ctx, *, brushes: bool = False) -> list[Part]:
    """Ride 'spang-a-lang' (or brushes), hi-hat foot on 2 and 4, snare comping, feathered kick."""
    r, kit = ctx.rng, ctx.kit
    if brushes:  # a brush stirring on every 8th, a slap on 2 and 4
        ride, _ = drum_track(ctx, kit.brush, "--x---x---x---x-" if r.random() < 0.5 else "-.x.-.x.-.x.-.x.")
    else:
        cymbal = pick(r, [kit.ride, kit.ride, kit.hat])
        ride, _ = drum_track(ctx, cymbal, pick(r, ["x...X.x.x...X.x.", "x...x.o.x...x.o."]))
    foot, _ = drum_track(ctx, kit.hat, "....o.......o...")
    p_comp = 0.1 if brushes else 0.18
    comp = [
        "".join("o" if s % 2 == 0 and r.random() < p_comp else "." for s in range(16))
        for _ in range(ctx.bars)
    ]
    snare, _ = drum_track(ctx, pick(r, [kit.brush, kit.snare]), comp)
    feather, _ = drum_track(ctx, kit.kick, "-...-...-...-...", ctx.blocks(0.5))
    return [
        Part(ride, -16 if brushes else -14, 0.2, drums=True),
        Part(foot, -16, 0.1, drums=True),
        Part(snare, -14, 0.2, drums=True),
        Part(feather, -10, 0.05, drums=True),
    ]


def walking_bass(ctx: Ctx, voice: Voice, *, two_feel: bool = False) -> np.ndarray:
    """Quarter notes through the chord to a step from the next root (half notes when ``two_feel``)."""
    r, walk = ctx.rng, Score()
    for bar in range(ctx.bars):
        tones, next_root = ctx.chord(bar, 36, 4), ctx.root(bar + 1, 36)
        line = [
            tones[0],
            pick(r, tones[1:]),
            pick(r, tones[1:] + [tones[0] + 12]),
            next_root + pick(r, [-1, 1, 2]),
        ]
        beats = [0, 2] if two_feel else [0, 1, 2, 3]
        for beat in beats:
            walk.add(
                ctx.time(bar, 4 * beat),
                ctx.sixteenth * (7.5 if two_feel else 3.5),
                line[beat],
                0.85 + 0.15 * (beat == 0),
            )
    return play(ctx, walk, voice)


CHARLESTON = [[(0, 3.0), (6, 4.0)], [(2, 2.0), (10, 3.0)], [(6, 2.0), (14, 2.0)]]


def bossa_drums(ctx: Ctx) -> list[Part]:
    """Bossa nova: rim click on the bossa clave, a soft surdo-like kick, shaker or hats in 8ths."""
    r, kit = ctx.rng, ctx.kit
    clave = pick(r, ["x..x..x...x..x..", "x..x...x..x..x.."])
    rim, _ = drum_track(ctx, kit.rim, clave)
    kick, _ = drum_track(ctx, kit.kick, "X..xX..xX..xX..x")
    shaker, _ = drum_track(
        ctx, pick(r, [kit.shaker, kit.hat]), ctx.by_energy(["x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo"])
    )
    return [
        Part(filtered(kick, "low", 250, ctx.sr), -6, 0.05, drums=True),
        Part(rim, -10, 0.2, drums=True),
        Part(shaker, -15, 0.1, drums=True),
    ]
