"""Hip-Hop parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.dsp import Voice, filtered
from recommender.sources.demo.sequencing import Ctx, Part, Score, chord_score, drum_track, hits, pick, play

_BOOM_BAP_KICKS = [
    "X.....x...X.....",
    "X..x......X..x..",
    "X.....X..x.X....",
    "X.x.......X..x..",
    "X......x.xX.....",
]


def boom_bap_drums(ctx: Ctx, *, soft: bool = False, ride: bool = False) -> tuple[list[Part], list[float]]:
    """Syncopated kick (two patterns, alternating bars), snare on 2 and 4, swung hats; and the kick times.

    ``soft``: a muffled kick, rim or brush for the snare (lo-fi, downtempo); ``ride``: a ride cymbal
    instead of the hats (jazz-hop).
    """
    r, kit = ctx.rng, ctx.kit
    a, b = pick(r, _BOOM_BAP_KICKS), pick(r, _BOOM_BAP_KICKS)
    kick, kick_times = drum_track(ctx, kit.kick, [a if bar % 2 == 0 else b for bar in range(ctx.bars)])
    snare_pattern = pick(r, ["....X.......X...", "....X.......X..o", "....X..o....X..."])
    snare, _ = drum_track(ctx, pick(r, [kit.rim, kit.brush, kit.snare]) if soft else kit.snare, snare_pattern)
    hats = ["x.o.x.o.x.o.x.o.", "x.x.x.x.x.x.x.x.", "x.xox.x.x.xox.xo"]
    hat, _ = drum_track(ctx, kit.ride if ride else kit.hat, ctx.by_energy(hats))
    if soft:
        kick = filtered(kick, "low", r.uniform(150, 300), ctx.sr)
    parts = [
        Part(kick, 0.0, 0.03, drums=True),
        Part(snare, -3 if soft else -1, 0.15, drums=True),
        Part(hat, -15 if ride else -11, 0.05, drums=True),
    ]
    if not soft:
        clap, _ = drum_track(ctx, kit.clap, snare_pattern, ctx.blocks(0.3))
        parts.append(Part(clap, -8, 0.15, drums=True))
    return parts, kick_times


def trap_drums(ctx: Ctx) -> tuple[list[Part], list[float]]:
    """Half-time trap: sparse kicks, snare and clap on beat 3, hats with 32nd and triplet rolls; and kick times."""
    r, kit = ctx.rng, ctx.kit
    kicks = ["X.........X.....", "X......X..X.....", "X.....X.....X...", "X..X......X..X.."]
    a, b = pick(r, kicks), pick(r, kicks)
    kick, kick_times = drum_track(ctx, kit.kick, [a if bar % 2 == 0 else b for bar in range(ctx.bars)])
    snare, _ = drum_track(ctx, kit.snare, "........X.......")
    clap, _ = drum_track(ctx, kit.clap, "........X.......")
    hat, _ = drum_track(
        ctx, kit.hat, ctx.by_energy(["x.x.x.x.x.x.x.x.", "x.xxx.x.x.xxx.x.", "xoxoxoxoxoxoxoxo"])
    )
    times, velocities = [], []
    for bar in range(ctx.bars):  # a roll on the last beat of some bars
        if r.random() < 0.5:
            n, t0 = int(pick(r, [6, 8])), ctx.time(bar, 12)
            times += [t0 + i * 4 * ctx.sixteenth / n for i in range(n)]
            velocities += [0.4 + 0.5 * i / n for i in range(n)]
    rolls = hits(ctx, kit.hat, times, velocities)
    parts = [
        Part(kick, 0.0, 0.03, drums=True),
        Part(snare, -3, 0.2, drums=True),
        Part(clap, -4, 0.2, drums=True),
        Part(hat, -12, 0.05, drums=True),
        Part(rolls, -14, 0.05, drums=True),
    ]
    return parts, kick_times


def bass_on_kicks(ctx: Ctx, kick_times: list[float], voice: Voice, *, longest: float = 4, moves: float = 0.0):
    """A bass note on every kick, held until the next (at most ``longest`` 16ths); signal (n,).

    ``moves``: probability that a note leaves the root for the fifth or the octave.
    """
    bass, kick_times = Score(), sorted(kick_times)
    for i, t in enumerate(kick_times):
        bar = min(int(t / (16 * ctx.sixteenth)), ctx.bars - 1)
        gate = min((kick_times[i + 1] - t) if i + 1 < len(kick_times) else 1.0, longest * ctx.sixteenth) * 0.9
        shift = int(pick(ctx.rng, [7, 12, -2])) if ctx.rng.random() < moves else 0
        bass.add(t, gate, ctx.root(bar, 28) + shift, 1.0)
    return play(ctx, bass, voice)


def keys_comp(ctx: Ctx, voice: Voice, *, lo: int = 55) -> np.ndarray:
    """Hip-hop keys: a sampled-sounding four-note chord in one of a few rhythms; signal (n,)."""
    rhythm = pick(ctx.rng, [[(0, 6.0), (10, 4.0)], [(0, 14.0)], [(0, 3.0), (6, 3.0), (11, 4.0)]])
    return play(ctx, chord_score(ctx, rhythm, lo=lo, size=4, spread=0.01), voice)
