"""The synthesised demo catalog: plan, sound, and the resumable build of its audio files."""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from recommender.errors import SourceError, UserInputError
from recommender.sources import demo
from recommender.sources.base import SPLITS

SR = 22_050
SECONDS = 10.0  # long enough for tempo and onset statistics, short enough to be fast
PER_SUBSTYLE = 3  # songs rendered per sub-style: fewer and one odd song decides a comparison


@pytest.fixture(scope="module")
def rendered() -> list[tuple[demo.DemoSong, np.ndarray]]:
    """10-s renders of the first three songs of every sub-style in the default plan (seed 0)."""
    by_substyle: dict[str, list[demo.DemoSong]] = defaultdict(list)
    for song in demo.plan_catalog(demo.DEFAULT_TRACKS, seed=0):
        by_substyle[song.substyle].append(song)
    return [
        (song, demo.render(song, sr=SR, seconds=SECONDS))
        for style in demo.SUBSTYLES
        for song in by_substyle[style.name][:PER_SUBSTYLE]
    ]


@pytest.fixture(scope="module")
def clips(rendered) -> dict[str, list[np.ndarray]]:
    """The rendered clips by genre (every sub-style of it, hybrids included)."""
    out: dict[str, list[np.ndarray]] = defaultdict(list)
    for song, y in rendered:
        out[song.genre].append(y)
    return dict(out)


def _fields(songs: list[demo.DemoSong]) -> list[tuple]:
    return [
        (
            s.track_id,
            s.title,
            s.artist,
            s.album,
            s.genre,
            s.substyle,
            s.split,
            s.seed,
            s.tempo,
            s.key,
            s.energy,
        )
        for s in songs
    ]


# ---------------------------------------------------------------------------- plan


def test_styles_are_at_least_eight_distinct_genres():
    assert len(demo.STYLES) >= 8
    assert len(set(demo.STYLES)) == len(demo.STYLES)
    assert demo.DEFAULT_TRACKS == 400


def test_plan_is_deterministic_by_seed():
    assert demo.plan_catalog(40, seed=3) == demo.plan_catalog(40, seed=3)
    a, b = _fields(demo.plan_catalog(40, seed=3)), _fields(demo.plan_catalog(40, seed=4))
    assert sum(x != y for x, y in zip(a, b, strict=True)) == 40  # every song differs (seed at least)
    assert {s.artist for s in demo.plan_catalog(40, seed=3)} != {
        s.artist for s in demo.plan_catalog(40, seed=4)
    }


@pytest.mark.parametrize("small, large", [(1, 9), (16, 64), (50, 400)])
def test_plan_prefix_does_not_depend_on_catalog_size(small, large):
    # build_demo relies on this to keep the files of a smaller build with the same seed
    assert demo.plan_catalog(small, seed=7) == demo.plan_catalog(large, seed=7)[:small]


@pytest.mark.parametrize("n", [1, 7, 8, 17, 100, 400])
def test_genres_are_dealt_round_robin(n):
    songs = demo.plan_catalog(n, seed=0)
    assert [s.track_id for s in songs] == list(range(1, n + 1))
    assert [s.genre for s in songs] == [demo.STYLES[i % len(demo.STYLES)] for i in range(n)]
    counts = Counter(s.genre for s in songs)
    assert max(counts.values()) - min(counts.values(), default=0) <= 1


@pytest.mark.parametrize("n", [3 * 8, 25, 80, 400])
def test_splits_are_stratified_and_cover_every_genre(n):
    songs = demo.plan_catalog(n, seed=1)
    by_genre: dict[str, Counter] = defaultdict(Counter)
    for s in songs:
        assert s.split in SPLITS
        by_genre[s.genre][s.split] += 1
    assert set(by_genre) == set(demo.STYLES)
    for genre, counts in by_genre.items():
        assert counts["validation"] >= 1 and counts["test"] >= 1, genre
        if n == 400:  # 50 per genre: exactly 8/1/1 of every 10
            assert counts == Counter(training=40, validation=5, test=5), genre


def test_metadata_is_generated_and_each_artist_plays_one_genre():
    songs = demo.plan_catalog(400, seed=0)
    for s in songs:
        assert s.title and s.artist and s.album
        assert s.mode in ("major", "minor") and 0 <= s.key < 12
        lo, hi = demo.SUBSTYLE_BY_NAME[s.substyle].tempo
        assert lo <= s.tempo <= hi and 0.0 <= s.energy <= 1.0
    genres_of = defaultdict(set)
    songs_of = Counter()
    for s in songs:
        genres_of[s.artist].add(s.genre)
        songs_of[s.artist] += 1
    assert all(len(g) == 1 for g in genres_of.values())
    assert 40 <= len(songs_of) <= 140  # several songs per artist, many artists
    assert np.median(list(songs_of.values())) >= 3
    albums = {(s.artist, s.album) for s in songs}
    assert len(songs_of) <= len(albums) <= 2 * len(songs_of)
    assert len({(s.artist, s.title) for s in songs}) == len(songs)  # no artist repeats a title


def test_every_genre_has_several_substyles_one_of_them_a_hybrid():
    assert len({s.name for s in demo.SUBSTYLES}) == len(demo.SUBSTYLES)
    for genre in demo.STYLES:
        styles = demo.substyles(genre)
        assert len(styles) >= 3 and all(s.genre == genre for s in styles)
        hybrids = [s for s in styles if s.borrows]
        assert hybrids, genre
        assert all(s.borrows in demo.STYLES and s.borrows != genre for s in hybrids)
    assert all(s.tempo[0] < s.tempo[1] for s in demo.SUBSTYLES)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_substyle_has_songs_by_several_artists_and_albums_keep_to_one(seed):
    songs = demo.plan_catalog(400, seed=seed)
    artists, substyles_of_album, substyles_of_artist = defaultdict(set), defaultdict(set), defaultdict(set)
    for s in songs:
        assert s.substyle in {x.name for x in demo.substyles(s.genre)}
        assert s.album.endswith(f" ({s.substyle})")  # the app shows it with the album, no new column
        artists[s.substyle].add(s.artist)
        substyles_of_album[s.artist, s.album].add(s.substyle)
        substyles_of_artist[s.artist].add(s.substyle)
    assert set(artists) == {x.name for x in demo.SUBSTYLES}
    assert min(len(a) for a in artists.values()) >= 2
    assert all(len(x) == 1 for x in substyles_of_album.values())
    # most artists keep to one sub-style; some second albums move to another
    one = np.mean([len(x) == 1 for x in substyles_of_artist.values()])
    assert 0.6 <= one < 1.0


def test_hybrids_are_labelled_with_their_own_genre_only():
    songs = demo.plan_catalog(400, seed=0)
    hybrids = [s for s in songs if demo.SUBSTYLE_BY_NAME[s.substyle].borrows]
    assert len(hybrids) >= 40  # one sub-style in four
    for s in hybrids:
        style = demo.SUBSTYLE_BY_NAME[s.substyle]
        assert s.genre == style.genre != style.borrows


def test_tempo_and_energy_vary_within_a_substyle():
    songs = demo.plan_catalog(400, seed=0)
    for style in demo.SUBSTYLES:
        mine = [s for s in songs if s.substyle == style.name]
        lo, hi = style.tempo
        assert np.ptp([s.tempo for s in mine]) >= 0.3 * (hi - lo), style.name
        assert np.ptp([s.energy for s in mine]) >= 0.3, style.name


@pytest.mark.parametrize("n", [0, -5, 2.5, True, "10", None])
def test_plan_rejects_a_bad_size(n):
    with pytest.raises(UserInputError, match="at least 1 track"):
        demo.plan_catalog(n)


def test_plan_rejects_a_negative_seed():
    with pytest.raises(UserInputError, match="seed"):
        demo.plan_catalog(8, seed=-1)


# ---------------------------------------------------------------------------- sound


@pytest.mark.parametrize("genre", demo.STYLES)
def test_render_is_float32_mono_bounded_and_not_silent(clips, genre):
    for y in clips[genre]:
        assert y.dtype == np.float32 and y.shape == (int(SR * SECONDS),)
        assert np.all(np.isfinite(y))
        assert 0.3 < np.max(np.abs(y)) <= 1.0
        assert np.sqrt(np.mean(y**2)) > 0.02
        # sound all along, not one burst: every second carries signal
        per_second = np.sqrt(np.mean(y.reshape(int(SECONDS), SR) ** 2, axis=1))
        assert per_second.min() > 0.003


def test_render_is_deterministic_and_depends_on_the_song(rendered):
    song, first = rendered[5]
    again = demo.render(song, sr=SR, seconds=SECONDS)
    assert again.tobytes() == first.tobytes()  # the same song gives the same bytes
    other_seed = next(s for s in demo.plan_catalog(400, seed=1) if s.substyle == song.substyle)
    assert not np.allclose(demo.render(other_seed, sr=SR, seconds=SECONDS), again, atol=1e-3)
    a, b = [y for s, y in rendered if s.substyle == song.substyle][:2]
    assert not np.allclose(a, b, atol=1e-3)


@pytest.mark.parametrize("sr, seconds", [(16_000, 3.0), (22_050, 0.5), (44_100, 1.0)])
def test_render_honours_rate_and_length(sr, seconds):
    y = demo.render(demo.plan_catalog(1)[0], sr=sr, seconds=seconds)
    assert y.shape == (int(round(sr * seconds)),) and np.max(np.abs(y)) > 0.1


@pytest.mark.parametrize("change", [{"genre": "Polka"}, {"substyle": "Polka"}, {"genre": "Jazz"}])
def test_render_rejects_an_unknown_style(change):
    song = demo.plan_catalog(1)[0]  # Electronic: "Jazz" does not go with its sub-style
    with pytest.raises(UserInputError, match="Unknown demo style"):
        demo.render(dataclasses.replace(song, **change))


def _centroid(y: np.ndarray) -> float:
    return float(np.mean(librosa.feature.spectral_centroid(y=y, sr=SR)))


def _low_share(y: np.ndarray) -> float:
    """Share of the power below 150 Hz (kick and bass)."""
    power = np.abs(librosa.stft(y)) ** 2
    return float(power[librosa.fft_frequencies(sr=SR) < 150].sum() / power.sum())


def _onset_rate(y: np.ndarray) -> float:
    return len(librosa.onset.onset_detect(y=y, sr=SR)) / SECONDS


def _pulse(y: np.ndarray) -> float:
    """Rhythmic regularity: peak autocorrelation of the onset envelope at 0.25-1.5 s lags."""
    return _pulse_of(librosa.onset.onset_strength(y=y, sr=SR))


def _pulse_of(env: np.ndarray) -> float:
    env = env - env.mean()
    ac = np.correlate(env, env, "full")[len(env) - 1 :] / np.sum(env**2)
    lags = np.arange(len(ac)) * 512 / SR
    return float(ac[(lags > 0.25) & (lags < 1.5)].max())


def _mean(clips: dict[str, list[np.ndarray]], genre: str, measure) -> float:
    return float(np.mean([measure(y) for y in clips[genre]]))


@pytest.mark.parametrize(
    "measure, lower, higher",
    [
        (_centroid, "Ambient", "Drum & Bass"),  # hats, snares and cymbals are bright
        (_centroid, "Ambient", "Rock"),  # distorted guitars too
        (_centroid, "Folk", "Jazz"),  # acoustic strings vs the ride cymbal
        (_low_share, "Ambient", "Drum & Bass"),  # sub bass and kicks
        (_low_share, "Folk", "Electronic"),
        (_low_share, "Jazz", "Reggae"),
        (_onset_rate, "Ambient", "Drum & Bass"),  # slow swells vs fast breakbeats
        (_onset_rate, "Ambient", "Electronic"),
        (_onset_rate, "Hip-Hop", "Electronic"),  # sparse boom-bap vs a kick on every beat
        (_pulse, "Ambient", "Electronic"),  # no beat vs four-on-the-floor
        (_pulse, "Ambient", "Rock"),
    ],
)
def test_styles_differ_measurably_in_the_expected_direction(clips, measure, lower, higher):
    low, high = _mean(clips, lower, measure), _mean(clips, higher, measure)
    assert low < high, f"{measure.__name__}: {lower} {low:.3g} should be below {higher} {high:.3g}"


def _timbre_and_rhythm(y: np.ndarray) -> np.ndarray:
    """A clip's features (28,): mean and spread of 13 MFCCs (timbre), onsets per second and pulse (rhythm)."""
    db = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR))
    mfcc = librosa.feature.mfcc(S=db, n_mfcc=13)
    env = librosa.onset.onset_strength(S=db, sr=SR)
    onsets = len(librosa.onset.onset_detect(onset_envelope=env, sr=SR)) / SECONDS
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1), [onsets, _pulse_of(env)]])


@pytest.fixture(scope="module")
def features(rendered) -> np.ndarray:
    """``_timbre_and_rhythm`` of every rendered clip, each feature standardised over all clips; (clips, 28)."""
    x = np.array([_timbre_and_rhythm(y) for _, y in rendered])
    return (x - x.mean(axis=0)) / x.std(axis=0)


def _separation(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean distance between rows of different labels over the mean distance between rows of the same one."""
    distance = np.linalg.norm(x[:, None] - x[None], axis=2)
    same, other = labels[:, None] == labels[None], ~np.eye(len(x), dtype=bool)
    return float(distance[~same].mean() / distance[same & other].mean())


@pytest.mark.parametrize("genre", demo.STYLES)
def test_substyles_of_a_genre_differ_measurably(rendered, features, genre):
    mine = [i for i, (s, _) in enumerate(rendered) if s.genre == genre]
    labels = np.array([rendered[i][0].substyle for i in mine])
    x = features[mine]
    x = (x - x.mean(axis=0)) / x.std(axis=0)  # within the genre: what tells its sub-styles apart
    ratio = _separation(x, labels)
    # the same clips under shuffled labels: how far chance alone goes
    chance = [_separation(x, np.random.default_rng(k).permutation(labels)) for k in range(100)]
    assert ratio > 1.2 and ratio > np.percentile(chance, 99), (genre, ratio, np.percentile(chance, 99))


@pytest.mark.parametrize("hybrid", [s.name for s in demo.SUBSTYLES if s.borrows])
def test_hybrids_sound_between_their_two_genres(rendered, features, hybrid):
    style = demo.SUBSTYLE_BY_NAME[hybrid]
    genre = np.array([s.genre for s, _ in rendered])
    pure = np.array([demo.SUBSTYLE_BY_NAME[s.substyle].borrows is None for s, _ in rendered])
    mine = np.array([s.substyle == hybrid for s, _ in rendered])

    def distance(rows: np.ndarray, to: str) -> float:  # mean distance to a genre's pure songs' centre
        return float(
            np.linalg.norm(features[rows] - features[(genre == to) & pure].mean(axis=0), axis=1).mean()
        )

    # nearer the genre it borrows from than its own genre's other songs are, and vice versa
    assert distance(mine, style.borrows) < distance((genre == style.genre) & pure, style.borrows)
    assert distance(mine, style.genre) < distance((genre == style.borrows) & pure, style.genre)


@pytest.mark.parametrize("substyle", ["Deep House", "Boom Bap", "Hard Rock", "Liquid"])
def test_energy_brightens_the_mix(rendered, substyle):
    song = next(s for s, _ in rendered if s.substyle == substyle)
    calm, driving = (
        demo.render(dataclasses.replace(song, energy=e), sr=SR, seconds=SECONDS) for e in (0.05, 0.95)
    )
    assert _centroid(driving) > 1.2 * _centroid(calm)


# Sub-styles with a steady pulse on the beat; the others (one drop, clave, triplet rolls,
# no beat at all) rightly fool a beat tracker into 3/4 or 4/3 of their tempo.
_STEADY = [
    "Techno", "Synth-pop", "Boom Bap", "Hard Rock", "Punk", "Swing", "Jazz Fusion", "Downtempo",
    "Bluegrass", "Folktronica", "Ska", "Neurofunk", "Halftime",
]  # fmt: skip


@pytest.mark.parametrize("substyle", _STEADY)
def test_beat_styles_play_at_their_planned_tempo(rendered, substyle):
    assert {demo.SUBSTYLE_BY_NAME[name].genre for name in _STEADY} == set(demo.STYLES)
    for song, y in [(s, y) for s, y in rendered if s.substyle == substyle]:
        env = librosa.onset.onset_strength(y=y, sr=SR)
        estimate = float(librosa.feature.tempo(onset_envelope=env, sr=SR)[0])
        # beat trackers may pick half or double time: compare tempo octaves
        octaves = np.log2(estimate / song.tempo)
        assert abs(octaves - round(octaves)) < 0.06, (substyle, song.tempo, estimate)


def test_tempo_ranges_overlap_between_genres():
    ranges = {
        g: (min(s.tempo[0] for s in demo.substyles(g)), max(s.tempo[1] for s in demo.substyles(g)))
        for g in demo.STYLES
    }
    for genre, (a, b) in ranges.items():  # tempo alone must not give the genre away
        assert any(min(b, d) > max(a, c) for g, (c, d) in ranges.items() if g != genre), genre


# ---------------------------------------------------------------------------- build


def _build(tmp_path: Path, n: int = 8, seed: int = 0, **kw):
    return demo.build_demo(
        tmp_path / "audio", n_tracks=n, seed=seed, workers=1, progress=False, seconds=3.0, **kw
    )


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name != demo.PLAN_FILE}


def test_build_writes_decodable_audio_and_tracks(tmp_path):
    tracks, report = _build(tmp_path, n=8)
    plan = demo.plan_catalog(8, seed=0)
    assert report.skipped == {}
    assert [t.track_id for t in tracks] == list(range(1, 9))
    for track, song in zip(tracks, plan, strict=True):
        assert (track.title, track.artist, track.album, track.genre, track.split) == (
            song.title,
            song.artist,
            song.album,
            song.genre,
            song.split,
        )
        assert track.source == "demo" and track.duration == 3.0
        path = Path(track.audio_path)
        assert path.is_absolute() and path.name == f"{track.track_id:06d}.{demo.audio_format()}"
        y, sr = sf.read(path, dtype="float32")
        assert sr == SR and y.ndim == 1
        assert abs(len(y) - 3 * SR) < 0.05 * SR
        assert np.max(np.abs(y)) > 0.1
    saved = json.loads((tmp_path / "audio" / demo.PLAN_FILE).read_text())
    assert saved["seed"] == 0 and saved["version"] == demo.SYNTH_VERSION


def test_build_resumes_without_rendering_again(tmp_path, monkeypatch):
    _build(tmp_path, n=8)
    before = _mtimes(tmp_path / "audio")

    def refuse(*args, **kwargs):
        raise AssertionError("a complete song was rendered again")

    monkeypatch.setattr(demo, "render", refuse)
    tracks, _ = _build(tmp_path, n=8)
    assert len(tracks) == 8 and _mtimes(tmp_path / "audio") == before


def test_build_removes_temp_files_and_renders_only_what_is_missing(tmp_path):
    folder = tmp_path / "audio"
    _build(tmp_path, n=8)
    (folder / f"000003.{demo.audio_format()}").unlink()
    stale = folder / ".000003.4242.part"  # what a killed build leaves behind
    stale.write_bytes(b"half an mp3")
    before = _mtimes(folder)
    tracks, _ = _build(tmp_path, n=8)
    after = _mtimes(folder)
    assert not stale.exists()
    assert set(after) == {f"{i:06d}.{demo.audio_format()}" for i in range(1, 9)}
    assert {name for name in after if after[name] != before.get(name)} == {f"000003.{demo.audio_format()}"}
    y, _ = sf.read(tracks[2].audio_path)
    assert len(y) > 2 * SR


def test_build_with_more_tracks_and_the_same_seed_keeps_the_first_songs(tmp_path):
    _build(tmp_path, n=4)
    before = _mtimes(tmp_path / "audio")
    tracks, _ = _build(tmp_path, n=10)
    after = _mtimes(tmp_path / "audio")
    assert len(tracks) == 10 and len(after) == 10
    assert all(after[name] == t for name, t in before.items())


def test_build_with_another_seed_replaces_the_songs_only(tmp_path):
    folder = tmp_path / "audio"
    first, _ = _build(tmp_path, n=4, seed=0)
    old = sf.read(first[0].audio_path)[0]
    folder.joinpath("my-upload.mp3").write_bytes(b"not ours")
    second, _ = _build(tmp_path, n=4, seed=1)
    new = sf.read(second[0].audio_path)[0]
    assert first[0].audio_path == second[0].audio_path
    assert first[0].title != second[0].title
    assert not np.allclose(old[: len(new)], new[: len(old)], atol=1e-3)
    assert folder.joinpath("my-upload.mp3").read_bytes() == b"not ours"  # not a song file: untouched
    assert json.loads((folder / demo.PLAN_FILE).read_text())["seed"] == 1


def test_a_failed_write_leaves_no_file_under_the_final_name(tmp_path, monkeypatch):
    def half_write(path, data, samplerate, **kwargs):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", half_write)
    with pytest.raises(SourceError, match="disk full"):
        _build(tmp_path, n=2)
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == [demo.PLAN_FILE]


def test_build_in_parallel_matches_a_serial_render(tmp_path):
    tracks, _ = demo.build_demo(tmp_path / "par", n_tracks=3, seed=2, workers=2, progress=False, seconds=2.0)
    assert all(os.path.getsize(t.audio_path) > 1000 for t in tracks)
    decoded, _ = sf.read(tracks[1].audio_path, dtype="float32")
    reference = demo.render(demo.plan_catalog(3, seed=2)[1], seconds=2.0)
    n = min(len(decoded), len(reference))
    # lossy MP3 is not bit-exact: the decoded song must still follow the same waveform
    assert np.corrcoef(decoded[:n], reference[:n])[0, 1] > 0.9


def test_build_rejects_a_bad_size(tmp_path):
    with pytest.raises(UserInputError):
        demo.build_demo(tmp_path, n_tracks=0, progress=False)


def test_build_reports_progress_to_a_callable(tmp_path):
    calls: list[tuple[int, int]] = []
    demo.build_demo(
        tmp_path / "a", n_tracks=4, seed=0, workers=1, progress=lambda d, t: calls.append((d, t)), seconds=2.0
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    (tmp_path / "a" / f"000002.{demo.audio_format()}").unlink()
    calls.clear()
    demo.build_demo(
        tmp_path / "a", n_tracks=4, seed=0, workers=1, progress=lambda d, t: calls.append((d, t)), seconds=2.0
    )
    assert calls == [(4, 4)]  # three songs were already there
