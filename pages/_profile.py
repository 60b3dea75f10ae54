"""The sidebar's profile part: pick a profile, open it with its PIN, make one; the owner's reset.

Which profile a session may use is decided in one place, ``_user.current_user``: the
profile picked here, once this session gave its PIN or is the owner's. The PINs typed are
never kept: only which profiles this session opened, each with its PIN's stamp, so a new
PIN (the owner's reset) closes the profile in every session that opened it with the old one.
"""

from __future__ import annotations

import contextlib

import streamlit as st

from pages import _cache, _text, _user
from pages._access import is_owner
from recommender import catalogs
from recommender.catalog import Catalog
from recommender.errors import RecommenderError, UserInputError
from recommender.profile_names import name_key
from recommender.store import MAX_USER_NAME, Profile

CLAIMED = "This profile had no PIN; the PIN you set now protects it."
_PIN_KEYS = ("sidebar_new_pin", "sidebar_new_pin_again", "sidebar_pin", "sidebar_claim_pin",
             "sidebar_claim_pin_again", "sidebar_reset_pin")  # fmt: skip
_PENDING = "sidebar_profile_asked"  # (name, PIN) of a "Create profile" not yet done; None when done
_STATE = {
    "user": None,
    _PENDING: None,
    "sidebar_new_user": "",
    "sidebar_profile_error": None,
    "sidebar_profile_notice": None,
}
_STATE |= dict.fromkeys(_PIN_KEYS, "")


def _set_user(name: str | None) -> None:
    st.session_state.user = name
    if name is None:
        st.query_params.pop(_user.USER_PARAM, None)
    elif st.query_params.get(_user.USER_PARAM) != name:
        st.query_params[_user.USER_PARAM] = name


def _remember(profile: Profile | None) -> None:
    """This session opened ``profile`` (with the PIN it has now)."""
    if profile is not None:
        st.session_state[_user.UNLOCKED] = {
            **st.session_state[_user.UNLOCKED],
            profile.key: profile.stamp,
        }


def _said(error: str | None = None, notice: str | None = None) -> None:
    st.session_state.sidebar_profile_error = error
    st.session_state.sidebar_profile_notice = notice


def _pins_typed(*keys: str) -> list[str]:
    """The PINs in the fields ``keys``, which are emptied: a PIN stays in no form."""
    typed = [st.session_state.get(key) or "" for key in keys]
    for key in _PIN_KEYS:
        st.session_state[key] = ""
    return typed


def _create_profile() -> None:
    """The "Create profile" form was sent: the request is kept, and the run makes the profile.

    Only fast writes happen here. Every session-state write is a point where Streamlit may cut a
    run short for the next request (the second click of a double click), so the slow part, the
    PIN's hash and the database, is done in the run by ``_make_pending``, which finishes the
    request on a later run if this one is cut short after the profile was written.
    """
    pin, again = _pins_typed("sidebar_new_pin", "sidebar_new_pin_again")
    name = st.session_state.get("sidebar_new_user", "")
    if not (name or pin or again):
        return  # an empty form: a second click of a double click, or a click on nothing typed
    if _just_made(name):
        return  # the same form sent twice (a double click on a busy server): the profile is open already
    if again and again != pin:
        return _said("the two PINs differ: type the same PIN twice")
    st.session_state[_PENDING] = (name, pin)


def _make_pending(cat: Catalog) -> None:
    """Make (or open, if a cut-short run made it already) the profile the form asked for."""
    name, pin = st.session_state[_PENDING]
    store = cat.store
    try:
        _from_other_catalog(cat, name)  # a name of another catalog is that profile here too
        profile, how = store.make_or_open_profile(name, pin)
    except RecommenderError as error:
        st.session_state[_PENDING] = None
        _said(str(error))
        if isinstance(error, UserInputError):  # a taken name: the existing profile, behind its PIN
            with contextlib.suppress(RecommenderError):
                if (taken := store.user_name(name)) is not None:
                    _set_user(taken)
        return
    _remember(profile)  # first: from here on the profile is this session's, even if the run is cut
    _set_user(profile.name)
    st.session_state.sidebar_new_user = ""
    _said(notice=CLAIMED if how == "claimed" else None)
    st.session_state[_PENDING] = None


def _just_made(name: str) -> bool:
    """``name`` is the profile this session has picked and opened: the form was sent again."""
    picked = st.session_state.get("user")
    if not picked or not name.strip():
        return False
    key = name_key(name.strip()[: MAX_USER_NAME + 1])
    return key == name_key(picked) and key in (st.session_state.get(_user.UNLOCKED) or {})


def _unlock(user: str) -> None:
    (pin,) = _pins_typed("sidebar_pin")
    try:
        _remember(_cache.catalog().store.unlock_profile(user, pin))
    except RecommenderError as error:
        return _said(str(error))
    _said()


def _claim(user: str) -> None:
    pin, again = _pins_typed("sidebar_claim_pin", "sidebar_claim_pin_again")
    if again != pin:
        return _said("the two PINs differ: type the same PIN twice")
    store = _cache.catalog().store
    try:
        _remember(store.profile(store.claim_profile(user, pin)))
    except RecommenderError as error:
        return _said(str(error))
    _said(notice=CLAIMED)


def _reset_pin(user: str) -> None:
    (pin,) = _pins_typed("sidebar_reset_pin")
    if not is_owner():
        return _said("only the owner of this server can set a new PIN for a profile")
    try:
        name = catalogs.set_pin(user, pin, _cache.catalog().paths)
    except RecommenderError as error:
        return _said(str(error))
    _said(notice=f"{_text.md(name)} has a new PIN: it is asked for from now on, in every browser.")


def _lock(key: str) -> None:
    st.session_state[_user.UNLOCKED] = {k: v for k, v in st.session_state[_user.UNLOCKED].items() if k != key}


def _pick_profile() -> None:
    # None is no choice a user can make here: it is a browser that had not yet seen the profile just
    # created (a busy server answers late) and must not unpick it.
    if st.session_state.sidebar_user is not None:
        _set_user(st.session_state.sidebar_user)


def _restore_user(cat: Catalog, users: list[str]) -> list[str]:
    """The profile of this session: the one picked, else the URL's; none if it no longer exists.

    Returns the picker's list. A profile missing from ``users`` is asked for once more before it
    is unpicked: a list read while another session was writing may be a moment old.
    """
    user = st.session_state.user
    if user is None and (wanted := st.query_params.get(_user.USER_PARAM)):
        key = name_key(wanted.strip()[: MAX_USER_NAME + 1])  # a longer name is no profile's
        user = next((u for u in users if name_key(u) == key), None)
        if user is None and _from_other_catalog(cat, wanted.strip()[: MAX_USER_NAME + 1]):
            user = cat.store.user_name(wanted.strip())
    if user is not None and user not in users:
        try:
            stored = cat.store.user_name(user)
            if stored is None and _from_other_catalog(cat, user):
                stored = cat.store.user_name(user)
        except RecommenderError:
            stored = user  # cannot tell now: keep it picked rather than lose it
        if stored is not None:
            users = sorted([*users, stored], key=name_key)
        user = stored
    _set_user(user)
    return users


def _from_other_catalog(cat: Catalog, name: str) -> bool:
    """Profile ``name`` of another catalog of this server made here, with its PIN (``catalogs.bring_profile``)."""
    try:
        return catalogs.bring_profile(name, cat.paths)
    except RecommenderError:
        return False


def sidebar(cat: Catalog) -> None:
    """The picker, the PIN prompt of the profile picked, the owner's reset, and the new profile form.

    The profile lives in ``session_state.user`` (and the URL); the picker only mirrors it.
    Streamlit drops a widget's own state when a run is cut short by a page switch, and the
    profile must survive every page switch.
    """
    for key, value in _STATE.items():
        if key not in st.session_state:
            st.session_state[key] = value
    if _user.UNLOCKED not in st.session_state:
        st.session_state[_user.UNLOCKED] = {}  # this session's own
    if (users := _users(cat)) is None:
        if st.session_state.user and st.query_params.get(_user.USER_PARAM) != st.session_state.user:
            st.query_params[_user.USER_PARAM] = st.session_state.user
        return
    if st.session_state[_PENDING] is not None:
        _make_pending(cat)
    users = _restore_user(cat, users)
    st.session_state.sidebar_user = st.session_state.user
    st.selectbox(
        "Profile", users, index=None, key="sidebar_user", placeholder="Pick a profile",
        label_visibility="collapsed", on_change=_pick_profile,
    )  # fmt: skip
    if st.session_state.user:
        _open_or_ask(cat, st.session_state.user)
    if message := st.session_state.sidebar_profile_error:
        st.error(_text.md(message), icon=":material/lock:")
    if message := st.session_state.sidebar_profile_notice:
        st.session_state.sidebar_profile_notice = None
        st.success(message, icon=":material/check_circle:")
    # A form: the name, the PIN and the click arrive together, in one run; Enter sends nothing.
    new = st.expander("New profile", expanded=not users)
    with new, st.form("sidebar_new_profile", border=False, enter_to_submit=False):
        st.text_input("Name", key="sidebar_new_user", max_chars=MAX_USER_NAME, placeholder="e.g. alex")
        st.text_input("PIN", key="sidebar_new_pin", type="password", max_chars=128,
                      help="4 characters or more: it opens this profile, in any browser")  # fmt: skip
        st.text_input("PIN again (optional)", key="sidebar_new_pin_again", type="password", max_chars=128)
        st.form_submit_button("Create profile", key="sidebar_create_user", on_click=_create_profile)


def _open_or_ask(cat: Catalog, user: str) -> None:
    """Under the picker: who has ``user`` open, or the prompt for its PIN."""
    if is_owner():
        st.caption(":material/key: Open as this server's owner: no PIN needed.")
        with st.expander("Set a new PIN"), st.form("sidebar_reset_form", border=False):
            st.caption(f"For a forgotten PIN: the new one replaces the PIN of {_text.md(user)}.")
            st.text_input("New PIN", key="sidebar_reset_pin", type="password", max_chars=128)
            st.form_submit_button("Set the new PIN", key="sidebar_reset", on_click=_reset_pin, args=(user,))
        return
    try:
        profile = cat.store.profile(user)
    except RecommenderError:  # the reason is shown with the picker's list or by the page
        return
    if profile is None:
        return
    if _user.current_user() == user:
        st.button("Lock this profile", key="sidebar_lock", icon=":material/lock:", type="tertiary",
                  on_click=_lock, args=(profile.key,), help="Ask for its PIN again in this browser")  # fmt: skip
    elif profile.has_pin:
        with st.form("sidebar_unlock_form", border=False):
            st.text_input("PIN of the profile", key="sidebar_pin", type="password", max_chars=128)
            st.form_submit_button("Open", key="sidebar_unlock", on_click=_unlock, args=(user,),
                                  icon=":material/lock_open:")  # fmt: skip
    else:
        st.info(
            f"{_text.md(user)} has no PIN yet. Set one: it protects this profile from now on, "
            "and is asked for in every other browser.",
            icon=":material/lock_open:",
        )
        with st.form("sidebar_claim_form", border=False):
            st.text_input("New PIN", key="sidebar_claim_pin", type="password", max_chars=128)
            st.text_input("New PIN again", key="sidebar_claim_pin_again", type="password", max_chars=128)
            st.form_submit_button("Set the PIN", key="sidebar_claim", on_click=_claim, args=(user,))


def _users(cat: Catalog) -> list[str] | None:
    """The profiles, or None after showing why they cannot be read (the profile picked stays picked)."""
    try:
        return cat.store.users()
    except RecommenderError as error:  # e.g. another program holds the database
        st.error(_text.md(error), icon=":material/error:")
        return None
