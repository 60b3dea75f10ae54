"""A built catalog, opened for questions: what is in it, what sounds like this, for whom.

``Catalog.open(home)`` reads ``build.json`` and loads the rest lazily: the track table
(DuckDB), the similarity index and map coordinates (npz), and the CNN (only when a
clip must be listened to). The command line and the app both talk to this class.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.config import AudioConfig, Paths
from recommender.errors import AudioError, ModelError, NotBuiltError, RecommenderError, UserInputError

RESULT_COLUMNS = ["track_id", "title", "artist", "genre", "score"]
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".ogg", ".opus", ".aiff", ".aif")
UPLOADS_DIR = "uploads"


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
        self.revision = 0  # grows with every clip added to the catalog (cache keys use it)
        self._write_lock = threading.Lock()  # one catalog change at a time (the app is multi-threaded)

    @classmethod
    def open(cls, home: str | Path | None = None) -> Catalog:
        paths = Paths.at(home)
        if not paths.build_info.is_file():
            raise NotBuiltError(
                f"no catalog in {paths.home}: build one first, "
                "e.g. `python -m recommender build --source demo`"
            )
        info = json.loads(paths.build_info.read_text(encoding="utf-8"))
        catalog = cls(paths, info)
        committed = catalog.store.committed_build() if paths.database.is_file() else None
        if committed is not None and committed.get("build_id") != info.get("build_id"):
            # A build was switched in by its database transaction but stopped before build.json followed.
            from recommender.features import atomic_write_text

            atomic_write_text(paths.build_info, json.dumps(committed, indent=2, ensure_ascii=False))
            catalog = cls(paths, committed)
        return catalog

    def artifact(self, kind: str) -> Path:
        """The current build's ``"index"`` (.npz), ``"map"`` (.npz) or ``"metrics"`` (.json) file."""
        build_id = self.info_.get("build_id")
        if build_id is None:  # built before builds had folders of their own
            name = self._require_model()["name"]
            old = {
                "index": f"index-{name}.npz",
                "map": f"catalog-{name}.npz",
                "metrics": f"metrics-{name}.json",
            }
            return self.paths.catalog_dir / old[kind]
        return (
            self.paths.build_dir(build_id)
            / {"index": "index.npz", "map": "map.npz", "metrics": "metrics.json"}[kind]
        )

    # ---- what is here -------------------------------------------------------------
    @property
    def config(self) -> AudioConfig:
        return AudioConfig.from_dict(self.info_["config"])

    @property
    def model_info(self) -> dict | None:
        return self.info_.get("model")

    def _require_model(self) -> dict:
        if not self.model_info:
            raise NotBuiltError(
                "this catalog has no model yet: build it without --no-train, or with --model FILE.keras"
            )
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

    def search(
        self, query: str | None = None, *, genre: str | None = None, k: int | None = 20
    ) -> pd.DataFrame:
        return self.store.search(query, genre=genre, k=k)

    # ---- embeddings, index, map ---------------------------------------------------------
    @cached_property
    def index(self):
        from recommender.index import SimilarityIndex

        name = self._require_model()["name"]
        path = self.artifact("index")
        if not path.is_file():
            raise NotBuiltError(f"the similarity index of model {name} is missing; rebuild the catalog")
        return SimilarityIndex.load(path)

    @cached_property
    def _arrays(self) -> dict[str, np.ndarray]:
        name = self._require_model()["name"]
        path = self.artifact("map")
        if not path.is_file():
            raise NotBuiltError(f"the map of model {name} is missing; rebuild the catalog")
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def map_frame(self) -> pd.DataFrame:
        """Every track with its 2-D map position: track_id, x, y, title, artist, album, genre."""
        arr = self._arrays
        coords = pd.DataFrame(
            {"track_id": arr["track_ids"], "x": arr["coords"][:, 0], "y": arr["coords"][:, 1]}
        )
        return coords.merge(self.tracks(), on="track_id", how="inner")

    def genre_probabilities(self, track_id: int) -> dict[str, float]:
        arr = self._arrays
        rows = np.flatnonzero(arr["track_ids"] == int(track_id))
        if not len(rows):
            raise UserInputError(f"no track with id {track_id} in the catalog")
        return _ranked(dict(zip(arr["genres"].tolist(), arr["proba"][rows[0]].tolist(), strict=True)))

    def metrics(self) -> dict:
        name = self._require_model()["name"]
        path = self.artifact("metrics")
        if not path.is_file():
            raise NotBuiltError(f"no evaluation stored for model {name}; rebuild the catalog")
        return json.loads(path.read_text(encoding="utf-8"))

    # ---- similar songs -------------------------------------------------------------------
    def similar(self, track_id: int, *, k: int = 10, genre: str | None = None) -> pd.DataFrame:
        """The k songs closest to a catalog track (never the track itself)."""
        # An unknown id is a clear UserInputError from the index (no database round trip here).
        return self._results(self.index.query_track(int(track_id), k=k, genre=genre))

    @cached_property
    def model(self):
        from recommender.model import GenreModel

        m = self._require_model()
        # The copy in this home first: a home folder that was moved or copied still works.
        path = self.paths.models_dir / f"{m['name']}.keras"
        return GenreModel.load(
            path if path.is_file() else Path(m["path"]), config=self.config, genres=m["genres"]
        )

    def analyse(self, path: str | Path) -> ClipAnalysis:
        """Listen to an audio file with the catalog's model (the same feature path as the catalog)."""
        from recommender.audio import mel_for_file

        mel = mel_for_file(path, config=self.config)
        embeddings, proba = self.model.embed_and_predict_many([mel])
        probs = dict(zip(self.model.genres_, proba[0].tolist(), strict=True))
        return ClipAnalysis(mel=mel, embedding=embeddings[0], genre_probabilities=_ranked(probs))

    def similar_to_clip(self, clip: ClipAnalysis, *, k: int = 10, genre: str | None = None) -> pd.DataFrame:
        # An uploaded copy of a catalog song is not a recommendation for itself.
        hits = self.index.query(clip.embedding, k=k, genre=genre, exclude_copies_of=[clip.embedding])
        return self._results(hits)

    # ---- what a song sounds like ------------------------------------------------------------
    def genres(self) -> list[str]:
        """The catalog's genres, sorted (the model's genres when there is a model)."""
        if self.model_info:
            return sorted(self.model_info["genres"])
        return sorted(self.info_.get("genres", {}))

    @cached_property
    def features(self):
        from recommender.features import FeatureCache

        return FeatureCache(self.paths.features_dir, self.config)

    def mel(self, track_id: int) -> np.ndarray:
        """The cached log-mel ``(n_mels, n_frames)`` float32 dB of a catalog track."""
        if not np.any(self._arrays["track_ids"] == int(track_id)):  # in memory: no database round trip
            raise UserInputError(f"no track with id {track_id} in the catalog")
        return self.features.get(int(track_id))

    def audio_path(self, track_id: int) -> Path:
        return Path(self.track(track_id)["audio_path"])

    def traits(self, track_id: int):
        """Tempo, brightness and top genres of a track (``describe.SoundTraits``)."""
        from recommender.describe import sound_traits

        return sound_traits(self.mel(track_id), self.genre_probabilities(track_id), config=self.config)

    def similar_with_reasons(self, track_id: int, *, k: int = 10, genre: str | None = None) -> pd.DataFrame:
        """``similar`` plus a ``why`` column: shared genres, tempo and brightness side by side."""
        from recommender.describe import why

        frame = self.similar(track_id, k=k, genre=genre)
        mine = self.traits(track_id)
        frame["why"] = [why(mine, self.traits(int(t))) for t in frame["track_id"]]
        return frame

    def training_history(self) -> pd.DataFrame:
        """Per epoch: ``epoch, loss, accuracy, val_loss, val_accuracy, lr`` of the model (empty: none)."""
        name = self._require_model()["name"]
        path = self.paths.models_dir / f"{name}.history.csv"
        if not path.is_file():
            return pd.DataFrame(columns=["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"])
        return pd.read_csv(path)

    # ---- uploaded clips ------------------------------------------------------------------------
    def analyse_bytes(self, data: bytes, *, filename: str) -> ClipAnalysis:
        """``analyse`` for the bytes of an uploaded file; its name gives the format and the error messages."""
        name = safe_filename(filename)
        with tempfile.TemporaryDirectory(prefix="musicrec-upload-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            return self.analyse(path)

    def locate(self, clip: ClipAnalysis) -> tuple[float, float]:
        """Where a clip falls on the catalog map: ``(x, y)`` among its most similar songs."""
        from recommender.projection import locate

        arr = self._arrays
        rows = [self.index.rows_[int(t)] for t in arr["track_ids"]]
        return locate(clip.embedding, self.index.embeddings_[rows], arr["coords"])

    def add_upload(
        self,
        data: bytes,
        *,
        filename: str,
        title: str,
        artist: str,
        genre: str | None = None,
        album: str = "Uploads",
    ) -> int:
        """Add an uploaded clip to the catalog at once; returns its new track id.

        The file is saved as ``audio/uploads/<track id><suffix>`` (a name made here, never
        the user's), its features cached, the index and the map arrays extended and saved,
        and finally its track row written: that row is the commit, so an interrupted upload
        leaves nothing a user can see. The id is derived from the content: the same clip
        twice is refused.
        """
        from recommender.features import atomic_write, check_writable
        from recommender.sources.base import Track

        title, artist = " ".join(title.split()), " ".join(artist.split()) or "Unknown artist"
        if not title:
            raise UserInputError("give the clip a title")
        suffix = Path(safe_filename(filename)).suffix.lower()
        track_id = upload_track_id(data)
        known = self.store.tracks(track_ids=[track_id])
        if len(known):
            existing = known["title"].iloc[0]
            raise UserInputError(f"this clip is already in the catalog as “{existing}” (track {track_id})")
        clip = self.analyse_bytes(data, filename=filename)
        genre = genre or next(iter(clip.genre_probabilities))
        if genre not in self.genres():
            raise UserInputError(f"unknown genre {genre!r}; choose one of {', '.join(self.genres())}")
        x, y = self.locate(clip)

        with self._write_lock:
            target = self.paths.audio_dir / UPLOADS_DIR / f"{track_id}{suffix}"
            for folder in (target.parent, self.features.dir, self.paths.catalog_dir):
                check_writable(folder)  # before anything is written: a clear message naming the folder
            atomic_write(target, lambda tmp: tmp.write_bytes(data))
            self.features.put(track_id, clip.mel)
            old_arrays = self._arrays
            index_path, arrays_path = self.artifact("index"), self.artifact("map")
            proba = np.array([clip.genre_probabilities[g] for g in old_arrays["genres"].tolist()], np.float32)
            arrays = {
                "track_ids": np.append(old_arrays["track_ids"], np.int64(track_id)),
                "coords": np.vstack(
                    [old_arrays["coords"], np.array([[x, y]], dtype=old_arrays["coords"].dtype)]
                ),
                "proba": np.vstack([old_arrays["proba"], proba[None, :].astype(old_arrays["proba"].dtype)]),
                "genres": old_arrays["genres"],
            }
            track = Track(
                track_id=track_id, title=title, artist=artist, album=album, genre=genre, split="training",
                audio_path=str(target.resolve()), source="upload", duration=clip.mel.shape[1]
                * self.config.hop_length / self.config.sample_rate,
            )  # fmt: skip
            index = self.index
            before = (
                index.embeddings_,
                index.track_ids_,
                index.genres_,
            )  # fit() replaces, never mutates these
            index.add(clip.embedding, track_id, genre)
            saved = []  # the files replaced so far: only those are put back
            try:
                index.save(index_path)
                saved.append(index_path)
                atomic_write(arrays_path, lambda tmp: _savez(tmp, **arrays))
                saved.append(arrays_path)
                self.__dict__["_arrays"] = arrays
                self.store.add_track(track)  # the commit
            except BaseException:
                # Put the catalog back as it was; the saved audio and features are harmless leftovers.
                index.fit(*before)
                self.__dict__["_arrays"] = old_arrays
                # Best effort: a file left extended only indexes a song without a track row, never shown.
                with contextlib.suppress(RecommenderError):
                    if index_path in saved:
                        index.save(index_path)
                    if arrays_path in saved:
                        atomic_write(arrays_path, lambda tmp: _savez(tmp, **old_arrays))
                raise
            self.revision += 1
        return track_id

    # ---- profiles --------------------------------------------------------------------------------
    def recommend(
        self, user: str, *, k: int = 10, genre: str | None = None, one_per_artist: bool = False
    ) -> tuple[pd.DataFrame, bool]:
        """Songs for ``user`` with a ``reason`` column, and whether it is a cold start (no history yet)."""
        from recommender.profile import recommend_for_user

        recs, cold = recommend_for_user(
            self.store, self.index, user, k=k, genre=genre, one_per_artist=one_per_artist
        )
        return self._results([(r.track_id, r.score) for r in recs], reasons=[r.reason for r in recs]), cold

    def path(self, from_id: int, to_id: int, *, steps: int = 8) -> pd.DataFrame:
        """Songs moving smoothly from one track to another, both included."""
        from recommender.profile import song_path

        self.track(from_id)
        self.track(to_id)
        return self._results(song_path(self.index, int(from_id), int(to_id), steps=steps))

    def continue_playlist(self, user: str, name: str, *, k: int = 5) -> pd.DataFrame:
        """Songs that would carry a playlist on (none of its own songs)."""
        from recommender.profile import continue_playlist

        hits = continue_playlist(self.store, self.index, user, name, k=k)
        return self._results([(h.track_id, h.score) for h in hits], reasons=[h.reason for h in hits])

    def save_playlist(self, user: str, name: str, track_ids: list[int]) -> None:
        """Create playlist ``name`` holding ``track_ids`` in order (all or nothing)."""
        self.store.create_playlist(user, name, [int(t) for t in track_ids])

    # ---- models ------------------------------------------------------------------------------------
    def rebuild_options(self, **changes):
        """This catalog's ``BuildOptions`` with ``changes`` (e.g. ``arch=``, ``epochs=``, ``model=``)."""
        from recommender.build import BuildOptions

        saved = dict(self.info_.get("options", {}))
        fields = {f.name for f in dataclasses.fields(BuildOptions)} - {"config"}
        options = {k: v for k, v in saved.items() if k in fields}
        for key in ("metadata", "audio", "model"):
            if options.get(key) not in (None, "None"):
                options[key] = Path(options[key])
            else:
                options[key] = None
        return dataclasses.replace(BuildOptions(**options, config=self.config), **changes)

    def saved_models(self) -> list[str]:
        """Names of the models in this home that can be loaded (a .keras file with its .json)."""
        folder = self.paths.models_dir
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.keras") if p.with_suffix(".json").is_file())

    def model_path(self, name: str) -> Path:
        if name not in self.saved_models():
            saved = ", ".join(self.saved_models()) or "none"
            raise ModelError(f"no saved model named {name!r}; saved models: {saved}")
        return self.paths.models_dir / f"{name}.keras"

    def import_model(self, files: dict[str, bytes]) -> Path:
        """Save an uploaded ``.keras`` model and its ``.json`` description into this home's models.

        Both files are checked first: the description must name this catalog's genres and
        audio settings, and the model must load (Keras safe mode) with musicrec's embedding
        layer, this catalog's input shape and genre count (``model.check_model_file``), or
        it is refused before anything is kept.
        """
        from recommender.features import atomic_write
        from recommender.model import check_model_file

        keras_files = [n for n in files if n.lower().endswith(".keras")]
        json_files = [n for n in files if n.lower().endswith(".json")]
        if len(keras_files) != 1 or len(json_files) != 1:
            raise ModelError("upload exactly one .keras model together with its .json description")
        try:
            meta = json.loads(files[json_files[0]].decode("utf-8"))
            genres, config = list(meta["genres"]), AudioConfig.from_dict(meta["config"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise ModelError(f"{json_files[0]} is not a musicrec model description ({error})") from None
        if sorted(genres) != self.genres():
            raise ModelError(f"the model knows genres {genres}, but this catalog has {self.genres()}")
        differences = self.config.mismatch(config)
        if differences:
            raise ModelError(f"the model was trained with other audio settings: {'; '.join(differences)}")
        stem = Path(safe_filename(keras_files[0])).stem
        name, n = stem, 1
        while (self.paths.models_dir / f"{name}.keras").exists():
            n += 1
            name = f"{stem}-{n}"
        target = self.paths.models_dir / f"{name}.keras"

        def write_checked(
            tmp: Path,
        ) -> None:  # checked under its temporary name: a refused model never appears
            tmp.write_bytes(files[keras_files[0]])
            check_model_file(tmp, config=self.config, genres=genres, name=keras_files[0])

        atomic_write(target, write_checked, suffix=".keras")
        # The description last: a .keras file without its .json is not offered among the saved models.
        atomic_write(target.with_suffix(".json"), lambda tmp: tmp.write_bytes(files[json_files[0]]))
        return target

    def _results(self, hits: list[tuple[int, float]], *, reasons: list[str] | None = None) -> pd.DataFrame:
        extra = ["reason"] if reasons is not None else []
        if not hits:
            return pd.DataFrame(columns=RESULT_COLUMNS + extra)
        scores = pd.DataFrame(hits, columns=["track_id", "score"])
        if reasons is not None:
            scores["reason"] = reasons
        # Inner: an indexed song without a committed track row (an interrupted upload) stays invisible.
        rows = self.store.tracks(
            track_ids=scores["track_id"].tolist()
        )  # only these: the catalog may be large
        merged = scores.merge(rows, on="track_id", how="inner")
        return merged[RESULT_COLUMNS + extra + [c for c in ("album",) if c in merged]]


def _ranked(probs: dict[str, float]) -> dict[str, float]:
    return {g: round(float(p), 6) for g, p in sorted(probs.items(), key=lambda kv: -kv[1])}


def safe_filename(filename: str) -> str:
    """A plain file name for an uploaded file: no folders, only letters, digits, ``._-``; audio suffix kept.

    Raises ``AudioError`` when the suffix is not an audio format the catalog reads.
    """
    name = Path(str(filename).replace("\\", "/")).name
    stem, suffix = Path(name).stem, Path(name).suffix.lower()
    allowed = AUDIO_SUFFIXES + (".keras", ".json")
    if suffix not in allowed:
        formats = ", ".join(s.lstrip(".") for s in AUDIO_SUFFIXES)
        raise AudioError(f"{name or 'the file'}: not a supported audio file; use one of {formats}")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:60] or "clip"
    return stem + suffix


def default_title(filename: str) -> str:
    """The title offered for an uploaded clip: its file name as the user's browser gave it, less its audio suffix.

    A browser sends only a file's own name, never its folders, so a "/" or "\\" in it is part
    of the name: "</b>.wav" is titled "</b>" (shown as text, never markup). Whitespace runs
    are folded; at most 80 characters.
    """
    name = " ".join(str(filename).split())
    stem, dot, suffix = name.rpartition(".")
    title = stem.strip() if dot and stem.strip() and f".{suffix.lower()}" in AUDIO_SUFFIXES else name
    return title[:80]


def upload_track_id(data: bytes) -> int:
    """A stable track id for an uploaded clip, from its content: below 2**53, above every demo/FMA id."""
    digest = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
    return (1 << 52) + digest % (1 << 52)


def _savez(path: Path, **arrays: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a bare name
        np.savez(f, **arrays)


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
