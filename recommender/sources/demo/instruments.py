"""Instruments several genres share, each drawing its character from the artist's generator."""

from __future__ import annotations

import numpy as np

from recommender.sources.demo.dsp import FM, Pluck, Synth
from recommender.sources.demo.sequencing import pick

# Instruments several genres share, so that timbre alone never gives a genre away. Each
# draws its character from ``tim``, the artist's generator: an artist keeps its sound.


def epiano(tim: np.random.Generator) -> FM:
    return FM(
        ratio=1.0,
        index=tim.uniform(0.8, 2.5),
        index_decay=tim.uniform(0.3, 0.6),
        decay=tim.uniform(1.2, 2.0),
        tine=tim.uniform(0.05, 0.25),
    )


def piano(tim: np.random.Generator) -> Pluck:
    return Pluck(
        damping=tim.uniform(1.4, 2.2),
        brightness=0.06,
        position=0.13,
        partials=10,
        stretch=tim.uniform(1e-4, 3e-4),
    )


def guitar(tim: np.random.Generator, *, mute: float = 0.06) -> Pluck:
    return Pluck(
        damping=tim.uniform(1.2, 3.0),
        brightness=tim.uniform(0.02, 0.08),
        position=tim.uniform(0.12, 0.3),
        partials=12,
        release=mute,
    )


def nylon(tim: np.random.Generator) -> Pluck:
    """Nylon-string guitar: rounder and darker than steel strings."""
    return Pluck(damping=tim.uniform(1.5, 2.5), brightness=tim.uniform(0.1, 0.2), position=0.2, partials=8)


def banjo(tim: np.random.Generator) -> Pluck:
    """Banjo: bright, plucked near the bridge, quickly damped."""
    return Pluck(
        damping=tim.uniform(5.0, 8.0),
        brightness=tim.uniform(0.005, 0.02),
        position=tim.uniform(0.06, 0.1),
        partials=14,
        release=0.04,
    )


def organ(tim: np.random.Generator) -> Synth:
    drawbars = tuple(float(x) for x in tim.uniform(0.1, 1.0, 6) * [1.0, 0.8, 0.6, 0.5, 0.3, 0.3])
    return Synth(drawbars, attack=0.005, decay=0.1, sustain=0.8, release=0.03)


def pad(tim: np.random.Generator, *, attack: tuple[float, float] = (0.05, 0.8)) -> Synth:
    return Synth(
        pick(tim, ["saw", "saw", "triangle"]),
        detune=(-10.0, 9.0),
        attack=tim.uniform(*attack),
        sustain=1.0,
        release=0.5,
        cutoff=tim.uniform(900, 3000),
    )


def upright(tim: np.random.Generator) -> Pluck:
    return Pluck(damping=tim.uniform(2.5, 4.5), brightness=0.3, position=tim.uniform(0.15, 0.3), partials=6)


def flute(tim: np.random.Generator) -> Synth:
    return Synth((1.0, 0.12, 0.05, 0.02), attack=0.06, sustain=0.9, release=0.1, vibrato=tim.uniform(15, 30))


def fiddle(tim: np.random.Generator) -> Synth:
    return Synth("saw", cutoff=tim.uniform(2000, 3200), attack=0.05, sustain=0.85, release=0.1, vibrato=35)


def horn(tim: np.random.Generator) -> Synth:
    """A saxophone or trumpet stand-in."""
    return Synth(
        pick(tim, ["saw", "square"]),
        cutoff=tim.uniform(1200, 2500),
        attack=0.04,
        decay=0.5,
        sustain=0.7,
        release=0.08,
        vibrato=tim.uniform(15, 35),
    )


def bell(tim: np.random.Generator) -> FM:
    return FM(
        ratio=pick(tim, [3.5, 2.0, 1.4, 2.76]),
        index=tim.uniform(1.0, 3.0),
        index_decay=tim.uniform(0.3, 1.0),
        decay=tim.uniform(1.5, 4.0),
        release=1.0,
    )


def distorted_guitar(tim: np.random.Generator, *, drive: tuple[float, float] = (3, 12)) -> Synth:
    """Overdriven power chords: root, fifth and octave through a saturating amp."""
    return Synth(
        "saw",
        detune=(-7.0, 7.0),
        intervals=(0, 7, 12),
        drive=tim.uniform(*drive),
        cutoff=tim.uniform(2000, 4500),
        attack=0.003,
        decay=0.5,
        sustain=0.8,
        release=0.05,
    )


def lead_guitar(tim: np.random.Generator) -> Synth:
    return Synth(
        "saw",
        drive=tim.uniform(2, 5),
        cutoff=tim.uniform(2500, 4000),
        attack=0.01,
        vibrato=30,
        sustain=0.8,
        release=0.1,
    )


def synth_bass(tim: np.random.Generator) -> Synth:
    return Synth(
        pick(tim, ["saw", "square", "saw"]),
        cutoff=tim.uniform(250, 900),
        bright=tim.uniform(0, 1.5),
        decay=0.15,
        sustain=0.5,
        release=0.03,
        sub=tim.uniform(0.0, 0.6),
    )


def electric_bass(tim: np.random.Generator) -> Synth:
    return Synth(
        "saw",
        cutoff=tim.uniform(600, 1400),
        bright=0.8,
        bright_decay=0.05,
        decay=0.3,
        sustain=0.5,
        release=0.04,
    )


def sub(tim: np.random.Generator, *, drop: float = 0.0) -> Synth:
    """Sine sub bass; ``drop`` semitones of pitch fall at each note (the 808 of trap)."""
    return Synth(
        "sine", attack=0.005, decay=0.4, sustain=0.6, release=0.06, drive=tim.uniform(0.5, 2.0), drop=drop
    )
