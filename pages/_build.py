"""Building a catalog from the app: the form (demo, music folder, FMA) and the live view of a running build.

The build runs in a process of its own (``recommender.jobs``), so every tab and every
reload shows it, a second one cannot start, and Cancel stops it cleanly while the
previous catalog keeps serving. The options chosen are kept in the home
(``app-build-options.json``), so they survive a reload.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from pages import _common
from recommender import jobs, plots
from recommender.build import SOURCE_LABELS
from recommender.config import Paths
from recommender.errors import RecommenderError

OPTIONS_FILE = "app-build-options.json"
DONE_MESSAGE = "The new catalog is built and in use: explore the map, search, or upload a clip."
ARCHS = {
    "musicnn": "Pretrained backbone (musicnn) + a head fitted on the genres — knows real music",
    "cnn1d": "cnn1d trained from scratch on the genres",
    "seed-2d": "seed-2d trained from scratch on the genres",
}
DEFAULTS = {
    "source": "demo", "tracks": 400, "seed": 0, "audio": "", "metadata": "", "fma_audio": "", "subset": "small",
    "arch": "musicnn", "epochs": 30, "workers": 0,
}  # fmt: skip
_EPOCH = re.compile(r"(?<!val_)acc ([\d.]+) val_acc ([\d.]+)(?: loss ([\d.]+) val_loss ([\d.]+))?")


def _paths() -> Paths:
    return Paths.at()


def _saved_options() -> dict:
    try:
        saved = json.loads((_paths().home / OPTIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    return {k: saved.get(k, v) for k, v in DEFAULTS.items()}


def _save_options(prefix: str) -> None:
    chosen = {k: st.session_state.get(f"{prefix}_{k}", v) for k, v in DEFAULTS.items()}
    path = _paths().home / OPTIONS_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(chosen), encoding="utf-8")
    except OSError:
        pass  # the options are a convenience: an unwritable home is reported when a build starts


def build_form(prefix: str, *, label: str = "Build the catalog") -> None:
    """Source and options of a new build, checked, then started in the background."""
    saved = _saved_options()
    for key, value in saved.items():
        if f"{prefix}_{key}" not in st.session_state:
            st.session_state[f"{prefix}_{key}"] = value

    def remember() -> None:
        _save_options(prefix)

    sources = ["demo", "folder", "fma"]
    source = st.radio(
        "Source", sources, format_func=SOURCE_LABELS.get, key=f"{prefix}_source", horizontal=True,
        on_change=remember,
    )  # fmt: skip
    problem = None
    if source == "demo":
        st.caption(
            "Music the project synthesises itself: eight genres, each with sub-styles and a hybrid. "
            "Works offline; not real music."
        )
        st.number_input("Songs", 24, 4000, step=8, key=f"{prefix}_tracks", on_change=remember)
    elif source == "folder":
        st.text_input(
            "Music folder (a path on this server)", key=f"{prefix}_audio", on_change=remember,
            placeholder="/home/me/Music",
            help="Every audio file below it. Genre: the file's genre tag, else the name of its folder.",
        )  # fmt: skip
        problem = _check_folder(st.session_state[f"{prefix}_audio"])
    else:
        cols = st.columns(3)
        cols[0].text_input("fma_metadata folder", key=f"{prefix}_metadata", on_change=remember)
        cols[1].text_input("Audio folder (fma_small, …)", key=f"{prefix}_fma_audio", on_change=remember)
        cols[2].selectbox("Subset", ["small", "medium", "large"], key=f"{prefix}_subset", on_change=remember)
        problem = _check_fma(st.session_state[f"{prefix}_metadata"], st.session_state[f"{prefix}_fma_audio"])

    with st.expander("Model and options"):
        st.selectbox("Model", list(ARCHS), format_func=ARCHS.get, key=f"{prefix}_arch", on_change=remember)
        cols = st.columns(3)
        cols[0].number_input("Epochs (from scratch only)", 1, 200, key=f"{prefix}_epochs", on_change=remember)
        cols[1].number_input("Seed", 0, 2**31 - 1, key=f"{prefix}_seed", on_change=remember)
        cols[2].number_input(
            "Worker processes (0: all cores)", 0, 64, key=f"{prefix}_workers", on_change=remember
        )
    if st.button(
        label, type="primary", icon=":material/build:", key=f"{prefix}_build", disabled=problem is not None
    ):
        with _common.user_errors():
            jobs.start(_options(prefix))
            st.rerun()


def _options(prefix: str):
    from recommender.build import BuildOptions

    get = lambda key: st.session_state[f"{prefix}_{key}"]  # noqa: E731
    source = get("source")
    return BuildOptions(
        source=source,
        tracks=int(get("tracks")) if source == "demo" else None,
        seed=int(get("seed")),
        audio=Path(get("audio") if source == "folder" else get("fma_audio")).expanduser()
        if source != "demo"
        else None,
        metadata=Path(get("metadata")).expanduser() if source == "fma" else None,
        subset=get("subset"),
        arch=get("arch"),
        epochs=int(get("epochs")),
        workers=int(get("workers")) or None,
    )


def _check_folder(text: str) -> str | None:
    from recommender.sources.folder import folder_summary

    if not text.strip():
        return "no folder"
    try:
        found = folder_summary(Path(text.strip()))
    except RecommenderError as error:
        st.error(_common.md(error), icon=":material/folder_off:")
        return str(error)
    genres = found["genres"]
    labelled = (
        f"{len(genres)} folders as genres" if len(genres) > 1 else "no genre folders (the backbone alone)"
    )
    st.success(
        f"{found['files']:,} audio files, {labelled}"
        + (f"; {found['skipped']} unusable" if found["skipped"] else ""),
        icon=":material/folder_open:",
    )
    return None


def _check_fma(metadata: str, audio: str) -> str | None:
    if not metadata.strip() or not audio.strip():
        return "no folders"
    problems = []
    if not (Path(metadata.strip()).expanduser() / "tracks.csv").is_file():
        problems.append(f"no tracks.csv in {metadata.strip()}")
    if not Path(audio.strip()).expanduser().is_dir():
        problems.append(f"audio folder not found: {audio.strip()}")
    if problems:
        st.error(_common.md("; ".join(problems)), icon=":material/folder_off:")
        return "; ".join(problems)
    return None


# ---- a running build ------------------------------------------------------------------------------
def running() -> dict | None:
    """The state of this home's background build while it runs, else None."""
    state = jobs.status()
    return state if state and state.get("state") == "running" else None


def _still_running() -> dict:
    """The running build's state; once it has ended, the whole page runs again on what it left."""
    state = jobs.status()
    if not state or state.get("state") != "running":
        _common.invalidate()
        if state and state.get("state") == "done":
            _common.flash(DONE_MESSAGE)
        st.rerun(scope="app")
    return state


def show_running(*, key: str) -> None:
    """A running build, updated every second (stage, progress, elapsed, curves), with Cancel."""

    @st.fragment(run_every=1.0)
    def live() -> None:
        state = _still_running()
        _progress(state)
        if st.button("Cancel the build", icon=":material/cancel:", key=f"{key}_cancel"):
            jobs.cancel()
            st.toast("Cancelling: the build stops at its next step; the previous catalog stays.")

    live()


def sidebar_progress() -> None:
    """While a build runs: a line in the sidebar of every page (stage, percent) and a link to it on Home.

    Updated every 2 s while the build runs; when it ends, the whole page runs again on the new catalog.
    Nothing is drawn, and nothing polls, while no build runs.
    """
    if not running():
        return

    @st.fragment(run_every=2.0)
    def live() -> None:
        state = _still_running()
        st.caption(f":material/build: {_common.md(progress_words(state))}")
        st.page_link(_common.HOME_PAGE, label="See the build", icon=":material/home:")

    with st.sidebar:
        st.divider()
        live()


def progress_words(state: dict) -> str:
    """A running build in a few words: "Building: Computing log-mel spectrograms, 42 %"."""
    stage = state.get("stage") or "starting"
    label = _common.STAGE_LABELS.get(stage, stage.capitalize())
    done, total = state.get("done") or 0, state.get("total")
    percent = f", {min(100, int(100 * done / total))} %" if total else ""
    return f"Building: {label}{percent}"


def _progress(state: dict) -> None:
    stage = state.get("stage") or "starting"
    label = _common.STAGE_LABELS.get(stage, stage.capitalize())
    started = datetime.fromisoformat(state["started_at"]).timestamp()
    elapsed = time.time() - started
    source = SOURCE_LABELS.get(state.get("options", {}).get("source"), "catalog")
    st.markdown(f"**Building the {_common.md(source.lower())}** · {_minutes(elapsed)} so far")
    done, total = state.get("done") or 0, state.get("total")
    fraction = min(1.0, done / total) if total else 0.0
    text = f"{label}: {done:,} / {total:,}" if total else f"{label} …"
    st.progress(fraction, text=text)
    if state.get("dashboard"):  # Dask's own pages: workers, tasks, memory (when bokeh is installed)
        st.link_button("Dask dashboard", state["dashboard"], icon=":material/monitoring:")
    stages = state.get("stages", [])
    if len(stages) > 1:
        st.caption("Done: " + " · ".join(_common.STAGE_LABELS.get(s["name"], s["name"]) for s in stages[:-1]))
    rows = []
    for entry in state.get("epochs", []):
        match = _EPOCH.search(entry.get("info", ""))
        if match:
            row = {"epoch": entry["epoch"], "accuracy": float(match[1]), "val_accuracy": float(match[2])}
            if match[3]:
                row |= {"loss": float(match[3]), "val_loss": float(match[4])}
            rows.append(row)
    if rows:
        st.plotly_chart(plots.training_curves_figure(pd.DataFrame(rows), height=260), key="build_curves")


def show_outcome() -> None:
    """How the last background build ended, once, when it failed or was cancelled."""
    state = jobs.status()
    if not state or state.get("state") not in ("failed", "cancelled"):
        return
    seen = st.session_state.setdefault("build_outcomes_seen", set())
    if state.get("finished_at") in seen:
        return
    if state["state"] == "cancelled":
        st.info("The last build was cancelled; the catalog is as it was before it.", icon=":material/cancel:")
    else:
        st.error(f"The last build failed: {_common.md(state.get('error') or 'no reason given')}")
        log = _paths().home / jobs.LOG_FILE
        if log.is_file() and log.stat().st_size:  # the build process's own output: a bug's traceback
            st.caption(f"Everything the build printed is in {_common.md(log)}.")
    if st.button("Dismiss", key="build_outcome_dismiss"):
        seen.add(state.get("finished_at"))
        st.rerun()


def finished_words(iso: str | None) -> str:
    """A build's finish time in local words ("today at 14:05", "on 3 December at 09:12")."""
    if not iso:
        return "—"
    when = datetime.fromisoformat(iso).astimezone()
    today = datetime.now().astimezone().date()
    clock = when.strftime("%H:%M")
    if when.date() == today:
        return f"today at {clock}"
    return f"on {when.day} {when.strftime('%B %Y')} at {clock}"


def _minutes(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
