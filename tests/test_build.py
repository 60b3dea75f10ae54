"""recommender/build.py: rebuilding a catalog, with an existing model and with user uploads."""

import json
import shutil

import pytest

from recommender import cluster
from recommender.build import BuildOptions, build
from recommender.catalog import Catalog
from recommender.errors import ModelError
from recommender.features import FeatureCache
from tests.fixtures import tone, write_audio


@pytest.fixture
def own_home(built_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    return home


def test_rebuild_with_an_existing_model_keeps_uploaded_clips(own_home, tmp_path):
    catalog = Catalog.open(own_home)
    model = catalog.paths.models_dir / f"{catalog.model_info['name']}.keras"
    clip = write_audio(tmp_path / "clip.wav", tone(8, freq=330, seed=4), 22_050).read_bytes()
    track_id = catalog.add_upload(clip, filename="clip.wav", title="My Upload", artist="Me")

    result = build(
        BuildOptions(source="demo", tracks=24, model=model, no_train=True, workers=1), home=own_home
    )
    assert result.info["tracks"] == 25
    assert result.info["model"]["name"] == catalog.model_info["name"]  # not retrained
    rebuilt = Catalog.open(own_home)
    assert rebuilt.track(track_id)["title"] == "My Upload"
    assert track_id in set(rebuilt.map_frame()["track_id"])
    assert len(rebuilt.similar(track_id, k=5)) == 5
    assert json.loads((own_home / "build.json").read_text())["features"]["computed"] == 0


def test_uploads_never_become_training_labels(own_home, tmp_path, monkeypatch):
    import recommender.model as cnn

    catalog = Catalog.open(own_home)
    clip = write_audio(tmp_path / "clip.wav", tone(8, freq=500, seed=5), 22_050).read_bytes()
    upload_id = catalog.add_upload(clip, filename="clip.wav", title="Another", artist="Me")
    seen = {}

    def record(mels, train_ids, train_genres, val_ids, val_genres, **kwargs):
        seen.update(train=list(train_ids), val=list(val_ids))
        raise ModelError("stop after recording what would be trained on")

    monkeypatch.setattr(cnn, "train", record)
    with pytest.raises(ModelError, match="stop after"):
        build(BuildOptions(source="demo", tracks=24, epochs=1, workers=1), home=own_home)
    assert upload_id not in seen["train"] + seen["val"]
    assert sorted(seen["train"] + seen["val"]) == sorted(
        t["track_id"]
        for t in Catalog.open(own_home).search(k=None).to_dict("records")
        if t["split"] in ("training", "validation") and t["track_id"] != upload_id
    )


def test_a_moved_home_still_listens_with_its_own_model(built_home, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(built_home, moved)
    info = json.loads((moved / "build.json").read_text())
    info["model"]["path"] = str(tmp_path / "gone" / "model.keras")  # where the home used to be
    (moved / "build.json").write_text(json.dumps(info))
    clip = write_audio(tmp_path / "clip.wav", tone(5, freq=300, seed=2), 22_050)
    analysis = Catalog.open(moved).analyse(clip)
    assert set(analysis.genre_probabilities) == set(info["model"]["genres"])


def test_a_demo_build_computes_features_on_a_local_cluster_once_each(tmp_path, monkeypatch):
    monkeypatch.delenv(cluster.SCHEDULER_ENV, raising=False)
    connected = []
    connect = cluster.connect

    def recording_connect(scheduler=None, **kwargs):
        connected.append((scheduler, kwargs))
        return connect(scheduler, **kwargs)

    monkeypatch.setattr(cluster, "connect", recording_connect)
    home = tmp_path / "home"
    options = BuildOptions(source="demo", tracks=24, epochs=2, workers=2, no_train=True)
    first = build(options, home=home)
    assert connected == [(None, {"workers": 2})]  # a LocalCluster of two workers, not this process
    assert first.info["features"] == {"computed": 24, "cached": 0}
    assert FeatureCache(home / "features").ids() == sorted(t.track_id for t in first.tracks)

    again = build(options, home=home)
    assert again.info["features"] == {"computed": 0, "cached": 24}
    assert len(connected) == 1  # nothing to compute: no cluster started
