"""What a page needs before it runs: a built catalog (else why not and where to go)."""

from __future__ import annotations

import streamlit as st

from pages import _build
from pages._cache import catalog
from pages._routing import HOME_PAGE
from pages._text import md
from recommender.catalog import Catalog


def require_catalog(*, model: bool = False) -> Catalog:
    """The catalog; otherwise say how to build one and stop the page."""
    cat = catalog()
    if cat is None:
        state = _build.running()
        if state:
            st.info(
                f"A catalog is being built ({md(_build.progress_words(state).removeprefix('Building: '))}); "
                "this page fills in when the build is done.",
                icon=":material/build:",
            )
            st.page_link(HOME_PAGE, label="See the build", icon=":material/home:")
            st.stop()
        st.info("No catalog yet. Build the demo catalog on the Home page; it takes a few minutes.")
        st.page_link(HOME_PAGE, label="Go to Home", icon=":material/home:")
        st.stop()
    if model and not cat.model_info:
        st.warning("This catalog has no model yet: train one on the Model page.")
        st.page_link("pages/model.py", label="Go to Model", icon=":material/model_training:")
        st.stop()
    return cat
