"""The sidebar every page shows: the catalog switch, the profile picker and what the catalog holds."""

from __future__ import annotations

import streamlit as st

from pages import _catalogs, _profile
from pages._cache import summary
from pages._text import md
from recommender.catalog import Catalog
from recommender.errors import RecommenderError
from recommender.words import plural


def sidebar(cat: Catalog | None) -> None:
    """The catalog switch (``pages/_catalogs.py``), the profile picker (``pages/_profile.py``) and what the
    catalog holds, on every page."""
    with st.sidebar:
        _catalogs.sidebar()
        st.markdown("### :material/person: Profile")
        if cat is None:
            st.caption("Profiles appear once a catalog is built.")
        else:
            _profile.sidebar(cat)
        st.divider()
        catalog_status(cat)


def catalog_status(cat: Catalog | None) -> None:
    if cat is None:
        st.caption(":material/info: No catalog built yet.")
        return
    try:
        info = summary(cat)
    except RecommenderError:  # the reason is shown above, under Profile
        st.caption(":material/info: What the catalog holds cannot be read right now.")
        return
    st.caption(
        f"**{md(info['source_label'])}** · {plural(info['tracks'], 'song')} · {plural(len(info['genres']), 'genre')}"
    )
    model = info.get("model")
    if model:
        acc = model.get("test_accuracy")
        acc_text = f" · test accuracy {acc:.0%}" if isinstance(acc, float) else ""
        st.caption(f"Model {md(model['name'])} ({md(model['arch'])}){acc_text}")
    else:
        st.caption("No model yet.")
