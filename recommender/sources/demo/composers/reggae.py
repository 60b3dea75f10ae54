"""Reggae: one composer per sub-style; it sets the harmony and returns the song's parts."""

from __future__ import annotations

from recommender.sources.demo import instruments
from recommender.sources.demo.dsp import Synth
from recommender.sources.demo.parts.common import lead_part
from recommender.sources.demo.parts.hip_hop import bass_on_kicks, boom_bap_drums
from recommender.sources.demo.parts.jazz import walking_bass
from recommender.sources.demo.parts.reggae import bubble, melodica, one_drop, reggae_bass, skank_chords
from recommender.sources.demo.sequencing import Ctx, Part, drum_track, echoed, fill_bars, pick


def roots(ctx: Ctx) -> list[Part]:
    """Roots reggae: one-drop drums, off-beat skank and organ bubble, deep melodic bass, dub echo, a melodica."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0, 3), (0, 4), (0, 3, 0, 4), (5, 3), (0, 6)])
    ctx.bars_per_chord = pick(r, [1, 2])
    parts = one_drop(ctx)
    skank = pick(tim, [instruments.guitar(tim, mute=0.03), instruments.epiano(tim), instruments.piano(tim)])
    parts.append(Part(skank_chords(ctx, skank, [(4, 0.8), (12, 0.8)]), -5, 0.3))
    if r.random() < 0.65:
        parts.append(bubble(ctx))
    parts.append(Part(reggae_bass(ctx), 0.0, 0.02))
    parts += lead_part(
        ctx, melodica(tim), level=-9, send=0.4, lo=67, density=0.3, mask=ctx.blocks(0.6, first=False), p=0.45
    )
    return parts


def dub(ctx: Ctx) -> list[Part]:
    """Dub: the bass up front, drums and skank dropping in and out through long echoes and a big spring."""
    r, tim = ctx.rng, ctx.tim
    ctx.progression = pick(r, [(0,), (0, 3), (0, 6), (0, 4)])
    ctx.bars_per_chord = pick(r, [2, 4])
    parts = one_drop(ctx, steppers=0.4, echo=(0.55, 0.75))
    skank = skank_chords(
        ctx,
        pick(tim, [instruments.guitar(tim, mute=0.03), instruments.piano(tim)]),
        [(4, 0.8), (12, 0.8)],
        mask=ctx.blocks(0.5),
    )
    delay = pick(r, [3, 6]) * ctx.sixteenth
    parts.append(Part(echoed(ctx, skank, delay, r.uniform(0.5, 0.7), taps=6), -8, 0.6))
    parts.append(Part(reggae_bass(ctx), 2.0, 0.0))
    if r.random() < 0.3:
        parts += lead_part(
            ctx, melodica(tim), level=-12, send=0.7, lo=67, density=0.2, mask=ctx.blocks(0.4, first=False)
        )
    ctx.master_cutoff = r.uniform(3000, 7000) if r.random() < 0.5 else None
    return parts


def ska(ctx: Ctx) -> list[Part]:
    """Ska: upbeat chords on every off-beat, walking bass, a driving backbeat, a horn section."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = pick(r, [(0, 3, 4, 0), (0, 5, 3, 4), (0, 4), (0, 3, 0, 4)])
    ctx.bars_per_chord = 1
    kick, _ = drum_track(ctx, kit.kick, "X.......X.......")
    snare, _ = drum_track(ctx, kit.snare, fill_bars(ctx, "....X.......X...", "....X...X.XXXXXX", 0.4))
    hat, _ = drum_track(ctx, kit.hat, ctx.by_energy(["x.x.x.x.x.x.x.x.", "x.X.x.X.x.X.x.X."]))
    parts = [
        Part(kick, -2, 0.05, drums=True),
        Part(snare, -2, 0.25, drums=True),
        Part(hat, -12, 0.1, drums=True),
    ]
    upstroke = pick(tim, [instruments.guitar(tim, mute=0.02), instruments.piano(tim), instruments.organ(tim)])
    parts.append(Part(skank_chords(ctx, upstroke, [(2, 0.8), (6, 0.8), (10, 0.8), (14, 0.8)]), -4, 0.25))
    parts.append(
        Part(
            walking_bass(ctx, pick(tim, [instruments.upright(tim), instruments.electric_bass(tim)])), -3, 0.05
        )
    )
    section = Synth(
        "saw", intervals=(0, -5), cutoff=tim.uniform(1800, 3000), attack=0.03, sustain=0.7, release=0.06
    )
    parts += lead_part(ctx, section, level=-6, lo=64, density=0.4, mask=ctx.blocks(0.7, first=False), p=0.85)
    return parts


def dancehall(ctx: Ctx) -> list[Part]:
    """Dancehall (Reggae + Hip-Hop): hip-hop drums and 808 with the riddim's 3-3-2 rim, reggae bass and skank."""
    r, tim, kit = ctx.rng, ctx.tim, ctx.kit
    ctx.progression = pick(r, [(0, 5), (0, 6), (0, 3, 5, 4), (0,)])
    ctx.bars_per_chord = 2
    parts, kicks = boom_bap_drums(ctx)
    riddim, _ = drum_track(ctx, kit.rim, pick(r, ["...x..x....x..x.", "...x..x.....x..."]))
    parts.append(Part(riddim, -9, 0.2, drums=True))
    parts.append(Part(bass_on_kicks(ctx, kicks, instruments.sub(tim, drop=tim.uniform(0, 4))), -4, 0.0))
    parts.append(Part(reggae_bass(ctx), -2, 0.02))
    stab = pick(
        tim,
        [
            instruments.guitar(tim, mute=0.03),
            instruments.organ(tim),
            Synth("square", cutoff=2500, decay=0.1, sustain=0.1),
        ],
    )
    parts.append(Part(skank_chords(ctx, stab, [(4, 0.8), (12, 0.8)], mask=ctx.blocks(0.8)), -6, 0.25))
    lead = pick(tim, [melodica(tim), instruments.bell(tim)])
    parts += lead_part(ctx, lead, level=-10, lo=67, density=0.3, mask=ctx.blocks(0.5, first=False), p=0.4)
    return parts
