"""Song: listen, see what the model hears, and find the songs that sound most like it.

A play is recorded when the user presses Play (st.audio reports no play event): the
app's one player (in the sidebar) plays it, and the play goes to the profile's history
with how the song was found (search, map, similar, …).
"""

import re

import streamlit as st

from pages import _access, _cache, _gone, _player, _require, _routing, _songs, _text, _user
from recommender import plots
from recommender.describe import merge_tags, why
from recommender.errors import RecommenderError, UserInputError
from recommender.uploads import may_delete

_routing.ensure_routed(__file__)

TAGS_CAPTION = (
    "Tags are what the pretrained model hears in the audio (predictions of musicnn's taggers), not "
    "the song's metadata."
)

if "song_k" not in st.session_state:
    st.session_state.song_k = 10

cat = _require.require_catalog(model=True)


def not_found(why: str) -> None:
    """A link to no song of this catalog: say so, offer the ways to find one, and stop the page."""
    st.title(":material/music_off: Song not found")
    st.warning(f"{_text.md(why)}. The link may come from another catalog, or the song was removed.")
    st.page_link("pages/search.py", label="Search a song", icon=":material/search:")
    st.page_link("pages/explore.py", label="Explore the map", icon=":material/scatter_plot:")
    st.stop()


# A song can be opened by a link (?track=ID) as well as from another page.
if "song_link" not in st.session_state:
    st.session_state.song_link = None
param = st.query_params.get("track")
if param and not re.fullmatch(r"[0-9]{1,18}", param.strip()):
    not_found(f"“{param}” is not a song number")
if param and param != st.session_state.song_link:
    st.session_state.song_link = param
    st.session_state.track_id = int(param)
    st.session_state.found_via = "link"
track_id = st.session_state.track_id
if track_id is None:
    st.title(":material/music_note: Song")
    st.info("No song open yet: pick one on Search or Explore, or from your recommendations.")
    st.page_link("pages/search.py", label="Search a song", icon=":material/search:")
    st.stop()
try:
    track = cat.track(track_id)
except UserInputError:
    not_found("There is no such song in this catalog")
except RecommenderError as error:  # e.g. another program holds the database
    st.title(":material/music_note: Song")
    st.error(_text.md(error), icon=":material/error:")
    st.stop()
if not track.get("in_catalog", True):  # kept for the playlists and plays that refer to it
    st.title(f":material/music_off: {_text.md(track['title'])}")
    _text.show_flash()
    st.warning(
        f"{_gone.GONE}: the catalog was rebuilt without it. Its title stays in your playlists and history "
        "until you remove it.",
        icon=":material/music_off:",
    )
    if _user.current_user():
        _gone.forget_button(st, cat, track, key="song_forget_gone")
        st.caption("Remove it from your playlists and history.")
    st.page_link("pages/search.py", label="Search a song", icon=":material/search:")
    st.stop()

with _text.user_errors():
    st.query_params["track"] = st.session_state.song_link = str(track_id)
    user = _user.current_user()
    _text.show_flash()
    st.title(f":material/music_note: {_text.md(track['title'])}")
    palette = _cache.colors(cat)
    st.markdown(
        f"**{_text.md(track['artist'])}** · {_text.md(track.get('album') or '—')} · "
        + _songs.genre_label(str(track["genre"]), palette)
    )

    actions = st.container(horizontal=True, vertical_alignment="center")
    _player.play_button(
        actions, track_id, key="song_play", via=st.session_state.found_via, label="Play", type="primary",
        icon=":material/play_arrow:",
    )  # fmt: skip
    actions.button("Radio", key="song_radio", icon=":material/radio:", on_click=_player.start_radio,
                   args=("track", track_id), help="A station that starts here and learns from your skips and likes")  # fmt: skip
    if actions.button(
        "Add to mix", key="song_mix", icon=":material/science:", help="Song alchemy, on Discover"
    ):
        mixed = st.session_state.get("mix_add") or []
        st.session_state.mix_add = [*mixed, int(track_id)] if int(track_id) not in mixed else mixed
        _text.flash(f"“{_text.md(track['title'])}” is in the mix (Discover).")
        st.rerun()
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
                    with _text.user_errors():
                        if name not in names:
                            cat.store.create_playlist(user, name)
                        cat.store.add_to_playlist(user, name, track_id)
                        _text.flash(f"Added “{_text.md(track['title'])}” to {_text.md(name)}.")
                        st.rerun()
        if actions.button("Add to the class playlist", key="song_class_playlist", icon=":material/groups:"):
            with _text.user_errors():
                cat.store.add_to_class_playlist(user, track_id)
                _text.flash(f"Added “{_text.md(track['title'])}” to the class playlist (Class board).")
                st.rerun()
    else:
        actions.caption("Pick a profile in the sidebar to like songs, keep playlists and a history.")
    if track.get("source") == "upload" and may_delete(cat, track_id, user=user, owner=_access.is_owner()):
        with actions.popover("Delete", icon=":material/delete:"):
            st.write(
                "Delete this clip from the catalog, for everyone? Plays, likes and playlist places go too."
            )
            if st.button("Delete the clip", key="song_delete_upload", type="primary"):
                title = cat.delete_upload(track_id, user=user, owner=_access.is_owner())
                _cache.after_upload()
                _text.flash(f"“{_text.md(title)}” is deleted.")
                st.session_state.track_id = st.session_state.song_link = None
                st.query_params.pop("track", None)
                st.switch_page("pages/search.py")

    if _player.is_playing(track_id):
        st.caption(":material/graphic_eq: Playing, in the sidebar. Each listen goes to your history.")
    else:
        st.caption("Press Play to listen; each listen goes to your history.")

    left, right = st.columns([3, 2])
    with left:
        st.subheader("What the model hears")
        st.plotly_chart(
            plots.spectrogram_figure(_cache.mel(cat, track_id), config=cat.config), key="song_spectrogram"
        )
        st.caption("Log-mel spectrogram of the 30 s the model listens to (colour: loudness in dB).")
    with right:
        probabilities = cat.genre_probabilities(track_id)
        if probabilities:
            st.subheader("Genre probabilities")
            st.plotly_chart(plots.genre_probability_figure(probabilities, colors=palette), key="song_genres")
        st.subheader("The model hears")
        st.plotly_chart(plots.tag_figure(merge_tags(cat.tags(track_id, n=None))), key="song_tags")
        st.caption(TAGS_CAPTION)
        traits = _cache.traits(cat, track_id)
        st.caption(f"Tempo ≈ {traits.tempo_bpm:.0f} BPM · brightness ≈ {traits.brightness_hz / 1000:.1f} kHz")

    st.subheader("Songs that sound like it")
    cols = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    k = cols[0].slider("How many", 3, 30, key="song_k")
    same_genre = cols[1].toggle("Same genre only", key="song_same_genre")
    other_albums = cols[2].toggle(
        "Other albums only", key="song_other_albums", help="Leave out the songs of this song's own album."
    )
    similar = cat.similar(
        track_id, k=int(k), genre=str(track["genre"]) if same_genre else None,
        other_than="album" if other_albums else None,
    )  # fmt: skip
    reasons = [why(traits, _cache.traits(cat, tid)) for tid in similar["track_id"]]
    _songs.song_list(cat, similar, key="song_similar", via="similar", notes=reasons, similarity=True)
