"""Builds in the background: started from the app, watched from any tab, cancelled cleanly.

A build the app starts runs in a process of its own (``python -m recommender.jobs``), so
it survives reloads and closed tabs, and every browser sees it: the process writes its
state to ``<home>/build-status.json`` (stage, progress, notes, outcome, the catalog it
builds) as it goes, atomically, and anyone reads it. One background build per server at a
time, into one of the home's named catalogs (``recommender.catalogs``); one build per catalog
whoever starts it (the app or the command line): ``build`` holds the catalog's ``build.lock``
while it runs (``locks.build_lock``). Cancel sends the build's process group an interrupt, as Ctrl-C would:
the build stops before its switch, so the previous catalog keeps serving.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from recommender import catalogs
from recommender.config import Paths
from recommender.errors import RecommenderError, UserInputError
from recommender.files import atomic_write_text
from recommender.locks import is_building
from recommender.progress import EpochMetrics, Estimate, stages_of

STATUS_FILE = "build-status.json"
LOG_FILE = "build.log"  # what the build process prints, kept out of the server's terminal
NOTES_KEPT = 200


# ---- the state of a background build ------------------------------------------------------------------
class FileProgress:
    """A build ``Progress`` that keeps ``<home>/build-status.json`` up to date (at most every 0.3 s).

    The state's ``progress`` is the last ``ProgressEvent`` (stage, done, total, seconds
    elapsed and left) as a dict; ``epochs`` holds the ``EpochMetrics`` of training so far.
    """

    def __init__(
        self, paths: Paths, options: dict, *, catalog: str | None = None, catalog_home: Path | None = None
    ):
        self.path = paths.home / STATUS_FILE
        self.estimate = Estimate(_plan(options))
        self.state = {
            "state": "running", "pid": os.getpid(), "started_at": _now(), "finished_at": None,
            "stage": None, "done": 0, "total": None, "stages": [], "notes": [],
            "error": None, "options": options, "epochs": [], "progress": None, "usable_at": None,
            "catalog": catalog, "catalog_home": str(catalog_home or paths.home),
        }  # fmt: skip
        self._lock = threading.Lock()  # advances may come from a thread watching the workers' output
        self._written = 0.0
        self._write(force=True)

    def stage(self, name: str, total: int | None = None) -> None:
        with self._lock:
            self.estimate.start(name, total)
            self.state.update(stage=name, done=0, total=total)
            self.state["stages"].append({"name": name, "started_at": time.time()})
            self.state["progress"] = self.estimate.event(0, total).to_dict()
            self._write(force=True)

    def advance(self, done: int, total: int, metrics: EpochMetrics | None = None) -> None:
        with self._lock:
            self.state.update(done=done, total=total)
            self.state["progress"] = self.estimate.event(done, total, metrics).to_dict()
            if metrics is not None:
                self.state["epochs"].append(dataclasses.asdict(metrics))
            self._write(force=metrics is not None)

    def usable(self, songs: int, total: int) -> None:
        """The catalog is in use with ``songs`` of ``total`` songs; the build goes on adding the rest."""
        with self._lock:
            self.state["usable_at"] = _now()
            self.state["usable_songs"] = [songs, total]
            self._write(force=True)

    def plan(self, stages: list[tuple[str, int]]) -> None:
        """The stages the build will go through, with their songs (a tiered demo's two parts)."""
        with self._lock:
            self.estimate.plan = list(stages)

    def note(self, message: str) -> None:
        if len(self.state["notes"]) < NOTES_KEPT:
            self.state["notes"].append(message)
        self._write()

    def finish(self, state: str, error: str | None = None) -> None:
        self.state.update(state=state, error=error, finished_at=_now())
        self._write(force=True)

    def _write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._written > 0.3:
            running = sys.modules.get("recommender.cluster")  # imported by the build once it needs a cluster
            self.state["dashboard"] = getattr(running, "dashboard_link", None)
            atomic_write_text(self.path, json.dumps(self.state, ensure_ascii=False))
            self._written = now


def status(home: str | Path | None = None) -> dict | None:
    """The last background build of ``home`` as ``FileProgress`` wrote it (None: none yet).

    A build whose process is gone without saying how it ended reads as ``"failed"``.
    """
    paths = Paths.at(home)
    state = _read_json(paths.home / STATUS_FILE)
    building = _catalog_paths(state, paths)
    if (
        state
        and state.get("state") == "running"
        and not is_building(building)
        and not _alive(state.get("pid"))
    ):
        state = {**state, "state": "failed", "error": "the build process stopped without finishing"}
    return state


def _catalog_paths(state: dict | None, paths: Paths) -> Paths:
    """The paths of the catalog a status file's build works on (the home's root for an older file)."""
    folder = (state or {}).get("catalog_home")
    return Paths(Path(folder)) if isinstance(folder, str) and folder else paths


def start(options, home: str | Path | None = None, *, catalog: str | None = None) -> int:
    """Start ``build(options)`` of the home's catalog ``catalog`` in a process of its own; returns its pid.

    ``catalog``: a name (a new one makes a new catalog, ``catalogs.for_build``), or None for the
    home's current catalog. Refused (``UserInputError``) while another build of the server runs.
    """
    paths = Paths.at(home)
    if catalog is not None:
        catalogs.check_name(catalog)
    running = status(home)
    if running and running.get("state") == "running":
        name = running.get("catalog") or catalogs.MAIN
        raise UserInputError(f"a build of the catalog {name!r} is already running: wait for it or cancel it")
    target = catalogs.for_build(catalog, paths.home)
    if is_building(target.paths):
        raise UserInputError(
            f"a build of the catalog {target.name!r} is already running: wait for it or cancel it"
        )
    paths.home.mkdir(parents=True, exist_ok=True)
    target.paths.home.mkdir(parents=True, exist_ok=True)
    spec = json.dumps(
        {
            "home": str(paths.home.resolve()),
            "catalog": target.name,
            "catalog_home": str(target.paths.home.resolve()),
            "options": options.to_dict(),
        }
    )
    log = open(paths.home / LOG_FILE, "w")  # noqa: SIM115 (the child keeps it)
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "recommender.jobs", spec],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env,
    )  # fmt: skip
    log.close()
    threading.Thread(target=process.wait, daemon=True).start()  # reaped when it ends: never a zombie
    # Wait (briefly) until the build holds the lock, so that a second start is refused.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None and not is_building(target.paths):
        time.sleep(0.05)
    return process.pid


def cancel(home: str | Path | None = None) -> bool:
    """Interrupt the running background build of ``home`` (as Ctrl-C would); False if none runs."""
    state = status(home)
    if not state or state.get("state") != "running" or not _alive(state.get("pid")):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(int(state["pid"])), signal.SIGINT)
        return True
    return False


def _run(spec: str) -> int:
    """The background build process: ``build`` with a ``FileProgress``; its outcome goes to the status file."""
    from recommender.build import BuildOptions, build

    # Cancel is a SIGINT. A server started in the background by a script (`streamlit run app.py &`)
    # ignores SIGINT, and its children inherit that: this build hears it all the same.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    job = json.loads(spec)
    paths = Paths.at(job["home"])
    into = Path(job.get("catalog_home") or job["home"])
    progress = FileProgress(paths, job["options"], catalog=job.get("catalog"), catalog_home=into)
    try:
        build(BuildOptions.from_dict(job["options"]), home=into, progress=progress)
    except KeyboardInterrupt:
        progress.finish("cancelled")
        return 130
    except RecommenderError as error:
        progress.finish("failed", str(error))
        return 1
    except Exception as error:  # a bug: say it in one line, the log has the rest
        progress.finish("failed", f"the build stopped unexpectedly ({type(error).__name__}: {error})")
        raise
    progress.finish("done")
    return 0


def _plan(options: dict) -> list[tuple[str, int]]:
    """The stages a build of ``options`` goes through, with the songs each works on (0: not known yet)."""
    source = options.get("source", "demo")
    songs = int(options.get("tracks") or 0)
    if source == "demo" and not songs:
        from recommender.sources.demo import DEFAULT_TRACKS

        songs = DEFAULT_TRACKS
    return [
        (name, songs)
        for name in stages_of(source, options.get("arch"), uses_head=not options.get("no_train"))
    ]


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1]))
