"""The app's one player: a single "now playing" song per session, heard in the sidebar.

Every Play and ▶ button of every page only says which song to play now (``play_button``);
the one ``st.audio`` of the whole app is drawn at a fixed place, the top of the sidebar
(``show``, called by app.py before the rest of the sidebar). So starting a song stops the
one before, on any page, and the page itself never moves when a player appears. The
player stays with the session across page switches, and keeps playing through them.

A play is recorded when the button is pressed (st.audio reports no play event), in the
button's callback: once per press, before the run that draws the player.

A song played from a playlist goes on to the next one: st.audio reports no "ended" event
either, so the player notes when the song should end (its length from the file header)
and a fragment that reruns every few seconds starts the next song of the playlist once
that time has passed; the next run draws the player again, autoplaying the new song.
A list of songs that is no stored playlist (a sonic playlist) plays on the same way
(``songs``). A radio station (``pages/_radio.py``) plays on too: when its song ends the
station picks the next one, and its Skip button moves on at once.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from pages import _cache, _gone, _radio, _text, _user
from recommender.audio import duration_of
from recommender.catalog import Catalog
from recommender.errors import RecommenderError
from recommender.formats import MIME
from recommender.store import PLAY_SOURCES

# {"track_id", "via", "queue": (playlist, position) | None, "ends_at": when the song ends | None}
NOW_PLAYING = "now_playing"
CHECK_EVERY = 2.0  # seconds between checks whether a playlist's song has ended
GAP = 1.0  # seconds allowed for the browser to load a song before it plays
ERROR = "player_error"  # why the last press could not play, shown once with the player


def now_playing() -> dict | None:
    return st.session_state.get(NOW_PLAYING)


def is_playing(track_id: int) -> bool:
    playing = now_playing()
    return bool(playing) and playing["track_id"] == int(track_id)


def play_source(via: str) -> str:
    """How a song was found, as the store names it ("playlist Road trip" → "playlist")."""
    word = via.split()[0] if via else ""
    return {"for": "recommendation", "link": "search", "history": "search"}.get(word, word) or "search"


def record(cat: Catalog, track_id: int, *, via: str) -> None:
    """Record a play for the current profile (if any): pressing Play is the play event."""
    user = _user.current_user()
    if user:
        source = play_source(via)
        cat.store.record_play(user, track_id, source=source if source in PLAY_SOURCES else "search")


def start(
    track_id: int, via: str, queue: tuple[str, int] | None = None, songs: list[int] | None = None,
    radio: bool = False,
) -> None:  # fmt: skip
    """Play ``track_id`` now, instead of whatever played (a button callback: runs once per press).

    ``queue`` is ``(playlist name, position)`` when the song is played as part of a playlist;
    ``songs`` that list's track ids when it is not a stored playlist; ``radio``: the station's song.
    """
    cat = _cache.catalog()
    if cat is None:
        return
    if not _gone.in_catalog(cat, track_id):  # a playlist or history older than the catalog
        st.session_state[ERROR] = f"{_gone.GONE}: it cannot be played."
        return
    try:
        record(cat, track_id, via=via)
    except RecommenderError as error:
        st.session_state[ERROR] = str(error)
        return
    st.session_state[ERROR] = None
    length = duration_of(cat.audio_path(track_id)) if queue or radio else None
    ends_at = time.time() + length + GAP if length else None
    st.session_state[NOW_PLAYING] = {
        "track_id": int(track_id),
        "via": via,
        "queue": queue,
        "ends_at": ends_at,
        "songs": songs,
        "radio": radio,
        "started_at": time.time(),
        "length": length,
    }


def advance(cat: Catalog) -> bool:
    """Start the next song of the playlist once the song playing from it has ended (the last: stop).

    Returns whether the song changed.
    """
    playing = now_playing()
    if (
        not playing
        or not (playing.get("queue") or playing.get("radio"))
        or playing.get("ends_at") is None
        or time.time() < playing["ends_at"]
    ):
        return False
    if playing.get("radio"):
        radio_next(cat, heard=True)
        return True
    name, position = playing["queue"]
    user = _user.current_user()
    listed = playing.get("songs")
    gone: set[int] = set()
    try:
        songs = listed
        if songs is None and user:
            frame = cat.store.playlist(user, name)
            songs = frame["track_id"].tolist()
            gone = set(frame.loc[~frame["in_catalog"].astype(bool), "track_id"].tolist())
    except RecommenderError:
        songs = None
    following = position + 1
    while songs is not None and following < len(songs) and songs[following] in gone:
        following += 1  # a song a rebuild left out: the playlist goes on with the next one
    if songs is None or following >= len(songs):
        stop()
    else:
        start(int(songs[following]), playing["via"], (name, following), songs=listed)
    return True


def start_radio(seed_kind: str, value, label: str = "") -> None:
    """Start a radio station (a button callback): ``seed_kind`` "track", "tag", "playlist" (``value``:
    (name, track ids)) or "taste"; the seed song, or the station's first pick, plays now."""
    cat = _cache.catalog()
    if cat is None:
        return
    try:
        first = _radio.begin(cat, seed_kind, value)
    except RecommenderError as error:
        st.session_state[ERROR] = str(error)
        return
    if first is not None:
        start(first, "radio", radio=True)


def radio_next(cat: Catalog, *, heard: bool | None = None) -> None:
    """Move the station on: the song playing counts as heard, or as skipped when ``heard`` is None and
    it played for less than ``radio.SKIP_SECONDS`` (a button callback, or the song's end)."""
    playing = now_playing()
    if not playing or not playing.get("radio"):
        return
    played = time.time() - playing.get("started_at", time.time())
    try:
        following = _radio.after(
            cat, playing["track_id"], played=played, length=playing.get("length"), heard=heard
        )
    except RecommenderError as error:
        st.session_state[ERROR] = str(error)
        return
    if following is None:
        stop()
    else:
        start(following, "radio", radio=True)


def stop() -> None:
    st.session_state[NOW_PLAYING] = None


def play_button(
    container, track_id: int, *, key: str, via: str, label: str = "", queue: tuple[str, int] | None = None,
    **options,
) -> None:  # fmt: skip
    """A button (in ``container``) that plays ``track_id`` in the app's player; ``options`` go to
    ``st.button``. An icon-only button shows a sound icon while its song plays."""
    playing = is_playing(track_id) and now_playing().get("queue") == queue
    if not label:
        options["icon"] = ":material/graphic_eq:" if playing else ":material/play_arrow:"
        options["help"] = "Playing now, in the sidebar: press to play it again" if playing else "Play"
    container.button(label, key=key, on_click=start, args=(int(track_id), via, queue), **options)


def show(cat: Catalog | None) -> None:
    """The player, at the top of the sidebar, while a song plays (or why the last one could not)."""
    if cat is not None:
        advance(cat)  # a song that ended while the page was away
    playing, error = now_playing(), st.session_state.get(ERROR)
    if cat is None or not (playing or error):
        return
    with st.sidebar:
        if error:
            st.session_state[ERROR] = None
            st.error(_text.md(error), icon=":material/error:")
        if playing:
            _player(cat, playing["track_id"])
            if playing.get("ends_at") is not None:
                _follow_queue(cat)
        st.divider()


@st.fragment(run_every=CHECK_EVERY)
def _follow_queue(cat: Catalog) -> None:
    if advance(cat):
        st.rerun()


def _player(cat: Catalog, track_id: int) -> None:
    try:
        track = cat.track(track_id)
    except RecommenderError:  # gone with a new build
        stop()
        return
    if not track.get("in_catalog", True):  # left out by a new build: kept only for old playlists and plays
        stop()
        return
    st.caption(
        f":material/headphones: Now playing **{_text.md(track['title'])}** · {_text.md(track['artist'])}"
    )
    audio(cat, track_id, autoplay=True)
    if (now_playing() or {}).get("radio"):
        _radio.controls(cat, on_skip=lambda: radio_next(cat))
    st.button("Stop", key="player_stop", icon=":material/stop:", on_click=stop, type="tertiary")


def audio(cat: Catalog, track_id: int, *, autoplay: bool = False) -> None:
    path = Path(cat.audio_path(track_id))
    if not path.is_file():
        st.warning(f"The audio file of this song is missing ({_text.md(path.name)}).")
        return
    st.audio(str(path), format=MIME.get(path.suffix.lower(), "audio/mpeg"), autoplay=autoplay)
