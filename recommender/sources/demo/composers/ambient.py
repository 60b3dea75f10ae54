"""Ambient: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import Pluck
from recommender.sources.demo.parts.ambient import bell_part, drone_part, swell_pads, wind
from recommender.sources.demo.parts.common import lead_part
from recommender.sources.demo.parts.hip_hop import bass_on_kicks, boom_bap_drums, keys_comp
from recommender.sources.demo.parts.rock import broken_chords
from recommender.sources.demo.sequencing import Ctx, Part, drum_track, held_chords, pick, play


def ethereal(ctx: Ctx) -> list[Part]:
    """Ethereal ambient: slowly swelling pads, a low drone, sparse bells, wind; rarely a soft pulse."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = pick(r, [(0, 3), (0, 5), (5, 3), (0, 4), (0, 2, 3, 5)])
    ctx.bars_per_chord = pick(r, [1, 2])
    parts = [swell_pads(ctx), drone_part(ctx)]
    parts.append(
        bell_part(
            ctx,
            pick(tim, [instruments.bell(tim), instruments.epiano(tim), instruments.guitar(tim)]),
            p_note=r.uniform(0.1, 0.4),
        )
    )
    if r.random() < 0.5:
        parts.append(wind(ctx))
    if r.random() < 0.2:  # a soft pulse
        pulse, _ = drum_track(ctx, pick(r, [kit.shaker, kit.brush, kit.rim]), "x.......o.......")
        parts.append(Part(pulse, -18, 0.7, drums=True))
    return parts


def drone_ambient(ctx: Ctx) -> list[Part]:
    """Drone: a deep tonic and fifth held throughout, dark slow pads, wind; almost nothing moves."""
    r = ctx.rng
    ctx.progression = pick(r, [(0,), (0, 5), (0, 3)])
    ctx.bars_per_chord = 4
    parts = [
        drone_part(ctx, fifth=True, level=-2),
        swell_pads(ctx, cutoff=(300, 800), lo=43),
        wind(ctx, level=-18),
    ]
    if r.random() < 0.3:  # a distant bell now and then
        parts.append(bell_part(ctx, instruments.bell(ctx.tim), p_note=0.05, lo=60))
    return parts


def new_age(ctx: Ctx) -> list[Part]:
    """New age: harp-like broken chords in a major key, a soft pad, a slow flute, bells."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3, 4, 0), (0, 4, 5, 3), (3, 4, 0, 0), (0, 5, 3, 4)])
    ctx.bars_per_chord = 2
    harp = pick(
        tim,
        [
            instruments.guitar(tim, mute=0.5),
            instruments.piano(tim),
            Pluck(damping=1.0, brightness=0.03, position=0.3),
        ],
    )
    order = pick(r, [[0, 1, 2, 3, 4, 5, 4, 3], [0, 2, 4, 5, 3, 1, 2, 4]])
    parts = [Part(broken_chords(ctx, harp, lo=55, order=order, gate=8.0), -2, 0.5)]
    parts.append(
        Part(play(ctx, held_chords(ctx, lo=48, size=3), instruments.pad(tim, attack=(0.5, 1.5))), -9, 0.6)
    )
    parts += lead_part(
        ctx,
        instruments.flute(tim),
        level=-7,
        send=0.6,
        lo=72,
        density=0.15,
        legato=1.0,
        max_beats=4,
        mask=ctx.blocks(0.6),
        p=0.6,
    )
    if r.random() < 0.5:
        parts.append(bell_part(ctx, instruments.bell(tim), p_note=r.uniform(0.05, 0.2), lo=79))
    return parts


def downtempo(ctx: Ctx) -> list[Part]:
    """Downtempo (Ambient + Hip-Hop): a soft, swung hip-hop beat and sub bass under pads and electric piano."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 5), (1, 4), (0, 3), (5, 3, 0, 4)])
    ctx.bars_per_chord = 2
    parts, kicks = boom_bap_drums(ctx, soft=True)
    parts.append(Part(bass_on_kicks(ctx, kicks, instruments.sub(tim)), -4, 0.0))
    parts.append(swell_pads(ctx, cutoff=(800, 2500)))
    parts.append(Part(keys_comp(ctx, instruments.epiano(tim)), -7, 0.4))
    if r.random() < 0.5:
        parts.append(
            bell_part(
                ctx, pick(tim, [instruments.bell(tim), instruments.guitar(tim)]), p_note=r.uniform(0.1, 0.3)
            )
        )
    return parts
