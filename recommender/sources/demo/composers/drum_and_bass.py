"""Drum & Bass: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import FM, Synth
from recommender.sources.demo.parts.common import lead_part
from recommender.sources.demo.parts.drum_and_bass import breakbeat, dnb_bass, reese
from recommender.sources.demo.parts.reggae import melodica, reggae_bass, skank_chords
from recommender.sources.demo.sequencing import (
    Ctx,
    Part,
    chord_score,
    drum_track,
    echoed,
    fill_bars,
    held_chords,
    pick,
    play,
)


def neurofunk(ctx: Ctx) -> list[Part]:
    """Neurofunk: tight, precise breaks, a heavily driven reese bass, metallic stabs; dark, no pads."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0,), (0, 5), (0, 6)])
    ctx.bars_per_chord = pick(r, [2, 4])
    parts = breakbeat(ctx, chop=0.15, ride=0.2)
    parts.append(Part(dnb_bass(ctx, reese(tim)), -1, 0.02))
    if r.random() < 0.6:  # metallic stabs in the gaps
        metal = FM(
            ratio=pick(tim, [1.41, 2.76, 3.5]),
            index=tim.uniform(4, 8),
            index_decay=0.05,
            decay=0.2,
            release=0.05,
        )
        steps = [(int(s), 1.0) for s in sorted(r.choice([3, 6, 7, 11, 14, 15], size=3, replace=False))]
        parts.append(
            Part(play(ctx, chord_score(ctx, steps, lo=60, size=1, mask=ctx.blocks(0.6)), metal), -10, 0.2)
        )
    return parts


def liquid(ctx: Ctx) -> list[Part]:
    """Liquid drum & bass: rolling breaks with a ride, round sub bass, lush pads or electric piano, a soft lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 5), (1, 4, 0, 5), (0, 3, 5, 6), (0, 5, 6, 4)])
    ctx.bars_per_chord = 2
    parts = breakbeat(ctx, chop=0.25, ride=0.7)
    parts.append(
        Part(
            dnb_bass(ctx, Synth("sine", drive=tim.uniform(0.5, 1.5), attack=0.01, sustain=1.0, release=0.08)),
            -3,
            0.02,
        )
    )
    keys = pick(tim, [instruments.pad(tim, attack=(0.2, 0.8)), instruments.epiano(tim)])
    parts.append(Part(play(ctx, held_chords(ctx, lo=57, size=4), keys), -7, 0.5))
    parts += lead_part(
        ctx,
        Synth("triangle", attack=0.05, sustain=0.8, vibrato=25, cutoff=3000),
        level=-10,
        send=0.5,
        lo=67,
        density=0.25,
        mask=ctx.blocks(0.5, first=False),
        p=0.5,
    )
    return parts


def halftime(ctx: Ctx) -> list[Part]:
    """Halftime: drum & bass tempo with the snare on beat 3 only, sparse hats, a wobbling bass."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = pick(r, [(0,), (0, 5), (0, 6)])
    ctx.bars_per_chord = 4
    kick, _ = drum_track(ctx, kit.kick, pick(r, ["X.........X.....", "X.......X.X.....", "X..........X...."]))
    snare, _ = drum_track(ctx, kit.snare, fill_bars(ctx, "........X.......", "........X.....XX", 0.3))
    hat, _ = drum_track(ctx, kit.hat, ctx.by_energy(["x...x...x...x...", "x.x.x.x.x.x.x.x."]))
    parts = [
        Part(kick, 0.0, 0.05, drums=True),
        Part(snare, 0.0, 0.3, drums=True),
        Part(hat, -13, 0.1, drums=True),
    ]
    t = np.arange(ctx.n, dtype=np.float32) / np.float32(ctx.sr)
    rate = pick(r, [1, 2, 3]) / (4 * ctx.sixteenth)  # wobbles per beat
    wobble = (0.55 + 0.45 * np.sin(np.float32(2 * np.pi * rate) * t)).astype(np.float32)
    parts.append(Part(dnb_bass(ctx, reese(tim)) * wobble, -1, 0.02))
    if r.random() < 0.4:
        parts.append(Part(play(ctx, held_chords(ctx, lo=57, size=3), instruments.pad(tim)), -13, 0.5))
    return parts


def jungle(ctx: Ctx) -> list[Part]:
    """Jungle (Drum & Bass + Reggae): chopped breaks under a half-time reggae bass, skank and dub echoes."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 5), (0, 3, 5, 6), (0, 6), (0, 3)])
    ctx.bars_per_chord = 2
    parts = breakbeat(ctx, chop=0.7, ride=0.3)
    parts.append(Part(reggae_bass(ctx, half_time=True), 0.0, 0.02))
    voice = pick(tim, [instruments.guitar(tim, mute=0.03), instruments.organ(tim), instruments.piano(tim)])
    skank = skank_chords(ctx, voice, [(4, 0.8), (12, 0.8)], mask=ctx.blocks(0.8))
    parts.append(Part(echoed(ctx, skank, 3 * ctx.sixteenth, r.uniform(0.4, 0.6)), -5, 0.4))
    lead = melodica(tim)
    parts += lead_part(
        ctx, lead, level=-9, send=0.5, lo=67, density=0.25, mask=ctx.blocks(0.5, first=False), p=0.5
    )
    return parts
