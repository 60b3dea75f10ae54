"""Folk: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import Pluck
from recommender.sources.demo.parts.common import lead_part
from recommender.sources.demo.parts.electronic import (
    arp_voice,
    arpeggio,
    dance_bass,
    four_floor,
    synth_pop_drums,
)
from recommender.sources.demo.parts.folk import fingerpick, strum
from recommender.sources.demo.parts.rock import root_notes
from recommender.sources.demo.sequencing import (
    Ctx,
    Part,
    Score,
    chord_score,
    drum_track,
    duck,
    held_chords,
    melody_score,
    pick,
    play,
)


def fingerstyle(ctx: Ctx) -> list[Part]:
    """Fingerstyle folk: a finger-picked guitar (or piano), sometimes upright bass, a flute or harmonium tune."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3, 4, 0), (0, 4, 5, 3), (0, 3, 0, 4), (5, 3, 0, 4), (0, 5, 3, 4)])
    ctx.bars_per_chord = 1
    strings = instruments.piano(tim) if tim.random() < 0.2 else instruments.guitar(tim)
    parts = [Part(fingerpick(ctx, strings), 0.0, 0.2)]
    if r.random() < 0.4:
        parts.append(Part(root_notes(ctx, instruments.upright(tim), [(0, 6, 0), (8, 6, 7)], lo=33), -6, 0.1))
    tune = pick(tim, [instruments.flute(tim), instruments.organ(tim)])  # flute, or a harmonium stand-in
    parts += lead_part(
        ctx,
        tune,
        level=-6,
        send=0.25,
        lo=67,
        density=0.35,
        legato=0.95,
        mask=ctx.blocks(0.7, first=False),
        p=0.6,
    )
    if r.random() < 0.3:
        shaker, _ = drum_track(ctx, ctx.kit.shaker, "x.o.x.o.x.o.x.o.")
        parts.append(Part(shaker, -18, 0.2, drums=True))
    return parts


def celtic(ctx: Ctx) -> list[Part]:
    """Celtic: a jig's lilt, bodhrán, droning guitar strums, a busy fiddle tune doubled by a whistle."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = pick(r, [(0, 6), (0, 3, 0, 4), (0, 6, 0, 4), (5, 3, 0, 4), (0, 0, 6, 6)])
    ctx.bars_per_chord = 1
    bodhran, _ = drum_track(
        ctx, kit.tom, pick(r, ["X.o.x.o.X.o.x.o.", "X.x.o.x.X.x.o.x.", "X...x.o.X...x.o."])
    )
    parts = [Part(bodhran, -6, 0.2, drums=True)]
    parts.append(Part(strum(ctx, instruments.guitar(tim)), -6, 0.2))
    melody = melody_score(
        ctx, lo=67, density=0.75, legato=0.95, span=9, mask=ctx.blocks(0.85, first=r.random() < 0.6)
    )
    parts.append(Part(play(ctx, melody, instruments.fiddle(tim)), -3, 0.3))
    if r.random() < 0.5:  # the whistle doubles the tune an octave up
        whistle = Score()
        whistle.notes = [(t, g, p + 12, v * 0.8) for t, g, p, v in melody.notes]
        parts.append(Part(play(ctx, whistle, instruments.flute(tim)), -10, 0.3))
    return parts


def bluegrass(ctx: Ctx) -> list[Part]:
    """Bluegrass: banjo rolls, mandolin chops on 2 and 4, upright bass on 1 and 3, a fiddle; no drums."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3, 0, 4), (0, 0, 3, 4), (0, 4, 0, 0), (0, 3, 4, 0)])
    ctx.bars_per_chord = pick(r, [1, 2])
    roll = pick(r, [[0, 1, 2, 0, 1, 2, 0, 1], [0, 2, 4, 0, 2, 4, 3, 1], [2, 1, 0, 2, 1, 0, 4, 3]])
    banjo = Score()
    for bar in range(ctx.bars):
        tones = ctx.chord(bar, 55, 3) + ctx.chord(bar, 67, 2)
        for s in range(16):
            banjo.add(ctx.time(bar, s), ctx.sixteenth * 2, tones[roll[s % 8]], 0.9 if s % 4 == 0 else 0.7)
    parts = [Part(play(ctx, banjo, instruments.banjo(tim)), -3, 0.15)]
    chop = Pluck(damping=12.0, brightness=0.02, position=0.15, partials=10, release=0.02)
    parts.append(
        Part(play(ctx, chord_score(ctx, [(4, 1.0), (12, 1.0)], lo=62, size=3, spread=0.004), chop), -7, 0.15)
    )
    parts.append(Part(root_notes(ctx, instruments.upright(tim), [(0, 3.5, 0), (8, 3.5, 7)], lo=33), -4, 0.1))
    parts += lead_part(
        ctx,
        instruments.fiddle(tim),
        level=-6,
        lo=67,
        density=0.55,
        legato=0.95,
        mask=ctx.blocks(0.6, first=False),
        p=0.75,
    )
    return parts


def folktronica(ctx: Ctx) -> list[Part]:
    """Folktronica (Folk + Electronic): finger-picked guitar over a drum machine, a pulsing synth bass and pads."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 5, 3, 4), (5, 3, 0, 4), (0, 3), (0, 4, 5, 3)])
    ctx.bars_per_chord = 2
    parts = [Part(fingerpick(ctx, pick(tim, [instruments.guitar(tim), instruments.nylon(tim)])), -1, 0.25)]
    if r.random() < 0.5:  # a soft four-on-the-floor, or a drum machine's backbeat
        drums, kicks = four_floor(ctx, clap=0.6, soft=True)
    else:
        drums, kicks = synth_pop_drums(ctx), []
    parts += drums
    pump = duck(ctx, kicks, depth=r.uniform(0.2, 0.5))
    parts.append(
        Part(dance_bass(ctx, instruments.synth_bass(tim), [0, 3, 6, 8, 11, 14], gate=1.0) * pump, -6, 0.05)
    )
    parts.append(Part(play(ctx, held_chords(ctx, lo=57, size=3), instruments.pad(tim)) * pump, -12, 0.4))
    parts += arpeggio(ctx, arp_voice(tim), p=0.4)
    return parts
