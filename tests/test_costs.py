"""What one request may cost: decoding memory, build workers, disk per profile and per build, playlist imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fixtures import copy_home

from recommender import audio, retention
from recommender.audio import decode
from recommender.build import BuildOptions, build
from recommender.catalog import Catalog
from recommender.config import Paths
from recommender.errors import AccessError, AudioError, UserInputError
from recommender.playlists import MAX_IMPORT_ENTRIES, read_entries
from tests.fixtures import tone, write_audio


def multichannel(seconds: float, *, sr: int, channels: int, centre_freq: float = 2_000.0) -> np.ndarray:
    """``(n, channels)``: channel 0 plays 500 Hz, then ``centre_freq`` in the middle third, then 500 Hz; the rest is silent."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    third = n // 3
    freq = np.where((np.arange(n) >= third) & (np.arange(n) < n - third), centre_freq, 500.0)
    y = np.zeros((n, channels), dtype=np.float32)
    y[:, 0] = 0.8 * np.sin(2 * np.pi * freq * t)
    return y


def peak_traced(fn):
    """``fn()``'s result and the peak of the Python-heap memory (NumPy arrays included) it allocated."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def dominant_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[spectrum.argmax()])


# ---- 5: decoding memory follows the mono window, never the channel count ---------------------------------
def test_a_32_channel_96k_file_decodes_to_its_centre_in_mono_within_a_few_megabytes(tmp_path):
    path = tmp_path / "many.wav"
    sf.write(str(path), multichannel(9, sr=96_000, channels=32), 96_000, subtype="PCM_16")
    (samples, sr), peak = peak_traced(lambda: decode(path, max_seconds=3))
    assert sr == audio.DECODE_RATE == 48_000 and samples.shape[1] == 1
    assert abs(len(samples) - 3 * sr) <= 2
    assert dominant_hz(samples[:, 0], sr) == pytest.approx(2_000, abs=2)  # the centre third, not the start
    assert np.abs(samples).max() == pytest.approx(0.8 / 32, rel=0.05)  # the mean of the 32 channels
    # The whole window as float32 would be 3 s × 96 000 × 32 × 4 B = 37 MB; the mono window is 0.6 MB.
    assert peak < 6 * 2**20, f"decoding took {peak / 2**20:.1f} MB"


@pytest.mark.parametrize(
    ("channels", "sr", "message"),
    [
        (
            64,
            8_000,
            r"^many\.wav: has 64 audio channels; at most 32 are read \(mix it down to stereo first\)$",
        ),
        (1, 768_000, r"^many\.wav: is sampled at 768,000 Hz; at most 384,000 Hz are read"),
    ],
)
def test_files_declaring_too_many_channels_or_too_high_a_rate_are_refused(tmp_path, channels, sr, message):
    path = tmp_path / "many.wav"
    sf.write(str(path), multichannel(0.5, sr=sr, channels=channels), sr, subtype="PCM_16")
    with pytest.raises(AudioError, match=message):
        decode(path)


def test_the_audioread_fallback_reads_only_the_window(tmp_path, monkeypatch):
    """Without libsndfile's help and without ffmpeg: audioread, stopped once the window is read."""
    path = tmp_path / "eight.wav"
    sf.write(str(path), multichannel(30, sr=96_000, channels=8), 96_000, subtype="PCM_16")

    def refuse(*args, **kwargs):
        raise RuntimeError("libsndfile does not read this format")

    monkeypatch.setattr(audio.sf, "SoundFile", refuse)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    (samples, sr), peak = peak_traced(lambda: decode(path, max_seconds=3))
    assert sr == 48_000 and abs(len(samples) - 3 * sr) <= 2
    assert dominant_hz(samples[:, 0], sr) == pytest.approx(2_000, abs=2)
    # The whole file as float32 would be 30 s × 96 000 × 8 × 4 B = 92 MB.
    assert peak < 8 * 2**20, f"decoding took {peak / 2**20:.1f} MB"


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg to make (and decode) the file")
def test_flac_in_matroska_named_m4a_is_decoded_by_ffmpeg_window_only(tmp_path):
    source = tmp_path / "source.wav"
    sf.write(str(source), multichannel(60, sr=96_000, channels=8), 96_000, subtype="PCM_16")
    path = tmp_path / "long.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-c:a", "flac", "-f", "matroska", str(path)], check=True
    )
    (samples, sr), peak = peak_traced(lambda: decode(path, max_seconds=4))
    assert sr == 48_000 and abs(len(samples) - 4 * sr) <= 48
    assert dominant_hz(samples[:, 0], sr) == pytest.approx(2_000, abs=2)
    assert np.abs(samples).max() == pytest.approx(0.8 / 8, rel=0.05)
    assert peak < 8 * 2**20, f"decoding took {peak / 2**20:.1f} MB"  # the whole file: 184 MB


# ---- 6: at most one build worker per core ----------------------------------------------------------------
class Notes:
    def __init__(self):
        self.notes: list[str] = []

    def stage(self, name, total=None):
        pass

    def advance(self, done, total, info=""):
        pass

    def note(self, message):
        self.notes.append(message)


def test_a_build_asking_for_more_workers_than_cores_starts_one_per_core(home, monkeypatch):
    import recommender.build as build_module

    seen = []

    def load_source(options, paths, progress):
        seen.append(options.workers)
        raise UserInputError("stopped after the options were read")

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(build_module, "load_source", load_source)
    progress = Notes()
    with pytest.raises(UserInputError, match="stopped"):
        build(BuildOptions(source="demo", workers=64), home=home, progress=progress)
    assert seen == [2]
    assert progress.notes == ["64 worker processes asked for, and this machine has 2 cores: using 2"]
    with pytest.raises(UserInputError, match="stopped"):
        build(BuildOptions(source="demo", workers=2), home=home, progress=progress)
    assert seen == [2, 2] and len(progress.notes) == 1  # within the cores: as asked, nothing said


# ---- 7: old and failed builds leave the disk -------------------------------------------------------------
def make_build(paths: Paths, stamp: str, *, committed: bool, model: str | None) -> str:
    build_id = f"demo-{stamp}"
    folder = paths.build_dir(build_id)
    folder.mkdir(parents=True)
    (folder / "index.npz").write_bytes(b"x")
    if committed:
        (folder / "build.json").write_text(json.dumps({"build_id": build_id, "model": {"name": model}}))
    if model:
        make_model(paths, model, arch="musicnn", history=True)
    return build_id


def make_model(paths: Paths, name: str, *, arch: str, history: bool, created: str = "") -> None:
    paths.models_dir.mkdir(parents=True, exist_ok=True)
    (paths.models_dir / f"{name}.keras").write_bytes(b"k")
    (paths.models_dir / f"{name}.json").write_text(json.dumps({"arch": arch, "created": created}))
    if history:
        (paths.models_dir / f"{name}.history.csv").write_text("epoch\n")


def test_a_build_keeps_the_last_three_builds_and_removes_older_and_failed_ones(home):
    paths = Paths.at(home)
    old = [
        make_build(paths, f"2026120{d}-100000-000000", committed=True, model=f"m{d}") for d in (1, 2, 3, 4)
    ]
    failed = make_build(paths, "20261204-120000-000000", committed=False, model="failed")
    make_model(paths, "imported", arch="musicnn", history=False)  # uploaded by the owner: not a build's
    make_model(paths, "scratch-old", arch="cnn1d", history=True, created="2026-12-01T10:00:00")
    make_model(paths, "scratch-new", arch="cnn1d", history=True, created="2026-12-02T10:00:00")
    live = make_build(paths, "20261205-100000-000000", committed=False, model="m5")
    info = {"build_id": live, "model": {"name": "m5"}}
    paths.build_info.write_text(json.dumps(info))

    retention.prune(paths, info)

    assert sorted(p.name for p in paths.catalog_dir.iterdir()) == sorted([old[2], old[3], live])
    assert json.loads((paths.build_dir(live) / "build.json").read_text())["model"]["name"] == "m5"
    models = sorted(p.name for p in paths.models_dir.glob("*.keras"))
    assert models == ["imported.keras", "m3.keras", "m4.keras", "m5.keras", "scratch-new.keras"]
    assert not any(p.name.startswith(("m1.", "m2.", "failed.")) for p in paths.models_dir.iterdir())
    assert failed not in {p.name for p in paths.catalog_dir.iterdir()}


def test_keep_builds_follows_the_setting(monkeypatch):
    monkeypatch.setenv("MUSICREC_KEEP_BUILDS", "1")
    assert retention.keep_builds() == 1
    monkeypatch.setenv("MUSICREC_KEEP_BUILDS", "many")
    assert retention.keep_builds() == 3


# ---- 7: uploads: a quota per profile, and deleting them --------------------------------------------------
@pytest.fixture
def own_catalog(built_home, tmp_path) -> Catalog:
    home = tmp_path / "home"
    copy_home(built_home, home)
    return Catalog.open(home)


def clip_bytes(tmp_path: Path, seed: int, seconds: float = 6) -> bytes:
    return write_audio(
        tmp_path / f"clip{seed}.wav", tone(seconds, freq=220 + 40 * seed, seed=seed), 22_050
    ).read_bytes()


def test_each_profile_may_add_a_limited_number_of_clips_and_bytes(own_catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICREC_UPLOAD_CLIPS", "1")
    first = own_catalog.add_upload(
        clip_bytes(tmp_path, 1), filename="a.wav", title="First", artist="Ann", user="ann", limited=True
    )
    with pytest.raises(
        UserInputError, match=r"^ann has added 1 clips, the most a profile may add \(1\); delete"
    ):
        own_catalog.add_upload(
            clip_bytes(tmp_path, 2), filename="b.wav", title="Second", artist="Ann", user="ann", limited=True
        )
    with pytest.raises(AccessError, match="pick a profile to add clips"):
        own_catalog.add_upload(
            clip_bytes(tmp_path, 2), filename="b.wav", title="Second", artist="X", limited=True
        )
    monkeypatch.setenv("MUSICREC_UPLOAD_CLIPS", "5")
    monkeypatch.setenv("MUSICREC_UPLOAD_MB", "0")
    with pytest.raises(UserInputError, match="more than the 0 MB a profile may add"):
        own_catalog.add_upload(
            clip_bytes(tmp_path, 3), filename="c.wav", title="Third", artist="Bob", user="bob", limited=True
        )
    assert own_catalog.store.upload_usage("ann").clips == 1 and own_catalog.store.upload_owner(first) == "ann"
    assert own_catalog.search("Second", k=5).empty and own_catalog.search("Third", k=5).empty
    # The owner (and the command line) is not limited.
    own_catalog.add_upload(clip_bytes(tmp_path, 4), filename="d.wav", title="Fourth", artist="Owner")


def test_the_uploader_and_the_owner_can_delete_an_upload_and_it_leaves_no_trace(own_catalog, tmp_path):
    cat = own_catalog
    mine = cat.add_upload(
        clip_bytes(tmp_path, 5), filename="m.wav", title="Mine Song", artist="Ann", user="ann"
    )
    theirs = cat.add_upload(
        clip_bytes(tmp_path, 6), filename="t.wav", title="Their Song", artist="Bob", user="bob"
    )
    audio_file = cat.audio_path(mine)
    cat.store.record_play("ann", mine, source="upload")
    cat.store.like("ann", mine)
    cat.store.create_playlist("ann", "mix", [3, mine, 5])
    assert audio_file.is_file() and cat.features.has(mine) and cat.sounds.has(mine)

    with pytest.raises(
        AccessError, match="only the profile that added “Mine Song”, or the owner, can delete it"
    ):
        cat.delete_upload(mine, user="bob")
    with pytest.raises(UserInputError, match="not an upload"):
        cat.delete_upload(3, owner=True)
    assert cat.delete_upload(mine, user="ann") == "Mine Song"

    assert not audio_file.exists() and not cat.features.has(mine) and not cat.sounds.has(mine)
    with pytest.raises(UserInputError, match=f"no track with id {mine}"):
        cat.track(mine)
    assert cat.search("Mine Song", k=5).empty
    assert mine not in set(cat.map_frame()["track_id"])
    assert cat.store.playlist("ann", "mix")["track_id"].tolist() == [3, 5]
    assert cat.store.history("ann").empty and cat.store.likes("ann").empty
    reopened = Catalog.open(cat.paths.home)  # the files on disk say the same
    assert mine not in reopened.index.rows_ and mine not in set(reopened.map_frame()["track_id"])
    assert mine not in set(reopened.similar(theirs, k=30)["track_id"])
    assert theirs in set(reopened.similar(5, k=30)["track_id"])

    assert reopened.delete_upload(theirs, owner=True) == "Their Song"
    assert reopened.store.upload_usage("bob").clips == 0
    assert len(Catalog.open(cat.paths.home).index) == 24
    # The same clip can be added again once deleted.
    again = reopened.add_upload(
        clip_bytes(tmp_path, 5), filename="m.wav", title="Back", artist="Ann", user="ann"
    )
    assert again == mine and not reopened.search("Back", k=5).empty


@pytest.mark.slow
def test_a_real_rebuild_removes_the_builds_beyond_the_setting(own_catalog, monkeypatch):
    monkeypatch.setenv("MUSICREC_KEEP_BUILDS", "1")
    home = own_catalog.paths.home
    model = own_catalog.paths.models_dir / f"{own_catalog.model_info['name']}.keras"
    failed = own_catalog.paths.build_dir("demo-20200101-000000-000000")  # a failed build's leftover
    failed.mkdir()
    result = build(BuildOptions(source="demo", tracks=24, model=model, no_train=True, workers=1), home=home)
    assert [p.name for p in own_catalog.paths.catalog_dir.iterdir()] == [result.info["build_id"]]
    assert model.is_file()  # the new build uses it
    assert len(Catalog.open(home).similar(3, k=5)) == 5


def test_a_finished_build_records_itself_in_its_folder(built_home):
    catalog = Catalog.open(built_home)
    record = catalog.artifact("index").parent / "build.json"
    assert json.loads(record.read_text())["build_id"] == catalog.info_["build_id"]


# ---- 8: playlist imports: entries capped, XML without DTDs in any encoding ------------------------------
def test_a_playlist_of_more_entries_than_the_cap_is_refused_at_once():
    lines = "\n".join(f"/music/{i}.mp3" for i in range(MAX_IMPORT_ENTRIES + 1)).encode()
    with pytest.raises(UserInputError, match=r"^big\.m3u8: more than 10,000 entries; import at most 10,000"):
        read_entries(lines, file_name="big.m3u8")
    assert len(read_entries(lines.rsplit(b"\n", 1)[0], file_name="big.m3u8")) == MAX_IMPORT_ENTRIES
    track = "<track><location>/a.mp3</location></track>"
    xspf = f'<playlist xmlns="http://xspf.org/ns/0/"><trackList>{track * (MAX_IMPORT_ENTRIES + 1)}</trackList></playlist>'
    with pytest.raises(UserInputError, match="more than 10,000 entries"):
        read_entries(xspf.encode(), file_name="big.xspf")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8"])
@pytest.mark.parametrize("name", ["list.xspf", "upload"])
def test_an_xspf_with_a_doctype_is_refused_in_any_encoding(encoding, name):
    declared = "UTF-16" if encoding.startswith("utf-16") else "UTF-8"
    text = (
        f'<?xml version="1.0" encoding="{declared}"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<playlist xmlns="http://xspf.org/ns/0/"><trackList><track><location>&b;</location></track>'
        "</trackList></playlist>"
    )
    with pytest.raises(UserInputError, match=r": XSPF files have no DOCTYPE or entity declarations$"):
        read_entries(text.encode(encoding), file_name=name)


def test_a_utf16_xspf_without_a_doctype_is_read():
    text = '<?xml version="1.0" encoding="UTF-16"?><playlist xmlns="http://xspf.org/ns/0/"><trackList>'
    text += "<track><location>/music/é.mp3</location></track></trackList></playlist>"
    assert read_entries(text.encode("utf-16"), file_name="upload") == ["/music/é.mp3"]


# ---- 7: the Song page's Delete button, for the uploader and the owner only ------------------------------
@pytest.fixture
def app_catalog(own_catalog, monkeypatch) -> Catalog:
    """``own_catalog`` served by AppTest, run through app.py on every run as the live server does."""
    from streamlit.runtime import pages_manager

    original = pages_manager.PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pages_manager.PagesManager, "__init__", init)
    monkeypatch.setenv("MUSICREC_HOME", str(own_catalog.paths.home))
    return own_catalog


PIN = "4321"


def song_page(track_id: int, *, user: str | None, owner: bool = False):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120).run()
    at.session_state["user"] = user
    at.session_state["owner"] = owner
    if user and not owner:  # a visitor opens the profile with its PIN
        at.run()
        at.sidebar.text_input(key="sidebar_pin").input(PIN)
        at.sidebar.button(key="sidebar_unlock").click().run()
        assert at.session_state["user"] == user
    at.session_state["track_id"] = track_id
    at.switch_page("pages/song.py").run()
    assert not at.exception
    return at


def test_the_song_page_offers_delete_to_the_uploader_and_the_owner_only(app_catalog, tmp_path):
    cat = app_catalog
    cat.store.create_profile("ann", PIN)
    cat.store.create_profile("bob", PIN)
    mine = cat.add_upload(
        clip_bytes(tmp_path, 7), filename="m.wav", title="Ann Clip", artist="Ann", user="ann"
    )

    assert not [b for b in song_page(mine, user="bob").button if b.key == "song_delete_upload"]
    assert not [b for b in song_page(3, user="ann", owner=True).button if b.key == "song_delete_upload"]
    assert [b for b in song_page(mine, user=None, owner=True).button if b.key == "song_delete_upload"]

    at = song_page(mine, user="ann")
    at.button(key="song_delete_upload").click().run()
    assert not at.exception
    assert Catalog.open(cat.paths.home).search("Ann Clip", k=5).empty
    with pytest.raises(UserInputError):
        cat.track(mine)
