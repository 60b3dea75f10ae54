"""History: the profile's plays and skips, newest first, with when and how each song was found."""

import streamlit as st

from pages import _require, _routing, _songs, _text, _user
from recommender.words import plural

_routing.ensure_routed(__file__)

st.title(":material/history: History")
st.caption(
    "Every song you played or skipped, newest first: your recommendations and the radio are built from it."
)
_text.show_flash()
cat = _require.require_catalog()
user = _user.require_user()

with _text.user_errors():
    plays = cat.store.history_with_skips(user)
    if not len(plays):
        st.info(
            "No plays yet. Press Play on any song and it will show up here.", icon=":material/headphones:"
        )
        st.stop()
    skipped = plays["event"].eq("skip")
    st.caption(
        f"{plural(int((~skipped).sum()), 'play')} and {plural(int(skipped.sum()), 'skip')} "
        f"of {plural(plays['track_id'].nunique(), 'song')}"
    )
    plays["what"] = plays["event"].map({"play": "played", "skip": "skipped"})
    gone = plays.loc[~plays["in_catalog"].astype(bool)].drop_duplicates("track_id")
    if len(gone):
        names = ", ".join(f"“{_text.md(t)}”" for t in gone["title"].head(5)) + (
            ", …" if len(gone) > 5 else ""
        )
        st.warning(
            f"{plural(len(gone), 'song')} you played {'is' if len(gone) == 1 else 'are'} no longer in the "
            f"catalog: {names}. {'It' if len(gone) == 1 else 'They'} cannot be played.",
            icon=":material/music_off:",
        )
        if st.button("Remove them from my history and playlists", key="history_forget_gone"):
            for row in gone.to_dict(orient="records"):
                cat.store.forget_track(user, int(row["track_id"]))
            _text.flash(f"Removed {plural(len(gone), 'song')} no longer in the catalog.")
            st.rerun()
    columns = [
        c
        for c in ("played_at", "what", "title", "artist", "genre", "source", "in_catalog", "track_id")
        if c in plays
    ]
    event = st.dataframe(
        plays[columns],
        key="history_table",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "played_at": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm:ss"),
            "what": st.column_config.TextColumn("played or skipped"),
            "source": st.column_config.TextColumn("found via"),
            "in_catalog": st.column_config.CheckboxColumn("in the catalog"),
            "track_id": st.column_config.NumberColumn("id", format="%d"),
        },
    )
    rows = _songs.selected_rows(event)
    found = plays.iloc[rows[0]]["source"] if rows else None
    via = str(found) if isinstance(found, str) else "search"  # found again the way it was found first
    _songs.open_selected("history_table", [plays.iloc[r]["track_id"] for r in rows], via=via)

    with st.popover("Clear history", icon=":material/delete_sweep:"):
        st.write("Forget every play and skip of this profile? Likes and playlists stay.")
        if st.button("Clear my history", key="history_clear", type="primary"):
            cat.store.clear_history(user)
            _text.flash("Your history is cleared.")
            st.rerun()
