"""Electronic parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.dsp import Pluck, Synth, Voice, filtered
from recommender.sources.demo.sequencing import (
    Ctx,
    Part,
    Score,
    chord_score,
    drum_track,
    fill_bars,
    pick,
    play,
)


def four_floor(ctx: Ctx, *, clap: float = 0.85, soft: bool = False) -> tuple[list[Part], list[float]]:
    """Kick on every beat, clap on 2 and 4, off-beat open hats, hats; and the kick times (s)."""
    r, kit = ctx.rng, ctx.kit
    drop = ctx.blocks(0.2, first=False)  # a breakdown block without kick
    kick, kick_times = drum_track(ctx, kit.kick, "X...X...X...X...", ~drop)
    backbeat = pick(r, [kit.clap, kit.clap, kit.snare, kit.rim])
    clap_part, _ = drum_track(ctx, backbeat, "....x.......x...", ctx.blocks(clap))
    open_hats = pick(r, ["..x...x...x...x.", "..x...x...x...xx"])
    open_hat, _ = drum_track(ctx, kit.open_hat, open_hats, ctx.blocks(0.5 if soft else 0.8))
    hats = ctx.by_energy(["x.x.x.x.x.x.x.x.", "oo-ooo-ooo-ooo-o", "xoxoxoxoxoxoxoxo"])
    hat, _ = drum_track(ctx, kit.hat, hats, ctx.blocks(0.7))
    quiet = 0.0
    if soft:  # a felt kick and far-away cymbals
        kick, quiet = filtered(kick, "low", 200, ctx.sr), -7.0
    parts = [
        Part(kick, 0.0, 0.03, drums=True),
        Part(clap_part, -7 + quiet, 0.25, drums=True),
        Part(open_hat, -12 + quiet, 0.1, drums=True),
        Part(hat, -14 + quiet, 0.05, drums=True),
    ]
    return parts, kick_times


def synth_pop_drums(ctx: Ctx) -> list[Part]:
    """Drum machine with a backbeat: kick on 1 and 3, snare or clap on 2 and 4, 8th hats, fills."""
    r, kit = ctx.rng, ctx.kit
    kick, _ = drum_track(ctx, kit.kick, pick(r, ["X.......X.x.....", "X.......X.......", "X..x....X.x....."]))
    snare, _ = drum_track(
        ctx, pick(r, [kit.snare, kit.clap]), fill_bars(ctx, "....X.......X...", "....X...X.X.XXXX", 0.4)
    )
    hat, _ = drum_track(ctx, kit.hat, ctx.by_energy(["x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.xx"]))
    return [
        Part(kick, 0.0, 0.05, drums=True),
        Part(snare, -2, 0.3, drums=True),
        Part(hat, -13, 0.1, drums=True),
    ]


def dance_bass(ctx: Ctx, voice: Voice, steps: list[int], *, octave: tuple[int, ...] = (), gate: float = 1.5):
    """The chord root on ``steps`` of every bar (an octave up on ``octave`` steps); signal (n,)."""
    bass = Score()
    for bar in range(ctx.bars):
        for s in steps:
            bass.add(ctx.time(bar, s), ctx.sixteenth * gate, ctx.root(bar, 33) + 12 * (s in octave), 0.9)
    return play(ctx, bass, voice)


def acid(ctx: Ctx) -> np.ndarray:
    """A squelchy 16th-note bass riff, one bar repeated (the 303 of acid techno); signal (n,)."""
    r, tim = ctx.rng, ctx.tim
    voice = Synth(
        pick(tim, ["saw", "square"]),
        cutoff=tim.uniform(300, 700),
        bright=tim.uniform(1.5, 3.0),
        bright_decay=tim.uniform(0.04, 0.12),
        drive=tim.uniform(1.5, 3.0),
        decay=0.15,
        sustain=0.4,
        release=0.03,
    )
    on = r.random(16) < 0.6
    on[0] = True
    shift = [int(pick(r, [0, 0, 0, 12, 7, 3, 10])) for _ in range(16)]
    riff = Score()
    for bar in range(ctx.bars):
        for s in np.flatnonzero(on):
            riff.add(
                ctx.time(bar, s), ctx.sixteenth * 0.8, ctx.root(bar, 33) + shift[s], 0.6 + 0.4 * (s % 4 == 0)
            )
    return play(ctx, riff, voice)


def stabs(ctx: Ctx, voice: Voice, *, size: int = 4, lo: int = 57, p: float = 0.8) -> np.ndarray:
    """Off-beat chord stabs of house and techno; signal (n,)."""
    rhythm = pick(
        ctx.rng, [[(3, 1.0), (6, 1.0), (11, 1.0), (14, 1.0)], [(2, 1.0), (6, 1.0), (10, 1.0), (14, 1.0)]]
    )
    return play(ctx, chord_score(ctx, rhythm, lo=lo, size=size, mask=ctx.blocks(p)), voice)


def saw_stab(tim: np.random.Generator) -> Synth:
    return Synth(
        "saw",
        detune=(-6.0, 6.0),
        cutoff=tim.uniform(1500, 4000),
        bright=1.0,
        decay=0.12,
        sustain=0.2,
        release=0.06,
    )


def arpeggio(ctx: Ctx, voice: Voice, *, lo: int = 69, p: float = 0.6) -> list[Part]:
    """16th-note arpeggio over the chord, in some blocks (with probability ``p``)."""
    r = ctx.rng
    if r.random() >= p:
        return []
    arp, mask = Score(), ctx.blocks(0.6, first=False)
    pattern = pick(r, [[0, 1, 2, 1], [0, 1, 2, 3], [2, 1, 0, 1]])
    for bar in np.flatnonzero(mask):
        tones = ctx.chord(bar, lo, 4)
        for s in range(16):
            arp.add(ctx.time(bar, s), ctx.sixteenth * 0.7, tones[pattern[s % 4]], 0.6 + 0.4 * (s % 4 == 0))
    return [Part(play(ctx, arp, voice), -12, 0.35)]


def arp_voice(tim: np.random.Generator) -> Voice:
    return pick(
        tim,
        [
            Pluck(damping=6.0, brightness=0.15, partials=8),
            Synth("square", cutoff=3000, decay=0.1, sustain=0.0, release=0.03),
        ],
    )
