"""The profile this session has open: the one gate of user data in the app."""

from __future__ import annotations

import streamlit as st

from pages._access import is_owner
from pages._cache import catalog
from pages._text import md, read_or_stop
from recommender.catalog import Catalog
from recommender.errors import RecommenderError

# The profile picked lives in ``session_state.user`` and in the page's URL (``?user=NAME``), so a
# reload, or a link a teacher hands out, keeps it; the sidebar puts it back into the URL after
# every page change (Streamlit clears query parameters when the page changes). Picking a profile
# only names it: its plays, likes and playlists are this session's once it gave the profile's PIN.
USER_PARAM = "user"
UNLOCKED = "unlocked_profiles"  # profile key -> the stamp of the PIN this session opened it with


def picked_user() -> str | None:
    """The profile picked in the sidebar or the URL, open or not: only its name may be shown."""
    return st.session_state.get("user")


def _unlocked(cat: Catalog, user: str) -> bool:
    profile = cat.store.profile(user)
    opened = st.session_state.get(UNLOCKED) or {}
    return profile is not None and profile.has_pin and opened.get(profile.key) == profile.stamp


def current_user() -> str | None:
    """The profile this session has open: picked, and opened with its PIN (or by the owner); else None.

    The one gate of user data in the app: every page and button that reads or changes plays,
    likes or playlists asks here, so a profile picked without its PIN is nobody's in this session.
    """
    user = picked_user()
    if not user or is_owner():
        return user or None
    cat = catalog()
    try:
        return user if cat is not None and _unlocked(cat, user) else None
    except RecommenderError:  # the database cannot be read now: nothing of the profile either
        return None


def require_user() -> str:
    """The profile this session has open; otherwise say how to open one and stop the page."""
    user = picked_user()
    if not user:
        st.info("Pick or create a profile in the sidebar: plays, likes and playlists belong to a profile.")
        st.stop()
    cat = catalog()
    if is_owner() or (cat is not None and read_or_stop(lambda: _unlocked(cat, user))):
        return user
    st.info(
        f"**{md(user)}** is protected by a PIN: enter it in the sidebar to see its plays, likes and playlists.",
        icon=":material/lock:",
    )
    st.stop()
