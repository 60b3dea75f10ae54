"""For you: songs for the current profile, each with the reason it was picked."""

import streamlit as st

from pages import _cache, _require, _routing, _songs, _text, _user

_routing.ensure_routed(__file__)

ALL = "All genres"

st.title(":material/recommend: For you")
st.caption("Picked by how songs sound: close to what you play, like and put in playlists.")
cat = _require.require_catalog(model=True)
user = _user.require_user()

cols = st.columns([1, 2, 2], vertical_alignment="bottom")
k = cols[0].number_input("How many", min_value=1, max_value=50, value=10, key="for_you_k")
genre = cols[1].selectbox("Genre", [ALL, *_cache.genres(cat)], key="for_you_genre")
one_per_artist = cols[2].toggle("At most one song per artist", key="for_you_one_per_artist")

with _text.user_errors():
    recs, cold = cat.recommend(
        user, k=int(k), genre=None if genre == ALL else genre, one_per_artist=one_per_artist
    )
    if cold:
        st.info(
            f"Welcome, {_text.md(user)}! There is no listening history for this profile yet, so here is a varied pick "
            "across genres. Play, like or add songs to a playlist and this page will follow your taste.",
            icon=":material/waving_hand:",
        )
    else:
        st.subheader(f"For {_text.md(user)}")
    _songs.song_list(
        cat, recs, key="for_you_list", via="for you", notes=recs["reason"].fillna("").tolist(),
        score_caption="Score: how typical of its genre the song is (cosine to the genre's average)."
        if cold
        else "Score: cosine similarity to your taste (1 = closest).",
    )  # fmt: skip
