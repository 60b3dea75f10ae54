"""Sequencing: sub-styles, the composing context, scores, and playing notes and drum patterns into signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from recommender.sources.demo.drums import Kit
from recommender.sources.demo.dsp import Voice, filtered
from recommender.sources.demo.songs import DemoSong

_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_VELOCITY = {"X": 1.0, "x": 0.75, "o": 0.4, "-": 0.22}
METRIC = np.array([1.0, 0.2, 0.5, 0.25, 0.85, 0.2, 0.5, 0.25, 0.95, 0.2, 0.5, 0.25, 0.85, 0.2, 0.5, 0.3])


@dataclass(frozen=True)
class SubStyle:
    """One kind of song inside a genre: the ranges its songs draw from, and its composer.

    A hybrid (``borrows`` set) is labelled with its ``genre`` only, but takes rhythm or
    instruments from the genre it borrows from, as jazz-hop (Hip-Hop) takes jazz's walking
    bass, piano and horn.
    """

    name: str
    genre: str  # the label, one of STYLES
    compose: Callable[[Ctx], list[Part]] = field(repr=False, compare=False)
    tempo: tuple[float, float]  # beats per minute
    p_minor: float  # probability of a minor key
    swing: tuple[float, float] = (0.5, 0.52)  # 0.5 = straight, 0.67 = triplet swing
    swing_unit: int = 1  # 1: swing 16ths, 2: swing 8ths
    humanise: float = 0.0  # timing jitter of played notes, seconds (standard deviation)
    reverb: tuple[float, float] = (0.6, 1.4)  # reverb decay time (T60) range, seconds
    borrows: str | None = None  # a hybrid's other parent genre


@dataclass
class Part:
    """One mixed part: signal (n,), level in dB before random mix variation, reverb send."""

    signal: np.ndarray
    level: float
    send: float = 0.15
    drums: bool = False


@dataclass
class Ctx:
    """Everything a style needs while composing one song."""

    song: DemoSong
    style: SubStyle
    sr: int
    n: int  # samples to render
    bars: int  # bars composed (at least 30 s worth, so shorter renders are prefixes of the plan)
    block_bars: int  # bars per arrangement block (a phrase of ~4-10 s)
    rng: np.random.Generator  # arrangement and performance of this song
    tim: np.random.Generator  # the artist's sound
    kit: Kit
    progression: tuple[int, ...] = (0,)
    bars_per_chord: int = 1
    master_cutoff: float | None = None
    crackle: float = 0.0

    @property
    def sixteenth(self) -> float:
        return 15.0 / self.song.tempo

    @property
    def energy(self) -> float:
        return self.song.energy

    def by_energy(self, options: list):
        """One of ``options`` (ordered calm to busy), the busier the more energetic the song."""
        i = round(self.energy * (len(options) - 1) + self.rng.normal(0.0, 0.5))
        return options[int(np.clip(i, 0, len(options) - 1))]

    def time(self, bar: int, step: float) -> float:
        """Seconds of 16th-note ``step`` in ``bar``, with the song's swing and a player's jitter."""
        unit, swing = self.style.swing_unit, self.song.swing
        pair = 2 * unit
        k, r = divmod(step, pair)
        r = r / unit * swing * pair if r < unit else swing * pair + (r - unit) / unit * (1 - swing) * pair
        t = (bar * 16 + k * pair + r) * self.sixteenth
        if self.style.humanise:
            t += self.rng.normal(0.0, self.style.humanise)
        return max(t, 0.0)

    def degree(self, bar: int) -> int:
        """Scale degree (0 = tonic) of the chord played in ``bar``."""
        return self.progression[(bar // self.bars_per_chord) % len(self.progression)]

    def pitch(self, degree: int, lo: int) -> int:
        """MIDI pitch of a scale degree (any integer), counted from the first tonic >= lo."""
        tonic = lo + (self.song.key - lo) % 12
        return tonic + 12 * (degree // 7) + _SCALES[self.song.mode][degree % 7]

    def chord(self, bar: int, lo: int, size: int = 3) -> list[int]:
        """Chord tones of ``bar`` (stacked thirds), folded into the octave [lo, lo + 12)."""
        degree = self.degree(bar)
        return sorted(lo + (self.pitch(degree + 2 * i, 0) - lo) % 12 for i in range(size))

    def root(self, bar: int, lo: int) -> int:
        return self.chord(bar, lo, 1)[0]

    def blocks(self, p: float, *, first: bool | None = None) -> np.ndarray:
        """Bool (bars,): each arrangement block on with probability p; ``first`` forces block 0."""
        n_blocks = -(-self.bars // self.block_bars)
        on = self.rng.random(n_blocks) < p
        if first is not None:
            on[0] = first
        return np.repeat(on, self.block_bars)[: self.bars]

    def last_of_block(self, bar: int) -> bool:
        return bar % self.block_bars == self.block_bars - 1


class Score:
    """Notes of one part: (start s, gate s, MIDI pitch, velocity 0..1)."""

    def __init__(self) -> None:
        self.notes: list[tuple[float, float, float, float]] = []

    def add(self, start: float, gate: float, pitch: float, velocity: float = 1.0) -> None:
        self.notes.append((start, gate, pitch, velocity))


def play(ctx: Ctx, score: Score, voice: Voice) -> np.ndarray:
    """Render a score with a voice into (n,); identical notes are synthesised once."""
    out = np.zeros(ctx.n, dtype=np.float32)
    cache: dict[tuple[float, int], np.ndarray] = {}
    for start, gate, pitch, velocity in score.notes:
        s = int(start * ctx.sr)
        if s >= ctx.n or velocity <= 0:
            continue
        key = (round(pitch, 2), max(int(round(gate * 100)) * ctx.sr // 100, 64))  # gate on a 10-ms grid
        wave = cache.get(key)
        if wave is None:
            wave = cache[key] = voice.note(key[0], key[1], ctx.sr)
        m = min(len(wave), ctx.n - s)
        out[s : s + m] += velocity * wave[:m]
    return out


def hits(ctx: Ctx, sample: np.ndarray, times: list[float], velocities: list[float]) -> np.ndarray:
    """One-shot ``sample`` placed at ``times`` (s) with ``velocities``; (n,)."""
    out = np.zeros(ctx.n)
    for t, v in zip(times, velocities, strict=True):
        s = int(t * ctx.sr)
        if s < ctx.n:
            m = min(len(sample), ctx.n - s)
            out[s : s + m] += v * sample[:m]
    return out


def drum_track(ctx: Ctx, sample: np.ndarray, patterns: str | list[str | None], mask=None):
    """Play 16-step patterns ('X' accent, 'x' hit, 'o' ghost, '-' whisper, '.' rest).

    ``patterns`` is one pattern for every bar or one per bar (None = silent bar);
    ``mask`` (bars,) silences bars. Returns (signal (n,), hit times in s).
    """
    per_bar = [patterns] * ctx.bars if isinstance(patterns, str) else patterns
    times, velocities = [], []
    for bar, pattern in enumerate(per_bar):
        if pattern is None or (mask is not None and not mask[bar]):
            continue
        for step, char in enumerate(pattern):
            if char in _VELOCITY:
                times.append(ctx.time(bar, step))
                velocities.append(_VELOCITY[char] * (1.0 + 0.12 * ctx.rng.standard_normal()))
    return hits(ctx, sample, times, velocities), times


def fill_bars(ctx: Ctx, pattern: str, fill: str, p: float) -> list[str | None]:
    """``pattern`` every bar, ``fill`` in the last bar of some blocks (a drummer's fill)."""
    return [fill if ctx.last_of_block(b) and ctx.rng.random() < p else pattern for b in range(ctx.bars)]


def duck(ctx: Ctx, times: list[float], depth: float, release: float = 0.12) -> np.ndarray:
    """Side-chain gain (n,): dips at every kick and recovers (the 'pumping' of dance music)."""
    if not times:
        return np.ones(ctx.n)
    starts = np.sort((np.asarray(times) * ctx.sr).astype(np.int64))
    idx = np.arange(ctx.n)
    last = np.searchsorted(starts, idx, side="right") - 1
    since = (idx - starts[np.maximum(last, 0)]) / ctx.sr
    return np.where(last >= 0, 1.0 - depth * np.exp(-since / release), 1.0)


def echoed(ctx: Ctx, x: np.ndarray, delay: float, feedback: float, taps: int = 4) -> np.ndarray:
    """Tape-style echo: delayed, darkened repeats of x (n,)."""
    d = int(delay * ctx.sr)
    wet = np.zeros_like(x)
    for i in range(1, taps + 1):
        if i * d < len(x):
            wet[i * d :] += feedback**i * x[: len(x) - i * d]
    return x + filtered(wet, "low", 2500, ctx.sr)


def melody_score(
    ctx: Ctx,
    *,
    lo: int,
    density: float,
    legato: float = 0.9,
    span: int = 10,
    max_beats: float = 2.0,
    mask: np.ndarray | None = None,
    phrase_bars: int = 4,
) -> Score:
    """A phrase of ``phrase_bars`` bars, repeated with a varied last bar on every other pass.

    Pitches walk the scale (degrees 0..span above the first tonic >= lo) and land on
    chord tones on the beats; onsets favour strong 16ths (density ~ notes per beat / 4).
    """
    rng = ctx.rng

    def bar_notes(phrase_bar: int, degree: int) -> tuple[list[tuple[int, int]], int]:
        onsets = np.flatnonzero(rng.random(16) < density * METRIC / METRIC.mean() * 0.5)
        if len(onsets) == 0:
            onsets = np.array([0])
        notes = []
        chord = {(ctx.degree(phrase_bar) + 2 * i) % 7 for i in range(3)}
        for step in onsets:
            degree = int(np.clip(degree + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3]), 0, span))
            if step % 4 == 0 and degree % 7 not in chord:  # chord tone on the beat
                degree = min((d for d in range(span + 1) if d % 7 in chord), key=lambda d: abs(d - degree))
            notes.append((int(step), degree))
        return notes, degree

    phrase, degree = [], int(rng.integers(0, 5))
    for pb in range(phrase_bars):
        notes, degree = bar_notes(pb, degree)
        phrase.append(notes)
    variation, _ = bar_notes(phrase_bars - 1, degree)
    score = Score()
    for bar in range(ctx.bars):
        if mask is not None and not mask[bar]:
            continue
        pb, repeat = bar % phrase_bars, (bar // phrase_bars) % 2
        notes = variation if repeat and pb == phrase_bars - 1 else phrase[pb]
        for i, (step, deg) in enumerate(notes):
            nxt = notes[i + 1][0] if i + 1 < len(notes) else 16
            beats = min((nxt - step) / 4.0, max_beats)
            gate = beats * 4 * ctx.sixteenth * legato
            score.add(ctx.time(bar, step), gate, ctx.pitch(deg, lo), 0.75 + 0.25 * rng.random())
    return score


def chord_score(ctx: Ctx, steps: list[tuple[int, float]], *, lo: int, size: int = 3, mask=None, spread=0.0):
    """Chords of each bar's harmony at (step, gate in 16ths) positions; ``spread`` strums (s)."""
    score = Score()
    for bar in range(ctx.bars):
        if mask is not None and not mask[bar]:
            continue
        notes = ctx.chord(bar, lo, size)
        for step, length in steps:
            t = ctx.time(bar, step)
            for i, p in enumerate(notes):
                score.add(t + i * spread, length * ctx.sixteenth, p, 0.8 + 0.2 * ctx.rng.random())
    return score


def pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def held_chords(ctx: Ctx, *, lo: int, size: int, mask=None) -> Score:
    """One chord per harmony change, held until the next."""
    held = np.arange(ctx.bars) % ctx.bars_per_chord == 0
    if mask is not None:
        held &= mask
    return chord_score(ctx, [(0, 16.0 * ctx.bars_per_chord)], lo=lo, size=size, mask=held)
