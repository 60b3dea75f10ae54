"""Rock parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.dsp import Voice
from recommender.sources.demo.sequencing import Ctx, Part, Score, drum_track, fill_bars, pick, play

# kicks, snare pattern, fill, cymbal patterns
_ROCK_BEATS = {
    "rock": (
        ["X.......X.x.....", "X.x.....X.......", "X...X...X...X...", "X.......X..x.x.."],
        "....X.......X...",
        ["....X.......XxXX", "....X...XoXoXXXX", "....X.......X.XX"],
        ["x.x.x.x.x.x.x.x.", "X.x.X.x.X.x.X.x.", "x.x.x.x.x.x.x.xx"],
    ),
    "punk": (
        ["X.......X.......", "X.x.....X.x.....", "X...X...X...X..."],
        "....X.......X...",
        ["....X...XXXXXXXX", "....X.......XXXX"],
        ["x.x.x.x.x.x.x.x.", "X.X.X.X.X.X.X.X."],
    ),
    "ballad": (  # half time: the snare on beat 3
        ["X.........X.....", "X.......X.x.....", "X.....x...X....."],
        "........X.......",
        ["........X...XxXX", "........X.XXXXXX"],
        ["x.x.x.x.x.x.x.x.", "x...x...x...x..."],
    ),
    "light": (  # folk rock: brushes of a band playing softly
        ["X.......X.......", "X.....x.X.......", "X.......X..x...."],
        "....x.......x...",
        ["....x.......x.xx", "....x...x.x.x.xx"],
        ["x.x.x.x.x.x.x.x.", "x.xxx.xxx.xxx.xx"],
    ),
    "funk": (  # fusion: syncopated kick, ghost notes, 16th hats
        ["X.....x...X..x..", "X..x......X....x", "X.x...x...X....."],
        "....X..o.o..X..o",
        ["....X..o.oXoXXXX", "....X..o.o..XxXx"],
        ["xoxoxoxoxoxoxoxo", "x.xxx.xxx.xxx.xx"],
    ),
}


def rock_drums(ctx: Ctx, kind: str) -> list[Part]:
    """A drummer's kit: kick, backbeat snare with fills, hats or ride, a crash at every block (``_ROCK_BEATS``)."""
    r, kit = ctx.rng, ctx.kit
    kicks, backbeat, fills, cymbals = _ROCK_BEATS[kind]
    kick, _ = drum_track(ctx, kit.kick, pick(r, kicks))
    snare_sample = pick(r, [kit.rim, kit.snare]) if kind == "light" else kit.snare
    snare, _ = drum_track(ctx, snare_sample, fill_bars(ctx, backbeat, pick(r, fills), 0.6))
    cymbal = kit.shaker if kind == "light" else kit.ride if r.random() < 0.3 else kit.hat
    hat, _ = drum_track(ctx, cymbal, ctx.by_energy(cymbals))
    crashes = ["X..............." if b % ctx.block_bars == 0 else None for b in range(ctx.bars)]
    crash, _ = drum_track(ctx, kit.crash, crashes)
    soft = -4.0 if kind in ("light", "ballad") else 0.0
    return [
        Part(kick, -1, 0.08, drums=True),
        Part(snare, soft, 0.25, drums=True),
        Part(hat, -12, 0.1, drums=True),
        Part(crash, -12 + soft, 0.2, drums=True),
    ]


def power_chords(ctx: Ctx, voice: Voice, *, palm: float = 0.5, eighths: bool = False, mask=None):
    """Power-chord riff: palm-muted 8ths in some blocks, open chords elsewhere (all 8ths when ``eighths``).

    ``mask`` (bars,) silences bars. Returns the signal (n,).
    """
    muted, riff = ctx.blocks(palm), Score()
    for bar in range(ctx.bars):
        if mask is not None and not mask[bar]:
            continue
        root = ctx.root(bar, 40)
        if eighths or muted[bar]:
            for s in range(0, 16, 2):
                riff.add(ctx.time(bar, s), ctx.sixteenth * 1.1, root, 0.9 if s % 4 == 0 else 0.75)
        else:  # open chords, struck on 1 and the and of 2
            riff.add(ctx.time(bar, 0), ctx.sixteenth * 6, root, 1.0)
            riff.add(ctx.time(bar, 6), ctx.sixteenth * 10, root, 0.85)
    return play(ctx, riff, voice)


def root_notes(ctx: Ctx, voice: Voice, steps: list[tuple[int, float, int]], *, lo: int = 28) -> np.ndarray:
    """A bass line of (step, length in 16ths, semitones above the root) in every bar; signal (n,)."""
    bass = Score()
    for bar in range(ctx.bars):
        for step, length, shift in steps:
            bass.add(ctx.time(bar, step), ctx.sixteenth * length, ctx.root(bar, lo) + shift, 0.9)
    return play(ctx, bass, voice)


EIGHTHS = [(s, 1.6, 0) for s in range(0, 16, 2)]


def broken_chords(ctx: Ctx, voice: Voice, *, lo: int, order: list[int], step: int = 2, gate: float = 4.0):
    """Arpeggiated chords: chord tones (two octaves) in ``order``, one every ``step`` 16ths; signal (n,)."""
    score = Score()
    for bar in range(ctx.bars):
        tones = ctx.chord(bar, lo, 3) + ctx.chord(bar, lo + 12, 3)
        for i, s in enumerate(range(0, 16, step)):
            score.add(
                ctx.time(bar, s), ctx.sixteenth * gate, tones[order[i % len(order)]], 0.9 - 0.2 * (i % 2)
            )
    return play(ctx, score, voice)
