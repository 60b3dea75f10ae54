"""A build never loses what the catalog in use holds: its audio, features, files and added clips."""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures import copy_home

from recommender import jobs
from recommender.build import BuildOptions, build
from recommender.catalog import Catalog
from recommender.config import Paths
from recommender.features import FeatureCache, clip_features, extract
from recommender.sources.folder import load_folder
from tests.fixtures import tone, write_audio

ROOT = Path(__file__).resolve().parents[1]
# Files of the running build itself, not of the catalog in use.
NOT_THE_CATALOG = {jobs.STATUS_FILE, jobs.LOCK_FILE, jobs.LOG_FILE, "catalog.lock"}


@pytest.fixture
def own_home(built_home, tmp_path):
    """A private copy of the shared catalog (24 demo songs of seed 0), times kept as ``cp -a`` keeps them."""
    from recommender.store.connection import Database

    Database.at(Paths.at(built_home).database).close()  # its log folded in now, not during the copy
    home = tmp_path / "home"
    copy_home(built_home, home)
    return home


def _hashes(home: Path) -> dict[str, str]:
    """Every file of the home with the SHA-256 of its bytes.

    Left out: lock files of processes, and the database, whose bytes change when it is
    only read (DuckDB folds its log into the file); its tracks are compared instead.
    """
    out = {}
    for path in sorted(home.rglob("*")):
        if path.is_file() and path.name not in NOT_THE_CATALOG and ".duckdb" not in path.name:
            out[str(path.relative_to(home))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MUSICREC_SCHEDULER", None)
    return env


def _wait_for(condition, *, timeout: float = 300, what: str = "the build") -> None:
    deadline = time.time() + timeout  # generous: the machine may be busy
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _new_features(home: Path, before: dict[str, str]) -> list[str]:
    return [p for p in _hashes(home) if p.startswith("features/") and p.endswith(".npy") and p not in before]


def _into_features(home: Path, before: dict[str, str]) -> bool:
    """The build computed features of two new songs, or (all found cached) went past the stage."""
    stage = (jobs.status(home) or {}).get("stage")
    return len(_new_features(home, before)) >= 2 or stage not in (None, "synthesise", "features")


@contextlib.contextmanager
def _group_ends(pid: int):
    """Whatever the test's outcome, the build's process group does not outlive it."""
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _mel_gap_db(catalog: Catalog, track_id: int) -> float:
    """Mean absolute difference (dB) between a track's stored log-mel and that of its audio file now."""
    fresh, _ = clip_features(catalog.audio_path(track_id), config=catalog.config, sound=None)
    return float(np.abs(catalog.mel(track_id) - fresh).mean())


# ---- a build stopped half-way ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("how", ["kill -9", "cancel"])
def test_a_build_stopped_mid_way_leaves_the_catalog_in_use_byte_for_byte(own_home, how):
    before = _hashes(own_home)
    catalog = Catalog.open(own_home)
    first_song = catalog.track(1)
    tracks = catalog.tracks()
    options = BuildOptions(source="demo", tracks=24, seed=1, no_train=True, workers=1)
    pid = jobs.start(options, home=own_home)  # a process group of its own, as the app starts it
    with _group_ends(pid):
        # Stopped in the features stage: the other seed's songs are written, some of their features too.
        _wait_for(lambda: _into_features(own_home, before), what="the features stage")
        if how == "kill -9":
            os.killpg(pid, signal.SIGKILL)
        else:
            assert jobs.cancel(own_home)
        _wait_for(lambda: not jobs.is_building(Paths.at(own_home)), what="the build to end")

    after = _hashes(own_home)
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    assert changed == [], f"files of the catalog in use changed or went: {changed[:5]}"
    assert sorted(p.name for p in (own_home / "catalog").iterdir()) == sorted(
        p.name for p in (catalog.paths.catalog_dir).iterdir()
    )
    again = Catalog.open(own_home)
    assert again.info_["build_id"] == catalog.info_["build_id"]
    assert again.store.committed_build() == catalog.store.committed_build()
    assert again.tracks().equals(tracks)
    assert again.track(1)["title"] == first_song["title"]
    assert again.track(1)["audio_path"] == first_song["audio_path"]
    assert _mel_gap_db(again, 1) < 0.1  # track 1 still plays the song its title and features belong to
    assert len(again.similar(1, k=5)) == 5


@pytest.mark.slow
def test_a_cancelled_build_leaves_no_folder_of_its_own(own_home, monkeypatch):
    """Interrupted after its index was written (Ctrl-C, Cancel): its folder below catalog/ goes with it."""
    import recommender.build as build_module

    before = sorted(p.name for p in (own_home / "catalog").iterdir())
    model = Catalog.open(own_home).model_info["path"]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "commit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(
            BuildOptions(source="demo", tracks=24, model=Path(model), no_train=True, workers=1), home=own_home
        )
    assert sorted(p.name for p in (own_home / "catalog").iterdir()) == before


# ---- features belong to the audio they were computed from ----------------------------------------------
@pytest.mark.slow
def test_a_rebuild_with_another_seed_computes_features_of_the_new_songs(own_home):
    old = Catalog.open(own_home)
    old_audio = old.audio_path(1)
    result = build(BuildOptions(source="demo", tracks=24, seed=1, no_train=True, workers=1), home=own_home)
    assert result.info["features"] == {"computed": 24, "cached": 0}
    catalog = Catalog.open(own_home)
    assert catalog.audio_path(1) != old_audio
    assert max(_mel_gap_db(catalog, t) for t in (1, 2, 3, 24)) < 0.1
    assert [p.name for p in (own_home / "audio" / "demo").iterdir()] == [catalog.audio_path(1).parent.name]

    again = build(BuildOptions(source="demo", tracks=24, seed=1, no_train=True, workers=1), home=own_home)
    assert again.info["features"] == {"computed": 0, "cached": 24}  # a rebuild of the same songs resumes


def test_a_file_replaced_in_place_gets_its_features_computed_again(tmp_path):
    folder = tmp_path / "music" / "Rock"
    for i in range(3):
        write_audio(folder / f"song {i}.wav", tone(4, freq=220 + 110 * i, seed=i), 22_050)
    tracks, _ = load_folder(tmp_path / "music")
    cache = FeatureCache(tmp_path / "features")
    first = extract(tracks, cache, workers=1, progress=False)
    assert (first.computed, first.cached) == (3, 0)

    replaced = next(t for t in tracks if t.audio_path.endswith("song 1.wav"))
    before = cache.get(replaced.track_id)
    write_audio(Path(replaced.audio_path), tone(4, freq=1760, seed=9), 22_050)  # same name, same length
    tracks, _ = load_folder(tmp_path / "music")
    fresh = FeatureCache(tmp_path / "features")
    second = extract(tracks, fresh, workers=1, progress=False)
    assert (second.computed, second.cached) == (1, 2)
    now, _ = clip_features(replaced.audio_path, config=fresh.config, sound=None)
    np.testing.assert_allclose(fresh.get(replaced.track_id), now, atol=0.05)
    assert np.abs(before - now).mean() > 1.0  # the old features were of another sound
    np.testing.assert_array_equal(cache.get(replaced.track_id), before)  # kept for the catalog in use


def test_features_of_the_same_untouched_file_are_found_again(tmp_path):
    folder = tmp_path / "music" / "Jazz"
    write_audio(folder / "a.wav", tone(4, freq=330, seed=1), 22_050)
    tracks, _ = load_folder(tmp_path / "music")
    extract(tracks, FeatureCache(tmp_path / "features"), workers=1, progress=False)
    copy = tmp_path / "moved"
    shutil.copytree(tmp_path, copy, copy_function=shutil.copy2)  # a home moved with its times
    moved, _ = load_folder(copy / "music")
    again = extract(moved, FeatureCache(copy / "features"), workers=1, progress=False)
    assert (again.computed, again.cached) == (0, 1)


# ---- clips added while a build runs ---------------------------------------------------------------------
@pytest.mark.slow
def test_a_clip_added_while_a_build_runs_is_in_the_catalog_it_makes(own_home, tmp_path):
    clip = write_audio(tmp_path / "my clip.wav", tone(8, freq=523, seed=7), 22_050)
    before = _hashes(own_home)
    options = BuildOptions(source="demo", tracks=24, seed=1, no_train=True, workers=1)
    pid = jobs.start(options, home=own_home)
    with _group_ends(pid):
        # Well into the features stage: the build read the clips of the catalog in use long ago.
        _wait_for(lambda: _into_features(own_home, before), what="the features stage")
        os.killpg(pid, signal.SIGSTOP)  # the build holds still while the clip is added: no race to win
        try:
            added = subprocess.run(
                [sys.executable, "-m", "recommender", "add", "--file", str(clip), "--title", "Added meanwhile",
                 "--artist", "Me", "--json", "--home", str(own_home)],
                cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300,
            )  # fmt: skip
        finally:
            os.killpg(pid, signal.SIGCONT)
        assert added.returncode == 0, added.stderr
        out = json.loads(added.stdout)
        assert {"track_id", "title", "artist", "genre"} <= set(out) and out["title"] == "Added meanwhile"
        track_id = out["track_id"]
        old = Catalog.open(own_home)  # the clip is in the catalog in use at once
        assert old.track(track_id)["title"] == "Added meanwhile"
        _wait_for(lambda: (jobs.status(own_home) or {}).get("state") != "running", what="the build to end")
    assert jobs.status(own_home)["state"] == "done", jobs.status(own_home).get("error")

    catalog = Catalog.open(own_home)
    assert catalog.track(track_id)["title"] == "Added meanwhile"
    assert catalog.track(track_id)["in_catalog"]
    assert track_id in set(catalog.map_frame()["track_id"])
    assert len(catalog.similar(track_id, k=5)) == 5
    assert _mel_gap_db(catalog, track_id) < 0.1
    in_catalog = set(catalog.tracks()["track_id"].astype(int))
    uploads = list((own_home / "audio" / "uploads").iterdir())
    assert [p.name for p in uploads if int(p.name.split(".")[0]) not in in_catalog] == []  # no orphan
    assert Path(catalog.track(track_id)["audio_path"]).read_bytes() == clip.read_bytes()


def test_add_names_a_file_it_cannot_read_in_one_line(tmp_path):
    missing = tmp_path / "nothing here.wav"
    done = subprocess.run(
        [sys.executable, "-m", "recommender", "add", "--file", str(missing), "--home", str(tmp_path / "home")],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: cannot read {missing} (no such file or directory)"]
    assert not (tmp_path / "home").exists()
