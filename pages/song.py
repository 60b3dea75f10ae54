"""Song: listen, see what the model hears, and find the songs that sound most like it.

A play is recorded when the user presses Play (st.audio reports no play event): the
player appears, starts, and the play goes to the profile's history with how the song
was found (search, map, similar, …).
"""

import streamlit as st

from pages import _common
from recommender import plots
from recommender.describe import why

_common.ensure_routed(__file__)

TAGS_CAPTION = (
    "Tags are what the pretrained model hears in the audio (predictions of musicnn's taggers), not "
    "the song's metadata."
)

if "song_k" not in st.session_state:
    st.session_state.song_k = 10
if "song_playing" not in st.session_state:
    st.session_state.song_playing = None

cat = _common.require_catalog(model=True)

# A song can be opened by a link (?track=ID) as well as from another page.
if "song_link" not in st.session_state:
    st.session_state.song_link = None
param = st.query_params.get("track")
if param and param != st.session_state.song_link:
    st.session_state.song_link = param
    if param.isdigit():
        st.session_state.track_id = int(param)
        st.session_state.found_via = "link"
track_id = st.session_state.track_id
if track_id is None:
    st.title(":material/music_note: Song")
    st.info("No song open yet: pick one on Search or Explore, or from your recommendations.")
    st.page_link("pages/search.py", label="Search a song", icon=":material/search:")
    st.stop()

with _common.user_errors():
    track = cat.track(track_id)
    st.query_params["track"] = st.session_state.song_link = str(track_id)
    user = _common.current_user()
    _common.show_flash()
    st.title(f":material/music_note: {_common.md(track['title'])}")
    palette = _common.colors(cat)
    st.markdown(
        f"**{_common.md(track['artist'])}** · {_common.md(track.get('album') or '—')} · "
        + _common.genre_label(str(track["genre"]), palette)
    )

    actions = st.container(horizontal=True, vertical_alignment="center")
    if actions.button("Play", type="primary", icon=":material/play_arrow:", key="song_play"):
        _common.play(cat, track_id, via=st.session_state.found_via)
        st.session_state.song_playing = track_id
    liked = bool(user) and cat.store.is_liked(user, track_id)
    like_label = "Liked" if liked else "Like"
    if actions.button(like_label, icon=":material/favorite:", key="song_like", disabled=not user):
        if liked:
            cat.store.unlike(user, track_id)
        else:
            cat.store.like(user, track_id)
        st.rerun()
    if user:
        names = cat.store.playlists(user)["name"].tolist()
        with actions.popover("Add to playlist", icon=":material/playlist_add:"):
            target = st.selectbox("Playlist", names, key="song_playlist", index=None, placeholder="Choose…")
            new = st.text_input("or a new playlist", key="song_new_playlist")
            if st.button("Add", key="song_add_to_playlist"):
                name = new.strip() or target
                if not name:
                    st.error("Choose a playlist or name a new one.")
                else:
                    with _common.user_errors():
                        if name not in names:
                            cat.store.create_playlist(user, name)
                        cat.store.add_to_playlist(user, name, track_id)
                        _common.flash(f"Added “{_common.md(track['title'])}” to {_common.md(name)}.")
                        st.rerun()
    else:
        actions.caption("Pick a profile in the sidebar to like songs, keep playlists and a history.")

    if st.session_state.song_playing == track_id:
        _common.audio(cat, track_id, autoplay=True)
    else:
        st.caption("Press Play to listen; each listen goes to your history.")

    left, right = st.columns([3, 2])
    with left:
        st.subheader("What the model hears")
        st.plotly_chart(
            plots.spectrogram_figure(_common.mel(cat, track_id), config=cat.config), key="song_spectrogram"
        )
        st.caption("Log-mel spectrogram of the 30 s the model listens to (colour: loudness in dB).")
    with right:
        probabilities = cat.genre_probabilities(track_id)
        if probabilities:
            st.subheader("Genre probabilities")
            st.plotly_chart(plots.genre_probability_figure(probabilities, colors=palette), key="song_genres")
        st.subheader("The model hears")
        st.plotly_chart(plots.tag_figure(cat.tags(track_id, n=8)), key="song_tags")
        st.caption(TAGS_CAPTION)
        traits = _common.traits(cat, track_id)
        st.caption(f"Tempo ≈ {traits.tempo_bpm:.0f} BPM · brightness ≈ {traits.brightness_hz / 1000:.1f} kHz")

    st.subheader("Songs that sound like it")
    cols = st.columns([1, 1, 3], vertical_alignment="bottom")
    k = cols[0].slider("How many", 3, 30, key="song_k")
    same_genre = cols[1].toggle("Same genre only", key="song_same_genre")
    similar = cat.similar(track_id, k=int(k), genre=str(track["genre"]) if same_genre else None)
    reasons = [why(traits, _common.traits(cat, tid)) for tid in similar["track_id"]]
    _common.song_list(cat, similar, key="song_similar", via="similar", notes=reasons)
