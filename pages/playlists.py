"""Playlists: create, rename, delete, add/remove/reorder songs, play, continue, export or import as M3U8/XSPF,
or walk from song A to B."""

from pathlib import Path

import pandas as pd
import streamlit as st

from pages import _access, _cache, _player, _require, _routing, _songs, _text, _user
from recommender import playlists as playlist_files
from recommender import plots
from recommender.words import plural

_routing.ensure_routed(__file__)

for key, value in (("playlists_selected", None), ("playlists_path", None)):
    if key not in st.session_state:
        st.session_state[key] = value

st.title(":material/queue_music: Playlists")
_text.show_flash()
cat = _require.require_catalog(model=True)
user = _user.require_user()
store = cat.store

# ---- choose or create ----------------------------------------------------------------------------
names = _text.read_or_stop(lambda: store.playlists(user)["name"].tolist())
# A widget's value can only be set before it is drawn: a playlist just made is picked here, on the next run.
pending = st.session_state.pop("playlists_pending", None)
if pending in names:
    st.session_state.playlists_selected = pending
if st.session_state.playlists_selected not in names:
    st.session_state.playlists_selected = names[0] if names else None
top = st.columns([3, 2, 2], vertical_alignment="bottom")
top[0].selectbox("Playlist", names, key="playlists_selected", placeholder="No playlist yet")
with top[1].popover("New playlist", icon=":material/add:", use_container_width=True):
    new_name = st.text_input("Name", key="playlists_new_name", max_chars=60)
    if st.button("Create", key="playlists_create", type="primary"):
        with _text.user_errors():
            store.create_playlist(user, new_name)
            _text.flash(f"Created playlist “{_text.md(new_name)}”.")
            st.session_state.playlists_pending = new_name.strip()
            st.rerun()
with top[2].popover("Import a file", icon=":material/upload_file:", use_container_width=True):
    endings = playlist_files.suffixes()
    st.caption(f"An {', '.join(endings)} playlist whose entries are this catalog's audio files.")
    upload = st.file_uploader(
        "Playlist file", type=[s.lstrip(".") for s in endings], key="playlists_import_file"
    )
    import_name = st.text_input(
        "Name", key="playlists_import_name", max_chars=60, placeholder="the file's name"
    )
    if st.button("Import", key="playlists_import", type="primary", disabled=upload is None):
        with _text.user_errors():
            chosen = import_name.strip() or Path(upload.name).stem.strip()
            found = cat.import_playlist(
                user, chosen, upload.getvalue(), file_name=upload.name, bases=(_access.music_base(cat),)
            )
            message = f"Imported {plural(len(found.track_ids), 'song')} into “{_text.md(chosen)}”."
            if found.skipped:
                shown = ", ".join(f"“{_text.md(e)}”" for e in found.skipped[:5])
                message += f" Skipped {len(found.skipped)} not in the catalog: {shown}" + (
                    ", …" if len(found.skipped) > 5 else "."
                )
            if found.repeated:
                message += f" Left out {len(found.repeated)} listed twice."
            _text.flash(message)
            st.session_state.playlists_pending = chosen
            st.rerun()
name = st.session_state.playlists_selected
if name is None:
    st.info("No playlist yet: create one above, or make one from a path between two songs below.")
else:
    with _text.user_errors():
        songs = store.playlist(user, name)
        head = st.columns([4, 1, 1, 1], vertical_alignment="bottom")
        head[0].subheader(f"{_text.md(name)} · {plural(len(songs), 'song')}")
        via = f"playlist {name}"
        if len(songs):
            _player.play_button(
                head[1], int(songs.iloc[0]["track_id"]), key="playlists_play", via=via, queue=(name, 0),
                label="Play", icon=":material/play_arrow:",
            )  # fmt: skip
        with head[2].popover("Rename", icon=":material/edit:"):
            renamed = st.text_input("New name", value=name, key="playlists_rename_to")
            if st.button("Rename", key="playlists_rename"):
                store.rename_playlist(user, name, renamed)
                st.session_state.playlists_pending = renamed.strip()
                st.rerun()
        with head[3].popover("Delete", icon=":material/delete:"):
            st.markdown(
                f"Delete “{_text.md(name)}” and its {len(songs)} songs list? The songs stay in the catalog."
            )
            if st.button("Delete playlist", key="playlists_delete", type="primary"):
                store.delete_playlist(user, name)
                _text.flash(f"Deleted playlist “{_text.md(name)}”.")
                st.rerun()

        playing = _player.now_playing()
        queue = playing and playing.get("queue")
        if len(songs):  # always drawn, so that the page does not move when a song starts
            position = queue[1] if queue and queue[0] == name and queue[1] < len(songs) else None
            nav = st.container(horizontal=True, vertical_alignment="center")
            for step, label in ((-1, "Previous"), (1, "Next")):
                to = (position or 0) + step
                _player.play_button(
                    nav, int(songs.iloc[min(max(to, 0), len(songs) - 1)]["track_id"]), via=via,
                    key=f"playlists_{label[:4].lower()}", queue=(name, to), label=label,
                    icon=f":material/skip_{label.lower()}:", disabled=position is None or not 0 <= to < len(songs),
                )  # fmt: skip
            if position is None:
                nav.caption(
                    "Play starts the playlist from its first song; Previous and Next step through it."
                )
            else:
                current = songs.iloc[position]
                nav.markdown(
                    f"Now playing {position + 1}/{len(songs)}: **{_text.md(current['title'])}** · "
                    f"{_text.md(current['artist'])}"
                )

        if len(songs):
            base = _access.export_base(cat)
            formats = playlist_files.formats()
            exports = st.columns([1] * len(formats) + [4], vertical_alignment="center")
            for column, fmt in zip(exports, formats, strict=False):
                label = fmt.upper()
                column.download_button(
                    label,
                    data=cat.export_playlist(user, name, fmt=fmt, relative_to=base)[0],
                    file_name=playlist_files.file_name(name, fmt),
                    mime=playlist_files.mime_type(fmt),
                    key=f"playlists_download_{fmt}",
                    icon=":material/download:",
                    help=f"Download this playlist as an {label} file, for any music player",
                )
            exports[-1].caption(
                "Its songs by their audio files' absolute paths: it plays on this computer."
                if base is None
                else "Its songs by their paths in the catalog's music folder."
            )

        action = _songs.song_list(
            cat, songs, key="playlists_songs", via=f"playlist {name}", queue=name,
            extras=[("Move up", ":material/arrow_upward:"), ("Move down", ":material/arrow_downward:"),
                    ("Remove", ":material/remove:")],
        )  # fmt: skip
        if action:
            label, track_id = action
            if label == "Remove":
                store.remove_from_playlist(user, name, track_id)
            else:
                position = int(songs.loc[songs["track_id"] == track_id, "position"].iloc[0])
                target = max(1, min(len(songs), position + (-1 if label == "Move up" else 1)))
                store.move_in_playlist(user, name, track_id, target)
            st.rerun()

        if len(songs):
            st.subheader("Continue this playlist")
            st.caption("Songs that sound like the whole playlist, weighted towards its last songs.")
            more = cat.continue_playlist(user, name, k=5)
            picked = _songs.song_list(
                cat,
                more,
                key="playlists_continue",
                via=f"playlist {name}",
                extras=[("Add", ":material/add:")],
                notes=more["reason"].fillna("").tolist(),
            )
            if picked:
                store.add_to_playlist(user, name, picked[1])
                st.rerun()

# ---- a path between two songs ---------------------------------------------------------------------
st.divider()
st.subheader("A path from one song to another")
st.caption(
    "Songs that move smoothly from the first song's sound to the second's through the songs between them, "
    "each step as small as the catalog allows, no artist twice in a row where it can be helped."
)
with _text.user_errors():
    cols = st.columns(2)
    with cols[0]:
        start = _songs.pick_track(cat, key="playlists_from", label="From")
    with cols[1]:
        end = _songs.pick_track(cat, key="playlists_to", label="To")
    steps = st.slider("Songs in the path", 3, 20, 8, key="playlists_steps")
    if start is not None and end is not None:
        if st.button("Find the path", key="playlists_find_path", icon=":material/route:"):
            st.session_state.playlists_path = (start, end, int(steps))
        if st.session_state.playlists_path == (start, end, int(steps)):
            path = cat.path(start, end, steps=int(steps))
            _songs.song_list(
                cat, path, key="playlists_path_list", via="path",
                score_caption="Score: cosine similarity to the previous song in the path (1 = sounds the same). "
                f"The largest step is the lowest score: {path['score'].iloc[1:].min():.2f}.",
            )  # fmt: skip
            coords = _cache.map_frame(cat).set_index("track_id")
            here = coords.loc[[t for t in path["track_id"] if t in coords.index]]
            mark = pd.DataFrame({"x": here["x"], "y": here["y"], "label": [""] * len(here)})
            if len(mark):
                mark.iloc[[0, -1], mark.columns.get_loc("label")] = ["from", "to"]
            st.plotly_chart(
                plots.map_figure(_cache.map_frame(cat), colors=_cache.colors(cat), highlight=mark, highlight_name="path", connect=True,
                                 height=420),
                key="playlists_path_map",
            )  # fmt: skip
            new = st.text_input("Playlist name", value=f"{path.iloc[0]['title']} to {path.iloc[-1]['title']}",
                                key="playlists_path_name", max_chars=60)  # fmt: skip
            if st.button("Save as a playlist", key="playlists_save_path", type="primary"):
                cat.save_playlist(user, new, path["track_id"].tolist())
                st.session_state.playlists_pending = new.strip()
                _text.flash(f"Saved “{_text.md(new)}” with {plural(len(path), 'song')}.")
                st.rerun()
