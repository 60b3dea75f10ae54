"""Class board: the page for the projector. Large type, a link and a QR code to join, and the class
as it works: who joined, each uploaded clip on the map with its tags, the most played and liked
songs, the class playlist. It refreshes itself every few seconds.

One refresh costs little: the store answers the board from one read, remembered until someone
writes (``Store.board``); the map draws at most ``board.MAP_POINTS`` catalog songs. The owner
(the teacher) hides a clip from the board and removes songs from the class playlist; anyone
with an open profile adds songs to it from a song's page.
"""

import pandas as pd
import streamlit as st

from pages import _access, _cache, _catalogs, _require, _routing, _text
from recommender import plots
from recommender.board import REFRESH_S, Board, class_board, join_link, qr_png
from recommender.errors import RecommenderError
from recommender.words import plural

_routing.ensure_routed(__file__)

# Our own constant style (no user text): large type for a room to read.
LARGE_TYPE = """<style>
.st-key-board_live p, .st-key-board_live li, .st-key-board_join p { font-size: 1.45rem; line-height: 1.5; }
.st-key-board_live h3, .st-key-board_join h3 { font-size: 2rem; }
</style>"""

cat = _require.require_catalog(model=True)
st.html(LARGE_TYPE)
st.title(":material/co_present: Class board")


def _link() -> str | None:
    try:
        host = st.context.headers.get("host")
    except (AttributeError, RuntimeError):
        host = None
    shown = _catalogs.viewed() if len(_catalogs.names()) > 1 else None
    return join_link(
        st.context.url, base_path=st.get_option("server.baseUrlPath") or "", host_header=host, catalog=shown
    )


with st.container(key="board_join", horizontal=True, vertical_alignment="center"):
    link = _link()
    if link:
        st.image(qr_png(link), width=220)
        with st.container():
            st.markdown("### Join the class")
            st.markdown(f"Open **{_text.md(link)}** on your phone, or scan the code.")
            st.markdown("Then make a profile with a PIN in the sidebar (the **›** at the top left).")
    else:
        st.info("Open this board by the address the students use: its link and QR code show here then.")


def _hide(track_id: int, hidden: bool) -> None:
    if not _access.is_owner():  # the button is the owner's only; checked again when pressed
        return
    try:
        cat.store.hide_upload(track_id, hidden=hidden)
    except RecommenderError as error:
        st.session_state.board_error = str(error)


def _remove(track_id: int) -> None:
    if not _access.is_owner():
        return
    try:
        cat.store.remove_from_class_playlist(track_id)
    except RecommenderError as error:
        st.session_state.board_error = str(error)


def _songs(frame: pd.DataFrame, count: str | None = None) -> None:
    if not len(frame):
        st.caption("Nothing yet.")
        return
    lines = []
    for row in frame.to_dict(orient="records"):
        extra = f" · {plural(int(row[count]), count[:-1])}" if count else ""
        lines.append(f"1. **{_text.md(row['title'])}** · {_text.md(row['artist'])}{extra}")
    st.markdown("\n".join(lines))


def _uploads(board: Board, owner: bool) -> None:
    shown = board.uploads
    st.markdown(f"### :material/upload: {plural(len(shown), 'clip')} uploaded")
    palette = _cache.colors(cat)
    mark = pd.DataFrame({"x": shown["x"], "y": shown["y"], "label": shown["title"]}).dropna()
    st.plotly_chart(
        plots.map_figure(board.background, colors=palette, highlight=mark, highlight_name="the class's clips",
                         height=520),
        key="board_map", config={"displaylogo": False},
    )  # fmt: skip
    for row in shown.to_dict(orient="records"):
        cols = st.columns([6, 1] if owner else [1], vertical_alignment="center")
        by = f" · by {_text.md(row['added_by'])}" if row["added_by"] else ""
        tags = f"  \n:gray[hears: {_text.md(row['tags'])}]" if row["tags"] else ""
        cols[0].markdown(f"**{_text.md(row['title'])}**{by}{tags}")
        if owner:
            cols[1].button("Hide", key=f"board_hide_{row['track_id']}", icon=":material/visibility_off:",
                           on_click=_hide, args=(int(row["track_id"]), True), help="Take it off the board")  # fmt: skip
    if owner and len(board.hidden):
        with st.expander(f"{plural(len(board.hidden), 'clip')} hidden from the board"):
            for row in board.hidden.to_dict(orient="records"):
                cols = st.columns([6, 1], vertical_alignment="center")
                cols[0].markdown(f"{_text.md(row['title'])}")
                cols[1].button("Show", key=f"board_show_{row['track_id']}", icon=":material/visibility:",
                               on_click=_hide, args=(int(row["track_id"]), False))  # fmt: skip


def _class_playlist(frame: pd.DataFrame, owner: bool) -> None:
    st.markdown(f"### :material/queue_music: The class playlist · {plural(len(frame), 'song')}")
    if not len(frame):
        st.caption("Empty: add a song from its page (“Add to the class playlist”).")
    for row in frame.to_dict(orient="records"):
        cols = st.columns([6, 1] if owner else [1], vertical_alignment="center")
        by = f" · added by {_text.md(row['added_by'])}" if row["added_by"] else ""
        cols[0].markdown(
            f"{int(row['position'])}. **{_text.md(row['title'])}** · {_text.md(row['artist'])}{by}"
        )
        if owner:
            cols[1].button("", key=f"board_remove_{row['track_id']}", icon=":material/playlist_remove:",
                           on_click=_remove, args=(int(row["track_id"]),), help="Remove from the class playlist")  # fmt: skip


@st.fragment(run_every=REFRESH_S)
def live() -> None:
    if _cache.catalog() is not cat:  # a new build became the catalog: the whole page again
        st.rerun()
    owner = _access.is_owner()
    error = st.session_state.pop("board_error", None)
    if error:
        st.error(_text.md(error), icon=":material/error:")
    try:
        board = class_board(cat, frame=_cache.map_frame(cat))
    except RecommenderError as error:  # e.g. the database is busy: the next refresh tries again
        st.warning(_text.md(error), icon=":material/hourglass_top:")
        return
    data = board.data
    with st.container(key="board_live"):
        st.markdown(f"### :material/groups: {plural(data.profiles, 'profile')}")
        names = data.joined["name"].tolist()
        more = data.profiles - len(names)
        st.markdown(" · ".join(f"**{_text.md(n)}**" for n in names) + (f" and {more} more" if more > 0 else "")
                    if names else "Nobody yet: scan the code to join.")  # fmt: skip
        left, right = st.columns([3, 2])
        with left:
            _uploads(board, owner)
        with right:
            st.markdown("### :material/trending_up: Most played")
            _songs(data.most_played, "plays")
            st.markdown("### :material/favorite: Most liked")
            _songs(data.most_liked, "likes")
            _class_playlist(data.class_playlist, owner)


live()
