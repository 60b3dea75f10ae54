"""What a build is asked to make (``BuildOptions``), as the command line, the app and a saved build say it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from recommender.config import DEFAULT_AUDIO, AudioConfig


@dataclass
class BuildOptions:
    """What to build. ``source`` is one of ``build.SOURCES``; the other fields apply where they make sense."""

    source: str = "demo"
    tracks: int | None = None  # demo: catalog size (default: the demo's own default)
    seed: int = 0
    metadata: Path | None = None  # fma: fma_metadata folder
    audio: Path | None = None  # fma / folder: audio root
    subset: str = "small"  # fma
    epochs: int = 30
    arch: str | None = None  # None: the pretrained backbone (listeners.DEFAULT)
    workers: int | None = None
    scheduler: str | None = None  # Dask scheduler address (default $MUSICREC_SCHEDULER; none: a LocalCluster)
    model: Path | None = None  # an existing .keras file to use
    no_train: bool = False
    config: AudioConfig = field(default_factory=lambda: DEFAULT_AUDIO)

    def to_dict(self) -> dict:
        """Plain JSON values (paths as strings); the audio config is left out: it is the default's."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name != "config":
                value = getattr(self, f.name)
                out[f.name] = str(value) if isinstance(value, Path) else value
        return out

    @classmethod
    def from_dict(cls, data: dict) -> BuildOptions:
        """The options ``to_dict`` gave (unknown keys ignored; empty paths are none)."""
        known = {f.name for f in dataclasses.fields(cls)} - {"config"}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("metadata", "audio", "model"):
            given = values.get(key)
            values[key] = Path(given) if given not in (None, "", "None") else None
        return cls(**values)
