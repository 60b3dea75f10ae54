"""A built catalog, opened for questions: what is in it, what sounds like this, for whom.

``Catalog.open(home)`` reads ``build.json`` and loads the rest lazily: the track table
(DuckDB), the similarity index and map coordinates (npz), and the CNN (only when a
clip must be listened to). The command line and the app both talk to this class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.config import AudioConfig, Paths
from recommender.errors import NotBuiltError, UserInputError

RESULT_COLUMNS = ["track_id", "title", "artist", "genre", "score"]


@dataclass
class ClipAnalysis:
    """What the model hears in a clip: its log-mel, embedding and genre probabilities."""

    mel: np.ndarray  # (n_mels, n_frames) float32 dB
    embedding: np.ndarray  # (embedding_dim,) unit float32
    genre_probabilities: dict[str, float]  # genre -> p, highest first


class Catalog:
    """Read access to one built home folder."""

    def __init__(self, paths: Paths, info: dict):
        self.paths = paths
        self.info_ = info

    @classmethod
    def open(cls, home: str | Path | None = None) -> Catalog:
        paths = Paths.at(home)
        if not paths.build_info.is_file():
            raise NotBuiltError(
                f"no catalog in {paths.home}: build one first, e.g. `python -m recommender build --source demo`"
            )
        return cls(paths, json.loads(paths.build_info.read_text(encoding="utf-8")))

    # ---- what is here -------------------------------------------------------------
    @property
    def config(self) -> AudioConfig:
        return AudioConfig.from_dict(self.info_["config"])

    @property
    def model_info(self) -> dict | None:
        return self.info_.get("model")

    def _require_model(self) -> dict:
        if not self.model_info:
            raise NotBuiltError("this catalog has no model yet: build it without --no-train, or with --model FILE.keras")
        return self.model_info

    @cached_property
    def store(self):
        from recommender.store import Store

        return Store(self.paths.database)

    def tracks(self) -> pd.DataFrame:
        return self.store.tracks()

    def track(self, track_id: int) -> dict:
        return self.store.track(int(track_id))

    def summary(self) -> dict:
        """The ``info --json`` object."""
        tracks = self.tracks()
        genres = tracks["genre"].value_counts().sort_index()
        model = None
        if self.model_info:
            m = self.model_info
            model = {
                "arch": m["arch"],
                "embedding_dim": m["embedding_dim"],
                "name": m["name"],
                "test_accuracy": m.get("test_accuracy"),
            }
        return {
            "tracks": int(len(tracks)),
            "genres": {str(g): int(n) for g, n in genres.items()},
            "source": self.info_["source"],
            "source_label": self.info_.get("source_label", self.info_["source"]),
            "synthesised": bool(self.info_.get("synthesised", False)),
            "built_at": self.info_.get("built_at"),
            "skipped": len(self.info_.get("skipped", {})),
            "model": model,
            "home": str(self.paths.home),
        }

    def search(self, query: str | None = None, *, genre: str | None = None, k: int | None = 20) -> pd.DataFrame:
        return self.store.search(query, genre=genre, k=k)

    # ---- embeddings, index, map ---------------------------------------------------------
    @cached_property
    def index(self):
        from recommender.index import SimilarityIndex

        name = self._require_model()["name"]
        path = self.paths.catalog_dir / f"index-{name}.npz"
        if not path.is_file():
            raise NotBuiltError(f"the similarity index of model {name} is missing; rebuild the catalog")
        return SimilarityIndex.load(path)

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        name = self._require_model()["name"]
        path = self.paths.catalog_dir / f"catalog-{name}.npz"
        if not path.is_file():
            raise NotBuiltError(f"the map of model {name} is missing; rebuild the catalog")
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def map_frame(self) -> pd.DataFrame:
        """Every track with its 2-D map position: track_id, x, y, title, artist, album, genre."""
        arr = self._arrays
        coords = pd.DataFrame({"track_id": arr["track_ids"], "x": arr["coords"][:, 0], "y": arr["coords"][:, 1]})
        return coords.merge(self.tracks(), on="track_id", how="inner")

    def genre_probabilities(self, track_id: int) -> dict[str, float]:
        arr = self._arrays
        rows = np.flatnonzero(arr["track_ids"] == int(track_id))
        if not len(rows):
            raise UserInputError(f"no track with id {track_id} in the catalog")
        return _ranked(dict(zip(arr["genres"].tolist(), arr["proba"][rows[0]].tolist(), strict=True)))

    def metrics(self) -> dict:
        name = self._require_model()["name"]
        path = self.paths.catalog_dir / f"metrics-{name}.json"
        if not path.is_file():
            raise NotBuiltError(f"no evaluation stored for model {name}; rebuild the catalog")
        return json.loads(path.read_text(encoding="utf-8"))

    # ---- similar songs -------------------------------------------------------------------
    def similar(self, track_id: int, *, k: int = 10, genre: str | None = None) -> pd.DataFrame:
        """The k songs closest to a catalog track (never the track itself)."""
        self.track(track_id)  # a clear error for an unknown id
        return self._results(self.index.query_track(int(track_id), k=k, genre=genre))

    @cached_property
    def model(self):
        from recommender.model import GenreModel

        m = self._require_model()
        return GenreModel.load(Path(m["path"]), config=self.config, genres=m["genres"])

    def analyse(self, path: str | Path) -> ClipAnalysis:
        """Listen to an audio file with the catalog's model (the same feature path as the catalog)."""
        from recommender.audio import mel_for_file

        mel = mel_for_file(path, config=self.config)
        embeddings, proba = self.model.embed_and_predict_many([mel])
        probs = dict(zip(self.model.genres_, proba[0].tolist(), strict=True))
        return ClipAnalysis(mel=mel, embedding=embeddings[0], genre_probabilities=_ranked(probs))

    def similar_to_clip(self, clip: ClipAnalysis, *, k: int = 10, genre: str | None = None) -> pd.DataFrame:
        hits = self.index.query(clip.embedding, k=k + 5, genre=genre)
        # An uploaded copy of a catalog song is not a recommendation for itself.
        hits = [(tid, s) for tid, s in hits if s < 1.0 - 1e-6][:k]
        return self._results(hits)

    def _results(self, hits: list[tuple[int, float]]) -> pd.DataFrame:
        if not hits:
            return pd.DataFrame(columns=RESULT_COLUMNS)
        scores = pd.DataFrame(hits, columns=["track_id", "score"])
        merged = scores.merge(self.tracks(), on="track_id", how="left")
        return merged[RESULT_COLUMNS + [c for c in ("album",) if c in merged]]


def _ranked(probs: dict[str, float]) -> dict[str, float]:
    return {g: round(float(p), 6) for g, p in sorted(probs.items(), key=lambda kv: -kv[1])}


def results_json(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain JSON objects (ints, floats, strings)."""
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, pd.Timestamp):
                value = value.isoformat()
            if isinstance(value, float) and np.isnan(value):
                value = None
            clean[key] = value
        out.append(clean)
    return out
