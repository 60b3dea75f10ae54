"""FMA source: labels, official splits, subsets, skips and every way the metadata can be wrong."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from recommender.errors import SourceError
from recommender.sources import fma as fma_source
from recommender.sources.fma import (
    AUDIO_EMPTY,
    AUDIO_MISSING,
    NO_GENRE,
    REQUIRED_COLUMNS,
    SUBSETS,
    audio_path,
    load_fma,
    mp3_problem,
    read_tracks_csv,
)
from tests.fixtures import FMA_COLUMNS, fma_audio_path, mp3_bytes_lameenc, tone, write_fma_fixture

# The small tree most tests share: ids chosen to span several XXX/ folders.
TRACKS = [
    {"track_id": 2, "genre": "Hip-Hop", "split": "training", "title": "Food", "artist": "AWOL"},
    {"track_id": 5, "genre": "Hip-Hop", "split": "validation", "title": 'Say "hi", Ünïcødé – 曲'},
    {"track_id": 140, "genre": "Folk", "split": "test", "title": "NA", "artist": "", "album": ""},
    {"track_id": 1482, "genre": "Rock", "split": "training", "title": "", "subset": "medium"},
    {"track_id": 20_000, "genre": "Pop", "split": "test", "subset": "large", "artist": "O'Brien; DROP"},
    {"track_id": 155_066, "genre": None, "split": "training"},  # no top genre
    {"track_id": 3, "genre": "Rock", "audio": "missing"},
    {"track_id": 4, "genre": "Rock", "audio": "empty"},
    {"track_id": 10, "genre": "Pop", "audio": "truncated", "split": "validation"},
    {"track_id": 11, "genre": "Pop", "audio": "text"},
]


@pytest.fixture(scope="module")
def fma(tmp_path_factory) -> tuple[Path, Path]:
    return write_fma_fixture(tmp_path_factory.mktemp("fma"), TRACKS)


@pytest.fixture
def fma_copy(fma, tmp_path) -> tuple[Path, Path]:
    """A private copy of the shared tree, for tests that damage it."""
    metadata, audio = fma
    return (
        Path(shutil.copytree(metadata, tmp_path / "fma_metadata")),
        Path(shutil.copytree(audio, tmp_path / audio.name)),
    )


def by_id(tracks):
    return {t.track_id: t for t in tracks}


# --- the fixture is FMA's real format --------------------------------------------------


def test_fixture_header_is_fmas_three_lines(fma):
    metadata, _ = fma
    lines = (metadata / "tracks.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "," + ",".join(group for group, _ in FMA_COLUMNS)
    assert lines[0].startswith(",album,album,")
    assert lines[1].startswith(",comments,date_created,date_released,")
    assert lines[2] == "track_id" + "," * 52
    assert len(FMA_COLUMNS) == 52


def test_fixture_parses_with_fmas_own_reader(fma):
    metadata, _ = fma
    tracks = pd.read_csv(metadata / "tracks.csv", index_col=0, header=[0, 1])
    assert tracks.shape == (len(TRACKS), 52)
    assert tracks.index.name == "track_id"
    assert tracks.loc[2, ("track", "genre_top")] == "Hip-Hop"
    assert tracks.loc[2, ("track", "genres")] == "[21]"
    assert tracks.loc[1482, ("set", "subset")] == "medium"
    genres = pd.read_csv(metadata / "genres.csv")
    assert list(genres.columns) == ["genre_id", "#tracks", "parent", "title", "top_level"]
    assert genres.set_index("title").loc["Hip-Hop", "genre_id"] == 21


def test_fixture_audio_kinds(fma):
    _, audio = fma
    assert audio.name == "fma_large"  # named after the largest subset listed
    y, sr = sf.read(fma_audio_path(audio, 2))
    assert sr == 22_050 and abs(len(y) / sr - 4.0) < 0.2 and np.abs(y).max() > 0.1
    assert not fma_audio_path(audio, 3).exists()
    assert fma_audio_path(audio, 4).stat().st_size == 0
    assert fma_audio_path(audio, 10).stat().st_size == 600


def test_lameenc_fallback_writes_decodable_mp3(tmp_path):
    path = tmp_path / "x.mp3"
    path.write_bytes(mp3_bytes_lameenc(tone(3.0, channels=2), 22_050))
    y, sr = sf.read(path)
    assert sr == 22_050 and y.shape[1] == 2
    assert abs(len(y) / sr - 3.0) < 0.2 and np.abs(y).max() > 0.1


# --- what load_fma returns -------------------------------------------------------------


def test_labels_and_fields(fma):
    metadata, audio = fma
    tracks = by_id(load_fma(metadata, audio, subset="large")[0])
    food = tracks[2]
    assert (food.title, food.artist, food.album, food.genre, food.split) == (
        "Food",
        "AWOL",
        "Some Album",
        "Hip-Hop",
        "training",
    )
    assert food.source == "fma" and food.duration == 4.0
    assert food.audio_path == str(audio / "000" / "000002.mp3")
    assert tracks[5].title == 'Say "hi", Ünïcødé – 曲'
    assert tracks[140].title == "NA"  # a real title, not a missing value
    assert (tracks[140].artist, tracks[140].album) == ("Unknown artist", "")
    assert tracks[1482].title == "Unknown title"
    assert tracks[20_000].artist == "O'Brien; DROP"
    assert [t.genre for t in tracks.values()] == ["Hip-Hop", "Hip-Hop", "Pop", "Pop", "Folk", "Rock", "Pop"]


def test_official_split_is_kept_exactly(fma):
    metadata, audio = fma
    tracks, _ = load_fma(metadata, audio, subset="large")
    expected = {t["track_id"]: t.get("split", "training") for t in TRACKS}
    assert {t.track_id: t.split for t in tracks} == {tid: expected[tid] for tid in by_id(tracks)}


@pytest.mark.parametrize(
    ("subset", "ids"),
    [
        ("small", [2, 5, 10, 11, 140]),
        ("medium", [2, 5, 10, 11, 140, 1482]),
        ("large", [2, 5, 10, 11, 140, 1482, 20_000]),
    ],
)
def test_subset_includes_the_smaller_ones(fma, subset, ids):
    metadata, audio = fma
    tracks, _ = load_fma(metadata, audio, subset=subset)
    assert [t.track_id for t in tracks] == ids  # sorted by id


def test_default_subset_is_small(fma):
    metadata, audio = fma
    assert [t.track_id for t in load_fma(metadata, audio)[0]] == [2, 5, 10, 11, 140]


def test_skips_are_reported_with_reasons(fma):
    metadata, audio = fma
    _, report = load_fma(metadata, audio, subset="large")
    assert report.skipped == {
        str(fma_audio_path(audio, 3)): AUDIO_MISSING,
        str(fma_audio_path(audio, 4)): AUDIO_EMPTY,
        str(fma_audio_path(audio, 155_066)): NO_GENRE,
    }


def test_broken_mp3s_pass_and_the_sniffer_flags_text(fma):
    """Truncated and text files reach decoding (which rejects them); mp3_problem spots text cheaply."""
    metadata, audio = fma
    ids = by_id(load_fma(metadata, audio)[0])
    assert 10 in ids and 11 in ids
    assert mp3_problem(fma_audio_path(audio, 2)) is None
    assert mp3_problem(fma_audio_path(audio, 10)) is None  # truncated: only decoding can tell
    assert mp3_problem(fma_audio_path(audio, 11)).startswith("not an MP3 file")
    assert mp3_problem(fma_audio_path(audio, 3)) == AUDIO_MISSING
    assert mp3_problem(fma_audio_path(audio, 4)) == AUDIO_EMPTY


def test_relative_folders_give_absolute_audio_paths(fma, monkeypatch):
    metadata, audio = fma
    monkeypatch.chdir(audio.parent)
    tracks, _ = load_fma(Path(metadata.name), Path(audio.name))
    assert all(Path(t.audio_path).is_absolute() and Path(t.audio_path).exists() for t in tracks)


@pytest.mark.parametrize(("track_id", "relative"), [(2, "000/000002.mp3"), (155_066, "155/155066.mp3")])
def test_audio_path_layout(track_id, relative):
    assert audio_path(Path("/a"), track_id) == Path("/a") / relative


def test_read_tracks_csv_columns_and_types(fma):
    metadata, _ = fma
    frame = read_tracks_csv(metadata / "tracks.csv")
    assert list(frame.index) == sorted(t["track_id"] for t in TRACKS)
    assert frame.index.dtype == np.int64
    assert frame.loc[155_066, "genre"] == "" and frame.loc[140, "artist"] == ""
    assert frame.loc[1482, "subset"] == "medium" and frame.loc[2, "duration"] == 4.0


def test_unknown_split_value_is_skipped(tmp_path):
    metadata, audio = write_fma_fixture(tmp_path, [{"track_id": 2}, {"track_id": 3, "split": "train"}])
    tracks, report = load_fma(metadata, audio)
    assert [t.track_id for t in tracks] == [2]
    assert report.skipped[str(fma_audio_path(audio, 3))].startswith("unknown split 'train'")


# --- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("column", REQUIRED_COLUMNS, ids="/".join)
def test_missing_column_is_named(tmp_path, column):
    metadata, audio = write_fma_fixture(tmp_path, [{"track_id": 2}], drop_columns=(column,))
    with pytest.raises(SourceError, match=rf"tracks.csv has no column \('{column[0]}', '{column[1]}'\)"):
        load_fma(metadata, audio)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"this is not a csv\nat all\n", "is not FMA's tracks.csv"),
        (b"track_id,genre\n2,Rock\n", "is not FMA's tracks.csv"),
        (b",track\n,genre_top\n2,Rock\n", "is not FMA's tracks.csv"),  # no 'track_id,' line
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00garbage", "is not FMA's tracks.csv"),
    ],
    ids=["empty", "text", "flat-csv", "two-header-lines", "binary"],
)
def test_broken_csv(fma_copy, content, message):
    metadata, audio = fma_copy
    (metadata / "tracks.csv").write_bytes(content)
    with pytest.raises(SourceError, match=message):
        load_fma(metadata, audio)


def test_bad_row_is_an_error_not_a_crash(fma_copy):
    metadata, audio = fma_copy
    path = metadata / "tracks.csv"
    header = path.read_text(encoding="utf-8").splitlines()[:3]
    path.write_text("\n".join([*header, "abc" + "," * 52, ""]), encoding="utf-8")
    with pytest.raises(SourceError, match="track_id 'abc' is not a positive integer"):
        load_fma(metadata, audio)
    path.write_text("\n".join([*header, '2,"an unterminated quote' + "," * 51, ""]), encoding="utf-8")
    with pytest.raises(SourceError, match="cannot be read as FMA's tracks.csv"):
        load_fma(metadata, audio)


def test_a_byte_order_mark_is_read_transparently(fma, fma_copy):
    metadata, audio = fma_copy
    path = metadata / "tracks.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with_mark, without = load_fma(metadata, audio)[0], load_fma(*fma)[0]
    assert [replace(t, audio_path="") for t in with_mark] == [replace(t, audio_path="") for t in without]


def test_a_latin_1_file_names_the_byte_and_its_line(fma_copy):
    metadata, audio = fma_copy
    path = metadata / "tracks.csv"
    lines = path.read_bytes().split(b"\n")
    number = next(i for i, line in enumerate(lines) if "Ünïcødé".encode() in line)
    lines[number] = (
        lines[number].decode("utf-8").encode("latin-1", errors="replace")
    )  # as Excel might save it
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(SourceError) as error:
        load_fma(metadata, audio)
    assert str(error.value).startswith(f"{path} is not UTF-8 text (byte 0xDC at line {number + 1}),")
    header = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([header[0].replace(b"album", b"alb\xfcm", 1), *header[1:]]))
    with pytest.raises(
        SourceError, match=r"is not FMA's tracks.csv: it is not UTF-8 text \(byte 0xFC at line 1\)"
    ):
        load_fma(metadata, audio)


def test_repeated_track_ids_are_named_before_any_audio_is_looked_at(tmp_path, monkeypatch):
    rows = [
        {"track_id": 2},
        {"track_id": 5},
        {"track_id": 2, "title": "again"},
        {"track_id": 7},
        {"track_id": 7},
    ]
    metadata, audio = write_fma_fixture(tmp_path, rows)

    def no_audio_yet(path):
        raise AssertionError(f"{path} looked at before the metadata was checked")

    monkeypatch.setattr(fma_source, "_audio_file_problem", no_audio_yet)
    with pytest.raises(SourceError) as error:
        load_fma(metadata, audio)
    assert str(error.value).startswith(
        f"{metadata / 'tracks.csv'} lists the same track id on more than one row (2, 7): "
    )


def test_header_only_csv_has_no_tracks(fma_copy):
    metadata, audio = fma_copy
    path = metadata / "tracks.csv"
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match="lists no tracks in subset 'small'"):
        load_fma(metadata, audio)


def test_subset_without_tracks(tmp_path):
    metadata, audio = write_fma_fixture(tmp_path, [{"track_id": 2, "subset": "medium"}])
    with pytest.raises(SourceError, match="no tracks in subset 'small'"):
        load_fma(metadata, audio, subset="small")


def test_wrong_audio_folder_says_so(fma, tmp_path):
    metadata, _ = fma
    with pytest.raises(SourceError, match=r"none of the \d+ tracks .* is .* the fma_small folder"):
        load_fma(metadata, tmp_path)  # exists, but holds no FMA audio


@pytest.mark.parametrize("which", ["metadata", "tracks.csv", "audio"])
def test_missing_folders_and_files(fma_copy, which):
    metadata, audio = fma_copy
    if which == "metadata":
        shutil.rmtree(metadata)
        message = "FMA metadata folder not found"
    elif which == "tracks.csv":
        (metadata / "tracks.csv").unlink()
        message = "FMA tracks.csv not found"
    else:
        shutil.rmtree(audio)
        message = "FMA audio folder not found"
    with pytest.raises(SourceError, match=message):
        load_fma(metadata, audio)


@pytest.mark.parametrize("subset", ["tiny", "Small", "full", ""])
def test_unknown_subset(fma, subset):
    metadata, audio = fma
    message = f"unknown FMA subset {subset!r}: choose one of small, medium, large"
    with pytest.raises(SourceError, match=message):
        load_fma(metadata, audio, subset=subset)
    assert subset not in SUBSETS
