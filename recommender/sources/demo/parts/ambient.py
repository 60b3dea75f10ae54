"""Ambient parts: drums, bass, harmony and textures in the genre's idiom."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.drums import white_noise
from recommender.sources.demo.dsp import Synth, Voice, filtered
from recommender.sources.demo.sequencing import METRIC, Ctx, Part, Score, pick, play


def swell_pads(ctx: Ctx, *, cutoff: tuple[float, float] = (600, 2000), lo: int = 48) -> Part:
    """Slowly swelling, detuned pad chords, held for each harmony."""
    tim = ctx.tim
    pad = Synth(
        pick(tim, ["saw", "triangle", "saw"]),
        detune=(-11.0, 0.0, 12.0),
        attack=tim.uniform(1.0, 3.0),
        sustain=1.0,
        release=tim.uniform(1.5, 3.0),
        cutoff=tim.uniform(*cutoff),
    )
    score = Score()
    for bar in range(0, ctx.bars, ctx.bars_per_chord):
        for p in ctx.chord(bar, lo, 3) + ctx.chord(bar, lo + 12, 2)[1:]:
            score.add(ctx.time(bar, 0), 16 * ctx.sixteenth * ctx.bars_per_chord, p, 0.8)
    return Part(play(ctx, score, pad), 0.0, 0.6)


def drone_part(ctx: Ctx, *, fifth: bool = False, level: float | None = None) -> Part:
    """The tonic held through the whole song (and its fifth), low."""
    tim = ctx.tim
    drone = Score()
    drone.add(0.0, ctx.n / ctx.sr, ctx.pitch(0, 36), 1.0)
    if fifth:
        drone.add(0.0, ctx.n / ctx.sr, ctx.pitch(4, 36), 0.7)
    voice = Synth(pick(tim, ["sine", "triangle"]), attack=2.0, sustain=1.0, release=1.0)
    return Part(play(ctx, drone, voice), tim.uniform(-12, -4) if level is None else level, 0.3)


def bell_part(ctx: Ctx, voice: Voice, *, p_note: float, lo: int = 72) -> Part:
    """A few notes per bar, on the beats, from the chord."""
    r, bells = ctx.rng, Score()
    for bar in range(ctx.bars):
        for s in range(0, 16, 4):
            if r.random() < p_note * METRIC[s]:
                pitch = pick(r, [*ctx.chord(bar, lo, 3), ctx.pitch(1, lo)])
                bells.add(ctx.time(bar, s), 4 * ctx.sixteenth, pitch)
    return Part(play(ctx, bells, voice), -8, 0.8)


def wind(ctx: Ctx, *, level: float = -20) -> Part:
    """Band noise slowly breathing."""
    r = ctx.rng
    t = np.arange(ctx.n, dtype=np.float32) / np.float32(ctx.sr)
    lfo = 0.6 + 0.4 * np.sin(np.float32(2 * np.pi * r.uniform(0.05, 0.2)) * t + np.float32(r.uniform(0, 6)))
    band = (r.uniform(300, 800), r.uniform(1500, 4000))
    return Part(filtered(white_noise(r, t), "band", band, ctx.sr) * lfo, level, 0.5)
