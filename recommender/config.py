"""Paths of every artifact and the audio/feature parameters they depend on.

``AudioConfig`` is the single preprocessing configuration: features for training,
for the catalog and for an uploaded clip are all computed with it, and it is saved
next to every artifact that depends on it (feature cache, model) and checked on load.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

HOME_ENV = "MUSICREC_HOME"
DEFAULT_HOME = Path("artifacts")


@dataclass(frozen=True)
class AudioConfig:
    """Decoding and log-mel parameters. Frozen: a new config is a new cache."""

    sample_rate: int = 22_050
    clip_seconds: float = 30.0
    min_seconds: float = 3.0
    n_mels: int = 128
    n_fft: int = 2048
    hop_length: int = 512
    fmin: float = 0.0
    fmax: float = 11_025.0
    slice_frames: int = 128  # ~2.97 s at 22 050 Hz / hop 512

    @property
    def clip_samples(self) -> int:
        return int(round(self.clip_seconds * self.sample_rate))

    @property
    def min_samples(self) -> int:
        return int(round(self.min_seconds * self.sample_rate))

    @property
    def clip_frames(self) -> int:
        """Frames of a full clip's log-mel (librosa centre padding: 1 + samples // hop)."""
        return 1 + self.clip_samples // self.hop_length

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AudioConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def key(self) -> str:
        """Short stable hash naming the feature cache built with this config."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:10]

    def mismatch(self, other: AudioConfig) -> list[str]:
        """Names and values of the parameters that differ, for error messages."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [f"{k}: {theirs[k]} != {mine[k]}" for k in mine if mine[k] != theirs[k]]


def resolve_home(home: str | os.PathLike | None = None) -> Path:
    """``--home`` if given, else ``$MUSICREC_HOME``, else ``./artifacts``."""
    if home is None:
        home = os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(home).expanduser()


@dataclass(frozen=True)
class Paths:
    """Where each artifact lives below one home folder."""

    home: Path

    @classmethod
    def at(cls, home: str | os.PathLike | None = None) -> Paths:
        return cls(resolve_home(home))

    @property
    def audio_dir(self) -> Path:
        """Synthesised demo audio and clips uploaded into the catalog."""
        return self.home / "audio"

    @property
    def features_dir(self) -> Path:
        return self.home / "features"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def catalog_dir(self) -> Path:
        """Embeddings, index, map coordinates and metrics of the current build."""
        return self.home / "catalog"

    def build_dir(self, build_id: str) -> Path:
        """One build's index (``index.npz``), map and genre arrays (``map.npz``) and ``metrics.json``.

        Every build writes a folder of its own, so a build that is interrupted never touches
        the files of the catalog in use.
        """
        return self.catalog_dir / build_id

    @property
    def database(self) -> Path:
        return self.home / "musicrec.duckdb"

    @property
    def build_info(self) -> Path:
        """JSON describing the current build: source, config, model, report."""
        return self.home / "build.json"

    def ensure(self) -> Paths:
        for d in (self.home, self.audio_dir, self.features_dir, self.models_dir, self.catalog_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


DEFAULT_AUDIO = AudioConfig()
