"""Tempo, brightness and the one-line "why" of a neighbour, on synthetic clips with known answers."""

import numpy as np
import pytest

from recommender.audio import log_mel
from recommender.config import DEFAULT_AUDIO
from recommender.describe import SoundTraits, brightness_hz, sound_traits, tempo_bpm, top_genres, why

SR = DEFAULT_AUDIO.sample_rate


def clicks(bpm: float, *, seconds: float = 12.0, freq: float = 1000.0, seed: int = 0) -> np.ndarray:
    """Short decaying tone bursts every beat, over faint seeded noise: a clip with an obvious tempo."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = 0.002 * rng.standard_normal(n)
    burst_t = np.arange(int(0.05 * SR)) / SR
    burst = np.sin(2 * np.pi * freq * burst_t) * np.exp(-burst_t * 60)
    for start in np.arange(0, seconds, 60.0 / bpm):
        i = int(start * SR)
        y[i : i + len(burst)] += 0.5 * burst[: n - i]
    return y.astype(np.float32)


def tone(freq: float, *, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.001 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_tempo_of_a_click_track(bpm):
    found = tempo_bpm(log_mel(clicks(bpm)))
    # Beat trackers may lock to half or double time; anything else is wrong.
    assert min(abs(found - bpm), abs(found - 2 * bpm), abs(found - bpm / 2)) < 0.05 * bpm


def test_tempo_of_a_steady_tone_has_no_clear_beat_but_is_finite():
    found = tempo_bpm(log_mel(tone(440.0)))
    assert np.isfinite(found) and found >= 0


@pytest.mark.parametrize(("low", "high"), [(200.0, 800.0), (500.0, 4000.0)])
def test_brighter_tone_has_higher_centroid(low, high):
    dark, bright = brightness_hz(log_mel(tone(low))), brightness_hz(log_mel(tone(high)))
    assert bright > dark
    # A pure tone's centroid sits near its frequency (mel bands are wide, so loosely).
    assert dark == pytest.approx(low, rel=0.35)
    assert bright == pytest.approx(high, rel=0.35)


def test_top_genres_keeps_the_first_and_drops_faint_ones():
    assert top_genres({"Rock": 0.1, "Jazz": 0.85, "Pop": 0.05}) == ("Jazz",)
    assert top_genres({"Rock": 0.4, "Jazz": 0.45, "Pop": 0.15}) == ("Jazz", "Rock")
    assert top_genres({"Rock": 0.3, "Jazz": 0.3, "Pop": 0.4}, n=1) == ("Pop",)


def test_sound_traits_of_a_clip():
    traits = sound_traits(log_mel(clicks(120)), {"Techno": 0.7, "Ambient": 0.3})
    assert traits.top_genres == ("Techno", "Ambient")
    assert traits.tempo_bpm > 0 and traits.brightness_hz > 0


@pytest.mark.parametrize(
    ("query", "neighbour", "expected"),
    [
        (
            SoundTraits(120, 2000, ("Techno",)),
            SoundTraits(122, 2100, ("Techno", "House")),
            "both Techno · same tempo (120 vs 122 BPM) · similar brightness (2.0 vs 2.1 kHz)",
        ),
        (
            SoundTraits(120, 2000, ("Techno", "House")),
            SoundTraits(60, 4000, ("Jazz",)),
            "Techno/House vs Jazz · half/double tempo (120 vs 60 BPM) · brighter (2.0 vs 4.0 kHz)",
        ),
        (
            SoundTraits(100, 3000, ("Rock", "Pop")),
            SoundTraits(140, 1000, ("Pop",)),
            "both Pop · tempo 100 vs 140 BPM · darker (3.0 vs 1.0 kHz)",
        ),
        (
            SoundTraits(0, 1500, ("Rock",)),
            SoundTraits(120, 0, ("Rock",)),
            "both Rock",
        ),
    ],
)
def test_why(query, neighbour, expected):
    assert why(query, neighbour) == expected
