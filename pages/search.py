"""Search: find songs by title, artist or album (typos forgiven), filter by genre, sort; open one."""

import streamlit as st

from pages import _cache, _require, _routing, _songs, _text
from recommender.catalog import DESCRIBE_MIN_SCORE
from recommender.words import plural

_routing.ensure_routed(__file__)

SORTS = {
    "Best match": None,
    "Title": ["title", "artist"],
    "Artist": ["artist", "title"],
    "Genre": ["genre", "title"],
}
ALL = "All genres"
ANY_TAG = "Any sound"

st.title(":material/search: Search")
st.caption(
    "Title, artist or album — a typo or two is fine. Every field you fill must hold. Select a row to open the song."
)
cat = _require.require_catalog()

cols = st.columns([4, 2, 2, 2, 1], vertical_alignment="bottom")
query = cols[0].text_input("Search", key="search_query", placeholder="e.g. midnight, Velvet Drive, …")
genre = cols[1].selectbox("Genre", [ALL, *_cache.genres(cat)], key="search_genre")
tag = cols[2].selectbox(
    "The model hears", [ANY_TAG, *sorted(_cache.tag_names(cat))], key="search_tag",
    help="Tags are predictions of the pretrained model: what it hears in each song's audio.",
)  # fmt: skip
sort = cols[3].selectbox("Sort by", list(SORTS), key="search_sort")
k = cols[4].number_input("Results", min_value=5, max_value=500, value=50, step=5, key="search_k")
sounds = st.text_input(
    "Describe the sound", key="search_sounds", placeholder="e.g. calm acoustic guitar, female vocals, fast drums",
    help="Free words matched to the tags the model knows; songs ranked by how strongly it hears them, weak matches left out.",
)  # fmt: skip

with _text.user_errors():
    genre_name = None if genre == ALL else genre
    tag_name = None if tag == ANY_TAG else tag
    text = query.strip() or None
    matched = []
    if sounds.strip():
        results, matched = cat.describe(sounds, k=int(k), genre=genre_name, query=text, tag=tag_name)
    else:
        results = cat.search(text, genre=genre_name, tag=tag_name, k=int(k))
    if SORTS[sort]:
        results = results.sort_values(SORTS[sort], kind="stable", key=lambda c: c.astype(str).str.lower())
    results = results.reset_index(drop=True)
    searched = []
    if text:
        searched.append(f"matching “{_text.md(text)}”")
    if tag_name:
        searched.append(f"in which the model hears **{_text.md(tag_name)}**")
    if genre_name:
        searched.append(f"in **{_text.md(genre_name)}**")
    if matched:
        searched.append("that sound " + ", ".join(f"**{_text.md(t)}**" for t in matched))
    what = " · ".join(searched)
    if not len(results):
        st.warning(
            f"No song {what or 'matches'}. Every field must hold: clear one, or try other words or all genres."
        )
        st.stop()
    st.caption(f"{plural(len(results), 'song')} {what}".strip())
    if matched:
        st.caption(
            "Score: how far above the catalog's usual the model hears those tags, in standard deviations; "
            f"songs below {DESCRIBE_MIN_SCORE} are left out."
        )
    columns = [c for c in ("title", "artist", "album", "genre", "score", "track_id") if c in results and (
        c != "score" or matched)]  # fmt: skip
    event = st.dataframe(
        results[columns],
        key="search_table",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        column_config={
            "track_id": st.column_config.NumberColumn("id", format="%d"),
            "score": st.column_config.NumberColumn("score", format="%.1f"),
        },
    )
    rows = _songs.selected_rows(event)
    _songs.open_selected("search_table", [results.loc[r, "track_id"] for r in rows], via="search")
