"""Discover: sonic playlists found in the catalog, song alchemy, and a radio that learns."""

import pandas as pd
import streamlit as st

from pages import _access, _cache, _player, _require, _routing, _songs, _text, _user
from recommender import playlists as playlist_files
from recommender import plots
from recommender.alchemy import MAX_MIX_SONGS, catalog_mix
from recommender.discover import MAX_PLAYLISTS, export_text
from recommender.words import plural

_routing.ensure_routed(__file__)

for key, value in (("discover_n", "Best"), ("mix_add", []), ("mix_subtract", []), ("mix_tags", [])):
    if key not in st.session_state:
        st.session_state[key] = value

st.title(":material/explore: Discover")
_text.show_flash()
cat = _require.require_catalog(model=True)
user = _user.current_user()

# ---- sonic playlists ------------------------------------------------------------------------------
st.header("Sonic playlists")
st.caption(
    "The catalog's songs grouped by how they sound (their embeddings, clustered), each named by the tags "
    "it has much more than the rest of the catalog."
)
with _text.user_errors():
    choices = ["Best", *range(2, min(MAX_PLAYLISTS, 30) + 1)]
    n = st.selectbox(
        "How many playlists", choices, key="discover_n", help="Best: the number with the best figures"
    )
    found = _cache.sonic_playlists(cat, None if n == "Best" else int(n))
    q = found.quality
    figures = f"silhouette {q['silhouette']:.2f} · size balance {q['balance']:.2f}"
    if "tag_coherence" in q:
        figures += f" · tag coherence {q['tag_coherence']:.2f}"
    if "genre_purity" in q:
        figures += f" · genre purity {q['genre_purity']:.0%}"
    st.caption(f"{plural(len(found.playlists), 'playlist')} by {found.method}: {figures}.")
    titles = _cache.map_frame(cat).set_index("track_id")["title"]
    base = _access.export_base(cat)
    for i, playlist in enumerate(found.playlists):
        with st.expander(f"{_text.md(playlist.name)} · {plural(playlist.size, 'song')}"):
            mix = ", ".join(f"{_text.md(g)} {c}" for g, c in list(playlist.genres.items())[:4])
            st.markdown(
                f"Genres: {mix or '—'}  \nTags: {_text.md(', '.join(playlist.tags)) or '—'}  \n"
                f"Most typical song: **{_text.md(titles.get(playlist.representative, playlist.representative))}**"
            )
            row = st.container(horizontal=True, vertical_alignment="center")
            row.button("Play", key=f"discover_play_{i}", icon=":material/play_arrow:", on_click=_player.start,
                       args=(playlist.track_ids[0], "discover", (playlist.name, 0), playlist.track_ids))  # fmt: skip
            row.button("Radio", key=f"discover_radio_{i}", icon=":material/radio:", on_click=_player.start_radio,
                       args=("playlist", (playlist.name, playlist.track_ids)))  # fmt: skip
            for fmt in playlist_files.formats():
                row.download_button(
                    fmt.upper(), data=export_text(cat, playlist, fmt=fmt, relative_to=base),
                    file_name=playlist_files.file_name(playlist.name, fmt), mime=playlist_files.mime_type(fmt),
                    key=f"discover_download_{fmt}_{i}", icon=":material/download:",
                )  # fmt: skip
            if user and row.button(
                "Save to my playlists", key=f"discover_save_{i}", icon=":material/playlist_add:"
            ):
                cat.save_playlist(user, playlist.name, playlist.track_ids)
                _text.flash(f"Saved “{_text.md(playlist.name)}” to your playlists.")
                st.rerun()
            frame = cat.results([(t, None) for t in playlist.track_ids[:50]])
            _songs.song_list(cat, frame.drop(columns="score"), key=f"discover_songs_{i}", via="discover")
    st.caption("The Explore map can be coloured by these playlists.")

# ---- song alchemy -----------------------------------------------------------------------------------
st.header("Song alchemy")
st.caption(
    "Add songs, take some away, ask for more or less of a tag: the songs nearest the mix. "
    "Songs can also be added from their Song page."
)
with _text.user_errors():
    cols = st.columns(2)
    with cols[0]:
        picked = _songs.pick_track(cat, key="mix_pick", label="Find a song")
    with cols[1]:
        side = st.radio("Put it", ["Add", "Subtract"], key="mix_side", horizontal=True)
        if st.button("Put in the mix", key="mix_put", disabled=picked is None):
            target = "mix_add" if side == "Add" else "mix_subtract"
            if len(st.session_state.mix_add) + len(st.session_state.mix_subtract) >= MAX_MIX_SONGS:
                st.error(f"A mix takes at most {MAX_MIX_SONGS} songs.")
            elif picked not in st.session_state[target]:
                st.session_state[target] = [*st.session_state[target], int(picked)]
    tags = _cache.tag_names(cat)
    more = st.multiselect("More of", tags, key="mix_more", max_selections=5)
    less = st.multiselect("Less of", tags, key="mix_less", max_selections=5)
    for label, key in (("Added", "mix_add"), ("Subtracted", "mix_subtract")):
        ids = st.session_state[key]
        if ids:
            names = ", ".join(f"“{_text.md(titles.get(t, t))}”" for t in ids)
            st.markdown(f"{label}: {names}")
    if st.button("Clear the mix", key="mix_clear"):
        st.session_state.mix_add, st.session_state.mix_subtract = [], []
        st.rerun()
    if st.session_state.mix_add or more:
        mix, result = catalog_mix(
            cat, add=st.session_state.mix_add, subtract=st.session_state.mix_subtract,
            tags=[*more, *(f"-{t}" for t in less)], k=10,
        )  # fmt: skip
        _songs.song_list(cat, result, key="mix_results", via="mix", similarity=True)
        from recommender.projection import locate

        frame = _cache.map_frame(cat)
        rows = [cat.index.rows_[int(t)] for t in frame["track_id"]]
        x, y = locate(mix.vector, cat.index.embeddings_[rows], frame[["x", "y"]].to_numpy())
        mark = pd.DataFrame({"x": [x], "y": [y], "label": ["the mix"]})
        st.plotly_chart(
            plots.map_figure(
                frame, colors=_cache.colors(cat), highlight=mark, highlight_name="the mix", height=420
            ),
            key="mix_map",
        )
        if user:
            name = st.text_input("Playlist name", value="My mix", key="mix_name", max_chars=60)
            if st.button("Save as a playlist", key="mix_save", type="primary"):
                cat.save_playlist(user, name, result["track_id"].tolist())
                _text.flash(f"Saved “{_text.md(name)}” with {plural(len(result), 'song')}.")
                st.rerun()
    else:
        st.caption("Add a song, or ask for more of a tag, to start a mix.")

# ---- radio --------------------------------------------------------------------------------------------
st.header("Radio")
st.caption(
    "A station plays on in the player, choosing each next song from where it started and what you do: "
    "Skip within 30 s and it moves away from that sound; a like or a song heard to the end brings it closer. "
    "Start one from a song (on its page), a sonic playlist (above), a tag, or your taste."
)
with _text.user_errors():
    cols = st.columns([2, 1, 1], vertical_alignment="bottom")
    tag = cols[0].selectbox("Tag", tags, key="radio_tag", index=None, placeholder="Choose a tag")
    cols[1].button("Radio from the tag", key="radio_from_tag", icon=":material/radio:", disabled=tag is None,
                   on_click=_player.start_radio, args=("tag", tag))  # fmt: skip
    cols[2].button("Radio from my taste", key="radio_from_taste", icon=":material/radio:", disabled=not user,
                   on_click=_player.start_radio, args=("taste", None),
                   help=None if user else "Open your profile (with its PIN) first")  # fmt: skip
