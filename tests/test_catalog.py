"""recommender/catalog.py: importing a model into a built catalog (the Model page's upload)."""

import json

import pytest
from fixtures import copy_home

from recommender.catalog import Catalog
from recommender.errors import ModelError
from recommender.uploads import default_title


@pytest.fixture
def catalog(built_home, tmp_path) -> Catalog:
    home = tmp_path / "home"
    copy_home(built_home, home)
    return Catalog.open(home)


def _model_files(catalog: Catalog) -> tuple[bytes, bytes]:
    name = catalog.model_info["name"]
    folder = catalog.paths.models_dir
    return (folder / f"{name}.keras").read_bytes(), (folder / f"{name}.json").read_bytes()


def _foreign_keras(tmp_path, catalog: Catalog, *, embedding: bool, n_outputs: int) -> bytes:
    """A real Keras model that is not one musicrec can use here."""
    import keras

    config = catalog.config
    inputs = keras.Input((config.slice_frames, config.n_mels))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(8, name="embedding" if embedding else "hidden")(x)
    path = tmp_path / "foreign.keras"
    keras.Model(inputs, keras.layers.Dense(n_outputs, activation="softmax")(x)).save(path)
    return path.read_bytes()


def test_a_good_model_is_imported_under_a_free_name(catalog):
    keras_bytes, json_bytes = _model_files(catalog)
    path = catalog.import_model({"mine.keras": keras_bytes, "mine.json": json_bytes})
    assert path.name == "mine.keras" and path.with_suffix(".json").read_bytes() == json_bytes
    assert "mine" in catalog.saved_models()
    assert not [p for p in catalog.paths.models_dir.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda good, tmp, cat: good[: len(good) // 2],
            "x.keras is not a Keras model file (not a .keras zip",
        ),
        (lambda good, tmp, cat: b"\x89PNG\r\n\x1a\n" + bytes(64), "x.keras is not a Keras model file"),
        (
            lambda good, tmp, cat: _foreign_keras(tmp, cat, embedding=False, n_outputs=8),
            "no 'embedding' layer",
        ),
        (lambda good, tmp, cat: _foreign_keras(tmp, cat, embedding=True, n_outputs=3), "predicts 3 genres"),
    ],
    ids=["truncated", "png", "no-embedding", "other-genre-count"],
)
def test_a_refused_model_is_never_kept(catalog, tmp_path, make, message):
    keras_bytes, json_bytes = _model_files(catalog)
    before = sorted(p.name for p in catalog.paths.models_dir.iterdir())
    with pytest.raises(ModelError) as error:
        catalog.import_model({"x.keras": make(keras_bytes, tmp_path, catalog), "x.json": json_bytes})
    assert message in str(error.value) and "\n" not in str(error.value)
    assert sorted(p.name for p in catalog.paths.models_dir.iterdir()) == before
    assert catalog.saved_models() == [catalog.model_info["name"]]


def test_a_model_description_for_other_genres_is_refused_first(catalog):
    keras_bytes, json_bytes = _model_files(catalog)
    meta = json.loads(json_bytes)
    meta["genres"] = ["Polka", "Yodel"]
    with pytest.raises(ModelError, match="Polka"):
        catalog.import_model({"x.keras": keras_bytes, "x.json": json.dumps(meta).encode()})
    assert catalog.saved_models() == [catalog.model_info["name"]]


@pytest.mark.parametrize(
    ("filename", "title"),
    [
        ("</b>.wav", "</b>"),
        ("my  clip.WAV", "my clip"),
        ("a/b.mp3", "a/b"),
        ("C:\\music\\x.flac", "C:\\music\\x"),
        ("live.2024.ogg", "live.2024"),
        (".wav", ".wav"),
        ("no suffix", "no suffix"),
        ("x" * 100 + ".mp3", "x" * 80),
    ],
)
def test_an_uploaded_clip_is_titled_by_its_whole_file_name(filename, title):
    assert default_title(filename) == title
