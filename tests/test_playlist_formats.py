"""recommender/playlists.py's registry: a playlist format registered once is offered and used everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender import playlists
from recommender.cli import parser
from recommender.errors import UserInputError

PLAIN = "plain"


def _write(entries, *, name, creator, base):
    return "".join(f"{entry.path}\n" for entry in entries)


def _read(data, *, file_name):
    return [line for line in data.decode("utf-8").splitlines() if line]


@pytest.fixture
def plain():
    """A test-only format: one path a line, in a ``.paths`` file."""
    fmt = playlists.register_format(playlists.PlaylistFormat(PLAIN, (".paths",), "text/plain", _write, _read))
    yield fmt
    playlists.unregister_format(PLAIN)


def test_a_registered_format_is_a_choice_of_playlist_export(plain):
    args = parser().parse_args(["playlist", "export", "--user", "u", "--name", "p", "--format", PLAIN])
    assert args.format == PLAIN
    assert playlists.formats() == ("m3u8", "xspf", PLAIN)


def test_an_unregistered_format_is_no_choice():
    with pytest.raises(SystemExit):
        parser().parse_args(["playlist", "export", "--user", "u", "--name", "p", "--format", PLAIN])
    with pytest.raises(UserInputError, match="unknown playlist format 'plain'; known formats: m3u8, xspf"):
        playlists.check_format(PLAIN)


def test_a_registered_format_writes_names_and_reads_its_files(plain, tmp_path):
    song = playlists.Entry(title="A", artist="B", duration=3.0, path=tmp_path / "a.wav")
    text = playlists.playlist_text([song], fmt=PLAIN, name="Mix")
    assert text == f"{tmp_path / 'a.wav'}\n"
    assert playlists.file_name("Mix", PLAIN) == "Mix.paths"
    assert playlists.format_of(Path("x/Mix.PATHS")) == PLAIN
    assert playlists.mime_type(PLAIN) == "text/plain"
    assert playlists.read_entries(b"/music/a.wav\n/music/b.wav\n", file_name="Mix.paths") == [
        "/music/a.wav",
        "/music/b.wav",
    ]
    assert ".paths" in playlists.suffixes()


def test_the_built_in_formats_keep_their_endings():
    assert playlists.format_of("old.m3u") == "m3u8"
    assert playlists.check_format(".M3U") == "m3u8"
    assert playlists.format_of("list.xspf") == "xspf"
    assert playlists.format_of("unknown.txt") == "m3u8"
    with pytest.raises(ValueError, match="registered already"):
        playlists.register_format(
            playlists.PlaylistFormat("m3u", (".m3u",), "audio/x-mpegurl", _write, _read)
        )
