"""Electronic: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import Synth, filtered
from recommender.sources.demo.parts.ambient import bell_part, drone_part, swell_pads
from recommender.sources.demo.parts.common import lead_part
from recommender.sources.demo.parts.electronic import (
    acid,
    arp_voice,
    arpeggio,
    dance_bass,
    four_floor,
    saw_stab,
    stabs,
    synth_pop_drums,
)
from recommender.sources.demo.sequencing import Ctx, Part, drum_track, duck, echoed, held_chords, pick, play


def deep_house(ctx: Ctx) -> list[Part]:
    """Deep house: four-on-the-floor, off-beat bass, warm organ or electric-piano stabs, sometimes a pad."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 6), (0, 3), (1, 4), (0, 5, 3, 4), (1, 0)])
    ctx.bars_per_chord = pick(r, [1, 2, 2])
    parts, kicks = four_floor(ctx, clap=0.7)
    pump = duck(ctx, kicks, depth=r.uniform(0.2, 0.5))
    rolling = r.random() < 0.3
    steps = [2, 3, 6, 10, 11, 14] if rolling else [2, 6, 10, 14]
    parts.append(Part(dance_bass(ctx, instruments.synth_bass(tim), steps) * pump, -3, 0.02))
    keys = pick(tim, [instruments.organ(tim), instruments.epiano(tim), instruments.epiano(tim)])
    parts.append(Part(stabs(ctx, keys, size=4) * pump, -8, 0.3))
    if r.random() < 0.4:
        parts.append(Part(play(ctx, held_chords(ctx, lo=57, size=4), instruments.pad(tim)) * pump, -12, 0.4))
    return parts


def techno(ctx: Ctx) -> list[Part]:
    """Techno: relentless kick, 16th hats, an acid riff or a dark rolling bass, little harmony, a hypnotic sequence."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0,), (0,), (0, 6), (0, 5)])
    ctx.bars_per_chord = 4
    parts, kicks = four_floor(ctx, clap=0.5)
    ride, _ = drum_track(ctx, ctx.kit.ride, "..x...x...x...x.", ctx.blocks(0.5))
    parts.append(Part(ride, -17, 0.1, drums=True))
    pump = duck(ctx, kicks, depth=r.uniform(0.4, 0.8))
    if r.random() < 0.5:
        parts.append(Part(acid(ctx), -5, 0.1))
    else:
        rumble = dance_bass(
            ctx, instruments.synth_bass(tim), [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15], gate=0.8
        )
        parts.append(Part(filtered(rumble, "low", 300, ctx.sr) * pump, -3, 0.05))
    if r.random() < 0.5:  # one minor chord stab through a long echo (dub techno)
        stab = echoed(ctx, stabs(ctx, saw_stab(tim), size=3, p=0.7), 3 * ctx.sixteenth, 0.55, taps=6)
        parts.append(Part(stab, -11, 0.4))
    parts += arpeggio(
        ctx, Synth("square", cutoff=tim.uniform(1200, 2500), decay=0.08, sustain=0.0), lo=57, p=0.4
    )
    return parts


def synth_pop(ctx: Ctx) -> list[Part]:
    """Synth-pop: drum machine with a backbeat, 8th-note octave bass, bright pad, arpeggio, a singable lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (0, 3, 4, 4)])
    ctx.bars_per_chord = 1
    parts = synth_pop_drums(ctx)
    parts.append(
        Part(
            dance_bass(
                ctx, instruments.synth_bass(tim), list(range(0, 16, 2)), octave=(2, 6, 10, 14), gate=1.2
            ),
            -4,
            0.05,
        )
    )
    parts.append(
        Part(play(ctx, held_chords(ctx, lo=60, size=3), instruments.pad(tim, attack=(0.01, 0.1))), -9, 0.3)
    )
    parts += arpeggio(ctx, arp_voice(tim), p=0.5)
    lead = pick(
        tim,
        [
            Synth("square", cutoff=tim.uniform(2500, 5000), attack=0.01, sustain=0.8, vibrato=12),
            saw_stab(tim),
        ],
    )
    parts += lead_part(ctx, lead, level=-6, lo=67, density=0.45, mask=ctx.blocks(0.7, first=False), p=0.85)
    return parts


def ambient_techno(ctx: Ctx) -> list[Part]:
    """Ambient techno (Electronic + Ambient): a felt four-on-the-floor under swelling pads, a drone and bells."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 5), (0, 3), (5, 3), (0, 2, 3, 5)])
    ctx.bars_per_chord = 2
    parts, kicks = four_floor(ctx, clap=0.3, soft=True)
    pump = duck(ctx, kicks, depth=r.uniform(0.2, 0.5), release=0.25)
    parts.append(
        Part(
            dance_bass(ctx, Synth("sine", decay=0.2, sustain=0.6, release=0.05), [2, 6, 10, 14]) * pump,
            -5,
            0.05,
        )
    )
    pads = swell_pads(ctx, cutoff=(800, 2500))
    parts.append(Part(pads.signal * pump, -2, 0.6))
    parts.append(drone_part(ctx))
    parts.append(
        bell_part(
            ctx, pick(tim, [instruments.bell(tim), instruments.epiano(tim)]), p_note=r.uniform(0.1, 0.3)
        )
    )
    return parts
