"""Unlike the catalog: non-music is caught on every catalog, real clips of the catalog's albums are not.

The non-music is generated here (tests/nonmusic.py): white and pink noise, a sine sweep,
silence with hiss and espeak-ng speech. Catalogs: the session's tiny demo, and a real one
from ``tests/data/real_sound.npz``: the sound features (``novelty.PARTS`` only, float16) of
real clips of five game soundtracks (Debian packages, see bench/real_audio.py), catalog
clips and query clips of other tracks of the same albums; no audio.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from app_runner import open_page
from nonmusic import WRITERS, write_all

from recommender.backbone import BACKBONES, DEFAULT_SOUND, sound_width
from recommender.catalog import Catalog
from recommender.non_music import references
from recommender.novelty import REASONS, NoveltyModel, References, columns, judge

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(__file__).parent / "data" / "real_sound.npz"
WIDTH = sound_width(BACKBONES)
NO_REFERENCES = References(np.zeros((0, WIDTH), np.float32), np.array([], dtype=str))


def full_width(compact: np.ndarray) -> np.ndarray:
    """Sound features ``(n, WIDTH)`` from their ``novelty.PARTS`` columns (the rest is never read)."""
    out = np.zeros((len(compact), WIDTH), np.float32)
    out[:, columns(BACKBONES)] = compact
    return out


# ---- the judgement on its own -------------------------------------------------------------------
def test_a_clip_like_the_catalog_passes_and_a_far_one_is_flagged_with_how_far(rng):
    songs = rng.normal(size=(60, WIDTH))
    model = NoveltyModel().fit(songs)
    like = judge(model, rng.normal(size=WIDTH), refs=NO_REFERENCES)
    assert not like.unlike and like.reason is None and like.message is None
    far = judge(model, rng.normal(size=WIDTH) + 3.0, refs=NO_REFERENCES)
    assert far.unlike and far.reason == "far" and far.further_than == 1.0
    assert (
        far.message.startswith(REASONS["far"])
        and "further than 100% of the catalog's own songs" in far.message
    )


def test_a_clip_nearer_to_non_music_than_to_any_song_is_flagged_with_its_kind(rng):
    songs = rng.normal(size=(60, WIDTH))
    noise = rng.normal(size=(1, WIDTH)) + 1.0
    refs = References(noise.astype(np.float32), np.array(["noise"]))
    verdict = judge(NoveltyModel().fit(songs), noise[0] + 0.01 * rng.normal(size=WIDTH), refs=refs)
    assert verdict.unlike and verdict.reason == "noise" and verdict.message == REASONS["noise"]


def test_the_saved_calibration_judges_alike(rng, tmp_path):
    songs = rng.normal(size=(30, WIDTH))
    model = NoveltyModel().fit(songs)
    model.save(tmp_path / "novelty.npz")
    again = NoveltyModel.load(tmp_path / "novelty.npz")
    clip = rng.normal(size=WIDTH)
    assert again.threshold_ == pytest.approx(model.threshold_, rel=1e-6)
    assert again.distance(clip)[0] == pytest.approx(model.distance(clip)[0], rel=1e-2)


def test_a_catalog_of_three_songs_has_no_distance_threshold(rng):
    model = NoveltyModel().fit(rng.normal(size=(3, WIDTH)))
    assert model.threshold_ is None
    assert not judge(model, rng.normal(size=WIDTH) + 5.0, refs=NO_REFERENCES).unlike


# ---- the demo catalog, end to end ---------------------------------------------------------------
@pytest.fixture(scope="module")
def non_music(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("non_music"))


@pytest.fixture(scope="module")
def demo(built_home) -> Catalog:
    return Catalog.open(built_home)


@pytest.fixture(scope="module")
def heard(demo, non_music) -> dict:
    """What the model hears in each non-music file (its sound features are the same for every catalog)."""
    return {kind: demo.analyse(path) for kind, path in non_music.items() if path is not None}


def _heard(heard: dict, kind: str):
    if kind not in heard:
        pytest.skip("espeak-ng is not installed, so no speech to test: apt-get install espeak-ng")
    return heard[kind]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_non_music_is_unlike_the_demo_catalog_and_says_why(demo, heard, kind):
    verdict = demo.novelty_of(_heard(heard, kind))
    assert verdict.unlike and verdict.reason in REASONS, (kind, verdict)
    assert verdict.message.startswith(REASONS[verdict.reason])


def test_a_clip_of_a_demo_song_is_like_the_demo_catalog(demo, tmp_path):
    y, sr = sf.read(demo.audio_path(6), dtype="float32")
    sf.write(tmp_path / "excerpt.wav", y[sr * 5 : sr * 17], sr)  # new bytes, a familiar sound
    verdict = demo.novelty_of(demo.analyse(tmp_path / "excerpt.wav"))
    assert not verdict.unlike and verdict.reason is None


def _similar(home: Path, path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MUSICREC_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "recommender", "similar", "--file", str(path), *extra], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_similar_file_says_why_a_clip_is_unlike_and_names_no_genre(built_home, non_music):
    done = _similar(built_home, non_music["white noise"], "--json")
    assert done.returncode == 0, done.stderr
    query = json.loads(done.stdout)["query"]
    assert query["unlike_catalog"] is True
    assert query["unlike_reason"] in REASONS and query["unlike_message"].startswith(
        REASONS[query["unlike_reason"]]
    )
    text = _similar(built_home, non_music["white noise"]).stdout
    assert "unlike this catalog: " + REASONS[query["unlike_reason"]] in text
    assert "sounds most like" not in text


def test_the_upload_page_says_why_and_shows_no_genre(built_home, non_music, monkeypatch):
    at = open_page(built_home, "upload", monkeypatch)
    at.file_uploader(key="upload_file").upload(
        "hum.wav", non_music["white noise"].read_bytes(), "audio/wav"
    ).run()
    assert not at.exception
    warning = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", " ".join(w.value for w in at.warning))  # as read
    assert "This clip is unlike the catalog: " in warning and "No genre fits it" in warning
    assert any(REASONS[kind] in warning for kind in ("noise", "far")), warning
    assert "Genre probabilities" not in [h.value for h in at.subheader]
    assert not any("sounds most like" in s.value for s in at.success)


def test_a_catalog_built_before_the_calibration_still_judges(built_home, heard, tmp_path):
    assert Catalog.open(built_home).artifact("novelty").is_file()  # the build saves its calibration
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    for saved in home.rglob("novelty*.npz"):
        saved.unlink()
    old = Catalog.open(home)
    assert old.novelty_of(heard["white noise"]).unlike  # calibrated now, from the cached sound features
    shutil.rmtree(old.sounds.dir)  # and without those: the old rule, no error
    older = Catalog.open(home)
    assert older.novelty_reference is None
    assert older.novelty_of(heard["white noise"]).reason in (None, "far")


# ---- a real catalog (derived features, no audio) ------------------------------------------------
@pytest.fixture(scope="module")
def real():
    with np.load(REAL) as data:
        catalog, queries = full_width(data["catalog"]), full_width(data["queries"])
    return NoveltyModel(backbones=DEFAULT_SOUND.backbones).fit(catalog), queries


@pytest.fixture(scope="module")
def refs(demo) -> References:
    """The non-music references, as the demo's home keeps them."""
    return references(demo.paths.features_dir, demo.sound_config)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_non_music_is_unlike_a_real_catalog(real, heard, refs, kind):
    model, _ = real
    verdict = judge(model, _heard(heard, kind).sound, refs=refs)
    assert verdict.unlike and verdict.reason in REASONS, (kind, verdict)


def test_real_clips_of_the_catalogs_albums_are_rarely_flagged(real, refs):
    model, queries = real
    flagged = [judge(model, q, refs=refs) for q in queries]
    assert len(queries) >= 30
    assert sum(v.unlike for v in flagged) <= 0.03 * len(queries), [v.reason for v in flagged if v.unlike]


REAL_AUDIO = (
    Path(os.environ.get("MUSICREC_REAL_AUDIO", ROOT / "artifacts" / "real_audio")) / "clips" / "queries"
)


@pytest.mark.slow
def test_real_recordings_of_the_catalogs_albums_heard_from_audio_are_not_flagged(real, refs):
    """The fixture's judgement from the audio itself, where bench/real_audio.py's clips are present."""
    from recommender.backbone import sound_features
    from recommender.features import clip_features

    files = sorted(p for p in REAL_AUDIO.glob("*/*") if p.suffix in (".ogg", ".flac"))
    if not files:
        pytest.skip(f"no real clips in {REAL_AUDIO} (python bench/real_audio.py, or set MUSICREC_REAL_AUDIO)")
    model, _ = real
    picked = [
        files[i] for i in np.random.default_rng(0).choice(len(files), size=min(12, len(files)), replace=False)
    ]
    flagged = []
    for path in picked:
        _, heard = clip_features(path, config=None, sound=DEFAULT_SOUND)
        sound = sound_features([heard], names=DEFAULT_SOUND.backbones, max_patches=DEFAULT_SOUND.max_patches)[
            0
        ]
        verdict = judge(model, sound, refs=refs)
        if verdict.unlike:
            flagged.append((path.name, verdict.reason))
    assert len(flagged) <= 1, flagged
