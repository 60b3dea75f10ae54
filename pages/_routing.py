"""Routing: the pages every run goes through app.py for, the session state they rely on, opening a song."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

HOME_PAGE = "pages/home.py"
SONG_PAGE = "pages/song.py"


# Session state the app reads everywhere; pages add their own keys with the same guard.
STATE_DEFAULTS = {
    "track_id": None,  # the song the Song page shows
    "found_via": "search",  # how that song was found: stored with its plays
    "flash": None,  # a message to show once, after a rerun or a page switch
}


def init_state() -> None:
    for key, value in STATE_DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value


def mark_routed() -> None:
    """Called by app.py just before it runs the chosen page: this run went through the router."""
    st.session_state._routed = True


def ensure_routed(page_file: str) -> None:
    """Make sure this page runs inside app.py (router, session state, sidebar); first line of every page.

    Because the page files live in a folder named ``pages/``, Streamlit starts in its older
    multipage mode, in which the first visitor of a fresh server who opens a page's URL
    directly (a tab restored after a restart, a shared link) gets that file run on its own,
    without app.py, until app.py's ``st.navigation`` has run once. Here the page ends that
    mode for the server, as ``st.navigation`` does, and reruns: the rerun goes through app.py.
    """
    if st.session_state.pop("_routed", False):
        st.session_state._reroutes = 0
        return
    reroutes = st.session_state.get("_reroutes", 0)
    if reroutes < 2:  # never loop, whatever happens
        st.session_state._reroutes = reroutes + 1
        leave_pages_directory_mode()
        st.rerun()
    init_state()  # still on our own: at least the state the pages rely on


def in_pages_directory_mode() -> bool:
    """Whether this server runs page files on their own, without app.py (Streamlit's older multipage mode)."""
    return bool(PagesManager.uses_pages_directory)


def leave_pages_directory_mode() -> None:
    """End that mode for this server: the switch ``st.navigation`` flips (Streamlit 1.67, ``tests/test_routing.py``)."""
    PagesManager.uses_pages_directory = False


def open_song(track_id: int, *, via: str) -> None:
    """Show a song on the Song page; ``via`` says how it was found (kept with its plays)."""
    st.session_state.track_id = int(track_id)
    st.session_state.found_via = via
    st.switch_page(SONG_PAGE)
