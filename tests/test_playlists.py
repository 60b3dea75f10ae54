"""recommender/playlists.py: M3U8 and XSPF files out and back in, read by real playlist readers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from fixtures import copy_home

from recommender.catalog import Catalog
from recommender.errors import UserInputError
from recommender.playlists import (
    XSPF_NS,
    Entry,
    file_name,
    format_of,
    match_entries,
    playlist_text,
    read_entries,
    write_file,
)

# Titles and artists a writer gets wrong: separators of each format, markup, quotes, line breaks, non-ASCII.
NASTY = [
    ("Commas, \"quotes\" & 'apostrophes'", "Ada, Bo & <the> Wolves"),
    ("#1 hit # not a comment", "Zoë Ünderwood – 東京"),
    ("Two\nlines\r\nand a CR\rhere", "A - B - C"),
    ("<b>bold</b> &amp; ]]> ends", "%20 and %41"),
    ("Ñandú 🎵 \t tab", "  spaced  "),
]
# File names a path or URI writer gets wrong.
FILE_NAMES = [
    "plain.mp3",
    "a, b & c.mp3",
    "#starts with hash.mp3",
    "100% pure?.mp3",
    "ü ñ 東京 🎵.mp3",
    "<tag> 'q' \"qq\".mp3",
]


@pytest.fixture
def library(tmp_path) -> tuple[list[Entry], dict[int, str]]:
    """Six songs in a music folder with awkward file names; returns the entries and ``{track_id: path}``."""
    music = tmp_path / "music" / "sub dir"
    music.mkdir(parents=True)
    entries, paths = [], {}
    for i, name in enumerate(FILE_NAMES):
        path = music / name
        path.write_bytes(b"not really audio")
        title, artist = NASTY[i % len(NASTY)]
        entries.append(
            Entry(title=title, artist=artist, duration=[30.0, 61.4, None, 0.4, 182.5, 1.0][i], path=path)
        )
        paths[100 + i] = str(path)
    return entries, paths


def one_line(text: str) -> str:
    return " ".join(text.splitlines()).strip()


def _m3u8_lines(text: str) -> tuple[list[str], list[str]]:
    lines = text.split("\n")
    return [line for line in lines if line.startswith("#EXTINF:")], [
        line for line in lines if line and not line.startswith("#")
    ]


def _path_of(location: str, *, base: Path | None = None) -> Path:
    """What a player opens for an M3U line or an XSPF location."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return Path(location) if base is None else base / location


# ---- M3U8 -----------------------------------------------------------------------------------------
def test_m3u8_is_extended_m3u_with_one_path_per_song(library):
    entries, paths = library
    text = playlist_text(entries, fmt="m3u8", name="My, #1 mix")
    assert text.startswith("#EXTM3U\n#PLAYLIST:My, #1 mix\n") and text.endswith("\n")
    infos, locations = _m3u8_lines(text)
    assert len(infos) == len(locations) == 6
    assert infos[0] == "#EXTINF:30,Ada, Bo & <the> Wolves - Commas, \"quotes\" & 'apostrophes'"
    assert infos[1].startswith("#EXTINF:61,Zoë Ünderwood – 東京 - #1 hit")
    assert infos[2] == "#EXTINF:-1,A - B - C - Two lines and a CR here"  # unknown length; no line break
    for location, entry in zip(locations, entries, strict=True):
        assert _path_of(location) == entry.path and _path_of(location).is_file()
    # Plain absolute paths where a player reads them as they are; file:// URIs where it would not.
    assert locations[0] == str(entries[0].path) and locations[1] == str(entries[1].path)
    assert locations[2].startswith("file:///") and locations[3].startswith("file:///")  # '#' and '%'
    assert " " not in locations[2] and "%23starts%20with%20hash" in locations[2]


def test_m3u8_relative_to_a_base_folder(library, tmp_path):
    entries, _ = library
    for base in (tmp_path / "music", tmp_path / "elsewhere"):
        text = playlist_text(entries, fmt="m3u8", name="x", relative_to=base)
        _, locations = _m3u8_lines(text)
        plain = [loc for loc in locations if not loc.startswith("file:")]
        assert len(plain) == 4 and all(not os.path.isabs(loc) for loc in plain)
        for location, entry in zip(locations, entries, strict=True):
            assert (_path_of(location, base=base)).resolve() == entry.path.resolve()
    assert "../music/sub dir/plain.mp3" in text


def test_a_real_m3u8_reader_reads_the_export(library):
    m3u8 = pytest.importorskip("m3u8")  # globocom's parser: requirements-dev.txt
    entries, _ = library
    parsed = m3u8.loads(playlist_text(entries, fmt="m3u8", name="x"))
    assert len(parsed.segments) == 6
    for segment, entry in zip(parsed.segments, entries, strict=True):
        assert _path_of(segment.uri) == entry.path
        seconds = -1 if entry.duration is None else round(entry.duration)
        assert segment.duration == seconds
        assert segment.title == f"{one_line(entry.artist)} - {one_line(entry.title)}"


# ---- XSPF -----------------------------------------------------------------------------------------
def test_xspf_is_namespaced_xml_with_percent_encoded_file_uris(library):
    entries, _ = library
    text = playlist_text(entries, fmt="xspf", name="<My> & “mix”", creator="Zoë")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode("utf-8"))
    ns = {"x": XSPF_NS}
    assert root.tag == f"{{{XSPF_NS}}}playlist" and root.get("version") == "1"
    assert root.findtext("x:title", namespaces=ns) == "<My> & “mix”"
    assert root.findtext("x:creator", namespaces=ns) == "Zoë"
    tracks = root.findall("x:trackList/x:track", ns)
    assert len(tracks) == 6
    for track, entry in zip(tracks, entries, strict=True):
        location = track.findtext("x:location", namespaces=ns)
        assert location.startswith("file:///") and location.isascii()
        assert not set(location) & set(" #<>\"'?")  # every awkward character is percent-encoded
        assert _path_of(location) == entry.path and _path_of(location).is_file()
        # Text comes back exactly, line breaks normalised to \n as XML does.
        assert track.findtext("x:title", namespaces=ns) == entry.title.replace("\r\n", "\n").replace(
            "\r", "\n"
        )
        assert track.findtext("x:creator", namespaces=ns) == entry.artist
        duration = track.findtext("x:duration", namespaces=ns)
        assert duration == (None if entry.duration is None else str(round(entry.duration * 1000)))


def test_xspf_leaves_out_what_xml_cannot_hold_and_stays_well_formed(tmp_path):
    entry = Entry(title="bell\x07 nul\x00 esc\x1b", artist="ok\ufffe", duration=1.0, path=tmp_path / "a.mp3")
    root = ET.fromstring(playlist_text([entry], fmt="xspf", name="a\x01b").encode())
    assert root.findtext(f"{{{XSPF_NS}}}title") == "ab"
    track = root.find(f"{{{XSPF_NS}}}trackList/{{{XSPF_NS}}}track")
    assert (
        track.findtext(f"{{{XSPF_NS}}}title") == "bell nul esc"
        and track.findtext(f"{{{XSPF_NS}}}creator") == "ok"
    )


def test_xspf_relative_locations_are_relative_uri_references(library, tmp_path):
    entries, _ = library
    text = playlist_text(entries, fmt="xspf", name="x", relative_to=tmp_path)
    locations = [e.text for e in ET.fromstring(text.encode()).iter(f"{{{XSPF_NS}}}location")]
    assert locations[0] == "music/sub%20dir/plain.mp3"
    for location, entry in zip(locations, entries, strict=True):
        assert urlsplit(location).scheme == "" and location.isascii()
        assert tmp_path / unquote(location) == entry.path


# ---- round trips ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["m3u8", "xspf"])
@pytest.mark.parametrize("relative", [False, True])
def test_export_then_import_gives_the_same_songs_in_order(library, tmp_path, fmt, relative):
    entries, paths = library
    base = tmp_path / "lists"
    base.mkdir()
    text = playlist_text(entries, fmt=fmt, name="x", relative_to=base if relative else None)
    found = match_entries(read_entries(text.encode("utf-8"), file_name=f"p.{fmt}"), paths, bases=[base])
    assert found.track_ids == list(paths) and found.skipped == [] and found.repeated == []


# ---- reading ----------------------------------------------------------------------------------------
def test_m3u_reading_takes_bom_crlf_comments_and_old_encodings():
    data = "\ufeff#EXTM3U\r\n\r\n#EXTINF:1,a - b\r\n  /music/a.mp3  \r\n# comment\r\nrel/b.mp3\r\n".encode()
    assert read_entries(data, file_name="x.m3u8") == ["/music/a.mp3", "rel/b.mp3"]
    assert read_entries("/music/café.mp3\n".encode("cp1252"), file_name="old.m3u") == ["/music/café.mp3"]
    with pytest.raises(UserInputError, match="must be UTF-8"):
        read_entries("/music/café.mp3\n".encode("cp1252"), file_name="new.m3u8")
    with pytest.raises(UserInputError, match="not a text file"):
        read_entries(b"\x00\x01binary", file_name="x.m3u")


def test_the_format_comes_from_the_name_else_the_content():
    xspf = f'<playlist xmlns="{XSPF_NS}"><trackList><track><location>file:///a.mp3</location></track>'
    xspf += "<track><title>No file</title></track></trackList></playlist>"
    assert read_entries(xspf.encode(), file_name="upload") == [
        "file:///a.mp3",
        "(a track without a location: No file)",
    ]
    assert read_entries(b"/a.mp3\n", file_name="upload") == ["/a.mp3"]
    assert format_of("x.XSPF") == "xspf" and format_of("x.m3u") == "m3u8" and format_of(None) == "m3u8"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<playlist><trackList>", "not well-formed XML"),
        (b"<rss/>", "not an XSPF playlist"),
        (b'<!DOCTYPE p [<!ENTITY a "aaaa">]><playlist/>', "no DOCTYPE or entity"),
        (b"x" * (10 * 2**20 + 1), "larger than 10 MiB"),
    ],
)
def test_bad_xspf_files_are_refused_with_a_reason(data, message):
    with pytest.raises(UserInputError, match=message):
        read_entries(data, file_name="bad.xspf")


def test_matching_resolves_uris_relative_paths_and_links(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    (music / "a b.mp3").write_bytes(b"a")
    (music / "c.mp3").write_bytes(b"c")
    (tmp_path / "link").symlink_to(music)
    paths = {1: str(music / "a b.mp3"), 2: str(music / "c.mp3")}
    entries = [
        "file://localhost" + (music / "a b.mp3").as_uri()[7:],  # a URI naming this machine
        "file://otherhost/music/c.mp3",  # another machine's file: not ours
        "http://example.org/c.mp3",
        "link/c.mp3",  # relative to the second base, through a symbolic link
        str(music / "a b.mp3"),  # listed again
        "music/../music/./nothing.mp3",
    ]
    found = match_entries(entries, paths, bases=[tmp_path / "nowhere", tmp_path])
    assert found.track_ids == [1, 2]
    assert found.skipped == entries[1:3] + entries[5:]
    assert found.repeated == [entries[4]]


# ---- files ------------------------------------------------------------------------------------------
def test_writing_a_file_refuses_to_replace_one_unless_forced(tmp_path):
    target = tmp_path / "p.m3u8"
    assert write_file(target, "one\n") == target
    with pytest.raises(UserInputError, match="exists: choose another file, or replace it with --force"):
        write_file(target, "two\n")
    assert target.read_text() == "one\n"
    write_file(target, "two\n", force=True)
    assert target.read_text() == "two\n"
    with pytest.raises(UserInputError, match="is a folder"):
        write_file(tmp_path, "x")
    with pytest.raises(UserInputError, match="there is no folder"):
        write_file(tmp_path / "missing" / "p.m3u8", "x")


def test_file_names_keep_the_name_less_what_a_file_name_cannot_hold():
    assert file_name("Road trip", "m3u8") == "Road trip.m3u8"
    assert file_name('a/b\\c:d*e?"<>|', "xspf") == "a b c d e.xspf"
    assert file_name("..", "xspf") == "playlist.xspf" and file_name("Zoë 東京", "m3u8") == "Zoë 東京.m3u8"


# ---- a catalog ----------------------------------------------------------------------------------------
@pytest.fixture
def catalog(built_home, tmp_path) -> Catalog:
    home = tmp_path / "home"
    copy_home(built_home, home)
    return Catalog.open(home)


def test_a_catalog_playlist_exports_and_imports_as_the_same_songs(catalog, tmp_path):
    catalog.store.create_playlist("Exporter", "Road trip", [5, 1, 17])
    for fmt in ("m3u8", "xspf"):
        text, n = catalog.export_playlist("exporter", "road TRIP", fmt=fmt)
        assert n == 3 and ("Road trip" in text)
        found = catalog.import_playlist("importer", f"Again {fmt}", text.encode(), file_name=f"x.{fmt}")
        assert found.track_ids == [5, 1, 17]
        assert catalog.store.playlist("importer", f"Again {fmt}")["track_id"].tolist() == [5, 1, 17]
    # Entries relative to a base folder (the playlist file's, given by the caller).
    audio = [catalog.audio_path(t) for t in (5, 1, 17)]
    relative = "\n".join(os.path.relpath(p, tmp_path) for p in audio).encode()
    found = catalog.import_playlist("importer", "Relative", relative, file_name="r.m3u", bases=(tmp_path,))
    assert found.track_ids == [5, 1, 17]


def test_entries_relative_to_the_home_match(built_home):
    catalog = Catalog.open(built_home)  # its own audio is in it
    audio = [catalog.audio_path(t) for t in (2, 3)]
    assert all(built_home in p.parents for p in audio)
    m3u = "\n".join(str(p.relative_to(built_home)) for p in audio).encode()
    xspf = playlist_text(
        [Entry("t", "a", None, p) for p in audio], fmt="xspf", name="x", relative_to=built_home
    )
    try:
        found = catalog.import_playlist("home-relative importer", "M3U", m3u, file_name="r.m3u")
        assert found.track_ids == [2, 3]
        found = catalog.import_playlist("home-relative importer", "XSPF", xspf.encode(), file_name="r.xspf")
        assert found.track_ids == [2, 3]
    finally:  # the home is shared by the session's tests: the profile made here must not outlive the test
        catalog.store.delete_user("home-relative importer")


def test_an_import_with_no_catalog_song_fails_and_creates_nothing(catalog):
    with pytest.raises(UserInputError, match="none of the 2 entries of y.m3u8 is a song of this catalog"):
        catalog.import_playlist("nobody", "Empty", b"/a.mp3\nb.mp3\n", file_name="y.m3u8")
    with pytest.raises(UserInputError, match="no songs in this playlist file"):
        catalog.import_playlist("nobody", "Empty", b"#EXTM3U\n", file_name="y.m3u8")
    catalog.store.create_playlist("nobody", "Taken", [2])
    with pytest.raises(UserInputError, match="already have a playlist named 'Taken'"):
        catalog.import_playlist("nobody", "taken", str(catalog.audio_path(3)).encode(), file_name="z.m3u")
    assert catalog.store.playlist("nobody", "Taken")["track_id"].tolist() == [2]
    assert catalog.store.playlists("nobody")["name"].tolist() == ["Taken"]


# ---- real players (slow: they must be installed, e.g. `apt-get install mpv libvlc5 vlc-plugin-base`) -----
def _vlc_items(playlist: Path) -> list:
    """The entries of ``playlist`` as VLC's own playlist parsers read them, each opened and parsed."""
    try:
        import vlc  # python-vlc: requirements-dev.txt; needs libvlc
    except Exception:  # no libvlc: python-vlc fails in several ways
        pytest.skip("VLC (python-vlc with libvlc) is not installed")

    instance = vlc.Instance("--no-audio", "--no-video", "--quiet")
    if instance is None:
        pytest.skip("libvlc cannot start here")

    def parse(media):
        media.parse_with_options(vlc.MediaParseFlag.local, 10_000)
        deadline = time.monotonic() + 15
        while media.get_parsed_status() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        return media

    listed = parse(instance.media_new_path(str(playlist))).subitems()
    items = [listed.item_at_index(i) for i in range(listed.count())]
    return [(item.get_mrl(), parse(item)) for item in items]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["m3u8", "xspf"])
def test_vlc_opens_every_song_of_an_export(catalog, tmp_path, fmt):
    music = tmp_path / "music"
    music.mkdir()
    paths = {}
    for i, name in enumerate(FILE_NAMES):  # real audio files under awkward names
        paths[i] = music / name
        shutil.copy(catalog.audio_path(i + 1), paths[i])
    entries = [
        Entry(title=t, artist=a, duration=30.0, path=paths[i]) for i, (t, a) in enumerate(NASTY + NASTY[:1])
    ]
    for relative in (None, tmp_path):
        playlist = tmp_path / f"p.{fmt}"
        write_file(playlist, playlist_text(entries, fmt=fmt, name="x", relative_to=relative), force=True)
        items = _vlc_items(playlist)
        assert [Path(unquote(urlsplit(mrl).path)) for mrl, _ in items] == [paths[i] for i in range(6)]
        assert all(media.get_duration() > 25_000 for _, media in items)  # each file opened as audio


@pytest.mark.slow
def test_mpv_plays_every_song_of_an_m3u8_export(catalog, tmp_path):
    if shutil.which("mpv") is None:
        pytest.skip("mpv is not installed")
    music = tmp_path / "music"
    music.mkdir()
    paths = [music / name for name in FILE_NAMES]
    for i, path in enumerate(paths):
        shutil.copy(catalog.audio_path(i + 1), path)
    entries = [
        Entry(title=t, artist=a, duration=30.0, path=p)
        for p, (t, a) in zip(paths, NASTY + NASTY[:1], strict=True)
    ]
    playlist = tmp_path / "p.m3u8"
    write_file(playlist, playlist_text(entries, fmt="m3u8", name="x"))
    run = subprocess.run(
        ["mpv", "--no-config", f"--playlist={playlist}", "--frames=0", "--ao=null", "--vo=null"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    played = [
        Path(line.removeprefix("Playing: "))
        for line in run.stdout.splitlines()
        if line.startswith("Playing: ")
    ]
    assert played == paths, run.stdout + run.stderr
    assert run.stdout.count("(+) Audio") == 6 and "Failed" not in run.stdout + run.stderr
