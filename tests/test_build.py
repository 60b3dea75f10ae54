"""recommender/build.py: rebuilding a catalog, with an existing model and with user uploads."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recommender import cluster
from recommender.build import BuildOptions, build
from recommender.catalog import Catalog
from recommender.errors import ModelError, UserInputError, WriteError
from recommender.features import FeatureCache
from tests.fixtures import (
    as_another_user,
    copy_home,
    dead_pid,
    give_to_another_user,
    take_from_another_user,
    tone,
    write_audio,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def own_home(built_home, tmp_path):
    home = tmp_path / "home"
    copy_home(built_home, home)
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


@pytest.mark.parametrize("arch", ["musicnn", "cnn1d"])
def test_uploads_never_become_training_labels(own_home, tmp_path, monkeypatch, arch):
    import recommender.head as head
    import recommender.model as cnn

    catalog = Catalog.open(own_home)
    clip = write_audio(tmp_path / "clip.wav", tone(8, freq=500, seed=5), 22_050).read_bytes()
    upload_id = catalog.add_upload(clip, filename="clip.wav", title="Another", artist="Me")
    seen = {}

    def record(mels, train_ids, train_genres, val_ids, val_genres, **kwargs):
        seen.update(train=list(train_ids), val=list(val_ids))
        raise ModelError("stop after recording what would be trained on")

    def record_head(self, features, genres=None, *, val_features=None, val_genres=None):
        seen.update(n_train=len(features), n_val=0 if val_features is None else len(val_features))
        raise ModelError("stop after recording what the head would learn from")

    monkeypatch.setattr(cnn, "train", record)
    monkeypatch.setattr(head.BackboneModel, "fit", record_head)
    with pytest.raises(ModelError, match="stop after"):
        build(BuildOptions(source="demo", tracks=24, arch=arch, epochs=1, workers=1), home=own_home)
    learned_from = [
        t["track_id"]
        for t in Catalog.open(own_home).search(k=None).to_dict("records")
        if t["split"] in ("training", "validation") and t["track_id"] != upload_id
    ]
    if arch == "cnn1d":
        assert upload_id not in seen["train"] + seen["val"]
        assert sorted(seen["train"] + seen["val"]) == sorted(learned_from)
    else:  # the upload is in the catalog, labelled "training": the head must still leave it out
        assert seen["n_train"] + seen["n_val"] == len(learned_from)


def test_a_moved_home_still_listens_with_its_own_model(built_home, tmp_path):
    moved = tmp_path / "moved"
    copy_home(built_home, moved)
    info = json.loads((moved / "build.json").read_text())
    info["model"]["path"] = str(tmp_path / "gone" / "model.keras")  # where the home used to be
    (moved / "build.json").write_text(json.dumps(info))
    clip = write_audio(tmp_path / "clip.wav", tone(5, freq=300, seed=2), 22_050)
    analysis = Catalog.open(moved).analyse(clip)
    assert set(analysis.genre_probabilities) == set(info["model"]["genres"])


def _catalog_as_seen(home) -> dict:
    """What a user sees: info, the searchable track ids, and a similar-songs answer for each."""
    catalog = Catalog.open(home)
    ids = sorted(int(t) for t in catalog.search(k=None)["track_id"])
    return {
        "info": catalog.summary() | {"home": None},
        "ids": ids,
        "model": catalog.model_info["name"],
        "similar": {t: catalog.similar(t, k=3)["track_id"].tolist() for t in ids},
    }


def test_a_rebuild_killed_before_its_switch_leaves_the_previous_catalog_whole(own_home):
    """SIGKILL of a bigger rebuild during training: info, search and similar still agree on the old build."""
    before = _catalog_as_seen(own_home)
    code = (
        "from recommender.build import BuildOptions, build, TqdmProgress\n"
        f"build(BuildOptions(source='demo', tracks=32, arch='cnn1d', epochs=200, workers=1), home={str(own_home)!r},"
        " progress=TqdmProgress())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in iter(proc.stderr.readline, ""):  # tqdm redraws a stage's bar on its own line
            if "training" in line:
                break
        time.sleep(1.0)  # into the first epochs
        assert proc.poll() is None, "the rebuild ended before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    after = _catalog_as_seen(own_home)
    assert after == before
    assert after["ids"] == list(range(1, 25))
    with pytest.raises(UserInputError, match="no track with id 30"):
        Catalog.open(own_home).store.record_play("someone", 30, source="cli")


def test_the_database_switch_is_the_commit_and_build_json_follows_it(own_home, monkeypatch):
    """Killed between the database transaction and build.json: the next open serves the new build whole."""
    import recommender.build as build_module

    real = build_module.atomic_write_text

    def die_on_build_json(path, text):
        if path.name == "build.json":
            raise KeyboardInterrupt("killed right after the switch")
        real(path, text)

    monkeypatch.setattr(build_module, "atomic_write_text", die_on_build_json)
    model = own_home / "models" / f"{Catalog.open(own_home).model_info['name']}.keras"
    with pytest.raises(KeyboardInterrupt):
        build(BuildOptions(source="demo", tracks=28, model=model, no_train=True, workers=1), home=own_home)
    monkeypatch.undo()
    seen = _catalog_as_seen(own_home)
    assert seen["info"]["tracks"] == len(seen["ids"]) == 28
    assert all(len(similar) == 3 for similar in seen["similar"].values())
    assert json.loads((own_home / "build.json").read_text())["tracks"] == 28  # repaired on open


def _temporaries(home) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*") if ".tmp" in p.name}


def test_a_build_removes_stale_temporaries_and_leaves_none_of_its_own(own_home):
    """A killed build's temporaries (any former naming) go at the next build; a live writer's stay."""
    catalog = Catalog.open(own_home)
    dead, live = dead_pid(), os.getppid()
    stale = [
        f"models/.tmp-{dead}-old.keras",
        f"models/.old.keras.{dead}.0a1b2c3d.tmp.keras",
        "catalog/index-old.npz.tmp",
        "catalog/.catalog-old.npz.k2j_x9ab.tmp",
        f"catalog/.metrics-old.json.{dead}.0a1b2c3d.tmp",
        f".build.json.{dead}.0a1b2c3d.tmp",
        f"audio/uploads/.123.wav.{dead}.0a1b2c3d.tmp",
    ]
    kept = [f"catalog/.index-new.npz.{live}.0a1b2c3d.tmp", f".build.json.{live}.0a1b2c3d.tmp"]
    for name in stale + kept:
        (own_home / name).parent.mkdir(parents=True, exist_ok=True)
        (own_home / name).write_bytes(b"left behind")
    model = catalog.paths.models_dir / f"{catalog.model_info['name']}.keras"
    build(BuildOptions(source="demo", tracks=24, model=model, no_train=True, workers=1), home=own_home)
    assert _temporaries(own_home) == set(kept)


@pytest.mark.parametrize("folder", ["features", "models", "catalog"])
def test_a_folder_refusing_writes_mid_build_is_one_message_and_the_catalog_stays(
    own_home, tmp_path, monkeypatch, folder
):
    """The folder becomes unwritable after the build's first check (simulated: root writes anywhere)."""
    catalog = Catalog.open(own_home)
    name = catalog.model_info["name"]
    elsewhere = tmp_path / "elsewhere"  # a model from outside the home is saved into models/
    elsewhere.mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy(catalog.paths.models_dir / f"{name}{suffix}", elsewhere / f"{name}{suffix}")
    next(catalog.features.dir.glob("*/*.npy")).unlink()  # one song's features to compute again
    before = (own_home / "build.json").read_bytes()
    refused = own_home / folder
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).resolve().is_relative_to(refused.resolve()):
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    options = BuildOptions(
        source="demo", tracks=24, model=elsewhere / f"{name}.keras", no_train=True, workers=1
    )
    with pytest.raises(WriteError, match=f"in {refused}.* \\(permission denied\\); make the folder writable"):
        build(options, home=own_home)
    monkeypatch.undo()
    assert (own_home / "build.json").read_bytes() == before
    assert len(Catalog.open(own_home).similar(3, k=5)) == 5
    assert not _temporaries(own_home)


def test_a_build_into_a_folder_it_cannot_write_stops_before_any_work(shared_folder):
    home = shared_folder / "home"
    for sub in ("features", "models", "catalog"):
        (home / sub).mkdir(parents=True)
    give_to_another_user(home)
    take_from_another_user(home / "catalog")
    with pytest.raises(WriteError) as error:
        as_another_user(build, BuildOptions(source="demo", tracks=24, workers=1), home=home)
    assert str(error.value).startswith(f"cannot write to {home / 'catalog'} (permission denied)")
    assert not (home / "audio" / "demo").exists()  # nothing synthesised


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
