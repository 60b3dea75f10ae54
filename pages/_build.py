"""Building a catalog from the app: the form (demo, music folder, FMA) and the live view of a running build.

The build runs in a process of its own (``recommender.jobs``), so every tab and every
reload shows it, a second one cannot start, and Cancel stops it cleanly while the
previous catalog keeps serving. Only the server's owner builds and cancels
(``pages/_access``); the form's options belong to the session that chose them, and every
one is checked again when the build starts. Folders must lie inside the server's music
roots (``recommender.access``).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime

import pandas as pd
import streamlit as st

from pages import _access, _cache, _catalogs, _routing, _text
from recommender import access, catalogs, jobs, listeners, plots
from recommender.build import SOURCE_LABELS
from recommender.config import Paths
from recommender.errors import AccessError, RecommenderError, UserInputError
from recommender.limits import worker_limit
from recommender.profile_names import name_key
from recommender.progress import EpochMetrics, ProgressEvent
from recommender.words import plural

DONE_MESSAGE = "The new catalog is built and in use: explore the map, search, or upload a clip."
SOURCES = ("demo", "folder", "fma")
SUBSETS = ("small", "medium", "large")
DEFAULTS = {
    "source": "demo", "tracks": 400, "seed": 0, "audio": "", "metadata": "", "fma_audio": "", "subset": "small",
    "arch": listeners.DEFAULT, "epochs": 30, "workers": 0,
}  # fmt: skip
# (low, high) of each number of the form: the widgets' own limits, checked again when the build starts.
SKIPPED_SHOWN = 20  # files the folder check names; the rest are counted
RANGES = {"tracks": (24, 4000), "seed": (0, 2**31 - 1), "epochs": (1, 200), "workers": (0, worker_limit())}


def _paths() -> Paths:
    return Paths.at()


def build_form(prefix: str, *, label: str = "Build the catalog") -> None:
    """Source and options of a new build, checked, then started in the background (the owner only)."""
    if not _access.is_owner():
        _access.owner_only("build a catalog")
        return
    for key, value in DEFAULTS.items():  # this session's own choices: never another's
        if f"{prefix}_{key}" not in st.session_state:
            st.session_state[f"{prefix}_{key}"] = value
    if f"{prefix}_catalog" not in st.session_state:  # by default, the catalog in view is built anew
        st.session_state[f"{prefix}_catalog"] = _catalogs.viewed() or ""

    source = st.radio(
        "Source", SOURCES, format_func=SOURCE_LABELS.get, key=f"{prefix}_source", horizontal=True
    )
    problem = None
    if source == "demo":
        st.caption(
            "Music the project synthesises itself: eight genres, each with sub-styles and a hybrid. "
            "Works offline; not real music."
        )
        st.number_input("Songs", *RANGES["tracks"], step=8, key=f"{prefix}_tracks")
    elif source == "folder":
        st.text_input(
            "Music folder (inside this server's music folders)", key=f"{prefix}_audio",
            max_chars=access.MAX_PATH_CHARS, placeholder="rock, or a full path inside a music folder",
            help="Every audio file below it. Genre: the file's genre tag, else the name of its folder. "
            + _roots_words(),
        )  # fmt: skip
        problem = _check_folder(st.session_state[f"{prefix}_audio"])
    else:
        cols = st.columns(3)
        cols[0].text_input("fma_metadata folder", key=f"{prefix}_metadata", max_chars=access.MAX_PATH_CHARS)
        cols[1].text_input(
            "Audio folder (fma_small, …)", key=f"{prefix}_fma_audio", max_chars=access.MAX_PATH_CHARS
        )
        cols[2].selectbox("Subset", SUBSETS, key=f"{prefix}_subset")
        st.caption(_roots_words())
        problem = _check_fma(st.session_state[f"{prefix}_metadata"], st.session_state[f"{prefix}_fma_audio"])

    _name_field(prefix)
    with st.expander("Model and options"):
        archs = listeners.labels()
        st.selectbox("Model", list(archs), format_func=archs.get, key=f"{prefix}_arch")
        cols = st.columns(3)
        cols[0].number_input("Epochs (from scratch only)", *RANGES["epochs"], key=f"{prefix}_epochs")
        cols[1].number_input("Seed", *RANGES["seed"], key=f"{prefix}_seed")
        cols[2].number_input("Worker processes (0: all cores)", *RANGES["workers"], key=f"{prefix}_workers")
    if st.button(
        label, type="primary", icon=":material/build:", key=f"{prefix}_build", disabled=problem is not None
    ):
        with _text.user_errors():
            name = target_name(prefix)
            jobs.start(_options(prefix), catalog=name)
            st.session_state[STARTED] = name
            st.rerun()


STARTED = "build_started_catalog"  # the catalog this session's own build makes: viewed once it is usable


def _name_field(prefix: str) -> None:
    """The catalog's name: the one in view rebuilds it, a new one makes a catalog beside the others."""
    st.text_input(
        "Catalog name", key=f"{prefix}_catalog", max_chars=catalogs.MAX_NAME, placeholder=_default_name(prefix),
        help="A new name makes a new catalog beside the others; the name of one rebuilds it. "
        "No other catalog is touched.",
    )  # fmt: skip
    try:
        name = target_name(prefix)
    except RecommenderError as error:
        st.error(_text.md(error), icon=":material/error:")
        return
    found = catalogs.find(name)
    if found is not None and found.built:
        st.caption(
            f"Builds **{_text.md(found.name)}** anew: its profiles' playlists, plays and likes stay; "
            "it keeps serving until the new build is complete."
        )
    else:
        st.caption(f"Makes a new catalog, **{_text.md(name)}**, beside the others.")


def _default_name(prefix: str) -> str:
    """The name a build gets when none is typed: its source's ("Demo", the folder's name, "FMA")."""
    source = st.session_state.get(f"{prefix}_source", "demo")
    if source == "folder":
        folder = str(st.session_state.get(f"{prefix}_audio") or "").strip().rstrip("/\\")
        last = folder.replace("\\", "/").rsplit("/", 1)[-1][: catalogs.MAX_NAME].strip()
        try:
            return catalogs.check_name(last.capitalize()) if last else "Our music"
        except RecommenderError:
            return "Our music"
    return "FMA" if source == "fma" else "Demo"


def target_name(prefix: str) -> str:
    """The catalog this session's build goes into: the name typed, else the source's; checked."""
    typed = st.session_state.get(f"{prefix}_catalog")
    typed = typed if isinstance(typed, str) else ""
    return catalogs.check_name(typed if typed.strip() else _default_name(prefix))


def _roots_words() -> str:
    roots = access.music_roots()
    return "Music folders of this server: " + ", ".join(str(r) for r in roots) + "."


def _options(prefix: str):
    """This session's choices as ``BuildOptions``, each checked again (a ``RecommenderError`` if not)."""
    from recommender.build import BuildOptions

    if not _access.is_owner():
        raise AccessError("only the owner of this server can build a catalog")
    get = lambda key: st.session_state.get(f"{prefix}_{key}", DEFAULTS[key])  # noqa: E731
    source, arch, subset = get("source"), get("arch"), get("subset")
    if source not in SOURCES or arch not in listeners.names() or subset not in SUBSETS:
        raise UserInputError("unknown source, model or subset: choose one of those offered")
    numbers = {}
    for key, (low, high) in RANGES.items():
        value = get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise UserInputError(f"{key} must be a whole number from {low} to {high:,}")
        numbers[key] = int(value)
    audio = metadata = None
    if source == "folder":
        audio = access.server_folder(get("audio"))
    elif source == "fma":
        metadata, audio = access.server_folder(get("metadata")), access.server_folder(get("fma_audio"))
    return BuildOptions(
        source=source,
        tracks=numbers["tracks"] if source == "demo" else None,
        seed=numbers["seed"],
        audio=audio,
        metadata=metadata,
        subset=subset,
        arch=arch,
        epochs=numbers["epochs"],
        workers=numbers["workers"] or None,
    )


def _check_folder(text: str) -> str | None:
    from recommender.sources.folder import folder_summary

    if not text.strip():
        return "no folder"
    try:
        found = folder_summary(access.server_folder(text))
    except (RecommenderError, OSError) as error:
        message = _problem(error)
        st.error(_text.md(message), icon=":material/folder_off:")
        return message
    genres = found["genres"]
    labelled = (
        f"{len(genres)} folders as genres: " + ", ".join(f"{_text.md(g)} ({n:,})" for g, n in genres.items())
        if len(genres) > 1
        else "no genre folders (the backbone alone)"
    )
    skipped = found.get("skipped_files", {})
    st.success(
        f"{plural(found['files'], 'audio file')}, {labelled}"
        + (f"; {plural(len(skipped), 'file')} the build will not use" if skipped else ""),
        icon=":material/folder_open:",
    )
    if skipped:
        listed = list(skipped.items())[:SKIPPED_SHOWN]
        more = f"; and {len(skipped) - len(listed):,} more" if len(skipped) > len(listed) else ""
        st.caption("Not used: " + "; ".join(f"{_text.md(p)}: {_text.md(why)}" for p, why in listed) + more)
    return None


def _problem(error: Exception) -> str:
    """A folder check's failure in one line: our own message, or what the OS said, without a path."""
    if isinstance(error, RecommenderError):
        return str(error)
    return f"this folder cannot be read ({error.strerror or type(error).__name__})"


def _check_fma(metadata: str, audio: str) -> str | None:
    if not metadata.strip() or not audio.strip():
        return "no folders"
    problems = []
    try:
        metadata_dir = access.server_folder(metadata)
        if not (metadata_dir / "tracks.csv").is_file():
            problems.append(f"no tracks.csv in {metadata_dir}")
    except (RecommenderError, OSError) as error:
        problems.append(f"fma_metadata folder: {_problem(error)}")
    try:
        audio_dir = access.server_folder(audio)
        if not audio_dir.is_dir():
            problems.append(f"audio folder not found: {audio_dir}")
    except (RecommenderError, OSError) as error:
        problems.append(f"audio folder: {_problem(error)}")
    if problems:
        st.error(_text.md("; ".join(problems)), icon=":material/folder_off:")
        return "; ".join(problems)
    return None


# ---- a running build ------------------------------------------------------------------------------
def running() -> dict | None:
    """The state of this home's background build while it runs, else None."""
    state = jobs.status()
    return state if state and state.get("state") == "running" else None


def _still_running() -> dict:
    """The running build's state; once it has ended, or its first catalog is in use, the page runs again."""
    state = jobs.status()
    if not state or state.get("state") != "running":
        _cache.invalidate()
        if state and state.get("state") == "done":
            _view_own(state)
            _text.flash(DONE_MESSAGE)
        st.rerun(scope="app")
    usable = state.get("usable_at")
    if usable and st.session_state.get("build_usable_seen") != usable:
        st.session_state["build_usable_seen"] = usable
        _cache.invalidate()
        _view_own(state)
        st.rerun(scope="app")
    return state


def _view_own(state: dict) -> None:
    """The session that started this build views its catalog once it can be used; other sessions stay."""
    name, started = state.get("catalog"), st.session_state.get(STARTED)
    if not isinstance(name, str) or not isinstance(started, str) or name_key(name) != name_key(started):
        return
    if name_key(name) != name_key(_catalogs.viewed() or ""):
        _catalogs.switch(name)


def show_running(*, key: str) -> None:
    """A running build, updated every second (stage, progress, elapsed, curves), with Cancel."""

    @st.fragment(run_every=1.0)
    def live() -> None:
        state = _still_running()
        _progress(state)
        if _access.is_owner() and st.button(
            "Cancel the build", icon=":material/cancel:", key=f"{key}_cancel"
        ):
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
        st.caption(f":material/build: {_text.md(progress_words(state))}")
        st.page_link(_routing.HOME_PAGE, label="See the build", icon=":material/home:")

    with st.sidebar:
        st.divider()
        live()


def event(state: dict) -> ProgressEvent:
    """The running build's last ``ProgressEvent`` (one made of its stage and counts for an older status file)."""
    data = state.get("progress")
    if isinstance(data, dict):
        try:
            return ProgressEvent.from_dict(data)
        except (TypeError, ValueError):
            pass
    return ProgressEvent(stage=state.get("stage"), done=state.get("done") or 0, total=state.get("total"))


def progress_words(state: dict, now: float | None = None) -> str:
    """A running build in a few words: "Building: Computing log-mel spectrograms, 42 %, about 1 min left"."""
    step = event(state)
    percent = f", {min(100, int(100 * step.done / step.total))} %" if step.total else ""
    left = step.left_at(time.time() if now is None else now)
    return f"Building: {step.label}{percent}" + (f", {_left_words(left)}" if left is not None else "")


def _progress(state: dict) -> None:
    now = time.time()
    step = event(state)
    started = datetime.fromisoformat(state["started_at"]).timestamp()
    elapsed = now - started
    source = SOURCE_LABELS.get(state.get("options", {}).get("source"), "catalog")
    usable = state.get("usable_songs")
    if usable:
        st.markdown(
            f"**The demo catalog is in use with its first {usable[0]:,} songs**; the build is adding the "
            f"other {usable[1] - usable[0]:,} · {_minutes(elapsed)} so far"
        )
    else:
        until_usable = step.left_at(now, until_usable=True)
        first = ""
        if until_usable is not None:
            first = " · its first songs in use " + (
                "in a moment" if until_usable < 5 else f"in {_about(until_usable)}"
            )
        named = f" “{_text.md(state['catalog'])}”" if state.get("catalog") else ""
        st.markdown(f"**Building the {_text.md(source.lower())}**{named} · {_minutes(elapsed)} so far{first}")
    left = step.left_at(now)
    counted = f"{step.done:,} / {step.total:,}" if step.total else "…"
    text = f"{step.label}: {counted}" + (f" · {_left_words(left)}" if left is not None else "")
    st.progress(_fraction(step, now), text=text)
    if state.get("dashboard"):  # Dask's own pages: workers, tasks, memory (when bokeh is installed)
        st.link_button("Dask dashboard", state["dashboard"], icon=":material/monitoring:")
    stages = state.get("stages", [])
    if len(stages) > 1:
        st.caption("Done: " + " · ".join(ProgressEvent(stage=s["name"]).label for s in stages[:-1]))
    rows = [dataclasses.asdict(m) for m in _epochs(state)]
    if rows:
        st.plotly_chart(plots.training_curves_figure(pd.DataFrame(rows), height=260), key="build_curves")


def _fraction(step: ProgressEvent, now: float) -> float:
    """The whole build's share done at ``now``: time spent over time spent and left, counted since the event.

    Between two events time still passes, so the bar moves every time the page refreshes.
    """
    left = step.left_at(now)
    if left is None:
        return step.fraction
    spent = step.elapsed_s + max(0.0, now - step.at)
    return min(1.0, spent / max(1e-9, spent + left))


def _epochs(state: dict) -> list[EpochMetrics]:
    out = []
    for entry in state.get("epochs", []):
        try:
            out.append(EpochMetrics(**entry))
        except TypeError:  # an entry of another version's status file
            continue
    return out


def _left_words(seconds: float) -> str:
    """ "about 40 s left", "about 3 min left"; "almost done" under 5 s."""
    return "almost done" if seconds < 5 else f"{_about(seconds)} left"


def _about(seconds: float) -> str:
    """ "about 40 s", "about 3 min": rounded, for an estimate."""
    if seconds < 90:
        return f"about {int(round(seconds / 5) * 5)} s"
    return f"about {int(round(seconds / 60))} min"


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
    elif not _access.is_owner():  # the reason may name the server's folders
        st.error("The last build failed; the catalog is as it was before it.")
    else:
        st.error(f"The last build failed: {_text.md(state.get('error') or 'no reason given')}")
        log = _paths().home / jobs.LOG_FILE
        if log.is_file() and log.stat().st_size:  # the build process's own output: a bug's traceback
            st.caption(f"Everything the build printed is in {_text.md(log)}.")
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
