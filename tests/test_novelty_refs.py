"""The non-music references are synthesised (never shipped), heard once per home, and name each kind
of non-music right; real clips of a catalog's albums are not called unlike it, even without labels.

The non-music judged is tests/nonmusic.py's: other generators, seeds and levels than the references,
and espeak-ng's speech (real synthesised speech the references never heard). The real catalog is
``tests/data/real_sound.npz`` (sound features of clips of five game soundtracks, no audio).
"""

import shutil
from pathlib import Path

import librosa
import numpy as np
import pytest
from nonmusic import write_all
from scipy.signal import find_peaks

from recommender import non_music
from recommender.backbone import BACKBONES, DEFAULT_SOUND, sound_width
from recommender.catalog import Catalog
from recommender.novelty import (
    CONFIDENT,
    STRONG,
    NoveltyModel,
    References,
    columns,
    judge,
    top_tag,
)

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(__file__).parent / "data" / "real_sound.npz"
WIDTH = sound_width(BACKBONES)
KINDS = {
    "white noise": "noise",
    "pink noise": "noise",
    "sine sweep": "sweep",
    "silence with hiss": "silence",
    "speech": "speech",
}
FLAT_ALBUMS = ("hedgewars", "supertux", "wesnoth")  # one of them holds a chiptune


def full_width(compact: np.ndarray) -> np.ndarray:
    out = np.zeros((len(compact), WIDTH), np.float32)
    out[:, columns(BACKBONES)] = compact
    return out


# ---- nothing generated is shipped -------------------------------------------------------------
def test_the_package_ships_no_generated_arrays_or_audio():
    shipped = [
        p.relative_to(ROOT)
        for p in (ROOT / "recommender").rglob("*")
        if p.suffix in {".npz", ".npy", ".wav", ".ogg", ".flac", ".keras", ".h5"}
    ]
    assert shipped == []


# ---- the sounds themselves --------------------------------------------------------------------
def test_the_reference_sounds_are_the_same_on_every_run_and_of_every_kind():
    first, again = non_music.reference_audio(16_000), non_music.reference_audio(16_000)
    assert [k for k, _ in first] == [k for k, _ in again]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first, again, strict=True))
    assert {k for k, _ in first} == {"noise", "silence", "sweep", "speech"}
    assert all(len(y) == 16_000 * non_music.SECONDS and np.isfinite(y).all() for _, y in first)


def test_the_speech_like_voice_has_a_speaking_pitch_syllables_and_pauses():
    sr = 16_000
    y = non_music.speech_like(np.random.default_rng(3), sr=sr, voice=non_music.Voice(100, 200, 1.0, 4.0))
    rms = librosa.feature.rms(y=y, frame_length=400, hop_length=160)[0]  # 100 frames a second
    f0 = librosa.yin(y, fmin=60, fmax=400, sr=sr, frame_length=1600, hop_length=160)[: len(rms)]
    assert 100 <= np.median(f0[rms[: len(f0)] > 0.1 * rms.max()]) <= 200  # the pitch of the loud parts
    quiet = rms < 0.05 * rms.max()
    assert 0.05 <= quiet.mean() <= 0.4  # pauses, but mostly speaking
    syllables, _ = find_peaks(rms, prominence=0.1 * rms.max(), distance=8)
    assert 2.5 <= len(syllables) / (len(rms) / 100 * (1 - quiet.mean())) <= 7  # a second of speaking


# ---- heard once per home ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(built_home) -> Catalog:
    return Catalog.open(built_home)


@pytest.fixture(scope="module")
def refs(demo) -> References:
    return non_music.references(demo.paths.features_dir, demo.sound_config)


def test_the_build_keeps_the_references_heard_in_the_home(demo, refs):
    saved = demo.paths.features_dir / demo.sound_config.key() / non_music.FILE
    assert saved.is_file()  # written by the build, not now
    with np.load(saved) as data:
        assert data["features"].shape == (len(non_music.reference_audio(16_000)), DEFAULT_SOUND.width)
        assert set(data["kinds"].tolist()) == {"noise", "silence", "sweep", "speech"}
        assert np.allclose(data["features"], refs.features)


@pytest.fixture(scope="module")
def heard(demo, tmp_path_factory) -> dict:
    """What the model hears in each kind of non-music (espeak-ng's speech where it is installed)."""
    made = write_all(tmp_path_factory.mktemp("non_music"))
    return {kind: demo.analyse(path) for kind, path in made.items() if path is not None}


def _heard(heard: dict, kind: str):
    if kind not in heard:
        pytest.skip("espeak-ng is not installed, so no speech to test: apt-get install espeak-ng")
    return heard[kind]


def test_a_catalog_built_before_the_references_hears_them_on_first_use(built_home, heard, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    for saved in home.rglob("non_music-*.npz"):
        saved.unlink()
    old = Catalog.open(home)
    verdict = old.novelty_of(heard["white noise"])
    assert verdict.unlike and verdict.reason == "noise"
    assert (old.paths.features_dir / old.sound_config.key() / non_music.FILE).is_file()  # kept for next time


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_non_music_is_named_on_the_demo_catalog(demo, heard, kind):
    verdict = demo.novelty_of(_heard(heard, kind))
    assert verdict.unlike and verdict.reason == KINDS[kind], (kind, verdict)


# ---- a real catalog, labelled or flat ---------------------------------------------------------
def _real(albums=None):
    with np.load(REAL) as data:
        keep = (
            np.ones(len(data["catalog"]), bool) if albums is None else np.isin(data["catalog_albums"], albums)
        )
        ask = (
            np.ones(len(data["queries"]), bool) if albums is None else np.isin(data["queries_albums"], albums)
        )
        catalog, queries = full_width(data["catalog"][keep]), full_width(data["queries"][ask])
    return NoveltyModel(backbones=DEFAULT_SOUND.backbones).fit(catalog), queries


@pytest.mark.parametrize("albums", [None, FLAT_ALBUMS], ids=["five albums", "three albums"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_non_music_is_named_on_a_real_catalog(heard, refs, albums, kind):
    model, _ = _real(albums)
    verdict = judge(model, _heard(heard, kind).sound, refs=refs)
    assert verdict.unlike and verdict.reason == KINDS[kind], (kind, verdict)


@pytest.mark.parametrize("albums", [None, FLAT_ALBUMS], ids=["five albums", "three albums"])
def test_real_clips_of_the_catalogs_albums_are_not_called_unlike_it(refs, albums):
    model, queries = _real(albums)
    flagged = [judge(model, q, refs=refs) for q in queries]
    assert len(queries) >= 30
    assert sum(v.unlike for v in flagged) <= 0.03 * len(queries), [v.reason for v in flagged if v.unlike]


# ---- musical evidence holds back a far verdict ------------------------------------------------
def test_a_far_clip_the_taggers_hear_as_music_is_far_only_well_beyond_the_threshold(rng):
    no_refs = References(np.zeros((0, WIDTH), np.float32), np.array([], dtype=str))
    songs = rng.uniform(0.0, 0.3, size=(80, WIDTH))  # tags never confident
    model = NoveltyModel().fit(songs)
    start, stop = 0, 200  # the first backbone's embedding: never a tag
    direction = np.zeros(WIDTH)
    direction[start:stop] = 1.0

    def clip(shift: float, tag: float) -> np.ndarray:
        x = rng.uniform(0.0, 0.3, size=WIDTH) + shift * direction
        x[columns(BACKBONES)[-1]] = tag  # the last tag of the last backbone
        return x

    def at(ratio: tuple[float, float], tag: float) -> np.ndarray:
        """A clip with top tag ``tag`` whose distance is within ``ratio`` times the threshold."""
        for shift in np.linspace(0.05, 4, 800):
            x = clip(shift, tag)
            if ratio[0] < model.distance(x)[0] / model.threshold_ < ratio[1]:
                return x
        raise AssertionError(f"no clip at {ratio} times the threshold")

    moderate = at((1.1, 1.4), 0.9)
    assert top_tag(model, moderate) >= CONFIDENT
    assert not judge(model, moderate, refs=no_refs).unlike  # music, not far enough
    quiet = moderate.copy()
    quiet[columns(BACKBONES)[-1]] = 0.3
    assert top_tag(model, quiet) < CONFIDENT
    verdict = judge(model, quiet, refs=no_refs)
    assert verdict.unlike and verdict.reason == "far"  # as far, without musical evidence
    very = at((STRONG, 2 * STRONG), 0.9)
    assert judge(model, very, refs=no_refs).reason == "far"  # music too, but very far
