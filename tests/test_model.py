"""The genre CNN on tiny synthetic log-mels: each genre lights a different band of mels."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from recommender import mel_data
from recommender.config import AudioConfig
from recommender.errors import ModelError, UserInputError, WriteError
from recommender.files import atomic_write
from recommender.model import ARCHS, HISTORY_COLUMNS, GenreModel, build_model, song_slices, train

CONFIG = AudioConfig()
GENRES = ["ambient", "bass", "treble"]
TRAIN_IDS = list(range(24))  # 8 per genre
VAL_IDS = list(range(100, 109))
TEST_IDS = list(range(200, 209))
FIT = {"epochs": 2, "slices_per_track": 4, "batch_size": 16, "seed": 0}


def genre_of(track_id: int) -> str:
    return GENRES[track_id % len(GENRES)]


def synthetic_mel(track_id: int, *, n_frames: int = 300) -> np.ndarray:
    """A log-mel ``(128, n_frames)`` in dB: noise, plus a loud pulsing band that depends on the genre."""
    rng = np.random.default_rng(track_id)
    genre = track_id % len(GENRES)
    mel = rng.normal(-55.0, 8.0, size=(CONFIG.n_mels, n_frames))
    low = 8 + 40 * genre + rng.integers(-3, 4)
    pulse = np.sin(2 * np.pi * np.arange(n_frames) / (8 + 6 * genre) + rng.uniform(0, 6))
    mel[low : low + 24] += rng.uniform(25, 40) + 6 * pulse
    return np.clip(mel, -80, 40).astype(np.float32)


class Cache:
    """A feature provider like FeatureCache: ``get(track_id)``, float16 arrays as on disk."""

    def __init__(self, ids):
        self._mels = {i: synthetic_mel(i).astype(np.float16) for i in ids}

    def get(self, track_id):
        return self._mels.get(track_id)


@pytest.fixture(scope="module")
def mels() -> Cache:
    return Cache(TRAIN_IDS + VAL_IDS + TEST_IDS)


def fit(mels, *, arch: str = "cnn1d", progress=None, **options) -> GenreModel:
    return train(
        mels,
        TRAIN_IDS,
        [genre_of(i) for i in TRAIN_IDS],
        VAL_IDS,
        [genre_of(i) for i in VAL_IDS],
        genres=GENRES,
        arch=arch,
        config=CONFIG,
        callbacks_progress=progress,
        **(FIT | options),
    )


@pytest.fixture(scope="module")
def progress_calls() -> list:
    return []


@pytest.fixture(scope="module")
def trained(mels, progress_calls) -> GenreModel:
    return fit(mels, progress=lambda epoch, epochs, logs: progress_calls.append((epoch, epochs, logs)))


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    return trained.save(tmp_path_factory.mktemp("models"), "tiny")


def held_out(mels) -> list[np.ndarray]:
    return [mels.get(i) for i in TEST_IDS]


# ---------------------------------------------------------------- architectures and slicing


@pytest.mark.parametrize(("arch", "dim"), [("cnn1d", 256), ("seed-2d", 32)])
def test_build_shapes_and_embedding_layer(arch, dim):
    net = build_model(arch, n_genres=3, config=CONFIG)
    assert tuple(net.input_shape) == (None, CONFIG.slice_frames, CONFIG.n_mels)
    assert tuple(net.output_shape) == (None, 3)
    assert tuple(net.get_layer("embedding").output.shape) == (None, dim)
    proba = np.asarray(net(np.random.default_rng(0).normal(-40, 10, (2, 128, 128)).astype(np.float32)))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_arch_is_refused():
    with pytest.raises(UserInputError, match="cnn1d"):
        build_model("resnet", n_genres=3, config=CONFIG)


@pytest.mark.parametrize(("n_frames", "n_slices"), [(1292, 10), (300, 2), (130, 1), (128, 1), (60, 1)])
def test_song_slices_are_time_major(n_frames, n_slices):
    mel = synthetic_mel(1, n_frames=n_frames)
    sliced = song_slices(mel, config=CONFIG)
    assert sliced.shape == (n_slices, CONFIG.slice_frames, CONFIG.n_mels)
    assert sliced.dtype == np.float32
    width = min(n_frames, CONFIG.slice_frames)
    np.testing.assert_array_equal(sliced[0, :width], mel[:, :width].T)
    if n_frames < CONFIG.slice_frames:  # padded with the clip's quietest value
        assert np.all(sliced[0, n_frames:] == mel.min())


@pytest.mark.parametrize("shape", [(64, 300), (128,), (128, 0)])
def test_song_slices_refuse_wrong_shapes(shape):
    with pytest.raises(ModelError, match="n_mels=128"):
        song_slices(np.zeros(shape, np.float32), config=CONFIG)


def test_class_weights_balance_genres():
    weights = mel_data.class_weights(np.array([0] * 6 + [1] * 2), 3)
    assert weights == pytest.approx({0: 8 / 12, 1: 8 / 4, 2: 0.0})


@pytest.mark.parametrize("limit", [mel_data.RAM_LIMIT_BYTES, 0])
def test_mel_stack_crops_in_ram_and_memmap(mels, monkeypatch, limit):
    monkeypatch.setattr(mel_data, "RAM_LIMIT_BYTES", limit)
    stack = mel_data.MelStack(mels, [0, 1], config=CONFIG)
    try:
        assert isinstance(stack.data, np.memmap) == (limit == 0)
        assert stack.lengths.tolist() == [300, 300]
        crops = stack.crops(np.array([1, 0]), np.array([5, 172]))
        assert crops.shape == (2, 128, 128) and crops.dtype == np.float32
        np.testing.assert_array_equal(crops[0], mels.get(1)[:, 5:133].T.astype(np.float32))
        np.testing.assert_array_equal(crops[1], mels.get(0)[:, 172:300].T.astype(np.float32))
    finally:
        stack.close()


# ---------------------------------------------------------------- training


def test_training_beats_chance(trained, mels):
    assert max(row["val_accuracy"] for row in trained.history_) >= 0.8  # chance: 1/3
    proba = trained.predict_proba_many(held_out(mels))
    predicted = [trained.genres_[i] for i in proba.argmax(axis=1)]
    assert np.mean([p == genre_of(i) for p, i in zip(predicted, TEST_IDS, strict=True)]) >= 0.8


def test_fitted_attributes(trained):
    assert trained.genres_ == GENRES and trained.arch_ == "cnn1d" and trained.config_ == CONFIG
    assert trained.embedding_dim_ == 256
    assert trained.epochs_run_ == len(trained.history_) == 2
    assert set(trained.versions_) == {"tensorflow", "keras", "numpy", "librosa"}
    for row in trained.history_:
        assert set(row) == set(HISTORY_COLUMNS)
        assert all(np.isfinite(v) for v in row.values())


def test_progress_called_after_every_epoch(trained, progress_calls):
    assert [(epoch, epochs) for epoch, epochs, _ in progress_calls] == [(1, 2), (2, 2)]
    assert progress_calls[-1][2]["val_accuracy"] == trained.history_[-1]["val_accuracy"]


def test_training_is_deterministic(trained, mels):
    again = fit(mels)
    for a, b in zip(trained.model_.get_weights(), again.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_genres": ["polka"] * 24}, "polka"),
        ({"val_ids": [], "val_genres": []}, "validation split is empty"),
        ({"train_ids": [999] + TRAIN_IDS[1:]}, "No features for track 999"),
        ({"genres": ["ambient"]}, "at least 2"),
    ],
)
def test_bad_training_input_is_refused(mels, change, message):
    args = {
        "train_ids": TRAIN_IDS,
        "train_genres": [genre_of(i) for i in TRAIN_IDS],
        "val_ids": VAL_IDS,
        "val_genres": [genre_of(i) for i in VAL_IDS],
        "genres": GENRES,
    } | change
    with pytest.raises(ModelError, match=message):
        train(mels, **args, config=CONFIG, epochs=1)


def test_seed_2d_trains_and_embeds(mels):
    model = fit(mels, arch="seed-2d", epochs=1, slices_per_track=2)
    emb, proba = model.embed_and_predict_many(held_out(mels))
    assert emb.shape == (len(TEST_IDS), 32) and proba.shape == (len(TEST_IDS), 3)
    assert np.all(np.isfinite(emb))


# ---------------------------------------------------------------- embeddings


def test_embeddings_are_unit_float32_and_no_dimension_is_dead(trained, mels):
    emb = trained.embed_many(held_out(mels) + [mels.get(i) for i in VAL_IDS])
    assert emb.shape == (18, 256) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    assert emb.std(axis=0).min() > 1e-6


@pytest.mark.parametrize("n_frames", [130, 60])  # 3 s, and shorter than a slice
def test_embed_short_clip(trained, n_frames):
    emb = trained.embed(synthetic_mel(7, n_frames=n_frames))
    assert emb.shape == (256,) and emb.dtype == np.float32
    assert np.linalg.norm(emb) == pytest.approx(1.0, rel=1e-5)


def test_batching_across_songs_does_not_change_results(trained, mels):
    songs = held_out(mels) + [synthetic_mel(3, n_frames=1292)]  # 2 slices each, then 10
    emb, proba = trained.embed_and_predict_many(iter(songs), batch_size=3)
    one_by_one = np.stack([trained.embed(m) for m in songs])
    np.testing.assert_allclose(emb, one_by_one, atol=1e-5)
    np.testing.assert_allclose(proba[0], trained.predict_proba(songs[0]), atol=1e-5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(trained.embed_many(songs), emb, atol=1e-5)


def test_empty_input_gives_empty_arrays(trained):
    emb, proba = trained.embed_and_predict_many([])
    assert emb.shape == (0, 256) and proba.shape == (0, 3)


def test_untrained_model_is_refused(tmp_path):
    untrained = GenreModel(genres=GENRES, config=CONFIG)
    with pytest.raises(ModelError, match="not trained"):
        untrained.embed(synthetic_mel(0))
    with pytest.raises(ModelError, match="not trained"):
        untrained.save(tmp_path, "x")


# ---------------------------------------------------------------- save and load


def test_save_writes_three_files_and_no_temporaries(saved):
    folder = saved.parent
    assert sorted(p.name for p in folder.iterdir()) == ["tiny.history.csv", "tiny.json", "tiny.keras"]
    meta = json.loads((folder / "tiny.json").read_text())
    assert meta["config"] == CONFIG.to_dict() and meta["genres"] == GENRES
    assert meta["arch"] == "cnn1d" and meta["embedding_dim"] == 256 and meta["epochs"] == 2
    assert meta["seed"] == 0 and "keras" in meta["versions"] and meta["created"]


def test_history_csv_has_one_row_per_epoch(saved, trained):
    with saved.with_suffix(".history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == HISTORY_COLUMNS
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_loss"]) == pytest.approx(trained.history_[1]["val_loss"])


def test_round_trip_gives_identical_embeddings(saved, trained, mels):
    loaded = GenreModel.load(saved, config=CONFIG, genres=GENRES)
    songs = held_out(mels)
    np.testing.assert_array_equal(loaded.embed_many(songs), trained.embed_many(songs))
    assert loaded.genres_ == GENRES and loaded.arch_ == "cnn1d" and loaded.embedding_dim_ == 256
    assert [pytest.approx(row) for row in trained.history_] == loaded.history_


def test_metrics_are_saved_with_the_model(trained, tmp_path):
    trained.metrics_ = {"test_accuracy": 0.9}
    try:
        path = trained.save(tmp_path, "with-metrics")
    finally:
        del trained.metrics_
    assert GenreModel.load(path, config=CONFIG).metrics_ == {"test_accuracy": 0.9}


@pytest.mark.parametrize(("field", "value"), [("n_mels", 64), ("hop_length", 256), ("sample_rate", 16_000)])
def test_load_refuses_other_audio_config(saved, field, value):
    with pytest.raises(ModelError, match=field):
        GenreModel.load(saved, config=replace(CONFIG, **{field: value}))


@pytest.mark.parametrize("genres", [GENRES[::-1], GENRES[:2], [*GENRES, "jazz"]])
def test_load_refuses_other_genres(saved, genres):
    with pytest.raises(ModelError, match="genres") as error:
        GenreModel.load(saved, config=CONFIG, genres=genres)
    assert str(genres) in str(error.value)


def test_load_refuses_missing_files(saved, tmp_path):
    with pytest.raises(ModelError, match="No model"):
        GenreModel.load(tmp_path / "absent.keras", config=CONFIG)
    lonely = tmp_path / "lonely.keras"
    lonely.write_bytes(saved.read_bytes())
    with pytest.raises(ModelError, match=r"no lonely\.json"):
        GenreModel.load(lonely, config=CONFIG)


@pytest.mark.parametrize("content", ["truncated", "png"])
def test_load_says_a_truncated_or_foreign_file_is_not_a_keras_model(saved, tmp_path, content):
    bad = tmp_path / "bad.keras"
    data = saved.read_bytes()
    bad.write_bytes(data[: len(data) // 3] if content == "truncated" else b"\x89PNG\r\n\x1a\n" + bytes(64))
    bad.with_suffix(".json").write_bytes(saved.with_suffix(".json").read_bytes())
    with pytest.raises(ModelError, match=r"bad\.keras is not a Keras model file \(not a \.keras zip archive"):
        GenreModel.load(bad, config=CONFIG)


def test_invalid_model_name_is_refused(trained, tmp_path):
    with pytest.raises(UserInputError, match="plain file name"):
        trained.save(tmp_path, "../escape")


def test_interrupted_write_leaves_nothing_under_the_final_name(tmp_path):
    target = tmp_path / "m.keras"

    def crash(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(WriteError, match="disk full"):
        atomic_write(target, crash, suffix=target.suffix)
    assert list(tmp_path.iterdir()) == []


def test_archs_constant():
    assert ARCHS == ("cnn1d", "seed-2d")
