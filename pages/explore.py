"""Explore: the catalog as a map. Songs that sound alike sit together; click one to open it."""

import pandas as pd
import streamlit as st

from pages import _cache, _require, _routing, _songs, _text
from recommender import plots
from recommender.model_files import model_description

_routing.ensure_routed(__file__)

st.title(":material/scatter_plot: Explore")
cat = _require.require_catalog(model=True)
st.caption(
    f"Each dot is a song, placed by UMAP from its embedding by the {_text.md(model_description(cat.model_info))}: "
    "neighbours on the map sound alike. Colour is the song's genre label. Hover for title and artist; click a "
    "dot to open the song."
)

with _text.user_errors():
    frame = _cache.map_frame(cat)
    all_genres = _cache.genres(cat)
    chosen = st.multiselect(
        "Genres", all_genres, default=all_genres, key="explore_genres", placeholder="All genres"
    )
    shown = frame[frame["genre"].isin(chosen)] if chosen else frame
    palette = _cache.colors(cat)
    if st.toggle(
        "Colour by sonic playlist", key="explore_by_playlist", help="The playlists of the Discover page"
    ):
        names = _cache.sonic_playlists(cat).playlist_of()
        shown = shown.assign(genre=shown["track_id"].map(names).fillna("(none)"))
        palette = plots.genre_colors(sorted(shown["genre"].unique()))
    highlight = None
    current = st.session_state.track_id
    if current is not None:
        here = frame[frame["track_id"] == current]
        if len(here):
            row = here.iloc[0]
            highlight = pd.DataFrame({"x": [row["x"]], "y": [row["y"]], "label": [row["title"]]})
    st.caption(f"{len(shown):,} of {len(frame):,} songs shown.")
    event = st.plotly_chart(
        plots.map_figure(shown, colors=palette, highlight=highlight, highlight_name="the open song"),
        key="explore_map",
        on_select="rerun",
        selection_mode="points",
        config={"scrollZoom": True, "displaylogo": False},
    )
    _songs.open_selected("explore_map", _songs.selected_points(event), via="map")
