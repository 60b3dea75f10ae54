"""Search: find songs by title, artist or album (typos forgiven), filter by genre, sort; open one."""

import streamlit as st

from pages import _common

_common.ensure_routed(__file__)

SORTS = {
    "Best match": None,
    "Title": ["title", "artist"],
    "Artist": ["artist", "title"],
    "Genre": ["genre", "title"],
}
ALL = "All genres"

st.title(":material/search: Search")
st.caption("Title, artist or album — a typo or two is fine. Select a row to open the song.")
cat = _common.require_catalog()

cols = st.columns([4, 2, 2, 1], vertical_alignment="bottom")
query = cols[0].text_input("Search", key="search_query", placeholder="e.g. midnight, Velvet Drive, …")
genre = cols[1].selectbox("Genre", [ALL, *_common.genres(cat)], key="search_genre")
sort = cols[2].selectbox("Sort by", list(SORTS), key="search_sort")
k = cols[3].number_input("Results", min_value=5, max_value=500, value=50, step=5, key="search_k")

with _common.user_errors():
    results = cat.search(query.strip() or None, genre=None if genre == ALL else genre, k=int(k))
    if SORTS[sort]:
        results = results.sort_values(SORTS[sort], kind="stable", key=lambda c: c.astype(str).str.lower())
    results = results.reset_index(drop=True)
    if not len(results):
        st.warning("No song matches. Try fewer words, another spelling, or all genres.")
        st.stop()
    st.caption(f"{len(results)} songs" + (f" matching “{_common.md(query)}”" if query.strip() else ""))
    columns = [c for c in ("title", "artist", "album", "genre", "track_id") if c in results]
    event = st.dataframe(
        results[columns],
        key="search_table",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        column_config={"track_id": st.column_config.NumberColumn("id", format="%d")},
    )
    rows = _common.selected_rows(event)
    _common.open_selected("search_table", [results.loc[r, "track_id"] for r in rows], via="search")
