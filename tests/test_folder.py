"""Folder source: tags vs folder names, stable ids, a stratified split, and hostile file names."""

from __future__ import annotations

import os
import shutil
import unicodedata
from collections import Counter
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf
from mutagen.easyid3 import EasyID3
from mutagen.id3 import TCON, TIT2

from recommender.errors import SourceError
from recommender.formats import AUDIO_SUFFIXES
from recommender.sources import folder
from recommender.sources.folder import (
    ID_BITS,
    assign_track_ids,
    load_folder,
    read_tags,
    split_by_genre,
    track_id_for,
)
from tests.fixtures import tone, write_audio, write_mp3

SR = 8_000  # tiny files: these tests read names and tags, not sound


def song(path: Path, **tags: str) -> Path:
    """A 1-s song at ``path`` (format from the suffix), with the given tags written by mutagen."""
    if path.suffix == ".mp3":
        write_mp3(path, tone(1.0, sr=SR), SR)
    else:
        write_audio(path, tone(1.0, sr=SR), SR)
    if tags:
        if path.suffix == ".mp3":
            id3 = EasyID3()
            id3.update(tags)
            id3.save(path)
        else:
            audio = mutagen.File(path)
            audio.update(tags)
            audio.save()
    return path


def by_rel(root: Path, tracks) -> dict:
    return {Path(t.audio_path).relative_to(root).as_posix(): t for t in tracks}


@pytest.fixture
def library(tmp_path) -> Path:
    root = tmp_path / "music"
    song(
        root / "Jazz" / "Blue Train" / "tagged.flac",
        genre="Bebop",
        title="Moment's Notice",
        artist="Coltrane",
    )
    song(root / "Jazz" / "Blue Train" / "locomotion_take_2.wav")
    song(root / "Jazz" / "so_what.ogg", title="So What")
    song(
        root / "Rock" / "tagged.mp3", genre="Punk", title="Blitzkrieg Bop", artist="Ramones", album="Ramones"
    )
    song(root / "loose.wav")
    return root


# --- metadata: tags first, then the path -----------------------------------------------


def test_genre_title_artist_album_from_tags_or_path(library):
    tracks, report = load_folder(library)
    assert report.skipped == {}
    got = {rel: (t.genre, t.title, t.artist, t.album) for rel, t in by_rel(library, tracks).items()}
    assert got == {
        "Jazz/Blue Train/locomotion_take_2.wav": (
            "Blue Train",
            "locomotion take 2",
            "Unknown artist",
            "Blue Train",
        ),
        "Jazz/Blue Train/tagged.flac": ("Bebop", "Moment's Notice", "Coltrane", "Blue Train"),
        "Jazz/so_what.ogg": ("Jazz", "So What", "Unknown artist", "Jazz"),
        "Rock/tagged.mp3": ("Punk", "Blitzkrieg Bop", "Ramones", "Ramones"),
        "loose.wav": ("Unknown", "loose", "Unknown artist", ""),
    }


def test_tracks_are_sorted_absolute_and_marked_folder(library, monkeypatch):
    monkeypatch.chdir(library.parent)
    tracks, _ = load_folder(Path("music"))
    rels = [Path(t.audio_path).relative_to(library).as_posix() for t in tracks]
    assert rels == sorted(rels)
    assert all(Path(t.audio_path).is_absolute() and Path(t.audio_path).is_file() for t in tracks)
    assert {t.source for t in tracks} == {"folder"}
    assert all(t.duration == pytest.approx(1.0, abs=0.1) for t in tracks)


def test_wav_id3_frames_are_read(tmp_path):
    path = song(tmp_path / "a.wav")
    wave = mutagen.File(path)
    wave.add_tags()
    wave.tags.add(TCON(encoding=3, text=["(17)"]))  # ID3v1 genre number 17 = Rock
    wave.tags.add(TIT2(encoding=3, text=["  Spaced Title  "]))
    wave.save()
    assert read_tags(path)[0] == {"genre": "Rock", "title": "Spaced Title"}


@pytest.mark.parametrize(
    "content", [b"not audio at all", b"ID3\x04\x00\x00\xff\xff\xff\xff garbage", b"fLaC\x00"]
)
def test_unreadable_tags_fall_back_to_the_path(tmp_path, content):
    path = tmp_path / "Ambient" / "broken_file.mp3"
    path.parent.mkdir()
    path.write_bytes(content)
    assert read_tags(path) == ({}, None)
    (track,), _ = load_folder(tmp_path)  # kept: decoding, later, decides whether it is audio
    assert (track.genre, track.title, track.duration) == ("Ambient", "broken file", None)


def test_blank_tags_count_as_missing(tmp_path):
    song(tmp_path / "Folk" / "a.flac", genre="   ", title="")
    (track,), _ = load_folder(tmp_path)
    assert (track.genre, track.title) == ("Folk", "a")


# --- which files -----------------------------------------------------------------------


def test_extensions_are_case_insensitive_and_other_files_ignored(tmp_path):
    song(tmp_path / "A" / "LOUD.WAV")
    song(tmp_path / "A" / "quiet.Flac")
    (tmp_path / "A" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "A" / "notes.txt").write_text("liner notes")
    (tmp_path / "A" / "song.mp3.part").write_bytes(b"partial")
    tracks, _ = load_folder(tmp_path)
    assert sorted(Path(t.audio_path).name for t in tracks) == ["LOUD.WAV", "quiet.Flac"]


def test_hidden_files_and_folders_are_ignored(tmp_path):
    song(tmp_path / "Pop" / "seen.wav")
    song(tmp_path / "Pop" / ".hidden.wav")
    song(tmp_path / "Pop" / "._seen.wav")  # macOS resource fork
    song(tmp_path / ".trash" / "deleted.wav")
    song(tmp_path / "Pop" / ".cache" / "x.wav")
    tracks, report = load_folder(tmp_path)
    assert [Path(t.audio_path).name for t in tracks] == ["seen.wav"]
    assert report.skipped == {}


def test_empty_files_are_skipped_and_reported(tmp_path):
    song(tmp_path / "Pop" / "fine.wav")
    empty = tmp_path / "Pop" / "empty.mp3"
    empty.write_bytes(b"")
    tracks, report = load_folder(tmp_path)
    assert [Path(t.audio_path).name for t in tracks] == ["fine.wav"]
    assert report.skipped == {str(empty): "audio file is empty (0 bytes)"}


def test_links_to_files_are_followed_links_to_folders_are_not(tmp_path):
    outside = tmp_path / "outside"
    song(outside / "Jazz" / "linked.wav")
    root = tmp_path / "music"
    song(root / "Pop" / "real.wav")
    (root / "Pop" / "link.wav").symlink_to(outside / "Jazz" / "linked.wav")
    (root / "Jazz").symlink_to(outside / "Jazz", target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)  # would never end if followed
    (root / "Pop" / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    tracks, report = load_folder(root)
    assert [Path(t.audio_path).relative_to(root).as_posix() for t in tracks] == [
        "Pop/link.wav",
        "Pop/real.wav",
    ]
    assert report.skipped == {str(root / "Pop" / "dangling.wav"): "broken link: its target does not exist"}


HOSTILE = [
    "with space.wav",
    "Zoë – ünïcödé 曲.wav",
    'it\'s "quoted".wav',
    "-rf.wav",
    "'; DROP TABLE tracks;--.wav",
    "$(touch pwned) `x` *.wav",
]


def test_hostile_names(tmp_path):
    for i, name in enumerate(HOSTILE):
        song(tmp_path / ("-rf" if i % 2 else "Rock 'n' Roll") / name)
    tracks, report = load_folder(tmp_path)
    assert report.skipped == {}
    titles = {t.title for t in tracks}
    assert titles == {Path(n).stem for n in HOSTILE}
    assert {t.genre for t in tracks} == {"-rf", "Rock 'n' Roll"}
    assert all(Path(t.audio_path).is_file() for t in tracks)
    assert not (tmp_path / "pwned").exists()


def test_undecodable_file_name_is_reported_not_fatal(tmp_path):
    song(tmp_path / "Pop" / "fine.wav")
    bad = os.fsencode(tmp_path / "Pop") + b"/bad\xff.wav"
    shutil.copy(tmp_path / "Pop" / "fine.wav", bad)
    tracks, report = load_folder(tmp_path)
    assert [Path(t.audio_path).name for t in tracks] == ["fine.wav"]
    ((what, reason),) = report.skipped.items()
    assert what.endswith("bad\\xff.wav") and "not valid UTF-8" in reason


# --- stable ids ------------------------------------------------------------------------


def test_ids_are_stable_across_builds_and_moves(library, tmp_path):
    first = {rel: t.track_id for rel, t in by_rel(library, load_folder(library)[0]).items()}
    again = {rel: t.track_id for rel, t in by_rel(library, load_folder(library)[0]).items()}
    moved = Path(shutil.move(library, tmp_path / "elsewhere" / "renamed"))
    after_move = {rel: t.track_id for rel, t in by_rel(moved, load_folder(moved)[0]).items()}
    assert first == again == after_move
    assert len(set(first.values())) == len(first)
    assert all(0 < i < 2**ID_BITS for i in first.values())
    assert first["loose.wav"] == track_id_for("loose.wav")


def test_id_ignores_unicode_normalisation_but_not_case():
    name = "Café/Zoë.mp3"
    assert track_id_for(unicodedata.normalize("NFD", name)) == track_id_for(name)
    assert track_id_for(name.lower()) != track_id_for(name)
    assert track_id_for(name, attempt=1) != track_id_for(name)


def test_colliding_ids_are_resolved_deterministically(monkeypatch):
    real = folder.track_id_for

    def colliding(rel, *, attempt=0):  # every first attempt collides, as if the hash were tiny
        return 7 if attempt == 0 else real(rel, attempt=attempt)

    monkeypatch.setattr(folder, "track_id_for", colliding)
    paths = ["b.wav", "a.wav", "c.wav"]
    ids = assign_track_ids(paths)
    assert ids == assign_track_ids(list(reversed(paths)))
    assert ids["a.wav"] == 7  # first in sorted order keeps the plain hash
    assert len(set(ids.values())) == 3 and all(0 < i < 2**ID_BITS for i in ids.values())


# --- split -----------------------------------------------------------------------------


def keys_and_genres(sizes: dict[str, int]) -> tuple[list[str], list[str]]:
    keys = [f"{g}/song {i:03d}.mp3" for g, n in sizes.items() for i in range(n)]
    return keys, [k.split("/")[0] for k in keys]


def test_split_is_stratified_by_genre():
    sizes = {"Rock": 40, "Jazz": 20, "Folk": 10, "Duo": 3, "Pair": 2, "Solo": 1}
    keys, genres = keys_and_genres(sizes)
    counts = Counter(zip(genres, split_by_genre(keys, genres, seed=0), strict=True))
    expected = {"Rock": (32, 4, 4), "Jazz": (16, 2, 2), "Folk": (8, 1, 1), "Duo": (1, 1, 1)}
    expected |= {"Pair": (2, 0, 0), "Solo": (1, 0, 0)}
    for genre, (train, val, test) in expected.items():
        got = (counts[genre, "training"], counts[genre, "validation"], counts[genre, "test"])
        assert got == (train, val, test), genre


def test_split_is_deterministic_and_seeded():
    keys, genres = keys_and_genres({"Rock": 50, "Jazz": 50})
    first = split_by_genre(keys, genres, seed=0)
    assert first == split_by_genre(keys, genres, seed=0)
    assert first != split_by_genre(keys, genres, seed=1)
    shuffled = np.random.default_rng(0).permutation(len(keys))
    again = split_by_genre([keys[i] for i in shuffled], [genres[i] for i in shuffled], seed=0)
    assert [again[list(shuffled).index(i)] for i in range(len(keys))] == first  # order of input is irrelevant


def test_adding_a_song_moves_few_existing_ones():
    keys, genres = keys_and_genres({"Rock": 60})
    before = dict(zip(keys, split_by_genre(keys, genres), strict=True))
    for extra in range(20):
        more = [*keys, f"Rock/new {extra}.mp3"]
        after = dict(zip(more, split_by_genre(more, [*genres, "Rock"]), strict=True))
        moved = sum(before[k] != after[k] for k in keys)
        assert moved <= 2, extra


def test_load_folder_split_uses_the_seed(tmp_path):
    for i in range(12):
        song(tmp_path / "Rock" / f"{i:02d}.wav")
    a = [t.split for t in load_folder(tmp_path, seed=0)[0]]
    assert a == [t.split for t in load_folder(tmp_path, seed=0)[0]]
    assert Counter(a) == {"training": 10, "validation": 1, "test": 1}
    seeds = {tuple(t.split for t in load_folder(tmp_path, seed=s)[0]) for s in range(5)}
    assert len(seeds) > 1


# --- errors ----------------------------------------------------------------------------


def test_missing_folder(tmp_path):
    with pytest.raises(SourceError, match="audio folder not found: .*nowhere"):
        load_folder(tmp_path / "nowhere")


def test_a_file_is_not_a_folder(tmp_path):
    path = song(tmp_path / "x.wav")
    with pytest.raises(SourceError, match=r"audio folder not found: .*x\.wav \(it is a file, not a folder\)"):
        load_folder(path)


def test_folder_without_audio(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("no music here")
    song(tmp_path / ".hidden" / "a.wav")
    with pytest.raises(SourceError, match="no usable audio files in .*1 skipped") as error:
        load_folder(tmp_path)
    assert "not an audio format musicrec reads (.txt)" in str(error.value)
    assert all(ext in str(error.value) for ext in AUDIO_SUFFIXES)


def test_folder_with_only_empty_files(tmp_path):
    (tmp_path / "a.mp3").write_bytes(b"")
    with pytest.raises(SourceError, match=r"no usable audio files .*1 skipped \(audio file is empty"):
        load_folder(tmp_path)


# --- fixtures the other tests rely on --------------------------------------------------


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3", ".aiff"])
@pytest.mark.parametrize("channels", [1, 2])
def test_write_audio_round_trips(tmp_path, suffix, channels):
    y = tone(2.0, sr=SR, channels=channels, seed=3)
    path = write_audio(tmp_path / "deep" / f"x{suffix}", y, SR)
    back, sr = sf.read(path, always_2d=True)
    assert sr == SR and back.shape[1] == channels
    assert abs(len(back) - len(y)) < 0.1 * SR  # mp3 adds encoder padding
    assert np.abs(back).max() > 0.2


def test_tone_shape_level_and_seed():
    y = tone(1.5, sr=SR, seed=1)
    assert y.shape == (12_000,) and y.dtype == np.float32
    assert 0.2 < np.abs(y).max() < 0.5
    assert np.array_equal(y, tone(1.5, sr=SR, seed=1)) and not np.array_equal(y, tone(1.5, sr=SR, seed=2))
    stereo = tone(1.0, sr=SR, channels=2)
    assert stereo.shape == (SR, 2) and not np.allclose(stereo[:, 0], stereo[:, 1])


def test_write_audio_rejects_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="cannot write '.xyz' audio"):
        write_audio(tmp_path / "a.xyz", tone(1.0, sr=SR), SR)
