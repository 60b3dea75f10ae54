"""Playlists that leave the app: M3U8 and XSPF files out, and back in.

Export (``playlist_text``) writes the songs of a playlist, in order, as

- **M3U8**: extended M3U in UTF-8: ``#EXTM3U``, ``#PLAYLIST:<name>``, then for each song
  ``#EXTINF:<seconds>,<artist> - <title>`` (``-1`` when the length is unknown) and the
  path of its audio file on a line of its own. Line breaks in a title or artist become
  spaces (a line is a record in M3U). A path that players misread (with ``#`` or ``%``,
  which VLC takes for URI syntax, a line break, or space at either end) is written as an
  absolute, percent-encoded ``file://`` URI instead, which players read as well.
- **XSPF**: XSPF 1.0 XML (namespace ``http://xspf.org/ns/0/``) in UTF-8, escaped by the
  XML writer: ``<title>`` (the playlist's name), ``<creator>`` (the profile), then one
  ``<track>`` per song with ``<location>`` (a percent-encoded ``file://`` URI, or a
  percent-encoded relative URI), ``<title>``, ``<creator>`` (the artist) and
  ``<duration>`` (milliseconds). Characters XML 1.0 cannot hold are left out.

Paths are absolute unless ``relative_to`` names a folder: then they are relative to it
(with ``..`` where needed), which is what players resolve them against when the file is
saved in that folder.

Import (``read_entries``, ``match_entries``) reads the entries of an M3U, M3U8 or XSPF
file and finds the catalog song of each: an entry matches the song whose audio file has
the same absolute path, resolved (``file://`` URIs decoded; relative entries tried
against each base folder in turn, e.g. the playlist file's folder, then the home;
symbolic links followed when nothing matches as written). Entries that match no song
are reported and skipped; a song listed twice is kept once. A file may hold at most
``MAX_IMPORT_ENTRIES`` entries in ``MAX_IMPORT_BYTES``; XSPF is parsed by defusedxml, which
refuses DTDs and entities in whatever encoding the file declares.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from recommender.errors import UserInputError

XSPF_NS = "http://xspf.org/ns/0/"
MAX_IMPORT_BYTES = 10 * 2**20
"""The largest playlist file read (10 MiB)."""
MAX_IMPORT_ENTRIES = 10_000
"""The most entries a playlist file may hold: matching costs about 20 µs each (a path resolved)."""

_UTF16_XML = (b"\xff\xfe<\x00", b"\xfe\xff\x00<", b"<\x00?\x00", b"\x00<\x00?")  # "<" in UTF-16, BOM or not

# Characters XML 1.0 cannot hold (C0 controls but tab, line feed and carriage return; U+FFFE, U+FFFF;
# lone surrogates): left out of XSPF text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class Entry:
    """One song of an exported playlist."""

    title: str
    artist: str
    duration: float | None  # seconds, when known
    path: Path  # absolute path of its audio file


@dataclass
class Matched:
    """What an import found: catalog ``track_ids`` in the file's order, and the entries left out."""

    track_ids: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entries that are no song of the catalog
    repeated: list[str] = field(default_factory=list)  # entries of a song already listed


# ---- the formats ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaylistFormat:
    """A playlist file format: how its files are named, written and read."""

    name: str
    suffixes: tuple[str, ...]
    """File name endings (lower case, with the dot) that stand for it; the first is what an export is named."""
    mime: str
    write: Callable[..., str]
    """``(entries, *, name, creator, base) -> text``: the playlist's file (``base``: paths relative to it)."""
    read: Callable[..., list[str]]
    """``(data, *, file_name) -> entries``: the locations a file's bytes list, in order."""
    looks_like: Callable[[bytes], bool] = lambda data: False
    """Whether bytes of a file whose name says no format are of this one."""


_FORMATS: dict[str, PlaylistFormat] = {}
DEFAULT_FORMAT = "m3u8"


def register_format(fmt: PlaylistFormat) -> PlaylistFormat:
    """Add a playlist format: export, import, ``--format`` choices and the app's downloads offer it."""
    taken = {s for other in _FORMATS.values() for s in other.suffixes}
    if fmt.name in _FORMATS or taken & set(fmt.suffixes):
        raise ValueError(
            f"a playlist format named {fmt.name!r} or ending in {fmt.suffixes} is registered already"
        )
    _FORMATS[fmt.name] = fmt
    return fmt


def unregister_format(name: str) -> None:
    """Remove a format added by ``register_format``."""
    _FORMATS.pop(name, None)


def formats() -> tuple[str, ...]:
    """The names of the playlist formats, in the order registered."""
    return tuple(_FORMATS)


def suffixes() -> tuple[str, ...]:
    """Every file name ending of a playlist format (lower case, with the dot)."""
    return tuple(s for f in _FORMATS.values() for s in f.suffixes)


def mime_type(fmt: str) -> str:
    return _FORMATS[check_format(fmt)].mime


def _by_suffix(suffix: str) -> PlaylistFormat | None:
    return next((f for f in _FORMATS.values() if suffix.lower() in f.suffixes), None)


def format_of(file_name: str | os.PathLike | None, *, default: str = DEFAULT_FORMAT) -> str:
    """The format a file name's ending stands for; ``default`` for any other name."""
    found = None if file_name is None else _by_suffix(Path(file_name).suffix)
    return found.name if found else default


def check_format(fmt: str) -> str:
    """The name of the format ``fmt`` names (its name or one of its endings, any case), or ``UserInputError``."""
    wanted = str(fmt).strip().lower().lstrip(".")
    found = _FORMATS.get(wanted) or _by_suffix(f".{wanted}")
    if found is None:
        raise UserInputError(f"unknown playlist format {fmt!r}; known formats: {', '.join(_FORMATS)}")
    return found.name


def file_name(name: str, fmt: str) -> str:
    """A file name for playlist ``name`` in format ``fmt``: the name, less what a file name cannot hold."""
    stem = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", " ", name)
    stem = " ".join(stem.split()).strip(". ") or "playlist"
    return f"{stem[:100]}{_FORMATS[check_format(fmt)].suffixes[0]}"


# ---- export ------------------------------------------------------------------------------------------
def playlist_text(
    entries: Sequence[Entry], *, fmt: str, name: str, creator: str = "", relative_to: Path | None = None
) -> str:
    """Playlist ``name`` as the text of an M3U8 or XSPF file (see the module docstring)."""
    write = _FORMATS[check_format(fmt)].write
    base = None if relative_to is None else Path(os.path.abspath(relative_to))
    return write(entries, name=name, creator=creator, base=base)


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines()).strip()


def _m3u8(entries: Sequence[Entry], *, name: str, creator: str, base: Path | None) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{_one_line(name)}"]
    for entry in entries:
        seconds = (
            round(entry.duration) if entry.duration is not None and entry.duration == entry.duration else -1
        )
        lines.append(f"#EXTINF:{seconds},{_one_line(entry.artist)} - {_one_line(entry.title)}")
        lines.append(_m3u8_location(Path(os.path.abspath(entry.path)), base))
    return "\n".join(lines) + "\n"


def _m3u8_location(path: Path, base: Path | None) -> str:
    text = str(path) if base is None else os.path.relpath(path, base)
    # VLC reads '#' in a line as a URI's fragment and '%' as an escape; a line break or space at
    # either end does not survive a line-based reader. A file:// URI says all of them.
    awkward = len(text.splitlines()) != 1 or text != text.strip() or "#" in text or "%" in text
    return path.as_uri() if awkward else text


def _xspf(entries: Sequence[Entry], *, name: str, creator: str, base: Path | None) -> str:
    def child(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(parent, tag)
        if text is not None:
            element.text = _NOT_XML.sub("", str(text).replace("\r\n", "\n").replace("\r", "\n"))
        return element

    # Plain tag names under a default namespace declared on the root: every element is in XSPF's namespace.
    root = ET.Element("playlist", version="1", xmlns=XSPF_NS)
    child(root, "title", name)
    if creator:
        child(root, "creator", creator)
    tracks = child(root, "trackList")
    for entry in entries:
        track = child(tracks, "track")
        path = Path(os.path.abspath(entry.path))
        child(track, "location", path.as_uri() if base is None else quote(os.path.relpath(path, base)))
        child(track, "title", entry.title)
        child(track, "creator", entry.artist)
        if entry.duration is not None and entry.duration == entry.duration and entry.duration >= 0:
            child(track, "duration", str(round(entry.duration * 1000)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_file(path: Path, text: str, *, force: bool = False) -> Path:
    """Write ``text`` (UTF-8) to the file ``path``; an existing file only with ``force``. Returns its absolute path.

    Without ``force`` the file is created exclusively, so a file that appears meanwhile is not lost either.
    """
    path = Path(os.path.abspath(path))
    if path.is_dir():
        raise UserInputError(f"{path} is a folder: name the playlist file to write")
    if not path.parent.is_dir():
        raise UserInputError(f"cannot write {path.name}: there is no folder {path.parent}")
    try:
        with open(path, "w" if force else "x", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except FileExistsError:
        raise UserInputError(f"{path} exists: choose another file, or replace it with --force") from None
    except OSError as error:
        raise UserInputError(f"cannot write {path}: {error.strerror or error}") from None
    return path


# ---- import ------------------------------------------------------------------------------------------
def read_entries(data: bytes, *, file_name: str = "playlist") -> list[str]:
    """The entries (locations, as written) of an M3U, M3U8 or XSPF file's bytes, in order.

    The format comes from the file name's ending, else from the content (XML: XSPF).
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise UserInputError(f"{file_name}: larger than {MAX_IMPORT_BYTES // 2**20} MiB; is it a playlist?")
    fmt = _by_suffix(Path(file_name).suffix)
    if fmt is None:
        fmt = next((f for f in _FORMATS.values() if f.looks_like(data)), _FORMATS[DEFAULT_FORMAT])
    return fmt.read(data, file_name=file_name)


def _looks_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") or data.startswith(_UTF16_XML)


def _m3u_entries(data: bytes, *, file_name: str) -> list[str]:
    strict_utf8 = Path(file_name).suffix.lower() == ".m3u8"
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if strict_utf8:
            raise UserInputError(
                f"{file_name}: an .m3u8 file must be UTF-8 text, and this one is not"
            ) from None
        text = data.decode("cp1252", errors="replace")  # what an old .m3u from a Windows player holds
    if "\x00" in text:
        raise UserInputError(f"{file_name}: not a text file, so not an M3U playlist")
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(line)
            _check_count(len(entries), file_name)
    return entries


def _check_count(n: int, file_name: str) -> None:
    if n > MAX_IMPORT_ENTRIES:
        raise UserInputError(
            f"{file_name}: more than {MAX_IMPORT_ENTRIES:,} entries; import at most {MAX_IMPORT_ENTRIES:,} "
            "songs at once (split the playlist)"
        )


def _xspf_entries(data: bytes, *, file_name: str) -> list[str]:
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:  # XSPF needs no DTD and no entities, which can blow up a parser: refused in any encoding
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise UserInputError(f"{file_name}: XSPF files have no DOCTYPE or entity declarations") from None
    except ET.ParseError as error:
        raise UserInputError(f"{file_name}: not well-formed XML ({error})") from None
    ns = f"{{{XSPF_NS}}}" if root.tag.startswith(f"{{{XSPF_NS}}}") else ""
    if root.tag != f"{ns}playlist":
        raise UserInputError(f"{file_name}: not an XSPF playlist (its root is <{root.tag}>)")
    entries: list[str] = []
    for track in root.iterfind(f"{ns}trackList/{ns}track"):
        _check_count(len(entries) + 1, file_name)
        location = track.find(f"{ns}location")
        if location is not None and (location.text or "").strip():
            entries.append(location.text.strip())
        else:
            title = (track.findtext(f"{ns}title") or "").strip()
            entries.append(f"(a track without a location{': ' + title if title else ''})")
    return entries


def _candidates(entry: str, bases: Sequence[Path]) -> list[str]:
    """Absolute paths that ``entry`` may stand for: a ``file://`` URI's, an absolute path, or a
    relative path (a relative URI, decoded, in XSPF) joined to each of ``bases``."""
    parts = urlsplit(entry)
    if parts.scheme.lower() == "file":
        return [unquote(parts.path)] if parts.netloc in ("", "localhost") else []
    if len(parts.scheme) > 1:  # http:, smb:, … (one letter: a Windows drive, read as a path)
        return []
    if os.path.isabs(entry):
        return [entry]
    return [
        os.path.join(base, relative) for relative in dict.fromkeys([entry, unquote(entry)]) for base in bases
    ]


def match_entries(entries: Iterable[str], audio_paths: dict[int, str], *, bases: Sequence[Path]) -> Matched:
    """Catalog songs for ``entries``: ``audio_paths`` maps each catalog track id to its audio file."""
    by_path = {os.path.normpath(os.path.abspath(p)): t for t, p in audio_paths.items()}
    by_real: dict[str, int] | None = None  # symbolic links resolved: built only if needed
    found, seen = Matched(), set()
    for entry in entries:
        tried = [os.path.normpath(os.path.abspath(c)) for c in _candidates(entry, bases)]
        track_id = next((by_path[c] for c in tried if c in by_path), None)
        if track_id is None and tried:
            if by_real is None:
                by_real = {os.path.realpath(p): t for p, t in by_path.items()}
            track_id = next((by_real[r] for r in map(os.path.realpath, tried) if r in by_real), None)
        if track_id is None:
            found.skipped.append(entry)
        elif track_id in seen:
            found.repeated.append(entry)
        else:
            seen.add(track_id)
            found.track_ids.append(track_id)
    return found


register_format(PlaylistFormat("m3u8", (".m3u8", ".m3u"), "audio/x-mpegurl", write=_m3u8, read=_m3u_entries))
register_format(
    PlaylistFormat(
        "xspf", (".xspf",), "application/xspf+xml", write=_xspf, read=_xspf_entries, looks_like=_looks_xml
    )
)
