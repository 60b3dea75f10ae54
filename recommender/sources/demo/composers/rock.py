"""Rock: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

from recommender.sources.demo import instruments
from recommender.sources.demo.parts.common import lead_part
from recommender.sources.demo.parts.folk import strum
from recommender.sources.demo.parts.rock import EIGHTHS, broken_chords, power_chords, rock_drums, root_notes
from recommender.sources.demo.sequencing import Ctx, Part, held_chords, pick, play


def hard_rock(ctx: Ctx) -> list[Part]:
    """Hard rock: backbeat drums with crashes and fills, distorted power chords, picked bass, a guitar solo."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4), (0, 6, 5, 6), (0, 3, 0, 4)])
    ctx.bars_per_chord = 1
    parts = rock_drums(ctx, "rock")
    parts.append(Part(power_chords(ctx, instruments.distorted_guitar(tim)), -4, 0.15))
    parts.append(Part(root_notes(ctx, instruments.electric_bass(tim), EIGHTHS), -5, 0.02))
    if r.random() < 0.3:  # organ or piano behind the guitars
        keys = pick(tim, [instruments.organ(tim), instruments.piano(tim)])
        parts.append(Part(play(ctx, held_chords(ctx, lo=55, size=3, mask=ctx.blocks(0.6)), keys), -12, 0.2))
    parts += lead_part(
        ctx,
        instruments.lead_guitar(tim),
        level=-8,
        lo=64,
        density=0.35,
        mask=ctx.blocks(0.6, first=False),
        p=0.6,
    )
    return parts


def punk(ctx: Ctx) -> list[Part]:
    """Punk: fast and loud, downpicked 8th-note power chords, 8th bass, few solos."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3, 4, 3), (0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4)])
    ctx.bars_per_chord = pick(r, [1, 2])
    parts = rock_drums(ctx, "punk")
    parts.append(
        Part(power_chords(ctx, instruments.distorted_guitar(tim, drive=(8, 20)), eighths=True), -2, 0.1)
    )
    parts.append(Part(root_notes(ctx, instruments.electric_bass(tim), EIGHTHS), -5, 0.02))
    parts += lead_part(
        ctx,
        instruments.lead_guitar(tim),
        level=-9,
        lo=64,
        density=0.3,
        mask=ctx.blocks(0.4, first=False),
        p=0.25,
    )
    return parts


def rock_ballad(ctx: Ctx) -> list[Part]:
    """Rock ballad: slow half-time drums, piano or clean guitar arpeggios, held organ, a singing guitar lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 2, 3, 4)])
    ctx.bars_per_chord = 1
    parts = rock_drums(ctx, "ballad")
    arpeggio = pick(tim, [instruments.piano(tim), instruments.guitar(tim, mute=0.3)])
    order = pick(r, [[0, 1, 2, 3, 4, 3, 2, 1], [0, 2, 1, 3, 2, 4, 3, 5]])
    parts.append(Part(broken_chords(ctx, arpeggio, lo=52, order=order), -3, 0.3))
    parts.append(Part(root_notes(ctx, instruments.electric_bass(tim), [(0, 7.5, 0), (8, 7.5, 0)]), -6, 0.05))
    if r.random() < 0.6:
        pad = pick(tim, [instruments.organ(tim), instruments.pad(tim, attack=(0.3, 1.0))])
        parts.append(Part(play(ctx, held_chords(ctx, lo=55, size=3, mask=ctx.blocks(0.6)), pad), -13, 0.3))
    if r.random() < 0.5:  # the chorus kicks in: distorted chords in some blocks
        riff = power_chords(
            ctx, instruments.distorted_guitar(tim, drive=(2, 6)), palm=0.0, mask=ctx.blocks(0.4, first=False)
        )
        parts.append(Part(riff, -8, 0.3))
    parts += lead_part(
        ctx,
        instruments.lead_guitar(tim),
        level=-7,
        lo=64,
        density=0.25,
        legato=1.0,
        max_beats=4,
        mask=ctx.blocks(0.6),
        p=0.7,
    )
    return parts


def folk_rock(ctx: Ctx) -> list[Part]:
    """Folk rock (Rock + Folk): a band's light backbeat under strummed acoustic guitar, electric bass, fiddle or organ."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3, 4, 0), (0, 4, 5, 3), (0, 3, 0, 4), (5, 3, 0, 4)])
    ctx.bars_per_chord = 1
    parts = rock_drums(ctx, "light")
    parts.append(Part(strum(ctx, instruments.guitar(tim)), -2, 0.2))
    parts.append(
        Part(
            root_notes(
                ctx, instruments.electric_bass(tim), [(0, 3.5, 0), (6, 1.5, 0), (8, 3.5, 7), (12, 3.5, 0)]
            ),
            -5,
            0.05,
        )
    )
    if r.random() < 0.4:  # a lightly driven electric guitar in the choruses
        riff = power_chords(
            ctx, instruments.distorted_guitar(tim, drive=(1.5, 4)), palm=0.0, mask=ctx.blocks(0.5)
        )
        parts.append(Part(riff, -10, 0.2))
    tune = pick(
        tim,
        [
            instruments.fiddle(tim),
            instruments.organ(tim),
            instruments.lead_guitar(tim),
            instruments.flute(tim),
        ],
    )
    parts += lead_part(
        ctx, tune, level=-6, lo=67, density=0.35, legato=0.95, mask=ctx.blocks(0.7, first=False), p=0.8
    )
    return parts
