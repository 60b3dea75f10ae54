"""Hip-Hop: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import FM, Pluck, Synth
from recommender.sources.demo.parts.common import lead_part, lo_fi
from recommender.sources.demo.parts.hip_hop import bass_on_kicks, boom_bap_drums, keys_comp, trap_drums
from recommender.sources.demo.parts.jazz import CHARLESTON, walking_bass
from recommender.sources.demo.sequencing import Ctx, Part, chord_score, held_chords, pick, play


def boom_bap(ctx: Ctx) -> list[Part]:
    """Boom-bap: swung hats, syncopated kick, hard snare on 2 and 4, sub bass, jazzy keys, sometimes lo-fi."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3), (1, 4), (0, 5), (5, 4), (0, 6, 5, 3)])
    ctx.bars_per_chord = pick(r, [1, 2])
    parts, kicks = boom_bap_drums(ctx)
    parts.append(Part(bass_on_kicks(ctx, kicks, instruments.sub(tim)), -2, 0.0))
    keys = pick(
        tim,
        [
            instruments.epiano(tim),
            instruments.epiano(tim),
            instruments.piano(tim),
            instruments.guitar(tim),
            instruments.organ(tim),
        ],
    )
    parts.append(Part(keys_comp(ctx, keys), -7, 0.2))
    lead = pick(
        tim,
        [
            FM(ratio=3.5, index=1.5, index_decay=0.2, decay=1.0),
            Synth("triangle", attack=0.03, sustain=0.8, vibrato=20, cutoff=3000),
        ],
    )
    parts += lead_part(
        ctx, lead, level=-11, lo=67, density=0.25, mask=ctx.blocks(0.6, first=False), span=7, p=0.6
    )
    lo_fi(ctx, 0.4)
    return parts


def lo_fi_hip_hop(ctx: Ctx) -> list[Part]:
    """Lo-fi hip-hop: lazy soft drums, warbling electric piano in 7th chords, tape and vinyl, a sparse melody."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(1, 4, 0, 0), (0, 5, 1, 4), (3, 2, 1, 0), (1, 4), (3, 4, 2, 5)])
    ctx.bars_per_chord = 1
    parts, kicks = boom_bap_drums(ctx, soft=True)
    parts.append(
        Part(bass_on_kicks(ctx, kicks, pick(tim, [instruments.sub(tim), instruments.upright(tim)])), -4, 0.0)
    )
    keys = pick(tim, [instruments.epiano(tim), instruments.piano(tim), instruments.nylon(tim)])
    chords = play(ctx, chord_score(ctx, [(0, 15.0)], lo=55, size=4, spread=0.03), keys)
    wobble = 1.0 + 0.15 * np.sin(
        2 * np.pi * r.uniform(0.3, 0.8) * np.arange(ctx.n, dtype=np.float32) / ctx.sr
    )
    parts.append(Part(chords * wobble.astype(np.float32), -4, 0.3))
    parts += lead_part(
        ctx,
        pick(tim, [instruments.epiano(tim), instruments.nylon(tim), instruments.flute(tim)]),
        level=-12,
        lo=67,
        density=0.18,
        span=7,
        p=0.5,
    )
    ctx.master_cutoff = r.uniform(2500, 5000)
    ctx.crackle = r.uniform(0.005, 0.015)
    return parts


def trap(ctx: Ctx) -> list[Part]:
    """Trap: half-time drums with hat rolls, a long distorted 808 on the kicks, a dark bell or pluck loop."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0,), (0, 5), (0, 5, 6, 5), (0, 3)])
    ctx.bars_per_chord = 2
    parts, kicks = trap_drums(ctx)
    parts.append(
        Part(
            bass_on_kicks(ctx, kicks, instruments.sub(tim, drop=tim.uniform(2, 7)), longest=12, moves=0.2),
            0.0,
            0.0,
        )
    )
    loop = pick(
        tim, [instruments.bell(tim), Pluck(damping=4.0, brightness=0.1, partials=8), instruments.flute(tim)]
    )
    parts += lead_part(ctx, loop, level=-9, lo=67, density=0.3, span=7, p=0.9, phrase_bars=2)
    if r.random() < 0.5:
        parts.append(Part(play(ctx, held_chords(ctx, lo=55, size=3), instruments.pad(tim)), -14, 0.4))
    return parts


def jazz_hop(ctx: Ctx) -> list[Part]:
    """Jazz-hop (Hip-Hop + Jazz): boom-bap drums with a ride, walking upright bass, jazz piano, a horn."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4), (2, 5, 1, 4)])
    ctx.bars_per_chord = 1
    parts, _ = boom_bap_drums(ctx, ride=r.random() < 0.6)
    parts.append(Part(walking_bass(ctx, instruments.upright(tim)), -3, 0.1))
    comping = pick(tim, [instruments.piano(tim), instruments.epiano(tim)])
    parts.append(
        Part(play(ctx, chord_score(ctx, pick(r, CHARLESTON), lo=53, size=4, spread=0.004), comping), -7, 0.2)
    )
    parts += lead_part(
        ctx, instruments.horn(tim), level=-8, lo=62, density=0.35, legato=0.85, mask=ctx.blocks(0.6), p=0.7
    )
    lo_fi(ctx, 0.5)
    return parts
