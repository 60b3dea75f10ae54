"""The radio in the app: one station per session, steered by what the listener does in it.

The station (``recommender.radio.Station``) lives in the session, so a visitor without a
profile has a radio too; a profile opened with its PIN also gets each skip in its history
(For you uses skips as negative evidence) and each like. The player (``pages/_player.py``)
asks ``after`` for the next song when the song ends (heard) or Skip is pressed (a skip
within ``radio.SKIP_SECONDS``, else heard); ``controls`` draws Skip, Like and the next
songs under the player.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pages import _text, _user
from recommender import radio
from recommender.catalog import Catalog
from recommender.errors import UserInputError

STATION = "radio_station"
UP_NEXT = 3  # songs shown under the player


def station() -> radio.Station | None:
    return st.session_state.get(STATION)


def begin(cat: Catalog, kind: str, value) -> int | None:
    """A new station from a "track" (id), "tag" (name), "playlist" ((name, ids)) or "taste"; its first song."""
    if kind == "track":
        seed = radio.seed_from(cat, track=int(value))
    elif kind == "tag":
        seed = radio.seed_from(cat, tag=str(value))
    elif kind == "playlist":
        name, ids = value
        seed = radio.playlist_seed(cat.index, str(name), list(ids))
    elif kind == "taste":
        user = _user.current_user()
        if not user:
            raise UserInputError("open your profile (with its PIN) to start a radio from your taste")
        seed = radio.seed_from(cat, user=user)
    else:
        raise UserInputError(f"a station starts from a song, a tag, a playlist or your taste, not {kind!r}")
    st.session_state[STATION] = radio.Station(seed)
    if kind == "track":
        return int(value)
    return _next(cat)


def _next(cat: Catalog) -> int | None:
    frame = upcoming(cat, 1)
    return int(frame.iloc[0]["track_id"]) if len(frame) else None


def upcoming(cat: Catalog, n: int = UP_NEXT):
    """The next ``n`` songs of the station (a frame shaped like ``similar``'s, with ``reason``)."""
    current = station()
    if current is None:
        return None
    playing = (st.session_state.get("now_playing") or {}).get("track_id")
    exclude = {int(playing)} if playing is not None else set()
    return radio.play_next(cat, current, k=n, user=_user.current_user(), exclude=exclude)


def after(
    cat: Catalog, track_id: int, *, played: float, length: float | None, heard: bool | None
) -> int | None:
    """Note how ``track_id`` went (``heard``; None: a skip if ``played`` s was short) and return the next song."""
    current = station()
    if current is None:
        return None
    skipped = heard is None and radio.is_skip(played, length)
    current.note(track_id, "skip" if skipped else "heard")
    user = _user.current_user()
    if skipped and user:
        cat.store.record_skip(user, track_id)
    return _next(cat)


def like(cat: Catalog, track_id: int) -> None:
    current = station()
    if current is not None:
        current.note(track_id, "like")
    user = _user.current_user()
    if user:
        cat.store.like(user, track_id)


def controls(cat: Catalog, *, on_skip: Callable[[], None]) -> None:
    """Under the player: the station's seed, Skip, Like, and the next songs."""
    current = station()
    if current is None:
        return
    st.caption(f":material/radio: Radio from {_text.md(current.seed.label)}")
    row = st.container(horizontal=True)
    row.button("Skip", key="radio_skip", icon=":material/skip_next:", on_click=on_skip,
               help=f"Moving on within {radio.SKIP_SECONDS:.0f} s is a skip: the station moves away from this sound")  # fmt: skip
    playing = (st.session_state.get("now_playing") or {}).get("track_id")
    if playing is not None:
        row.button("Like", key="radio_like", icon=":material/favorite:", on_click=like, args=(cat, int(playing)),
                   help="The station comes closer to this sound" + ("" if _user.current_user() else
                   " (open a profile to keep the like)"))  # fmt: skip
    with _text.user_errors():
        frame = upcoming(cat)
        if frame is not None and len(frame):
            lines = [f"→ {_text.md(r['title'])} · {_text.md(r['artist'])}" for _, r in frame.iterrows()]
            st.caption("Up next:  \n" + "  \n".join(lines))
