"""Songs in a page: lists with Play and Open buttons, picking a song, opening what was selected."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from pages import _gone, _player
from pages._cache import colors
from pages._routing import open_song
from pages._text import md, user_errors
from recommender import plots
from recommender.catalog import Catalog
from recommender.describe import FAR_PERCENT, similarity_percent


def open_selected(selection_key: str, track_ids: Sequence[int], *, via: str) -> None:
    """Open the song just selected in a table or on the map (once per new selection)."""
    handled_key = f"{selection_key}__handled"
    if handled_key not in st.session_state:
        st.session_state[handled_key] = None
    picked = tuple(int(t) for t in track_ids)
    if picked and picked != st.session_state[handled_key]:
        st.session_state[handled_key] = picked
        open_song(picked[0], via=via)
    if not picked:
        st.session_state[handled_key] = None


def selected_points(event) -> list[int]:
    """Track ids of the points selected on a map (``customdata`` of each point)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    ids = []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if data is not None:
            ids.append(int(data))
    return ids


def selected_rows(event) -> list[int]:
    try:
        return [int(r) for r in event["selection"]["rows"]]
    except (KeyError, TypeError):
        return []


def genre_label(genre: str, palette: dict[str, str]) -> str:
    """Markdown: a dot in the genre's colour, then the genre's name (escaped: genres come from tags)."""
    color = palette.get(genre, plots.OTHER_COLOR)
    return f':color[●]{{foreground="{color}"}} {md(genre)}'


SIMILARITY_CAPTION = (
    "Similarity: 100 % is the same sound, 90 % as close as songs of this catalog usually are to their "
    f"nearest neighbour; below {FAR_PERCENT:.0f} % a song is far."
)


def song_list(
    cat: Catalog,
    frame: pd.DataFrame,
    *,
    key: str,
    via: str,
    notes: Sequence[str] | None = None,
    score_caption: str = "Score: cosine similarity of the songs' embeddings (1 = sounds the same).",
    extras: Sequence[tuple[str, str]] = (),
    queue: str | None = None,
    similarity: bool = False,
) -> tuple[str, int] | None:
    """Songs as rows: title and artist, genre, score, a line of ``notes``, Play and Open buttons.

    ``similarity``: the scores are cosine similarities to one song or clip: shown as a
    percentage read against the catalog's own nearest neighbours, far ones said to be far.
    ``queue``: the playlist these rows are, in order: Play goes on through the following
    rows, and the row playing from it is marked.

    ``extras`` are ``(label, icon)`` of more buttons per row; returns ``(label, track_id)``
    of the extra button pressed, else None. Play records the play and plays the song in the app's
    one player (``pages/_player.py``).
    """
    if frame is None or not len(frame):
        st.caption("Nothing here yet.")
        return None
    palette = colors(cat)
    pressed = None
    playing = _player.now_playing()
    current = (
        playing["queue"][1] if queue and playing and (playing.get("queue") or ("",))[0] == queue else None
    )
    calibration = ((cat.model_info or {}).get("calibration") or {}) if similarity else {}
    if "score" in frame and frame["score"].notna().any():
        st.caption(SIMILARITY_CAPTION if similarity else score_caption)
    widths = [6, 2, 1.1] + [0.7] * (2 + len(extras))
    for i, row in enumerate(frame.to_dict(orient="records")):
        tid = int(row["track_id"])
        cols = st.columns(widths, vertical_alignment="center")
        note = f"  \n:gray[{md(notes[i])}]" if notes is not None and notes[i] else ""
        score = row.get("score")
        percent = (
            None
            if not similarity or score is None or pd.isna(score)
            else similarity_percent(score, calibration)
        )
        if percent is not None and percent < FAR_PERCENT:
            note = "  \n:orange[Far: the least different song, not a sound-alike.]" + (
                f" :gray[{md(notes[i])}]" if notes is not None and notes[i] else ""
            )
        if _gone.is_gone(row):
            cols[0].markdown(f":gray[~~{md(row['title'])}~~ · {md(row['artist'])}]  \n:orange[{_gone.GONE}.]")
            _gone.forget_button(cols[3], cat, row, key=f"{key}-gone-{i}-{tid}")
            continue
        if i == current:
            cols[0].markdown(
                f":blue[:material/graphic_eq: **{md(row['title'])}** · {md(row['artist'])} · playing]{note}"
            )
        else:
            cols[0].markdown(f"**{md(row['title'])}** · {md(row['artist'])}{note}")
        cols[1].markdown(genre_label(str(row["genre"]), palette))
        if percent is not None:
            cols[2].markdown(f"`{percent:.0f} %`")
        elif score is not None and not pd.isna(score):
            cols[2].markdown(f"`{score:.2f}`")
        _player.play_button(
            cols[3], tid, key=f"{key}-play-{i}-{tid}", via=via, queue=(queue, i) if queue else None
        )
        if cols[4].button(
            "", key=f"{key}-open-{i}-{tid}", icon=":material/open_in_new:", help="Open the song"
        ):
            open_song(tid, via=via)
        for j, (label, icon) in enumerate(extras):
            if cols[5 + j].button("", key=f"{key}-x{j}-{i}-{tid}", icon=icon, help=label):
                pressed = (label, tid)
    return pressed


def pick_track(cat: Catalog, *, key: str, label: str) -> int | None:
    """Search a song by title/artist/album and pick one of the matches; returns its track id."""
    query = st.text_input(label, key=f"{key}-query", placeholder="title, artist or album")
    if not query.strip():
        return None
    with user_errors():
        found = cat.search(query, k=20)
        if not len(found):
            st.caption("No match.")
            return None
        ids = found["track_id"].astype(int).tolist()
        names = {int(r.track_id): f"{r.title} · {r.artist} ({r.genre})" for r in found.itertuples()}
        return st.selectbox(
            "Match", ids, format_func=names.get, key=f"{key}-pick", label_visibility="collapsed"
        )
    return None
