"""Reggae parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import Synth, Voice
from recommender.sources.demo.sequencing import (
    Ctx,
    Part,
    Score,
    chord_score,
    drum_track,
    echoed,
    fill_bars,
    pick,
    play,
)


def one_drop(ctx: Ctx, *, steppers: float = 0.3, echo: tuple[float, float] = (0.3, 0.5)) -> list[Part]:
    """One drop (kick and rim together on beat 3) or steppers (kick on every beat), hats, dub echo on the rim."""
    r, kit = ctx.rng, ctx.kit
    kick, _ = drum_track(ctx, kit.kick, "X...X...X...X..." if r.random() < steppers else "........X.......")
    backbeat = fill_bars(ctx, "........X.......", "........X.....o.", 0.4)
    rim, _ = drum_track(ctx, pick(r, [kit.rim, kit.rim, kit.snare]), backbeat)
    hat, _ = drum_track(ctx, kit.hat, pick(r, ["x.x.x.x.x.x.x.x.", "x.xox.xox.xox.xo", "o.x.o.x.o.x.o.x."]))
    dub = echoed(ctx, rim, 3 * ctx.sixteenth, r.uniform(*echo))
    return [
        Part(kick, -1, 0.05, drums=True),
        Part(dub, -4, 0.35, drums=True),
        Part(hat, -13, 0.1, drums=True),
    ]


def skank_chords(ctx: Ctx, voice: Voice, steps: list[tuple[int, float]], *, mask=None) -> np.ndarray:
    """Short off-beat chords (the reggae 'skank', the ska 'upstroke')."""
    return play(ctx, chord_score(ctx, steps, lo=60, size=3, spread=0.006, mask=mask), voice)


def bubble(ctx: Ctx) -> Part:
    """The organ 'bubble' on the 16th off-beats."""
    steps = [(s, 0.7) for s in (2, 3, 6, 7, 10, 11, 14, 15)]
    return Part(play(ctx, chord_score(ctx, steps, lo=55, size=3), instruments.organ(ctx.tim)), -11, 0.2)


def reggae_bass(ctx: Ctx, *, half_time: bool = False) -> np.ndarray:
    """A deep, melodic, syncopated bass riff over the chord roots; over two bars when ``half_time``."""
    r, tim = ctx.rng, ctx.tim
    voice = Synth(
        pick(tim, ["sine", "triangle"]),
        drive=tim.uniform(0.5, 1.5),
        decay=0.5,
        sustain=0.8,
        release=0.05,
        cutoff=800,
    )
    onsets = [2, 3, 4, 6, 7, 8, 10, 11, 12, 14]
    onsets = sorted(int(s) for s in r.choice(onsets, size=int(r.integers(4, 8)), replace=False))
    offsets = [int(pick(r, [0, 0, 2, 4, 7])) for _ in onsets]  # scale steps above the chord root; 7 = octave
    stretch = 2 if half_time else 1  # in half time, a 16th of the riff lasts an 8th
    bass = Score()
    for start in range(0, ctx.bars, stretch):
        for i, s in enumerate(onsets):
            nxt = onsets[i + 1] if i + 1 < len(onsets) else 18
            bar, step = divmod(s * stretch, 16)
            bar += start
            pitch = ctx.pitch(ctx.degree(bar) + offsets[i], 31) if offsets[i] != 7 else ctx.root(bar, 31) + 12
            bass.add(ctx.time(bar, step), min(nxt - s, 3) * stretch * ctx.sixteenth * 0.9, pitch, 0.9)
    return play(ctx, bass, voice)


def melodica(tim: np.random.Generator) -> Synth:
    return Synth(
        pick(tim, ["square", "saw"]),
        cutoff=tim.uniform(1800, 3000),
        attack=0.03,
        sustain=0.8,
        release=0.08,
        vibrato=20,
    )
