"""A built catalog, opened for questions: what is in it, what sounds like this, for whom.

``Catalog.open(home)`` reads ``build.json`` and loads the rest lazily: the track table
(DuckDB), the similarity index and map coordinates (npz), and the CNN (only when a
clip must be listened to). The command line and the app both talk to this class.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from recommender import model_files, playlist_files, rerank
from recommender import tags as heard_tags
from recommender.build_info import artifact_path, read_build_info, settled_build_info
from recommender.clips import TOP_TAGS, ClipAnalysis, by_probability, listen
from recommender.config import AudioConfig, Paths
from recommender.errors import NotBuiltError, RecommenderError, UserInputError
from recommender.results import results_frame
from recommender.tags import DESCRIBE_MIN_SCORE

OTHER_THAN = ("album", "artist")
"""What ``similar(other_than=...)`` and ``recommend(other_than=...)`` can leave out: the seed's album or artist."""


class Catalog:
    """Read access to one built home folder."""

    def __init__(self, paths: Paths, info: dict):
        self.paths = paths
        self.info_ = info
        self.revision = 0  # grows with every clip added to the catalog (cache keys use it)
        self._write_lock = threading.Lock()  # one catalog change at a time (the app is multi-threaded)
        self._model_lock = (
            threading.Lock()
        )  # sessions that need the model at once: one loads, the others wait
        self._heard: dict = {}  # recent uploads' analyses by content (``uploads.analyse_upload``)
        self._heard_lock = threading.Lock()

    @classmethod
    def open(cls, home: str | Path | None = None) -> Catalog:
        paths = Paths.at(home)
        if not paths.build_info.is_file():
            raise NotBuiltError(
                f"no catalog in {paths.home}: build one first, "
                "e.g. `python -m recommender build --source demo`"
            )
        info, damage = read_build_info(paths.build_info)
        catalog = cls(paths, info or {})
        committed = (lambda: catalog.store.committed_build()) if paths.database.is_file() else None
        settled = settled_build_info(paths, info, damage, committed)
        return catalog if settled is info else cls(paths, settled)

    def artifact(self, kind: str) -> Path:
        """The current build's ``"index"``, ``"map"``, ``"novelty"`` (.npz) or ``"metrics"`` (.json) file."""
        return artifact_path(self.paths, self.info_, kind, lambda: self._require_model()["name"])

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
                "head": m.get("head"),
                "genres": list(m.get("genres", [])),
                "description": model_files.model_description(m),
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
        self,
        query: str | None = None,
        *,
        genre: str | None = None,
        tag: str | None = None,
        k: int | None = 20,
    ) -> pd.DataFrame:
        """Tracks matching ``query`` (title, artist, album), ``genre`` and ``tag``, best first.

        ``tag``: songs among whose ``TOP_TAGS`` most probable tags it is, most probable
        first when there is no query (else in the query's order), with a ``tag_probability``.
        """
        if tag is None:
            return self.store.search(query, genre=genre, k=k)
        chosen = heard_tags.tagged(self._arrays, tag)
        found = self.store.search(query, genre=genre, k=None).merge(chosen, on="track_id", how="inner")
        if not query:
            found = found.sort_values(["tag_probability", "track_id"], ascending=[False, True], kind="stable")
        found["tag_probability"] = found["tag_probability"].round(4)
        return found.head(k).reset_index(drop=True) if k is not None else found.reset_index(drop=True)

    def tag_names(self) -> list[str]:
        """The tags the backbone knows, in their stored order."""
        return heard_tags.tag_names(self._arrays)

    def tag_matrix(self, track_ids) -> np.ndarray:
        """Tag probabilities ``(len(track_ids), n_tags)`` float32 of catalog songs, in ``tag_names()`` order.

        A song without tags (or a catalog without them) gets a row of zeros.
        """
        return heard_tags.tag_matrix(self._arrays, track_ids)

    def tags(self, track_id: int, *, n: int | None = TOP_TAGS) -> dict[str, float]:
        """The tags the model hears in a catalog track, most probable first (``n`` of them; None: all)."""
        return heard_tags.song_tags(self._arrays, track_id, n=n)

    def describe(
        self,
        text: str,
        *,
        k: int | None = 20,
        genre: str | None = None,
        query: str | None = None,
        tag: str | None = None,
        min_score: float = DESCRIBE_MIN_SCORE,
    ) -> tuple[pd.DataFrame, list[str]]:
        """Songs ranked by how strongly the model hears the tags that ``text``'s words name.

        Returns the songs (with ``score``: the mean, over the matched tags, of how far each
        song's probability stands above the catalog's usual one, in standard deviations;
        only songs scoring at least ``min_score``) and the tags matched. ``query``, ``genre``
        and ``tag`` narrow the songs as in ``search``: every given field must hold.
        No tag matched: ``UserInputError`` listing some tags.
        """
        score, matched = heard_tags.described(self._arrays, text)
        rows = self.search(query, genre=genre, tag=tag, k=None).drop(columns="score")
        found = rows.merge(score[score["score"] >= min_score], on="track_id")
        found = found.sort_values(["score", "track_id"], ascending=[False, True])
        return (found.head(k) if k is not None else found).reset_index(drop=True), matched

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

    # ---- changes: adding and deleting clips (``uploads``) go through these -------------------------
    @property
    def map_arrays(self) -> dict[str, np.ndarray]:
        """The map's arrays: per song ``track_ids``, ``coords``, ``proba``, ``tags``, ``feature_keys``; ``genres``…"""
        return self._arrays

    def use_map_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Serve ``arrays`` as the map's from now on (the caller has written them, or puts them back)."""
        self.__dict__["_arrays"] = arrays

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """One change of the catalog at a time (the app is multi-threaded); done, it is a new revision.

        The revision is in every cache key, so a page shows the change at once; a change that
        raises leaves the revision as it was.
        """
        with self._write_lock:
            yield
            self.revision += 1

    def heard_before(self, key) -> ClipAnalysis | None:
        """The analysis remembered under ``key`` (a clip's content), if any."""
        return self._heard.get(key)

    def remember_heard(self, key, analysis: ClipAnalysis, *, keep: int) -> None:
        """Remember ``analysis`` under ``key``, with the ``keep - 1`` most recent others."""
        with self._heard_lock:
            self._heard[key] = analysis
            while len(self._heard) > keep:
                self._heard.pop(next(iter(self._heard)))

    def forget_heard(self) -> None:
        with self._heard_lock:
            self._heard.clear()

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
        return by_probability(dict(zip(arr["genres"].tolist(), arr["proba"][rows[0]].tolist(), strict=True)))

    def metrics(self) -> dict:
        name = self._require_model()["name"]
        path = self.artifact("metrics")
        if not path.is_file():
            raise NotBuiltError(f"no evaluation stored for model {name}; rebuild the catalog")
        from recommender.intervals import with_intervals

        return with_intervals(json.loads(path.read_text(encoding="utf-8")), n_queries=self._test_songs())

    def _test_songs(self) -> int | None:
        """How many songs the build measured neighbours for: its test songs, or all of them without any."""
        try:
            ids = self._arrays["track_ids"]
            tracks = self.tracks()
        except RecommenderError:  # not built, or the database busy: the figures show without their n
            return None
        splits = tracks.set_index("track_id")["split"].reindex([int(t) for t in ids])
        test = int((splits == "test").sum())
        return test or len(ids)

    # ---- similar songs -------------------------------------------------------------------
    def similar(
        self, track_id: int, *, k: int = 10, genre: str | None = None, other_than: str | None = None
    ) -> pd.DataFrame:
        """The k songs closest to a catalog track (never the track itself).

        ``other_than``: ``"album"`` or ``"artist"`` leaves out every song of the track's own
        album (same artist and album name) or artist (``OTHER_THAN``).
        """
        # An unknown id is a clear UserInputError from the index (no database round trip here).
        exclude = self.same(int(track_id), other_than) if other_than is not None else ()
        if rerank.QUERY_EXPANSION:
            vector, exclude = self.index.vector(int(track_id)), {*exclude, int(track_id)}
            hits = rerank.expanded_search(
                self.index, vector, k=k, expand=rerank.QUERY_EXPANSION, genre=genre, exclude=exclude
            )
            return self._results(hits)
        return self._results(self.index.query_track(int(track_id), k=k, genre=genre, exclude=exclude))

    def same(self, track_id: int, what: str) -> set[int]:
        """Ids of the catalog songs sharing ``track_id``'s album (its artist's album of that name) or artist."""
        from recommender.profile import same_as_any

        self.track(int(track_id))  # an unknown id: a clear UserInputError
        return same_as_any(self.tracks(), {int(track_id)}, what)

    @property
    def model(self):
        """The catalog's model, loaded once per process (the app's sessions share the ``Catalog``)."""
        from recommender.embedding import load_model

        with self._model_lock:
            if "_model" not in self.__dict__:
                m = self._require_model()
                # The copy in this home first: a home folder that was moved or copied still works.
                path = self.paths.models_dir / f"{m['name']}.keras"
                self._model = load_model(
                    path if path.is_file() else Path(m["path"]),
                    config=self.config,
                    genres=m["genres"] or None,
                )
            return self._model

    @property
    def sound_config(self):
        """What the backbone keeps of each song in this catalog (``backbone.SoundConfig``)."""
        from recommender.backbone import DEFAULT_SOUND, SoundConfig

        saved = (self.model_info or {}).get("sound")
        return SoundConfig.from_dict(saved) if saved else DEFAULT_SOUND

    @cached_property
    def sounds(self):
        """The cache of the backbone's sound features of the catalog's songs."""
        from recommender.features import FeatureCache

        return FeatureCache(self.paths.features_dir, self.sound_config, **self._feature_keys())

    def analyse(self, path: str | Path) -> ClipAnalysis:
        """Listen to an audio file with the catalog's model (the very feature path the catalog took)."""
        return listen(path, config=self.config, sound=self.sound_config, model=self.model)

    def unlike_catalog(self, clip: ClipAnalysis) -> bool:
        """Whether ``clip`` is unlike everything in the catalog (``novelty_of`` says why)."""
        return self.novelty_of(clip).unlike

    def novelty_of(self, clip: ClipAnalysis):
        """Whether ``clip`` is unlike the catalog, and why: a ``novelty.Novelty`` (``recommender.novelty``).

        Judged on the backbone's sound features against the catalog's own songs. A catalog
        built before that calibration, whose songs' sound features are not all cached any
        more, falls back to the old rule: the clip's best match against how close catalog
        songs are to their nearest neighbour.
        """
        from recommender.non_music import references
        from recommender.novelty import by_nearest_match, judge

        reference = self.novelty_reference
        if clip.sound is not None and reference is not None:
            return judge(reference, clip.sound, refs=references(self.paths.features_dir, self.sound_config))
        return by_nearest_match(self.index, clip.embedding, (self.model_info or {}).get("calibration") or {})

    @cached_property
    def novelty_reference(self):
        """The catalog's ``novelty.NoveltyModel``: saved by the build, else fitted now on the cached
        sound features of its songs (a catalog built before it was saved); None when those are gone."""
        from recommender.novelty import NoveltyModel

        path = self.artifact("novelty")
        if path.is_file():
            return NoveltyModel.load(path)
        try:
            ids = self._arrays["track_ids"]
            features = np.stack([self.sounds.get(int(t)) for t in ids])
        except (RecommenderError, OSError, KeyError, ValueError):
            return None
        return NoveltyModel(backbones=self.sound_config.backbones).fit(features)

    def similar_to_clip(self, clip: ClipAnalysis, *, k: int = 10, genre: str | None = None) -> pd.DataFrame:
        # An uploaded copy of a catalog song is not a recommendation for itself.
        hits = rerank.expanded_search(
            self.index, clip.embedding, k=k, expand=rerank.QUERY_EXPANSION, genre=genre,
            exclude_copies_of=[clip.embedding],
        )  # fmt: skip
        return self._results(hits)

    # ---- what a song sounds like ------------------------------------------------------------
    def genres(self) -> list[str]:
        """The catalog's genres, sorted (the model's genres when it classifies)."""
        if self.model_info and self.model_info.get("genres"):
            return sorted(self.model_info["genres"])
        return sorted(self.info_.get("genres", {}))

    @cached_property
    def features(self):
        """The cache of the log-mels of the catalog's songs."""
        from recommender.features import FeatureCache

        return FeatureCache(self.paths.features_dir, self.config, **self._feature_keys())

    def _feature_keys(self) -> dict:
        """``FeatureCache`` arguments that read the features of this build's own songs.

        The build saved each song's content key in its map; a clip added since has its
        key read from its file. A build from before content keys: none (``<id>.npy``).
        """
        try:
            arrays = self._arrays
        except NotBuiltError:
            return {}
        if "feature_keys" not in arrays:
            return {}
        keys = {int(t): str(k) for t, k in zip(arrays["track_ids"], arrays["feature_keys"], strict=True) if k}
        return {"keys": keys, "locate": self.audio_path}

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

        return sound_traits(
            self.mel(track_id),
            self.genre_probabilities(track_id),
            tags=self.tags(track_id),
            config=self.config,
        )

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
    def analyse_bytes(self, data: bytes, *, filename: str, on_wait=None) -> ClipAnalysis:
        """``analyse`` for the bytes of an uploaded file, in its turn (``uploads.analyse_upload``)."""
        from recommender.uploads import analyse_upload

        return analyse_upload(self, data, filename=filename, on_wait=on_wait)

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
        user: str | None = None,
        limited: bool = False,
    ) -> int:
        """Add an uploaded clip at once; returns its new track id (``uploads.add_upload``: ``user``, ``limited``)."""
        from recommender.uploads import add_upload

        return add_upload(
            self, data, filename=filename, title=title, artist=artist, genre=genre, album=album, user=user,
            limited=limited,
        )  # fmt: skip

    def delete_upload(self, track_id: int, *, user: str | None = None, owner: bool = False) -> str:
        """Delete an upload (only its profile or the owner may); returns its title (``uploads.delete_upload``)."""
        from recommender.uploads import delete_upload

        return delete_upload(self, track_id, user=user, owner=owner)

    # ---- profiles --------------------------------------------------------------------------------
    def recommend(
        self,
        user: str,
        *,
        k: int = 10,
        genre: str | None = None,
        one_per_artist: bool = False,
        other_than: str | None = None,
    ) -> tuple[pd.DataFrame, bool]:
        """Songs for ``user`` with a ``reason`` column, and whether it is a cold start (no history yet).

        Sound alone, or blended with what other profiles played (``recommender.hybrid``).
        ``other_than``: ``"album"``/``"artist"`` leaves out the albums/artists the user has played or liked.
        """
        from recommender.hybrid import recommend

        recs, cold = recommend(
            self.store,
            self.index,
            user,
            k=k,
            genre=genre,
            one_per_artist=one_per_artist,
            other_than=other_than,
        )
        return self._results([(r.track_id, r.score) for r in recs], reasons=[r.reason for r in recs]), cold

    def path(self, from_id: int, to_id: int, *, steps: int = 8) -> pd.DataFrame:
        """``steps`` songs moving smoothly from one track to another, both included, in order.

        ``score``: the cosine similarity of each song to the previous one (1.0 for the first).
        """
        from recommender.song_path import song_path

        self.track(from_id)
        self.track(to_id)
        return self._results(song_path(self.index, int(from_id), int(to_id), steps=steps, store=self.store))

    def continue_playlist(self, user: str, name: str, *, k: int = 5) -> pd.DataFrame:
        """Songs that would carry a playlist on (none of its own songs)."""
        from recommender.profile import continue_playlist

        hits = continue_playlist(self.store, self.index, user, name, k=k)
        return self._results([(h.track_id, h.score) for h in hits], reasons=[h.reason for h in hits])

    def save_playlist(self, user: str, name: str, track_ids: list[int]) -> None:
        """Create playlist ``name`` holding ``track_ids`` in order (all or nothing)."""
        self.store.create_playlist(user, name, [int(t) for t in track_ids])

    def export_playlist(
        self, user: str, name: str, *, fmt: str = "m3u8", relative_to: Path | None = None
    ) -> tuple[str, int]:
        """Playlist ``name`` of ``user`` as the text of an M3U8 or XSPF file, and how many songs it holds.

        Paths are absolute, or relative to the folder ``relative_to`` (``recommender.playlists``).
        """
        return playlist_files.export_playlist(self.store, user, name, fmt=fmt, relative_to=relative_to)

    def playlist_name(self, user: str, name: str) -> str:
        """Playlist ``name`` of ``user`` as stored ("Road trip" for "road trip "), else as typed, trimmed."""
        return playlist_files.playlist_name(self.store, user, name)

    def import_playlist(
        self, user: str, name: str, data: bytes, *, file_name: str = "playlist", bases: tuple[Path, ...] = ()
    ):
        """Create playlist ``name`` from the bytes of an M3U, M3U8 or XSPF file (all or nothing).

        Entries are matched with catalog songs by the absolute path of their audio file;
        relative entries are tried against each of ``bases``, then the home. Returns the
        ``playlists.Matched``: the songs imported and the entries skipped (no song of the
        catalog) or repeated. None matching is a ``UserInputError``.
        """
        return playlist_files.import_playlist(
            self.store, user, name, data, file_name=file_name, bases=[*bases, self.paths.home]
        )

    # ---- models ------------------------------------------------------------------------------------
    def rebuild_options(self, **changes):
        """This catalog's ``BuildOptions`` with ``changes`` (e.g. ``arch=``, ``epochs=``, ``model=``)."""
        from recommender.build_options import BuildOptions

        saved = BuildOptions.from_dict(self.info_.get("options", {}))
        return dataclasses.replace(saved, config=self.config, **changes)

    def saved_models(self) -> list[str]:
        """Names of the models in this home that can be loaded (a .keras file with its .json)."""
        return model_files.saved_models(self.paths.models_dir)

    def model_path(self, name: str) -> Path:
        return model_files.model_path(self.paths.models_dir, name)

    def import_model(self, files: dict[str, bytes]) -> Path:
        """Keep an uploaded ``.keras`` model and its ``.json`` description once checked (``embedding.import_model``)."""
        from recommender.embedding import import_model

        return import_model(self.paths.models_dir, files, genres=self.genres(), config=self.config)

    def results(self, hits: list[tuple[int, float]], *, reasons: list[str] | None = None) -> pd.DataFrame:
        """``(track_id, score)`` pairs (and their ``reasons``) as a frame shaped like ``similar``'s."""
        return self._results(hits, reasons=reasons)

    def _results(self, hits: list[tuple[int, float]], *, reasons: list[str] | None = None) -> pd.DataFrame:
        return results_frame(self.store, hits, reasons=reasons)
