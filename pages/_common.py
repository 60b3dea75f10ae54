"""What every page shares: the cached catalog, session state, the profile open, errors, song lists,
build progress.

All of the app's Streamlit caching lives in this file: ``st.cache_resource`` holds the
opened ``Catalog`` (its track store, similarity index and model load lazily inside it);
``st.cache_data`` holds frames, spectrograms and sound traits. Cache keys carry the
build's timestamp and the catalog's revision, so a new build or an upload is picked up
at once (``invalidate`` also drops the old entries).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from pages._access import is_owner
from recommender import plots
from recommender.catalog import Catalog
from recommender.config import Paths
from recommender.describe import FAR_PERCENT, SoundTraits, similarity_percent
from recommender.errors import RecommenderError
from recommender.formats import AUDIO_SUFFIXES
from recommender.words import plural

T = TypeVar("T")

HOME_PAGE = "pages/home.py"
SONG_PAGE = "pages/song.py"

TAGLINE = "A music recommender that listens: it hears songs, not their tags."
AUDIO_TYPES = tuple(s.lstrip(".") for s in AUDIO_SUFFIXES)  # as st.file_uploader takes them

# Session state the app reads everywhere; pages add their own keys with the same guard.
STATE_DEFAULTS = {
    "track_id": None,  # the song the Song page shows
    "found_via": "search",  # how that song was found: stored with its plays
    "flash": None,  # a message to show once, after a rerun or a page switch
}


def init_state() -> None:
    for key, value in STATE_DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value


def mark_routed() -> None:
    """Called by app.py just before it runs the chosen page: this run went through the router."""
    st.session_state._routed = True


def ensure_routed(page_file: str) -> None:
    """Make sure this page runs inside app.py (router, session state, sidebar); first line of every page.

    Because the page files live in a folder named ``pages/``, Streamlit starts in its older
    multipage mode, in which the first visitor of a fresh server who opens a page's URL
    directly (a tab restored after a restart, a shared link) gets that file run on its own,
    without app.py, until app.py's ``st.navigation`` has run once. Here the page ends that
    mode for the server, as ``st.navigation`` does, and reruns: the rerun goes through app.py.
    """
    if st.session_state.pop("_routed", False):
        st.session_state._reroutes = 0
        return
    reroutes = st.session_state.get("_reroutes", 0)
    if reroutes < 2:  # never loop, whatever happens
        st.session_state._reroutes = reroutes + 1
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False  # the switch st.navigation flips (Streamlit 1.67)
        st.rerun()
    init_state()  # still on our own: at least the state the pages rely on


# ---- the catalog, cached ------------------------------------------------------------------------
def _build_stamp(paths: Paths) -> int:
    try:
        return paths.build_info.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@st.cache_resource(show_spinner=False, max_entries=2)
def _open_catalog(home: str, stamp: int) -> Catalog:
    return Catalog.open(home)


def catalog() -> Catalog | None:
    """The built catalog of ``$MUSICREC_HOME`` (default ./artifacts), or None when nothing is built."""
    paths = Paths.at()
    stamp = _build_stamp(paths)
    if not stamp:
        return None
    return _open_catalog(str(paths.home.resolve()), stamp)


def require_catalog(*, model: bool = False) -> Catalog:
    """The catalog; otherwise say how to build one and stop the page."""
    cat = catalog()
    if cat is None:
        from pages import _build

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


# ---- user text -------------------------------------------------------------------------------------
_MARKDOWN_SPECIAL = re.compile(r"""([!-/:-@\[-`{-~])""")  # every ASCII punctuation character


def md(text: object) -> str:
    """User text (a title, an artist, a genre, a profile or file name) made inert for Markdown.

    Streamlit renders Markdown in titles, captions, messages and widget labels: links,
    images, emphasis, LaTeX and colour directives. Every ASCII punctuation character is
    backslash-escaped, which CommonMark shows as the character itself, so user text is
    always shown exactly as typed (whitespace runs folded) and never becomes markup. No
    page passes user text with ``unsafe_allow_html``.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


# ---- errors and messages ------------------------------------------------------------------------
@contextmanager
def user_errors() -> Iterator[None]:
    """Show any error a user can cause as a message in the page, never as a traceback."""
    try:
        yield
    except RecommenderError as error:
        st.error(md(error), icon=":material/error:")


def read_or_stop(read: Callable[[], T]) -> T:
    """``read()`` (a store read the rest of the page needs); if it fails, e.g. while another program
    holds the database, show why and stop the page there."""
    try:
        return read()
    except RecommenderError as error:
        st.error(md(error), icon=":material/error:")
        st.stop()


def flash(message: str) -> None:
    """Show ``message`` (Markdown: pass user text through ``md``) once, on the next run.

    It survives st.rerun and page switches."""
    st.session_state.flash = message


def show_flash() -> None:
    message = st.session_state.get("flash")
    if message:
        st.session_state.flash = None
        st.success(message, icon=":material/check_circle:")


# ---- the profile ----------------------------------------------------------------------------------
# The profile picked lives in ``session_state.user`` and in the page's URL (``?user=NAME``), so a
# reload, or a link a teacher hands out, keeps it; the sidebar puts it back into the URL after
# every page change (Streamlit clears query parameters when the page changes). Picking a profile
# only names it: its plays, likes and playlists are this session's once it gave the profile's PIN.
USER_PARAM = "user"
UNLOCKED = "unlocked_profiles"  # profile key -> the stamp of the PIN this session opened it with


def picked_user() -> str | None:
    """The profile picked in the sidebar or the URL, open or not: only its name may be shown."""
    return st.session_state.get("user")


def _unlocked(cat: Catalog, user: str) -> bool:
    profile = cat.store.profile(user)
    opened = st.session_state.get(UNLOCKED) or {}
    return profile is not None and profile.has_pin and opened.get(profile.key) == profile.stamp


def current_user() -> str | None:
    """The profile this session has open: picked, and opened with its PIN (or by the owner); else None.

    The one gate of user data in the app: every page and button that reads or changes plays,
    likes or playlists asks here, so a profile picked without its PIN is nobody's in this session.
    """
    user = picked_user()
    if not user or is_owner():
        return user or None
    cat = catalog()
    try:
        return user if cat is not None and _unlocked(cat, user) else None
    except RecommenderError:  # the database cannot be read now: nothing of the profile either
        return None


def require_user() -> str:
    """The profile this session has open; otherwise say how to open one and stop the page."""
    user = picked_user()
    if not user:
        st.info("Pick or create a profile in the sidebar: plays, likes and playlists belong to a profile.")
        st.stop()
    cat = catalog()
    if is_owner() or (cat is not None and read_or_stop(lambda: _unlocked(cat, user))):
        return user
    st.info(
        f"**{md(user)}** is protected by a PIN: enter it in the sidebar to see its plays, likes and playlists.",
        icon=":material/lock:",
    )
    st.stop()


def sidebar(cat: Catalog | None) -> None:
    """The profile picker (``pages/_profile.py``) and what the catalog holds, on every page."""
    from pages import _profile

    with st.sidebar:
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


# ---- songs ----------------------------------------------------------------------------------------
def open_song(track_id: int, *, via: str) -> None:
    """Show a song on the Song page; ``via`` says how it was found (kept with its plays)."""
    st.session_state.track_id = int(track_id)
    st.session_state.found_via = via
    st.switch_page(SONG_PAGE)


def open_selected(selection_key: str, track_ids: Sequence[int], *, via: str) -> None:
    """Open the song just selected in a table or on the map (once per new selection)."""
    handled_key = f"{selection_key}__handled"
    if handled_key not in st.session_state:
        st.session_state[handled_key] = None
    picked = tuple(int(t) for t in track_ids)
    if picked and picked != st.session_state[handled_key]:
        st.session_state[handled_key] = picked
        open_song(picked[0], via=via)
    if not picked:
        st.session_state[handled_key] = None


def selected_points(event) -> list[int]:
    """Track ids of the points selected on a map (``customdata`` of each point)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    ids = []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, list | tuple):
            data = data[0] if data else None
        if data is not None:
            ids.append(int(data))
    return ids


def selected_rows(event) -> list[int]:
    try:
        return [int(r) for r in event["selection"]["rows"]]
    except (KeyError, TypeError):
        return []


def genre_label(genre: str, palette: dict[str, str]) -> str:
    """Markdown: a dot in the genre's colour, then the genre's name (escaped: genres come from tags)."""
    color = palette.get(genre, plots.OTHER_COLOR)
    return f':color[●]{{foreground="{color}"}} {md(genre)}'


SIMILARITY_CAPTION = (
    "Similarity: 100 % is the same sound, 90 % as close as songs of this catalog usually are to their "
    f"nearest neighbour; below {FAR_PERCENT:.0f} % a song is far."
)


def song_list(
    cat: Catalog,
    frame: pd.DataFrame,
    *,
    key: str,
    via: str,
    notes: Sequence[str] | None = None,
    score_caption: str = "Score: cosine similarity of the songs' embeddings (1 = sounds the same).",
    extras: Sequence[tuple[str, str]] = (),
    queue: str | None = None,
    similarity: bool = False,
) -> tuple[str, int] | None:
    """Songs as rows: title and artist, genre, score, a line of ``notes``, Play and Open buttons.

    ``similarity``: the scores are cosine similarities to one song or clip: shown as a
    percentage read against the catalog's own nearest neighbours, far ones said to be far.
    ``queue``: the playlist these rows are, in order: Play goes on through the following
    rows, and the row playing from it is marked.

    ``extras`` are ``(label, icon)`` of more buttons per row; returns ``(label, track_id)``
    of the extra button pressed, else None. Play records the play and plays the song in the app's
    one player (``pages/_player.py``).
    """
    from pages import _gone, _player

    if frame is None or not len(frame):
        st.caption("Nothing here yet.")
        return None
    palette = colors(cat)
    pressed = None
    playing = _player.now_playing()
    current = (
        playing["queue"][1] if queue and playing and (playing.get("queue") or ("",))[0] == queue else None
    )
    calibration = ((cat.model_info or {}).get("calibration") or {}) if similarity else {}
    if "score" in frame and frame["score"].notna().any():
        st.caption(SIMILARITY_CAPTION if similarity else score_caption)
    widths = [6, 2, 1.1] + [0.7] * (2 + len(extras))
    for i, row in enumerate(frame.to_dict(orient="records")):
        tid = int(row["track_id"])
        cols = st.columns(widths, vertical_alignment="center")
        note = f"  \n:gray[{md(notes[i])}]" if notes is not None and notes[i] else ""
        score = row.get("score")
        percent = (
            None
            if not similarity or score is None or pd.isna(score)
            else similarity_percent(score, calibration)
        )
        if percent is not None and percent < FAR_PERCENT:
            note = "  \n:orange[Far: the least different song, not a sound-alike.]" + (
                f" :gray[{md(notes[i])}]" if notes is not None and notes[i] else ""
            )
        if _gone.is_gone(row):
            cols[0].markdown(f":gray[~~{md(row['title'])}~~ · {md(row['artist'])}]  \n:orange[{_gone.GONE}.]")
            _gone.forget_button(cols[3], cat, row, key=f"{key}-gone-{i}-{tid}")
            continue
        if i == current:
            cols[0].markdown(
                f":blue[:material/graphic_eq: **{md(row['title'])}** · {md(row['artist'])} · playing]{note}"
            )
        else:
            cols[0].markdown(f"**{md(row['title'])}** · {md(row['artist'])}{note}")
        cols[1].markdown(genre_label(str(row["genre"]), palette))
        if percent is not None:
            cols[2].markdown(f"`{percent:.0f} %`")
        elif score is not None and not pd.isna(score):
            cols[2].markdown(f"`{score:.2f}`")
        _player.play_button(
            cols[3], tid, key=f"{key}-play-{i}-{tid}", via=via, queue=(queue, i) if queue else None
        )
        if cols[4].button(
            "", key=f"{key}-open-{i}-{tid}", icon=":material/open_in_new:", help="Open the song"
        ):
            open_song(tid, via=via)
        for j, (label, icon) in enumerate(extras):
            if cols[5 + j].button("", key=f"{key}-x{j}-{i}-{tid}", icon=icon, help=label):
                pressed = (label, tid)
    return pressed


def pick_track(cat: Catalog, *, key: str, label: str) -> int | None:
    """Search a song by title/artist/album and pick one of the matches; returns its track id."""
    query = st.text_input(label, key=f"{key}-query", placeholder="title, artist or album")
    if not query.strip():
        return None
    with user_errors():
        found = cat.search(query, k=20)
        if not len(found):
            st.caption("No match.")
            return None
        ids = found["track_id"].astype(int).tolist()
        names = {int(r.track_id): f"{r.title} · {r.artist} ({r.genre})" for r in found.itertuples()}
        return st.selectbox(
            "Match", ids, format_func=names.get, key=f"{key}-pick", label_visibility="collapsed"
        )
    return None


# ---- build progress -------------------------------------------------------------------------------
STAGE_LABELS = {
    "synthesise": "Synthesising the demo songs",
    "read metadata": "Reading the FMA metadata",
    "scan folder": "Scanning the music folder",
    "features": "Computing log-mel spectrograms",
    "load model": "Loading the model",
    "training": "Training the genre CNN",
    "embeddings": "Embedding every song",
    "map": "Laying out the map (UMAP)",
    "index": "Building the similarity index",
    "evaluation": "Evaluating against baselines",
    "read features": "Reading the sound features",
    "fitting the head": "Fitting the genre head",
    "backbone embedding": "Embedding with the backbone alone",
    "alternatives": "Comparing the other models",
}
_EPOCH_INFO = re.compile(r"(?<!val_)acc\s+([\d.]+).*?val_acc\s+([\d.]+)")


class StreamlitProgress:
    """The build's ``Progress`` in a page: one progress bar per stage, live training curves."""

    def __init__(self, box=None) -> None:
        self.box = box if box is not None else st.container()
        self.bar = None
        self.name: str | None = None
        self.started = 0.0
        self.curves = None
        self.epochs: list[dict] = []
        self.notes: list[str] = []

    def _label(self) -> str:
        return STAGE_LABELS.get(self.name or "", (self.name or "").capitalize())

    def stage(self, name: str, total: int | None = None) -> None:
        self.finish()
        self.name, self.started = name, time.perf_counter()
        self.bar = self.box.progress(0.0, text=f"{self._label()} …")
        if name == "training":
            self.epochs = []
            self.curves = self.box.empty()

    def advance(self, done: int, total: int, info: str = "") -> None:
        if self.bar is None:
            return
        fraction = min(1.0, done / total) if total else 0.0
        text = f"{self._label()}: {done:,} / {total:,}" + (f" · {info}" if info else "")
        self.bar.progress(fraction, text=text)
        match = _EPOCH_INFO.search(info or "")
        if self.name == "training" and match and self.curves is not None:
            self.epochs.append({"epoch": done, "accuracy": float(match[1]), "val_accuracy": float(match[2])})
            self.curves.plotly_chart(plots.training_curves_figure(pd.DataFrame(self.epochs), height=260))

    def note(self, message: str) -> None:
        self.notes.append(message)

    def finish(self) -> None:
        """Mark the current stage done (with its duration)."""
        if self.bar is not None:
            seconds = time.perf_counter() - self.started
            self.bar.progress(1.0, text=f":material/check: {self._label()} · {seconds:.1f} s")
        self.bar = None

    def show_notes(self) -> None:
        if self.notes:
            with self.box.expander(f"{len(self.notes)} notes from the build"):
                st.text("\n".join(self.notes[:200]))


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
