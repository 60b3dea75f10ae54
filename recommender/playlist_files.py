"""A profile's playlists as files and back: the text of one to export, one made from an imported file.

The file formats themselves (M3U8, XSPF) are ``recommender.playlists``; this module joins
them to the store's playlists and the catalog's songs. ``Catalog`` exports and imports through it.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from recommender.errors import UserInputError
from recommender.playlists import Entry, Matched, match_entries, playlist_text, read_entries


def playlist_name(store, user: str, name: str) -> str:
    """Playlist ``name`` of ``user`` as stored ("Road trip" for "road trip "), else as typed, trimmed."""
    wanted = unicodedata.normalize("NFC", name).strip()
    stored = [n for n in store.playlists(user)["name"] if n.casefold() == wanted.casefold()]
    return stored[0] if stored else wanted


def song_entries(store, track_ids: list[int]) -> list[Entry]:
    """The catalog's songs ``track_ids``, in order, as playlist-file entries; ids not in it are left out."""
    rows = store.tracks(track_ids=track_ids).set_index("track_id")
    return [
        Entry(
            title=str(row["title"]),
            artist=str(row["artist"]),
            duration=None if pd.isna(row["duration"]) else float(row["duration"]),
            path=Path(row["audio_path"]),
        )
        for row in (rows.loc[t] for t in track_ids if t in rows.index)
    ]


def export_playlist(
    store, user: str, name: str, *, fmt: str = "m3u8", relative_to: Path | None = None
) -> tuple[str, int]:
    """Playlist ``name`` of ``user`` as the text of an M3U8 or XSPF file, and how many songs it holds.

    Paths are absolute, or relative to the folder ``relative_to``.
    """
    entries = song_entries(store, [int(t) for t in store.playlist(user, name)["track_id"]])
    creator = store.user_name(user) or user.strip()
    title = playlist_name(store, user, name)
    return playlist_text(entries, fmt=fmt, name=title, creator=creator, relative_to=relative_to), len(entries)


def import_playlist(
    store, user: str, name: str, data: bytes, *, file_name: str, bases: list[Path]
) -> Matched:
    """Create playlist ``name`` from the bytes of an M3U, M3U8 or XSPF file (all or nothing).

    Entries are matched with the store's songs by the absolute path of their audio file;
    relative entries are tried against each of ``bases``. Returns the songs imported and the
    entries skipped (no song of the catalog) or repeated. None matching is a ``UserInputError``.
    """
    entries = read_entries(data, file_name=file_name)
    if not entries:
        raise UserInputError(f"{file_name}: no songs in this playlist file")
    tracks = store.tracks()
    audio = dict(zip(tracks["track_id"].astype(int), tracks["audio_path"].astype(str), strict=True))
    found = match_entries(entries, audio, bases=bases)
    if not found.track_ids:
        raise UserInputError(
            f"none of the {len(entries)} entries of {file_name} is a song of this catalog "
            f"(the first: {entries[0]!r}); entries must name the catalog's audio files"
        )
    store.create_playlist(user, name, found.track_ids)
    return found
