"""musicrec in the browser: ``streamlit run app.py``.

This file only routes: page config, the navigation, the catalog this session views, the shared
sidebar (catalog switch, profile picker, catalog status, the owner's password), then the
chosen page runs. Each page lives in ``pages/``.
"""

from pathlib import Path

import streamlit as st

from pages import _access, _build, _cache, _catalogs, _player, _routing, _sidebar

# The tab icon is a file of the project: a Material or emoji icon would be fetched from a font or CDN server.
ICON = Path(__file__).parent / "assets" / "icon.png"
st.set_page_config(page_title="musicrec", page_icon=str(ICON), layout="wide")
_routing.init_state()

pages = {
    "Catalog": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:"),
        st.Page("pages/discover.py", title="Discover", icon=":material/explore:"),
        st.Page("pages/search.py", title="Search", icon=":material/search:"),
        st.Page("pages/song.py", title="Song", icon=":material/music_note:"),
        st.Page("pages/upload.py", title="Upload a clip", icon=":material/upload:"),
    ],
    "You": [
        st.Page("pages/for_you.py", title="For you", icon=":material/recommend:"),
        st.Page("pages/playlists.py", title="Playlists", icon=":material/queue_music:"),
        st.Page("pages/history.py", title="History", icon=":material/history:"),
    ],
    "Class": [
        st.Page("pages/board.py", title="Class board", icon=":material/co_present:"),
    ],
    "Model": [
        st.Page("pages/model.py", title="Model", icon=":material/model_training:"),
    ],
}
page = st.navigation(pages)
_catalogs.follow_url()
cat = _cache.catalog()
_player.show(cat)
_sidebar.sidebar(cat)
_build.sidebar_progress()
_access.sidebar()
_routing.mark_routed()
page.run()
