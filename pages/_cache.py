"""All of the app's Streamlit caching: the opened catalog and what is derived from it.

``st.cache_resource`` holds the opened ``Catalog`` (its track store, similarity index and
model load lazily inside it); ``st.cache_data`` holds frames, spectrograms and sound traits.
Cache keys carry the build's timestamp and the catalog's revision, so a new build or an
upload is picked up at once (``invalidate`` also drops the old entries).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from pages._text import md
from recommender import catalogs, plots
from recommender.catalog import Catalog
from recommender.config import Paths
from recommender.describe import SoundTraits


# ---- the catalog, cached ------------------------------------------------------------------------
def _build_stamp(paths: Paths) -> int:
    try:
        return paths.build_info.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@st.cache_resource(show_spinner=False, max_entries=8)
def _open_catalog(home: str, stamp: int) -> Catalog:
    return Catalog.open(home)


CATALOG_KEY = "catalog"
"""Session state: the name of the catalog this session views (None: the home's current one)."""


def catalog_entry() -> catalogs.Entry | None:
    """The home's catalog this session views: the one it chose while it exists, else the home's current one."""
    chosen = st.session_state.get(CATALOG_KEY)
    found = catalogs.find(chosen) if isinstance(chosen, str) else None
    return found if found is not None and found.built else catalogs.current()


def catalog() -> Catalog | None:
    """The catalog this session views, of ``$MUSICREC_HOME`` (default ./artifacts); None when nothing is built.

    Each catalog is cached by its own folder and build, so one catalog's songs never meet another's map.
    """
    entry = catalog_entry()
    paths = entry.paths if entry is not None else Paths.at()
    stamp = _build_stamp(paths)
    if not stamp:
        return None
    return _open_catalog(str(paths.home.resolve()), stamp)


def _key(cat: Catalog) -> tuple:
    """Cache key of everything derived from the catalog: its home, build time and revision."""
    return str(cat.paths.home), _build_stamp(cat.paths), cat.revision


def invalidate() -> None:
    """Forget every cached catalog and frame: after a build, or a new model."""
    st.cache_data.clear()
    _open_catalog.clear()


@st.cache_data(show_spinner=False, max_entries=4)
def _summary(_cat: Catalog, key: tuple) -> dict:
    return _cat.summary()


def summary(cat: Catalog) -> dict:
    """What the catalog holds (``info --json``): read on every page, so cached."""
    return _summary(cat, _key(cat))


@st.cache_data(show_spinner=False, max_entries=4)
def _map_frame(_cat: Catalog, key: tuple) -> pd.DataFrame:
    return _cat.map_frame()


def map_frame(cat: Catalog) -> pd.DataFrame:
    return _map_frame(cat, _key(cat))


def genres(cat: Catalog) -> list[str]:
    return cat.genres()


def colors(cat: Catalog) -> dict[str, str]:
    return plots.genre_colors(genres(cat))


@st.cache_data(show_spinner=False, max_entries=64)
def _mel(_cat: Catalog, key: tuple, track_id: int) -> np.ndarray:
    return _cat.mel(track_id)


def mel(cat: Catalog, track_id: int) -> np.ndarray:
    return _mel(cat, _key(cat), int(track_id))


@st.cache_data(show_spinner=False, max_entries=2048)
def _traits(_cat: Catalog, key: tuple, track_id: int) -> SoundTraits:
    return _cat.traits(track_id)


def traits(cat: Catalog, track_id: int) -> SoundTraits:
    return _traits(cat, _key(cat), int(track_id))


@st.cache_data(show_spinner=False, max_entries=4)
def _metrics(_cat: Catalog, key: tuple) -> dict:
    return _cat.metrics()


def metrics(cat: Catalog) -> dict:
    return _metrics(cat, _key(cat))


def analyse_clip(cat: Catalog, data: bytes, filename: str):
    """What the model hears in an uploaded clip, with a line saying where it is in the queue.

    Clips from every session take turns (``uploads.ANALYSES``); the result is remembered by
    content in the catalog, so reruns and other sessions with the same clip do not listen again.
    """
    status = st.empty()

    def waiting(position: int) -> None:
        if position == 0:
            status.info(f"Listening to {md(filename)} …", icon=":material/hearing:")
        elif position == 1:
            status.info(
                f"{md(filename)} is next: another clip is being listened to now.",
                icon=":material/hourglass_top:",
            )
        else:
            status.info(
                f"{md(filename)} is waiting its turn: {position - 1} clips are ahead of it, "
                "uploaded by others on this server.",
                icon=":material/hourglass_top:",
            )

    try:
        return cat.analyse_bytes(data, filename=filename, on_wait=waiting)
    finally:
        status.empty()


def after_upload() -> None:
    """The catalog grew: drop frames computed before (new keys would miss them anyway; this frees memory)."""
    _map_frame.clear()
    _summary.clear()


def tag_names(cat: Catalog) -> list[str]:
    """The tags the model knows (from the catalog's map arrays, already in memory)."""
    return cat.tag_names()


@st.cache_data(show_spinner="Finding the catalog's sonic playlists …", max_entries=8)
def _sonic_playlists(_cat: Catalog, key: tuple, n: int | None):
    from recommender.discover import discover_catalog

    return discover_catalog(_cat, n=n)


def sonic_playlists(cat: Catalog, n: int | None = None):
    """The catalog's sonic playlists (``recommender.discover.Discovery``), ``n`` of them (None: the best number)."""
    return _sonic_playlists(cat, _key(cat), n)
