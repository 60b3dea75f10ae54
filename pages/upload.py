"""Upload a clip: what the model hears in it, the songs like it, where it falls on the map.

The clip can then join the catalog: saved under a generated name, embedded and indexed
at once, so it shows up on the map and among other songs' neighbours.
"""

import pandas as pd
import streamlit as st

from pages import _access, _cache, _common, _require, _routing, _songs, _text, _user
from recommender import plots
from recommender.audio import can_decode
from recommender.describe import NEIGHBOURS_FOR_VERDICT, genre_verdict, merge_tags, sound_traits, why
from recommender.uploads import default_title, upload_quota

_routing.ensure_routed(__file__)

ALL = "All genres"

st.title(":material/upload: Upload a clip")
limit_mb = int(st.get_option("server.maxUploadSize"))
st.caption(
    f"{', '.join(t.upper() for t in _common.AUDIO_TYPES)} · at least 3 seconds · up to {limit_mb} MB. "
    + ("" if can_decode(".m4a") else "M4A and AAC need ffmpeg, which this server lacks. ")
    + "The model listens to the centre 30 s of longer files."
)
_text.show_flash()
cat = _require.require_catalog(model=True)

uploaded = st.file_uploader("Audio clip", type=list(_common.AUDIO_TYPES), key="upload_file")
if uploaded is None:
    st.stop()

with _text.user_errors():
    data = uploaded.getvalue()
    clip = _cache.analyse_clip(cat, data, uploaded.name)
    palette = _cache.colors(cat)
    heard = ", ".join(_text.md(t) for t in list(merge_tags(clip.tags))[:3])
    novelty = cat.novelty_of(clip)
    unlike = novelty.unlike
    nearest = cat.similar_to_clip(clip, k=NEIGHBOURS_FOR_VERDICT)
    verdict = genre_verdict(clip.genre_probabilities, nearest["genre"].tolist(), unlike_catalog=unlike)
    name = f"**{_text.md(uploaded.name)}**"
    if verdict.genre is None:
        st.info(f"In {name} the model hears {heard}.", icon=":material/hearing:")
    elif verdict.confident:
        st.success(
            f"{name} sounds most like **{_text.md(verdict.genre)}** ({verdict.probability:.0%}), "
            f"as do its closest songs; the model hears {heard}.",
            icon=":material/hearing:",
        )
    elif verdict.reason == "neighbours":
        st.info(
            f"{name} is hard to place: the model's best guess is {_text.md(verdict.genre)} "
            f"({verdict.probability:.0%}), but its closest songs are mostly {_text.md(verdict.neighbour_genre)}. "
            f"The model hears {heard}.",
            icon=":material/help:",
        )
    elif verdict.reason == "unsure":
        st.info(
            f"{name} fits no genre clearly: the best guess is {_text.md(verdict.genre)} "
            f"({verdict.probability:.0%}). The model hears {heard}.",
            icon=":material/help:",
        )
    else:
        st.info(f"In {name} the model hears {heard}.", icon=":material/hearing:")
    if unlike:
        synthesised = _cache.summary(cat)["synthesised"] and novelty.reason == "far"
        st.warning(
            f"**This clip is unlike the catalog: {_text.md(novelty.message)}.** No genre fits it, and the "
            "songs below are only the least different ones."
            + (
                " This demo catalog is synthesised: real recordings will not match its styles well."
                if synthesised
                else ""
            ),
            icon=":material/warning:",
        )

    left, right = st.columns([3, 2])
    with left:
        st.subheader("What the model hears")
        st.plotly_chart(plots.spectrogram_figure(clip.mel, config=cat.config), key="upload_spectrogram")
    with right:
        if clip.genre_probabilities and not unlike:  # a genre of a clip unlike the catalog would mislead
            st.subheader("Genre probabilities")
            st.plotly_chart(
                plots.genre_probability_figure(clip.genre_probabilities, colors=palette), key="upload_genres"
            )
        st.subheader("Tags")
        st.plotly_chart(plots.tag_figure(merge_tags(clip.tags)), key="upload_tags")
        st.caption("Tags are what the pretrained model hears in the audio: predictions, not metadata.")

    st.subheader("Songs that sound like it")
    cols = st.columns([1, 2], vertical_alignment="bottom")
    k = cols[0].slider("How many", 3, 30, 10, key="upload_k")
    all_genres = _cache.genres(cat)
    genre = cols[1].selectbox("Genre", [ALL, *all_genres], key="upload_genre_filter")
    similar = cat.similar_to_clip(clip, k=int(k), genre=None if genre == ALL else genre)
    mine = sound_traits(clip.mel, clip.genre_probabilities, tags=clip.tags, config=cat.config)
    reasons = [why(mine, _cache.traits(cat, tid)) for tid in similar["track_id"]]
    _songs.song_list(cat, similar, key="upload_similar", via="upload", notes=reasons, similarity=True)

    st.subheader("Where it falls on the map")
    x, y = cat.locate(clip)
    mark = pd.DataFrame({"x": [x], "y": [y], "label": ["your clip"]})
    st.plotly_chart(
        plots.map_figure(
            _cache.map_frame(cat), colors=palette, highlight=mark, highlight_name="your clip", height=480
        ),
        key="upload_map",
    )

    st.subheader("Add it to the catalog")
    user, owner = _user.current_user(), _access.is_owner()
    clips, limit = upload_quota()
    if not owner:
        used = cat.store.upload_usage(user) if user else None
        st.caption(
            f"Each profile may add {clips} clips ({limit / 1e6:.0f} MB in all)"
            + (f"; {_text.md(user)} has added {used.clips} ({used.bytes / 1e6:.1f} MB)." if used else
               ". Pick a profile in the sidebar to add clips.")
            + " The profile that added a clip can delete it on its song page."
        )  # fmt: skip
    with st.form("upload_add_form"):
        cols = st.columns(3)
        title = cols[0].text_input("Title", value=default_title(uploaded.name), key="upload_title")
        artist = cols[1].text_input("Artist", value=_user.current_user() or "", key="upload_artist")
        guessed = next(iter(clip.genre_probabilities), None)
        choice = genre if genre != ALL else guessed
        genre = cols[2].selectbox(
            "Genre",
            all_genres,
            index=all_genres.index(choice) if choice in all_genres else 0,
            key="upload_genre",
        )
        add = st.form_submit_button(
            "Add to the catalog", icon=":material/library_add:", type="primary", key="upload_add"
        )
    if add:
        track_id = cat.add_upload(
            data,
            filename=uploaded.name,
            title=title,
            artist=artist,
            genre=genre,
            user=user,
            limited=not owner,
        )
        _cache.after_upload()
        _text.flash(f"“{_text.md(title)}” is in the catalog now.")
        _routing.open_song(track_id, via="upload")
