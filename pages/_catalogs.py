"""Which of the server's catalogs this session views: the sidebar's switch, ``?catalog=NAME``, the owner's list.

Any visitor switches the catalog their own session views (``session_state.catalog`` and the
URL, as ``?user=`` keeps the profile). Switching forgets the song on the Song page, the one
playing and the radio station: their ids are the other catalog's. The profile open in this
session goes along: its name and PIN are made in the other catalog where it has no profile of
that name (``Store.share_profile``; ``pages/_profile`` does the same for a profile picked by
name, ``catalogs.bring_profile``), so one PIN opens it in every catalog. Making a catalog the
server's default and removing one are the owner's (``pages/_access``), checked again when done.
"""

from __future__ import annotations

import streamlit as st

from pages import _access, _cache, _player, _radio, _text, _user
from recommender import catalogs
from recommender.errors import AccessError, RecommenderError, UserInputError
from recommender.profile_names import name_key

PARAM = "catalog"
_UNKNOWN = "catalog_unknown"  # a name from the URL that is no catalog of this server, said once
# Pages' own state that holds songs or playlists of the catalog in view (each page sets it up again).
_IDS_OF_A_CATALOG = ("song_link", "mix_add", "mix_subtract", "playlists_path", "playlists_selected")


def names() -> list[str]:
    """The built catalogs of the server, the one at its root first."""
    return [e.name for e in catalogs.entries(built_only=True)]


def viewed() -> str | None:
    """The name of the catalog this session views (None: nothing is built)."""
    entry = _cache.catalog_entry()
    return entry.name if entry is not None else None


def switch(name: str, *, first: bool = False) -> None:
    """View catalog ``name`` in this session; the open profile comes along. Unknown names: said once.

    ``first``: the session's first choice (from its URL): nothing of another catalog to forget yet.
    """
    entry = catalogs.find(name)
    if entry is None or not entry.built:
        st.session_state[_UNKNOWN] = name
        return
    before = _cache.catalog()
    opened = _user.current_user()
    st.session_state[_cache.CATALOG_KEY] = entry.name
    st.query_params[PARAM] = entry.name
    if not first:  # the song shown, playing, the station, mixes and paths are ids of the other catalog
        for key in ("track_id", _player.NOW_PLAYING, _player.ERROR, _radio.STATION):
            st.session_state[key] = None
        for key in _IDS_OF_A_CATALOG:
            st.session_state.pop(key, None)
        st.query_params.pop("track", None)
    after = _cache.catalog()
    if opened and before is not None and after is not None and before.paths != after.paths:
        try:
            before.store.share_profile(opened, after.store)
        except RecommenderError as error:
            _text.flash(f"Your profile could not come along: {_text.md(error)}")


def follow_url() -> None:
    """Before the catalog is opened: the URL's ``?catalog=`` switches; a page change puts it back."""
    wanted = st.query_params.get(PARAM)
    chosen = st.session_state.get(_cache.CATALOG_KEY)
    if wanted and (not isinstance(chosen, str) or name_key(wanted[:200]) != name_key(chosen)):
        switch(wanted[: catalogs.MAX_NAME * 2], first=not isinstance(chosen, str))
        if st.session_state.get(_UNKNOWN) is not None:
            st.query_params.pop(PARAM, None)
    elif chosen and not wanted:
        st.query_params[PARAM] = chosen


def _picked() -> None:
    picked = st.session_state.get("sidebar_catalog")
    if picked:
        switch(picked)


def sidebar() -> None:
    """The catalog switch, when the server has more than one catalog, and the unknown name's message."""
    unknown = st.session_state.pop(_UNKNOWN, None)
    if unknown is not None:
        st.warning(
            f"There is no catalog named {_text.md(unknown[: catalogs.MAX_NAME * 2])} on this server; "
            f"showing {_text.md(viewed() or 'nothing yet')}.",
            icon=":material/help:",
        )
    built = names()
    if len(built) < 2:
        return
    st.session_state.sidebar_catalog = viewed()
    st.selectbox(
        "Catalog", built, key="sidebar_catalog", on_change=_picked,
        help="Which of this server's catalogs you see: your playlists, plays and likes are kept per catalog.",
    )  # fmt: skip


def owner_list() -> None:
    """The owner's list of the server's catalogs: make one the default, remove one. Nothing for a visitor."""
    if message := st.session_state.pop("catalogs_error", None):  # also for a session no longer the owner's
        st.error(_text.md(message), icon=":material/error:")
    if not _access.is_owner():
        return
    built = names()
    if len(built) < 2:
        return
    with st.expander("Catalogs of this server", icon=":material/library_music:"):
        default = catalogs.current()
        st.caption(
            f"The default (what a new visitor sees first): **{_text.md(default.name if default else '—')}**. "
            "Each catalog keeps its own profiles' playlists, plays, likes and uploads."
        )
        cols = st.columns(2)
        cols[0].selectbox("Catalog", built, key="catalogs_default_pick")
        cols[1].button("Make it the default", key="catalogs_default", on_click=_make_default)
        removable = [e.name for e in catalogs.entries(built_only=True) if not e.at_root]
        if removable:
            st.selectbox("Remove a catalog", removable, index=None, key="catalogs_remove_pick")
            st.checkbox("Yes, delete its songs, uploads and users' data", key="catalogs_remove_sure")
            st.button("Remove it", key="catalogs_remove", icon=":material/delete:", on_click=_remove)


def _make_default() -> None:
    st.session_state.catalogs_error = None
    try:
        if not _access.is_owner():
            raise AccessError("only the owner of this server can choose its default catalog")
        made = catalogs.set_current(st.session_state.get("catalogs_default_pick") or "")
    except RecommenderError as error:
        st.session_state.catalogs_error = str(error)
        return
    _text.flash(f"{_text.md(made.name)} is now the catalog a new visitor sees first.")


def _remove() -> None:
    st.session_state.catalogs_error = None
    try:
        if not _access.is_owner():
            raise AccessError("only the owner of this server can remove a catalog")
        name = st.session_state.get("catalogs_remove_pick")
        if not name:
            raise UserInputError("pick the catalog to remove")
        if not st.session_state.get("catalogs_remove_sure"):
            raise UserInputError("tick the box to say yes: removing a catalog deletes its users' data")
        removed = catalogs.remove(name)
    except RecommenderError as error:
        st.session_state.catalogs_error = str(error)
        return
    _cache.invalidate()
    st.session_state.catalogs_remove_sure = False
    st.session_state.catalogs_remove_pick = None
    _text.flash(f"The catalog {_text.md(removed.name)} is removed, with its songs and its users' data.")
