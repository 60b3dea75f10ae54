"""Build progress as typed data: the registry of build stages, progress events and the time left.

Every stage a build reports is registered here (``STAGES``) with its label for people,
so the app and the command line name it the same way (tests/test_build_progress.py
checks that every stage the code reports is registered). A build's progress travels as a
``ProgressEvent`` (stage, done, total, seconds elapsed and left), never as text to be
parsed back; training epochs carry their metrics as ``EpochMetrics``.

The time left is estimated by ``Estimate``: within a counted stage from its own rate
(songs per second so far), and for the whole build from ``cost`` (typical seconds per
stage on two cores, fixed plus per song) scaled by how fast this build has been so far
against those typical figures. It is an estimate: the app says "about".
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

USABLE = "usable"  # in a tiered build's plan: where the first catalog is in use


@dataclass(frozen=True)
class Stage:
    """One kind of build step: its name in events, its label for people, its typical cost.

    ``fixed_s`` and ``per_song_s``: typical seconds on two quiet cores (bench/build_speed.py
    ``--source demo``); they weigh the stages of a whole-build estimate.
    """

    name: str
    label: str
    fixed_s: float = 1.0
    per_song_s: float = 0.0

    def cost(self, songs: int) -> float:
        return self.fixed_s + self.per_song_s * songs


_STAGES = (
    Stage("synthesise", "Synthesising the demo songs", 4.0, 0.08),
    Stage("read metadata", "Reading the FMA metadata", 5.0),
    Stage("scan folder", "Scanning the music folder", 1.0, 0.002),
    Stage("features", "Computing log-mel spectrograms", 15.0, 0.27),
    Stage("read features", "Reading the sound features", 0.5, 0.002),
    Stage("load model", "Loading the model", 3.0),
    Stage("fitting the head", "Fitting the genre head", 5.0, 0.005),
    Stage("backbone embedding", "Embedding with the backbone alone", 1.0, 0.005),
    Stage("training", "Training the genre CNN", 10.0, 0.5),
    Stage("embeddings", "Embedding every song", 0.5, 0.001),
    Stage("alternatives", "Comparing the other models", 2.0, 0.01),
    Stage("map", "Laying out the map (UMAP)", 10.0, 0.01),
    Stage("index", "Building the similarity index", 0.5, 0.002),
    Stage("evaluation", "Evaluating against baselines", 1.0, 0.005),
    Stage("added clips", "Adding the clips uploaded meanwhile", 2.0, 0.5),
    Stage(USABLE, "The first songs are in use", 0.0),  # a mark in a plan, never a stage of its own
)
STAGES: dict[str, Stage] = {s.name: s for s in _STAGES}


def stage(name: str) -> Stage:
    """The registered stage ``name``; ``KeyError`` for a stage nobody registered (it would have no label)."""
    return STAGES[name]


def _cost(name: str, songs: int) -> float:
    """Typical seconds of stage ``name`` (one registered since this estimate's figures: a second)."""
    known = STAGES.get(name)
    return known.cost(songs) if known is not None else 1.0


def label(name: str | None) -> str:
    """The label people read for stage ``name`` ("Starting" before the first stage)."""
    if name is None:
        return "Starting"
    known = STAGES.get(name)
    return known.label if known is not None else name.capitalize()  # a status file from another version


@dataclass(frozen=True)
class EpochMetrics:
    """One training epoch's metrics (accuracy and loss on the training and validation splits)."""

    epoch: int
    accuracy: float
    val_accuracy: float
    loss: float | None = None
    val_loss: float | None = None

    @classmethod
    def from_logs(cls, epoch: int, logs: dict) -> EpochMetrics:
        """From Keras's ``logs`` of one epoch."""

        def number(key: str) -> float | None:
            value = logs.get(key)
            return None if value is None else float(value)

        return cls(
            epoch=int(epoch),
            accuracy=float(logs.get("accuracy", 0.0)),
            val_accuracy=float(logs.get("val_accuracy", 0.0)),
            loss=number("loss"),
            val_loss=number("val_loss"),
        )

    def words(self) -> str:
        text = f"acc {self.accuracy:.2f} val_acc {self.val_accuracy:.2f}"
        if self.loss is not None and self.val_loss is not None:
            text += f" loss {self.loss:.3f} val_loss {self.val_loss:.3f}"
        return text


@dataclass(frozen=True)
class ProgressEvent:
    """Where a build is: its stage, done of total (None: not counted), seconds elapsed and left.

    ``stage_eta_s``: seconds left in this stage (None: not known yet); ``eta_s``: seconds
    left in the whole build; ``usable_eta_s``: for a tiered demo, seconds until its first
    catalog is in use (None once it is, or for other builds). ``at``: the wall-clock time of
    the event, so a reader can count down between events.
    """

    stage: str | None  # None: the build is starting
    done: int = 0
    total: int | None = None
    elapsed_s: float = 0.0
    stage_eta_s: float | None = None
    eta_s: float | None = None
    usable_eta_s: float | None = None
    at: float = field(default_factory=time.time)
    metrics: EpochMetrics | None = None

    @property
    def label(self) -> str:
        return label(self.stage)

    @property
    def fraction(self) -> float:
        """Of the whole build, 0..1, from elapsed and left (0 while nothing is known)."""
        if self.eta_s is None:
            return min(1.0, self.done / self.total) if self.total else 0.0
        return min(1.0, self.elapsed_s / max(1e-9, self.elapsed_s + self.eta_s))

    def left_at(self, now: float, *, until_usable: bool = False) -> float | None:
        """Seconds left at wall-clock ``now`` (until the first catalog is in use): counted down since the event."""
        eta = self.usable_eta_s if until_usable else self.eta_s
        if eta is None:
            return None
        return max(0.0, eta - max(0.0, now - self.at))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProgressEvent:
        metrics = data.get("metrics")
        known = {
            k: data[k]
            for k in ("stage", "done", "total", "elapsed_s", "stage_eta_s", "eta_s", "usable_eta_s", "at")
            if k in data
        }
        return cls(**known, metrics=EpochMetrics(**metrics) if metrics else None)


def stages_of(source: str, arch: str | None, *, uses_head: bool = True) -> list[str]:
    """The stages a build of ``source`` with model ``arch`` (None: the backbone) goes through, in order."""
    first = {"demo": "synthesise", "fma": "read metadata", "folder": "scan folder"}.get(source, "scan folder")
    middle = ["fitting the head" if uses_head else "backbone embedding"]
    if arch not in (None, "musicnn"):
        middle = ["training"]
    return [
        first,
        "features",
        "read features",
        *middle,
        "embeddings",
        "alternatives",
        "map",
        "index",
        "evaluation",
    ]


class Estimate:
    """Seconds left, within the current stage and in the whole build (see the module's docstring).

    ``plan``: the stages still to come, in order, with the songs each works on; the
    current stage is the first of them once ``start`` is called with it.
    """

    def __init__(self, plan: list[tuple[str, int]] | None = None, *, clock=time.monotonic) -> None:
        self.clock = clock
        self.began = clock()
        self.plan = list(plan or [])
        self.stage: str | None = None
        self.songs = 0
        self.stage_began = self.began
        self.first_done: tuple[float, int] | None = None  # (when, done) of the stage's first count
        self.typical_done = 0.0  # typical seconds of the stages finished, and what they really took
        self.real_done = 0.0

    def start(self, name: str, songs: int | None = None) -> None:
        now = self.clock()
        if self.stage is not None:
            self.typical_done += _cost(self.stage, self.songs)
            self.real_done += now - self.stage_began
        if name != USABLE and self.plan and self.plan[0][0] == USABLE:
            self.plan.pop(0)  # the first catalog is in use
        while self.plan and self.plan[0][0] != name and any(n == name for n, _ in self.plan):
            self.plan.pop(0)  # stages that were skipped
        if self.plan and self.plan[0][0] == name:
            planned = self.plan.pop(0)[1]
            songs = planned if songs is None else songs
        if songs:  # the first stage that counts songs tells the later ones how many (a folder's)
            self.plan = [(n, planned or songs) for n, planned in self.plan]
        self.stage, self.songs, self.stage_began, self.first_done = name, songs or 0, now, None

    def event(
        self, done: int = 0, total: int | None = None, metrics: EpochMetrics | None = None
    ) -> ProgressEvent:
        now = self.clock()
        if total and done and self.first_done is None:
            self.first_done = (now, done)
        stage_left = self._stage_left(now, done, total)
        usable = (
            self._whole_left(now, stage_left, until=USABLE)
            if any(n == USABLE for n, _ in self.plan)
            else None
        )
        return ProgressEvent(
            stage=self.stage,
            done=int(done),
            total=total,
            elapsed_s=round(now - self.began, 2),
            stage_eta_s=None if stage_left is None else round(stage_left, 1),
            eta_s=round(self._whole_left(now, stage_left), 1),
            usable_eta_s=None if usable is None else round(usable, 1),
            metrics=metrics,
        )

    def _speed(self) -> float:
        """This build's seconds per typical second, from the stages it finished (1 before any)."""
        if self.typical_done < 1.0:
            return 1.0
        return min(10.0, max(0.1, self.real_done / self.typical_done))

    def _stage_left(self, now: float, done: int, total: int | None) -> float | None:
        if self.stage is None:
            return None
        spent = now - self.stage_began
        if total and self.first_done is not None and done > self.first_done[1]:
            # From the rate since the first count: a stage's start-up (a cluster starting) is not its rate.
            when, first = self.first_done
            rate = (done - first) / max(1e-6, now - when)
            return max(0.0, (total - done) / rate)
        if total and done >= total:
            return 0.0
        typical = _cost(self.stage, self.songs or (total or 0)) * self._speed()
        return max(0.5, typical - spent)  # past its typical time: still a little while

    def _whole_left(self, now: float, stage_left: float | None, *, until: str | None = None) -> float:
        """Seconds left in the current stage and the planned ones after it (up to the mark ``until``)."""
        after = 0.0
        for name, songs in self.plan:
            if name == until:
                break
            after += _cost(name, songs)
        return (stage_left or 0.0) + after * self._speed()
