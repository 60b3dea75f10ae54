"""Songs a rebuild left out of the catalog: said in words on every page, never as an id or a raw error.

A new build (another music folder, FMA instead of the demo) replaces the catalog; playlists,
plays and likes that refer to its songs are kept, and their songs stay in the store, hidden
(``in_catalog`` false). Pages show such a song by its title with ``GONE``, offer to take it out
of the profile's playlists and history (``Store.forget_track``), and never play or open it.
"""

from __future__ import annotations

from pages import _text, _user
from recommender.catalog import Catalog
from recommender.errors import RecommenderError

GONE = "This song is no longer in the catalog"


def is_gone(row: dict) -> bool:
    """Whether a song row (``Store.playlist``/``history`` columns) is of a song no longer in the catalog."""
    value = row.get("in_catalog", True)
    return value is not None and not bool(value)


def in_catalog(cat: Catalog, track_id: int) -> bool:
    """Whether ``track_id`` is a song of the catalog now (False too when it cannot be told)."""
    try:
        return bool(cat.store.track(int(track_id)).get("in_catalog", True))
    except RecommenderError:
        return False


def forget(cat: Catalog, user: str, track_id: int, title: str) -> None:
    """Take a gone song out of ``user``'s playlists and history (a button callback)."""
    try:
        cat.store.forget_track(user, int(track_id))
    except RecommenderError as error:
        _text.flash(_text.md(error))
        return
    _text.flash(f"“{_text.md(title)}” is out of your playlists and history.")


def forget_button(container, cat: Catalog, row: dict, *, key: str) -> None:
    """A button that takes the gone song of ``row`` out of the open profile's playlists and history."""
    user = _user.current_user()
    if user:
        container.button(
            "", key=key, icon=":material/playlist_remove:", on_click=forget,
            args=(cat, user, int(row["track_id"]), str(row["title"])),
            help="No longer in the catalog: remove it from your playlists and history",
        )  # fmt: skip
