"""The musicnn port against the original musicnn graph, its preprocessing, patching and batching.

``tests/data/musicnn_reference.npz`` holds what the ORIGINAL musicnn 0.1.0 computes for
two clips made by ``synthetic_clip`` below (5 s, seed 1 → 1 patch; 7 s, seed 2 → 2
patches). It was made once by a throw-away script kept out of the repository, in its
own virtualenv (Python 3.11, tensorflow-cpu 2.21.0, tf-keras 2.21.0, librosa 0.11.0,
numpy 2.4.6, ``pip install --no-deps musicnn==0.1.0``, run with ``TF_USE_LEGACY_KERAS=1``):

- each clip was written as a float32 16 kHz WAV and read by musicnn's own
  ``extractor.batch_data(path, 187, 187)``, with one line of musicnn patched: the cast to
  float16 before ``log10(10000·x + 1)`` became float32 (in float16, ``10000·x`` overflows
  to inf above a power of 6.55 and the tags come out wrong);
- musicnn's ``models.define_model`` graph was built as ``extractor.extractor`` builds it,
  restored from the package's checkpoint, and run on one patch at a time
  (``is_training=False``), reading ``sigmoid(logits)`` and the ``penultimate`` tensor of
  every patch (``extractor()`` itself returns patch 0's penultimate for every patch, a
  bug in its loop; its taggram was checked equal to the graph's);
- keys: ``<clip>_mel`` ``(n_frames, 96)``, ``<clip>_<msd|mtt>_penultimate``
  ``(n_patches, 200)`` and ``<clip>_<msd|mtt>_taggram`` ``(n_patches, 50)``, float32.
"""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from recommender import backbone, musicnn_net
from recommender.backbone import Backbone, BackboneConfig, musicnn_mel, patches
from recommender.config import AudioConfig
from recommender.errors import ModelError, UserInputError
from recommender.musicnn_net import BACKBONES, MSD_LABELS, MTT_LABELS, TAGS, build_musicnn, load_musicnn

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"
CLIPS = {"clip5": (5.0, 1), "clip7": (7.0, 2)}
SHORT = {"musicnn-msd": "msd", "musicnn-mtt": "mtt"}
SR = 16_000


def synthetic_clip(seconds: float, *, seed: int) -> np.ndarray:
    """A mono 16 kHz float32 clip ``(n_samples,)``, peak 0.5: harmonic notes and noise bursts."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * SR))
    t = np.arange(n) / SR
    y = np.zeros(n)
    for start in np.arange(0.0, seconds, 0.5):  # a note every half second, five harmonics
        f0 = 110.0 * 2.0 ** (rng.integers(0, 24) / 12)
        on = (t >= start) & (t < start + 0.5)
        tt = t[on] - start
        for h in range(1, 6):
            y[on] += np.exp(-3.0 * tt) * np.sin(2 * np.pi * f0 * h * tt) / h
    beat = 60.0 / rng.uniform(90, 140)
    for onset in np.arange(0.0, seconds, beat / 2):  # noise bursts on every half beat
        i = int(onset * SR)
        m = min(n - i, SR // 10)
        y[i : i + m] += rng.normal(0.0, 0.5, m) * np.exp(-40.0 * np.arange(m) / SR)
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def models():
    """Each pretrained backbone, loaded once for the module."""
    return {name: load_musicnn(name) for name in BACKBONES}


def random_mel(n_frames: int, *, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 4.0, (n_frames, 96)).astype(np.float32)


# --------------------------------------------------------------------------- the port


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("name", BACKBONES)
def test_port_equals_original_musicnn(models, reference, name, clip):
    x = patches(reference[f"{clip}_mel"])
    out = models[name].predict_on_batch(x)
    penultimate = reference[f"{clip}_{SHORT[name]}_penultimate"]
    taggram = reference[f"{clip}_{SHORT[name]}_taggram"]
    assert out["penultimate"].shape == penultimate.shape == (len(x), 200)
    assert out["tags"].shape == taggram.shape == (len(x), 50)
    np.testing.assert_allclose(out["penultimate"], penultimate, atol=1e-3, rtol=0)
    np.testing.assert_allclose(out["tags"], taggram, atol=1e-3, rtol=0)


def test_the_two_backbones_differ(models, reference):
    x = patches(reference["clip5_mel"])
    msd, mtt = (models[name].predict_on_batch(x)["tags"] for name in BACKBONES)
    assert np.abs(msd - mtt).max() > 0.05


def test_untrained_architecture_has_musicnn_shapes():
    model = build_musicnn(n_tags=7)
    assert model.input_shape == (None, 187, 96)
    out = model.predict_on_batch(np.zeros((2, 187, 96), np.float32))
    assert {key: value.shape for key, value in out.items()} == {"penultimate": (2, 200), "tags": (2, 7)}
    assert model.get_layer("frontend").output.shape == (None, 187, 561)
    assert model.get_layer("midend").output.shape == (None, 187, 753)


# --------------------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("clip", CLIPS)
def test_mel_equals_musicnn(reference, clip):
    seconds, seed = CLIPS[clip]
    y = synthetic_clip(seconds, seed=seed)
    mel = musicnn_mel(y)
    assert mel.dtype == np.float32
    assert mel.shape == (1 + len(y) // 256, 96) == reference[f"{clip}_mel"].shape
    np.testing.assert_allclose(mel, reference[f"{clip}_mel"], atol=1e-4, rtol=0)


def test_mel_of_loud_audio_stays_finite():
    """Full-scale audio: musicnn's float16 log overflows to inf here; the float32 one does not."""
    y = np.sign(np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    mel = musicnn_mel(y)
    assert np.isfinite(mel).all()
    assert mel.max() > np.log10(1 + 10_000 * 6.56)  # beyond what float16 can hold before the log


def test_mel_rejects_stereo():
    with pytest.raises(ValueError, match="mono"):
        musicnn_mel(np.zeros((2, SR), np.float32))


def test_config_is_musicnns_and_shares_audio_configs_methods():
    config = BackboneConfig()
    frames_3s = librosa.time_to_frames(3, sr=16_000, n_fft=512, hop_length=256) + 1  # musicnn's arithmetic
    assert config.patch_frames == frames_3s == 187
    assert config.clip_frames == 1 + 30 * 16_000 // 256
    assert BackboneConfig.from_dict(config.to_dict()) == config
    assert config.key() == BackboneConfig().key() != AudioConfig().key()
    assert BackboneConfig(n_mels=128).mismatch(config) == ["n_mels: 96 != 128"]


def test_tag_names():
    assert TAGS == {"musicnn-msd": MSD_LABELS, "musicnn-mtt": MTT_LABELS}
    for labels in TAGS.values():
        assert len(labels) == len(set(labels)) == 50
    assert MSD_LABELS[:3] == ("rock", "pop", "alternative") and MSD_LABELS[-1] == "happy"
    assert {"Mellow", "Hip-Hop", "Progressive rock", "House"} <= set(MSD_LABELS)
    assert MTT_LABELS[:3] == ("guitar", "classical", "slow") and MTT_LABELS[-1] == "choral"
    assert {"no vocals", "no vocal", "no voice", "new age"} <= set(MTT_LABELS)


# --------------------------------------------------------------------------- patching


@pytest.mark.parametrize(
    ("n_frames", "n_patches"), [(187, 1), (373, 1), (374, 2), (1876, 10), (100, 1), (1, 1)]
)
def test_patches_are_musicnns_non_overlapping_3s(n_frames, n_patches):
    mel = random_mel(n_frames)
    p = patches(mel)
    assert p.shape == (n_patches, 187, 96) and p.dtype == np.float32
    if n_frames >= 187:
        for i in range(n_patches):
            np.testing.assert_array_equal(p[i], mel[187 * i : 187 * (i + 1)])


def test_short_clip_is_repeat_padded():
    mel = random_mel(100)
    (patch,) = patches(mel)
    np.testing.assert_array_equal(patch[:100], mel)
    np.testing.assert_array_equal(patch[100:], mel[:87])


@pytest.mark.parametrize(
    ("max_patches", "chosen"), [(1, [5]), (2, [2, 7]), (5, [1, 3, 5, 7, 9]), (10, range(10))]
)
def test_max_patches_spreads_them_evenly(max_patches, chosen):
    mel = np.repeat(np.arange(10, dtype=np.float32), 187)[:, None] * np.ones(
        96, np.float32
    )  # patch i is all i
    p = patches(mel, max_patches=max_patches)
    assert p[:, 0, 0].tolist() == list(chosen)
    assert len(patches(mel, max_patches=50)) == 10


def test_patch_hop_overlaps():
    assert len(patches(random_mel(374), hop=93)) == 3  # starts 0, 93, 186


@pytest.mark.parametrize("bad", [{"mel": np.zeros((0, 96))}, {"max_patches": 0}, {"hop": 0}])
def test_patches_reject_nonsense(bad):
    args = {"mel": random_mel(200)} | bad
    with pytest.raises(ValueError):
        patches(args.pop("mel"), **args)


# --------------------------------------------------------------------------- songs


def test_batching_across_songs_equals_one_song_at_a_time():
    mels = [random_mel(n, seed=i) for i, n in enumerate([100, 5 * 187, 3 * 187 + 50, 187, 20 * 187])]
    together = Backbone(max_patches=10, batch_size=4).transform(iter(mels))
    assert together.n_patches.tolist() == [1, 5, 3, 1, 10]
    for i, mel in enumerate(mels):
        alone = Backbone(max_patches=10, batch_size=64).transform([mel])
        for name in BACKBONES:
            np.testing.assert_allclose(together.penultimate[name][i], alone.penultimate[name][0], atol=1e-5)
            np.testing.assert_allclose(together.tags[name][i], alone.tags[name][0], atol=1e-6)


def test_song_output_is_the_mean_over_its_patches(models):
    mel = random_mel(4 * 187 + 10, seed=3)
    out = Backbone(["musicnn-mtt"], max_patches=None).transform([mel])
    assert set(out.penultimate) == set(out.tags) == {"musicnn-mtt"}
    direct = models["musicnn-mtt"].predict_on_batch(patches(mel))
    np.testing.assert_allclose(
        out.penultimate["musicnn-mtt"][0], direct["penultimate"].mean(axis=0), atol=1e-5
    )
    np.testing.assert_allclose(out.tags["musicnn-mtt"][0], direct["tags"].mean(axis=0), atol=1e-6)
    assert out.penultimate["musicnn-mtt"].dtype == np.float32


def test_sound_features_of_layout_2_root_each_patch_and_add_the_mels_band_statistics():
    from recommender.backbone import LAYOUTS, sound_features, sound_layout

    mels = [random_mel(3 * 187 + 40, seed=8), random_mel(2 * 187, seed=9) * 0.5]
    names = ["musicnn-mtt"]
    old = sound_features(mels, names=names, max_patches=None, layout=1)
    new = sound_features(mels, names=names, max_patches=None, layout=2)
    layout = sound_layout(names, 2)
    assert [part for _, part, _ in layout] == [
        "penultimate", "max_pool_root", "mean_pool_root", "tags", "penultimate_root", "band_mean", "band_std",
    ]  # fmt: skip
    assert old.shape == (2, sum(s for *_, s in sound_layout(names, 1))) and new.shape == (
        2,
        sum(s for *_, s in layout),
    )
    ends = np.cumsum([0, *(size for *_, size in layout)])
    block = {part: new[:, a:b] for (_, part, _), a, b in zip(layout, ends[:-1], ends[1:], strict=True)}
    # The penultimate layer and the tags stay where layout 1 keeps them, as musicnn gives them.
    np.testing.assert_allclose(new[:, :200], old[:, :200], atol=1e-6)
    np.testing.assert_allclose(block["tags"], old[:, 1706:1756], atol=1e-6)
    # A rooted block is the mean over the song's patches of each patch's signed square root, not the
    # root of the mean.
    forward = backbone._sound_forward("musicnn-mtt")
    for i, mel in enumerate(mels):
        penultimate, max_pool, mean_pool, _ = (np.asarray(p, np.float64) for p in forward(patches(mel)))
        for part, per_patch in (("penultimate_root", penultimate), ("max_pool_root", max_pool),
                                ("mean_pool_root", mean_pool)):  # fmt: skip
            want = (np.sign(per_patch) * np.sqrt(np.abs(per_patch))).mean(axis=0)
            np.testing.assert_allclose(block[part][i], want, atol=1e-4)
        assert (
            np.abs(
                block["mean_pool_root"][i] - np.sign(mean_pool.mean(0)) * np.sqrt(np.abs(mean_pool.mean(0)))
            ).max()
            > 1e-3
        )
        np.testing.assert_allclose(block["band_mean"][i], mel.mean(axis=0), atol=1e-5)
        np.testing.assert_allclose(block["band_std"][i], mel.std(axis=0), atol=1e-5)
    assert block["band_mean"][1].mean() == pytest.approx(block["band_mean"][0].mean() * 0.5, rel=0.05)
    assert LAYOUTS == (1, 2)
    with pytest.raises(ModelError, match="layout 3"):
        sound_features(mels, names=names, layout=3)


def test_xla_pads_the_last_batch_and_gives_the_same_answer():
    mels = [
        random_mel(3 * 187, seed=5),
        random_mel(2 * 187, seed=6),
    ]  # 5 patches: a batch of 4, then 1 padded
    plain = Backbone(["musicnn-msd"], batch_size=4, jit_compile=False).transform(mels)
    xla = Backbone(["musicnn-msd"], batch_size=4, jit_compile=True).transform(mels)
    np.testing.assert_allclose(xla.penultimate["musicnn-msd"], plain.penultimate["musicnn-msd"], atol=1e-4)
    assert backbone._pad_batch(np.ones((5, 187, 96), np.float32), batch_size=64).shape == (8, 187, 96)
    assert backbone._pad_batch(np.ones((20, 187, 96), np.float32), batch_size=24).shape == (24, 187, 96)


def test_no_songs():
    out = Backbone().transform([])
    assert out.penultimate["musicnn-msd"].shape == (0, 200) and out.tags["musicnn-mtt"].shape == (0, 50)


def test_wrong_features_are_refused():
    with pytest.raises(ModelError, match="musicnn_mel"):
        Backbone().transform([np.zeros((500, 128), np.float32)])


def test_unknown_backbone():
    with pytest.raises(UserInputError, match="musicnn-msd, musicnn-mtt"):
        Backbone(["vggish"]).transform([random_mel(200)])


# --------------------------------------------------------------------------- the package


def test_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(musicnn_net, "PACKAGE", "musicnn_not_installed_here")
    with pytest.raises(ModelError, match=r"not installed; install it with the README's set-up line"):
        load_musicnn("musicnn-msd")
    with pytest.raises(ModelError, match="requirements-nodeps.txt"):
        Backbone().transform([random_mel(200)])


def test_package_without_checkpoints(monkeypatch, tmp_path):
    (tmp_path / "musicnn").mkdir()
    (tmp_path / "musicnn" / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelError, match="is incomplete .* has no MTT_musicnn/"):
        load_musicnn("musicnn-mtt")
