"""Who is at the browser: the server's owner, or a visitor.

The owner may change the catalog and the server (build, cancel, models, server paths, any
upload); everyone else is a visitor. A browser on the server machine itself is the owner
(``recommender.access.local_owner``); anyone else becomes the owner for the rest of the
session with the owner's password, typed in the sidebar.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from recommender import access
from recommender.errors import RecommenderError

OWNER_KEY = "owner"


def is_owner() -> bool:
    """Whether this browser session acts as the server's owner."""
    return bool(st.session_state.get(OWNER_KEY)) or _connected_locally()


def _connected_locally() -> bool:
    """Whether this session's browser runs on the server machine, connected directly (no proxy).

    ``st.context.ip_address`` is None both for a loopback address and for an unknown one, so
    the connection's own peer address (the session client's ``client_context.remote_ip``,
    Streamlit 1.67) is read instead. No runtime or no client (AppTest): unknown, a visitor.
    """
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    try:
        ctx = get_script_run_ctx()
        if ctx is None or not runtime.exists():
            return False
        client = runtime.get_instance().get_client(ctx.session_id)
        context = getattr(client, "client_context", None)
        if context is None:
            return False
        names = [name for name, _ in context.headers]
        return access.local_owner(context.remote_ip, names)
    except (AttributeError, RuntimeError, TypeError, ValueError):
        return False


def _unlock() -> None:
    """The password form was sent: one run checks it (rate-limited) and unlocks the session."""
    guess = st.session_state.get("owner_password", "")
    st.session_state.owner_error = None
    try:
        if access.check_password(guess):
            st.session_state[OWNER_KEY] = True
        else:
            st.session_state.owner_error = "wrong password"
    except RecommenderError as error:
        st.session_state.owner_error = str(error)


def _lock() -> None:
    st.session_state[OWNER_KEY] = False


def sidebar() -> None:
    """At the foot of the sidebar: who this session is, and the owner's password form for a visitor."""
    if "owner_error" not in st.session_state:
        st.session_state.owner_error = None
    with st.sidebar:
        if is_owner():
            st.caption(
                ":material/admin_panel_settings: You are this server's owner: you can build and change it."
            )
            if st.session_state.get(OWNER_KEY) and not _connected_locally():
                st.button("Lock", key="owner_lock", icon=":material/lock:", on_click=_lock)
            return
        if not _password_set():
            return
        with st.expander("Owner", icon=":material/lock:"):
            with st.form("owner_unlock_form", border=False, clear_on_submit=True):
                st.text_input("Owner password", type="password", key="owner_password", max_chars=128)
                st.form_submit_button("Unlock", key="owner_unlock", on_click=_unlock)
            if st.session_state.owner_error:
                st.error(st.session_state.owner_error, icon=":material/lock:")  # our own words, no user text


def _password_set() -> bool:
    try:
        return access.has_password()
    except RecommenderError:
        return False


def owner_only(what: str) -> None:
    """Say that ``what`` ("build a catalog") is for the server's owner."""
    st.caption(f":material/lock: Only the owner of this server can {what}.")


def export_base(cat) -> Path | None:
    """What this session's playlist downloads give paths relative to: None (absolute paths) for the
    owner; for a visitor, the deepest folder holding every song of the catalog, so no download
    names the server's folders."""
    return None if is_owner() else music_base(cat)


def music_base(cat) -> Path:
    """The deepest folder holding every song of the catalog: relative playlist entries start there."""
    return access.export_base(cat.tracks()["audio_path"].astype(str)) or cat.paths.audio_dir
