"""The radio's feedback is a mean of the songs kept and of the songs skipped (Rocchio): a long run of
skips steers the station away from that sound without drowning the seed and the songs kept."""

from __future__ import annotations

import numpy as np
import pytest

from recommender import radio
from recommender.index import SimilarityIndex

# Sound A at 10-30°, sound B at 50-70° (the seed's), sound Z at 200-250°: the far side of the circle.
SOUND_A = {1: 10, 2: 15, 3: 20, 4: 25, 5: 30}
SOUND_B = {6: 50, 7: 54, 8: 58, 9: 62, 10: 66, 11: 70}
SOUND_Z = {12: 200, 13: 210, 14: 220, 15: 230, 16: 240, 17: 250}


@pytest.fixture
def circle(rng):
    angles = {**SOUND_A, **SOUND_B, **SOUND_Z}
    ids = np.array(sorted(angles))
    a = np.radians([angles[t] for t in ids])
    x = np.zeros((len(ids), 16))
    x[:, 0], x[:, 1] = np.cos(a), np.sin(a)
    x[:, 2:] = 0.02 * rng.standard_normal((len(ids), 14))
    return SimilarityIndex().fit(x, ids, np.array(["Jazz"] * len(ids)))


def test_a_run_of_skips_does_not_drown_the_song_kept(circle):
    station = radio.Station(radio.track_seed(circle, 8))  # a song of sound B; the listener likes sound A
    for track_id in (6, 7, 9, 10, 11):
        station.note(track_id, "skip")
    station.note(3, "heard")
    picks = [p.track_id for p in radio.next_songs(circle, station, k=3, usual=0.0)]
    assert set(picks) <= set(SOUND_A)  # summed, the five skips would point the station at sound Z


def test_the_direction_is_the_seed_plus_the_mean_kept_minus_the_mean_skipped(circle):
    station = radio.Station(radio.track_seed(circle, 8))
    for track_id, kind in ((6, "skip"), (7, "skip"), (3, "heard"), (1, "like")):
        station.note(track_id, kind)
    v = circle.vector
    kept = (radio.HEARD_WEIGHT * v(3) + radio.LIKE_WEIGHT * v(1)) / (radio.HEARD_WEIGHT + radio.LIKE_WEIGHT)
    expected = radio.SEED_WEIGHT * v(8) + radio.KEPT_WEIGHT * kept - radio.SKIP_WEIGHT * (v(6) + v(7)) / 2
    assert radio.direction(circle, station) == pytest.approx(expected / np.linalg.norm(expected), abs=1e-6)


def test_a_skipped_seed_never_turns_the_station_round(circle):
    station = radio.Station(radio.track_seed(circle, 8))
    station.note(8, "skip")  # the seed itself, skipped at once
    assert float(radio.direction(circle, station) @ circle.vector(8)) == pytest.approx(1.0)
