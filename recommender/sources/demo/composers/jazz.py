"""Jazz: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import Synth
from recommender.sources.demo.parts.common import lead_part
from recommender.sources.demo.parts.jazz import CHARLESTON, bossa_drums, swing_drums, walking_bass
from recommender.sources.demo.parts.rock import rock_drums, root_notes
from recommender.sources.demo.sequencing import Ctx, Part, chord_score, pick, play


def swing(ctx: Ctx) -> list[Part]:
    """Swing: ride 'spang-a-lang', hi-hat on 2 and 4, walking bass, comping piano, a horn."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4), (0, 3, 1, 4)])
    ctx.bars_per_chord = 1
    parts = swing_drums(ctx)
    parts.append(Part(walking_bass(ctx, instruments.upright(tim)), -3, 0.1))
    comping = pick(
        tim,
        [instruments.piano(tim), instruments.piano(tim), instruments.epiano(tim), instruments.guitar(tim)],
    )
    parts.append(
        Part(play(ctx, chord_score(ctx, pick(r, CHARLESTON), lo=53, size=4, spread=0.004), comping), -8, 0.2)
    )
    first = r.random() < 0.5
    parts += lead_part(
        ctx,
        instruments.horn(tim),
        level=-7,
        send=0.25,
        lo=62,
        density=0.45,
        legato=0.85,
        mask=ctx.blocks(0.7, first=first),
        p=0.75,
    )
    return parts


def jazz_ballad(ctx: Ctx) -> list[Part]:
    """Jazz ballad: slow brushes, bass in two, rolled piano chords held over the bar, a breathy horn."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4), (3, 2, 1, 4)])
    ctx.bars_per_chord = 1
    parts = swing_drums(ctx, brushes=True)
    parts.append(Part(walking_bass(ctx, instruments.upright(tim), two_feel=True), -4, 0.15))
    piano = pick(tim, [instruments.piano(tim), instruments.piano(tim), instruments.epiano(tim)])
    rolled = chord_score(
        ctx, pick(r, [[(0, 14.0)], [(0, 7.0), (8, 7.0)], [(0, 10.0), (10, 5.0)]]), lo=53, size=4, spread=0.03
    )
    parts.append(Part(play(ctx, rolled, piano), -5, 0.35))
    horn = pick(tim, [instruments.horn(tim), instruments.flute(tim)])
    parts += lead_part(
        ctx,
        horn,
        level=-6,
        send=0.4,
        lo=62,
        density=0.2,
        legato=1.0,
        max_beats=4,
        mask=ctx.blocks(0.7),
        p=0.85,
    )
    return parts


def bossa_nova(ctx: Ctx) -> list[Part]:
    """Bossa nova: rim clave and shaker, root-fifth bass, syncopated nylon-guitar chords, a flute."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 1, 4, 0), (1, 4, 0, 0), (0, 3, 1, 4), (1, 4, 2, 5)])
    ctx.bars_per_chord = pick(r, [1, 2])
    parts = bossa_drums(ctx)
    parts.append(
        Part(
            root_notes(
                ctx, instruments.upright(tim), [(0, 5.5, 0), (6, 1.5, 7), (8, 5.5, 7), (14, 1.5, 0)], lo=33
            ),
            -3,
            0.1,
        )
    )
    comp = [(0, 2.0), (3, 2.0), (6, 2.0), (10, 2.0), (13, 2.0)]
    guitar = pick(tim, [instruments.nylon(tim), instruments.nylon(tim), instruments.epiano(tim)])
    parts.append(Part(play(ctx, chord_score(ctx, comp, lo=55, size=4, spread=0.008), guitar), -5, 0.2))
    parts += lead_part(
        ctx,
        pick(tim, [instruments.flute(tim), instruments.horn(tim)]),
        level=-8,
        lo=67,
        density=0.3,
        legato=0.95,
        mask=ctx.blocks(0.7),
        p=0.7,
    )
    return parts


def jazz_fusion(ctx: Ctx) -> list[Part]:
    """Jazz fusion (Jazz + Rock): funky rock drums, busy electric bass, electric piano, an overdriven lead."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3), (1, 4), (0, 6), (5, 4), (1, 2, 3, 4)])
    ctx.bars_per_chord = 2
    parts = rock_drums(ctx, "funk")
    line = [(0, 1.5, 0), (3, 1.0, 12), (6, 1.5, 7), (8, 1.0, 0), (10, 1.5, 10), (13, 1.0, 12), (14, 1.5, 7)]
    parts.append(Part(root_notes(ctx, instruments.electric_bass(tim), line), -3, 0.05))
    rhythm = [(0, 3.0), (6, 2.0), (10, 4.0)]
    parts.append(
        Part(
            play(ctx, chord_score(ctx, rhythm, lo=53, size=4, spread=0.005), instruments.epiano(tim)),
            -6,
            0.25,
        )
    )
    lead = pick(
        tim,
        [
            instruments.lead_guitar(tim),
            Synth("square", cutoff=3500, attack=0.01, sustain=0.8, vibrato=20, drive=2.0),
        ],
    )
    parts += lead_part(
        ctx, lead, level=-6, lo=64, density=0.6, span=12, mask=ctx.blocks(0.7, first=False), p=0.9
    )
    return parts
