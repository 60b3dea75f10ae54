"""Build a catalog: source → features → model → embeddings → map → index → evaluation.

Each stage reports to a ``Progress`` (a tqdm bar per stage on the command line, a
progress bar per stage in the app). Every artifact is written under a temporary name
and renamed into place; ``build.json`` is written last, so a catalog is either the
previous complete build or the new complete build, never a mix.

A build writes beside the catalog in use, never into it: the demo's songs go to the
folder of their plan (``demo.plan_folder``), features are named by the content of their
audio (``features.content_key``), the index and map go to the build's own folder. So a
build cancelled or killed at any moment leaves the catalog in use as it was, byte for
byte. Only after the switch (``commit``) is what the new catalog no longer uses removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from tqdm import tqdm

from recommender import cluster, listeners
from recommender.build_options import BuildOptions
from recommender.config import Paths
from recommender.errors import NoUsableAudioError, UserInputError
from recommender.features import FeatureCache, extract
from recommender.files import atomic_write, atomic_write_text, check_writable, remove_stale_temps, savez
from recommender.limits import cap_workers
from recommender.locks import build_lock
from recommender.progress import EpochMetrics
from recommender.retention import prune
from recommender.sources.base import SourceReport, Track

SOURCES = ("demo", "fma", "folder")
DEMO_DIR = "demo"  # below the home's audio folder: one folder per plan of synthesised songs
SOURCE_LABELS = {
    "demo": "Demo catalog (synthesised audio)",
    "fma": "Free Music Archive",
    "folder": "Music folder",
}


class Progress(Protocol):
    """Receives build progress: a new stage (a name of ``progress.STAGES``), its advances, notes.

    ``metrics``: a training epoch's, with the epoch's advance. Two methods are optional:
    ``plan(stages)`` receives the ``(stage, songs)`` the build will go through before it
    starts, and ``usable(songs, total)`` says that a tiered demo's first catalog is in use
    while the build adds the rest.
    """

    def stage(self, name: str, total: int | None = None) -> None: ...

    def advance(self, done: int, total: int, metrics: EpochMetrics | None = None) -> None: ...

    def note(self, message: str) -> None: ...


class TqdmProgress:
    """Build progress on stderr: one tqdm bar per stage."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def stage(self, name: str, total: int | None = None) -> None:
        self.close()
        self._bar = tqdm(total=total, desc=name, unit="", file=sys.stderr, dynamic_ncols=True)

    def advance(self, done: int, total: int, metrics: EpochMetrics | None = None) -> None:
        if self._bar is None:
            return
        self._bar.total = total
        self._bar.n = done
        if metrics is not None:
            self._bar.set_postfix_str(metrics.words(), refresh=False)
        self._bar.refresh()

    def note(self, message: str) -> None:
        tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class SilentProgress:
    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, done: int, total: int, metrics: EpochMetrics | None = None) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class BuildResult:
    tracks: list[Track]
    skipped: dict[str, str]
    info: dict


def load_source(options: BuildOptions, paths: Paths, progress: Progress) -> tuple[list[Track], SourceReport]:
    """The catalog's tracks from the chosen source (the demo synthesises its audio here)."""
    if options.source == "demo":
        from recommender.sources import demo

        n = options.tracks if options.tracks is not None else demo.DEFAULT_TRACKS
        progress.stage("synthesise", n)
        return demo.build_demo(
            demo.plan_folder(paths.audio_dir / DEMO_DIR, seed=options.seed),
            n_tracks=n,
            seed=options.seed,
            workers=options.workers,
            progress=progress.advance,
        )
    if options.source == "fma":
        from recommender.sources.fma import load_fma

        if options.metadata is None or options.audio is None:
            raise UserInputError(
                "--source fma needs --metadata DIR (fma_metadata) and --audio DIR (fma_small …)"
            )
        progress.stage("read metadata")
        return load_fma(options.metadata, options.audio, subset=options.subset)
    if options.source == "folder":
        from recommender.sources.folder import load_folder

        if options.audio is None:
            raise UserInputError("--source folder needs --audio DIR")
        progress.stage("scan folder")
        return load_folder(options.audio, seed=options.seed)
    raise UserInputError(f"unknown source {options.source!r}; choose one of {', '.join(SOURCES)}")


def build(
    options: BuildOptions, *, home: Path | str | None = None, progress: Progress | None = None
) -> BuildResult:
    """Run the whole build into ``home``. Returns the tracks kept, what was skipped and why, and build info."""
    paths = Paths.at(home)
    _check_writable(paths, options)
    if options.model is not None:
        from recommender.embedding import check_model_file

        check_model_file(options.model)
    cluster.check_reachable(options.scheduler)  # before the lock: a wrong address never blocks other builds

    progress = progress or SilentProgress()
    with build_lock(paths):
        tiers = demo_tiers(options, paths)
        _tell(progress, "plan", _plan(tiers))
        for tier in tiers[:-1]:
            first = _build(tier, paths, progress)
            songs, total = first.info["tracks"], tiers[-1].tracks
            progress.note(
                f"the catalog is in use with its first {songs} songs; adding the other {total - songs}"
            )
            _tell(progress, "usable", songs, total)
        return _build(tiers[-1], paths, progress)


FIRST_TIER_PER_GENRE = 6
"""Songs per genre of a tiered demo's first catalog: usable in about a minute on two cores."""


def demo_tiers(options: BuildOptions, paths: Paths) -> list[BuildOptions]:
    """The builds that make ``options``' catalog: a demo built where there is no catalog yet comes in two.

    First ``FIRST_TIER_PER_GENRE`` songs of every genre, built and switched to like any
    catalog, so the app is usable within about a minute; then the whole catalog, which
    reuses the first songs' audio and features and replaces the first catalog at one
    point (``commit``) when it is complete. Where a catalog is in use, it keeps serving
    until the new one is complete: one build. Every other source: one build.
    """
    if options.source != "demo" or _has_catalog(paths):
        return [options]
    from recommender.sources.demo import DEFAULT_TRACKS, STYLES

    total = options.tracks if options.tracks is not None else DEFAULT_TRACKS
    first = FIRST_TIER_PER_GENRE * len(STYLES)
    if total < 2 * first:  # small enough to be usable as soon
        return [options]
    return [dataclasses.replace(options, tracks=first), dataclasses.replace(options, tracks=total)]


def _has_catalog(paths: Paths) -> bool:
    if not paths.database.is_file():
        return False
    from recommender.errors import RecommenderError
    from recommender.store import Store

    with contextlib.suppress(RecommenderError):
        return Store(paths.database).committed_build() is not None
    return True  # cannot tell: do not replace what may be a catalog by a smaller one


def _plan(tiers: list[BuildOptions]) -> list[tuple[str, int]]:
    """The ``(stage, songs)`` of the builds of ``tiers``, a tiered build's first part marked usable."""
    from recommender.progress import USABLE, stages_of

    out: list[tuple[str, int]] = []
    for tier in tiers:
        if out:
            out.append((USABLE, 0))
        out += [
            (name, tier.tracks or 0)
            for name in stages_of(tier.source, tier.arch, uses_head=not tier.no_train)
        ]
    return out


def _tell(progress: Progress, method: str, *args) -> None:
    """Call one of ``Progress``'s optional methods, where it has it."""
    call = getattr(progress, method, None)
    if callable(call):
        call(*args)


def _build(options: BuildOptions, paths: Paths, progress: Progress) -> BuildResult:
    options = cap_workers(options, progress)  # at most one worker process per core
    started = datetime.now(UTC)
    paths.ensure()
    _remove_stale_temps(paths)
    config = options.config
    tracks, report = load_source(options, paths, progress)
    tracks += _kept_uploads(paths, {t.track_id for t in tracks})
    skipped = dict(report.skipped)

    from recommender.backbone import DEFAULT_SOUND
    from recommender.musicnn_net import checkpoint_dir

    for name in DEFAULT_SOUND.backbones:
        checkpoint_dir(name)  # the backbone's weights are installed, before any work
    cache = FeatureCache(paths.features_dir, config)
    sounds = FeatureCache(paths.features_dir, DEFAULT_SOUND)
    progress.stage("features", len(tracks))
    extracted = extract(
        tracks,
        cache,
        sounds=sounds,
        workers=options.workers,
        scheduler=options.scheduler,
        home=paths.home,
        progress=progress.advance,
    )
    by_id = {t.track_id: t for t in tracks}
    for track_id, reason in extracted.failed.items():
        skipped[by_id[track_id].audio_path] = reason
    ok = set(extracted.ok)
    kept = [t for t in tracks if t.track_id in ok]
    if not kept:
        _report_skipped(skipped, progress, listed="")
        first = next(iter(skipped.items()), None)
        example = f" (the first: {Path(first[0]).name}: {_without_name(first)})" if first else ""
        raise NoUsableAudioError(
            f"no usable audio: every one of the {len(skipped)} files was skipped{example}", skipped
        )
    _report_skipped(skipped, progress)

    info = {
        "build_id": f"{options.source}-{started.strftime('%Y%m%d-%H%M%S-%f')}",
        "source": options.source,
        "source_label": SOURCE_LABELS[options.source],
        "synthesised": options.source == "demo",
        "started_at": started.isoformat(timespec="seconds"),
        "tracks": len(kept),
        "genres": _genre_counts(kept),
        "skipped": skipped,
        "features": {"computed": extracted.computed, "cached": extracted.cached},
        "config": config.to_dict(),
        "options": options.to_dict(),
        "model": None,
    }
    out = paths.build_dir(info["build_id"])
    try:
        info["model"] = _model_stages(options, kept, (cache, sounds), paths, out, progress)
        if not info["model"]["genres"]:
            progress.note(
                "no genre labels to learn from (one genre, or none): songs are embedded by the pretrained "
                "backbone alone; no classifier, tags as always"
            )
        kept = _switch(paths, kept, info, (cache, sounds), progress)
    except BaseException:
        if not _is_committed(paths, info["build_id"]):
            shutil.rmtree(out, ignore_errors=True)  # never read: the catalog in use is another build's
        raise
    prune(paths, info)  # the last few builds stay on the disk, older and failed ones go
    return BuildResult(tracks=kept, skipped=skipped, info=info)


def _switch(
    paths: Paths,
    tracks: list[Track],
    info: dict,
    caches: tuple[FeatureCache, FeatureCache],
    progress: Progress,
) -> list[Track]:
    """Make the finished build the catalog (``commit``), keeping clips added to the old one meanwhile.

    While holding ``uploads.catalog_change`` (adding a clip waits): the clips of the catalog
    in use are read again; those added during the build are listened to by the new model
    and join it, those removed meanwhile stay out. Then the switch, then the removal of
    what the new catalog no longer uses. Returns the catalog's tracks.
    """
    from recommender.errors import RecommenderError
    from recommender.uploads import catalog_change, include_in_build

    with catalog_change(paths):
        now = _kept_uploads(paths, set())
        still = {t.track_id for t in now}
        tracks = [t for t in tracks if t.source != "upload" or t.track_id in still]
        taken = {t.track_id for t in tracks}
        late = [t for t in now if t.track_id not in taken]
        if late:
            from recommender.catalog import Catalog

            progress.stage("added clips", len(late))
            tracks = tracks + include_in_build(Catalog(paths, info), late)
        info.update(tracks=len(tracks), genres=_genre_counts(tracks))
        info["built_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        commit(paths, tracks, info)
        with contextlib.suppress(OSError, RecommenderError):  # the switch is done; what is left is tidying
            _remove_unused(paths, tracks, caches)
    return tracks


def commit(paths: Paths, tracks: list[Track], info: dict) -> None:
    """Make a finished build the catalog, at one point.

    Until here the build only wrote files of its own (features, its model, its folder
    below ``catalog/``). The database transaction that replaces the track list also
    stores ``info``: that is the switch. ``build.json`` follows it, and a catalog opened
    in between (a build killed at that very moment) finds the committed build in the
    database and repairs ``build.json`` (``Catalog.open``).
    """
    from recommender.store import Store

    Store(paths.database).write_tracks(tracks, build=info)
    atomic_write_text(paths.build_info, json.dumps(info, indent=2, ensure_ascii=False))


def _is_committed(paths: Paths, build_id: str) -> bool:
    if not paths.database.is_file():
        return False
    from recommender.errors import RecommenderError
    from recommender.store import Store

    with contextlib.suppress(RecommenderError):
        return (Store(paths.database).committed_build() or {}).get("build_id") == build_id
    return True  # cannot tell: keep the folder


def _remove_unused(paths: Paths, tracks: list[Track], caches: tuple[FeatureCache, FeatureCache]) -> None:
    """After the switch: songs of other demo plans, features of replaced audio, clips without a track.

    Only what no track of the catalog uses; the demo folder of the catalog's own plan stays.
    """
    from recommender.store import Store
    from recommender.uploads import UPLOADS_DIR, orphans

    used = {Path(t.audio_path).resolve() for t in tracks}
    demo_root = paths.audio_dir / DEMO_DIR
    if demo_root.is_dir():
        for entry in demo_root.iterdir():
            if entry.is_dir() and not any(p.is_relative_to(entry.resolve()) for p in used):
                shutil.rmtree(entry, ignore_errors=True)
            elif (
                entry.is_file() and entry.suffix in (".flac", ".mp3", ".ogg") and entry.resolve() not in used
            ):
                entry.unlink(missing_ok=True)  # a song of a build from before plan folders
    for cache in caches:
        cache.prune({t.track_id: cache.key(t.track_id) for t in tracks if cache.key(t.track_id)})
    folder = paths.audio_dir / UPLOADS_DIR
    candidates = orphans(folder, {t.track_id for t in tracks})
    if candidates:  # a clip whose track is hidden (plays, likes or playlists refer to it) is kept
        rows = Store(paths.database).tracks(track_ids=[int(p.name.split(".")[0]) for p in candidates])
        known = set(rows["track_id"].astype(int))
        for path in candidates:
            if int(path.name.split(".")[0]) not in known:
                path.unlink(missing_ok=True)


def _model_stages(
    options: BuildOptions,
    tracks: list[Track],
    caches: tuple[FeatureCache, FeatureCache],
    paths: Paths,
    out: Path,
    progress: Progress,
) -> dict:
    """Fit, train or load the model, embed every track, then map, index and evaluate into ``out``.

    Returns the model's part of ``build.json``.
    """
    from recommender import non_music
    from recommender.backbone import tag_names, tag_probabilities
    from recommender.embedding import embed_catalog
    from recommender.evaluate import compare
    from recommender.index import SimilarityIndex
    from recommender.novelty import NoveltyModel
    from recommender.projection import umap_coordinates

    mels, sounds = caches
    from recommender.projection import start_warm_up

    warming = start_warm_up()  # UMAP's compilation on the core the head's fitting leaves free, not after it
    done = embed_catalog(
        options, tracks, mels=mels, sounds=sounds, models_dir=paths.models_dir, progress=progress
    )
    model = done.model
    ids = np.array([t.track_id for t in tracks], dtype=np.int64)
    track_genres = np.array([t.genre for t in tracks])
    heard = np.stack([sounds.get(int(i)) for i in ids])
    tags = tag_probabilities(heard, sounds.config.backbones)

    progress.stage("map")
    warming.join()
    # The map shows how songs sound: with a head, its genre directions are left out, or every
    # genre would be an island and no gradient, sub-style or hybrid would show between them.
    sound_part = (
        done.embeddings[:, : model.embedding_dim_ - len(done.genres) + 1]
        if getattr(model, "uses_head_", False)
        else done.embeddings
    )
    coords = umap_coordinates(sound_part, seed=options.seed)
    progress.stage("index")
    out.mkdir(parents=True, exist_ok=True)
    index = SimilarityIndex().fit(done.embeddings, ids, track_genres)
    index.save(out / "index.npz")
    calibration = nearest_neighbour_calibration(index, ids)
    NoveltyModel(backbones=sounds.config.backbones).fit(heard).save(
        out / "novelty.npz"
    )  # what Catalog.novelty_of compares clips with, and the sounds that are not music:
    non_music.references(paths.features_dir, sounds.config)  # computed once per home
    keys = np.array([mels.key(int(i)) or "" for i in ids])  # which features are this catalog's own
    atomic_write(
        out / "map.npz",
        lambda tmp: savez(
            tmp, track_ids=ids, coords=coords, proba=done.proba.astype(np.float32), genres=np.array(done.genres),
            tags=tags.astype(np.float16), tag_names=np.array(tag_names(sounds.config.backbones)),
            feature_keys=keys,
        ),
    )  # fmt: skip

    progress.stage("evaluation")
    measured = done.evaluated or (done.embeddings, done.proba)
    pretrained = listeners.get(model.arch_).hears == listeners.SOUND
    in_use = ("backbone_head" if model.uses_head_ else "backbone") if pretrained else model.arch_
    metrics = compare(
        genres=list(track_genres), splits=[t.split for t in tracks], in_use=in_use,
        embeddings=measured[0], proba=measured[1], classes=done.genres,
        alternatives=done.alternatives,
        mels=(mels.get(int(i)) for i in ids), seed=options.seed,
        albums=[f"{t.artist}\x00{t.album}" for t in tracks],
    )  # fmt: skip
    if done.evaluated is not None:
        metrics["refitted"] = (
            "measured as fitted on the training split; the catalog uses the same head fitted again on every "
            "labelled song"
        )
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    classifier = metrics.get("classifier") or {}
    return {
        "name": done.name,
        "arch": model.arch_,
        "head": ("lda" if model.uses_head_ else "none") if pretrained else None,
        "backbones": list(sounds.config.backbones) if pretrained else [],
        "embedding_dim": int(model.embedding_dim_),
        "genres": done.genres,
        "path": str((paths.models_dir / f"{done.name}.keras").resolve()),
        "test_accuracy": classifier.get("test_accuracy"),
        "calibration": calibration,
        "sound": sounds.config.to_dict(),
    }


def nearest_neighbour_calibration(index, ids: np.ndarray) -> dict:
    """How close catalog songs usually are to their nearest other song (cosine): median and low percentiles.

    ``describe.similarity_percent`` reads scores against them; ``Catalog.novelty_of`` uses them for a catalog
    built before ``novelty.npz`` whose sound features are gone.
    """
    best = []
    for track_id in ids:
        hits = index.query_track(int(track_id), k=1)
        if hits:
            best.append(hits[0][1])
    if not best:
        return {"n": 0}
    best = np.asarray(best, dtype=np.float64)
    return {
        "n": len(best),
        "median": round(float(np.median(best)), 6),
        "p05": round(float(np.percentile(best, 5)), 6),
        "p01": round(float(np.percentile(best, 1)), 6),
        "min": round(float(best.min()), 6),
    }


def _kept_uploads(paths: Paths, taken: set[int]) -> list[Track]:
    """Clips users added to the previous catalog whose audio is still there: a rebuild keeps them."""
    if not paths.database.is_file():
        return []
    from recommender.store import Store

    frame = Store(paths.database).tracks()
    uploads = frame[(frame["source"] == "upload") & ~frame["track_id"].isin(taken)]
    kept = []
    for row in uploads.to_dict(orient="records"):
        if Path(row["audio_path"]).is_file():
            duration = row.get("duration")
            kept.append(
                Track(
                    track_id=int(row["track_id"]), title=row["title"], artist=row["artist"], album=row["album"],
                    genre=row["genre"], split=row["split"], audio_path=row["audio_path"], source="upload",
                    duration=None if pd.isna(duration) else float(duration),
                )
            )  # fmt: skip
    return kept


def _check_writable(paths: Paths, options: BuildOptions) -> None:
    """Every folder the build writes into can be written, or a ``WriteError`` naming it, before any work.

    A folder that becomes unwritable during the build is caught where each file is saved
    (``files.atomic_write``); the previous catalog stays as it was either way.
    """
    folders = [paths.home, paths.features_dir, paths.models_dir, paths.catalog_dir]
    if options.source == "demo":
        folders.append(paths.audio_dir)  # the synthesised songs
    for folder in folders:
        check_writable(folder)


def _remove_stale_temps(paths: Paths) -> None:
    """Temporary files that killed builds or uploads left in the home; a live writer's are kept.

    The feature cache's own folders are cleaned by ``features.extract``.
    """
    from recommender.uploads import UPLOADS_DIR

    for folder in (paths.home, paths.catalog_dir, paths.models_dir, paths.audio_dir / UPLOADS_DIR):
        if folder.is_dir():
            remove_stale_temps(folder)


def _report_skipped(
    skipped: dict[str, str],
    progress: Progress,
    *,
    show: int = 10,
    listed: str = " (all listed in build.json)",
) -> None:
    """A few skipped files with their reasons, then a count: FMA large skips tens of thousands."""
    for what, reason in list(skipped.items())[:show]:
        progress.note(f"skipped {what}: {reason}")
    if len(skipped) > show:
        progress.note(f"… and {len(skipped) - show} more skipped files{listed}")


def _without_name(item: tuple[str, str]) -> str:
    """A skip reason without the file name it may start with (``"a.mp3: too short"`` → ``"too short"``)."""
    what, reason = item
    prefix = f"{Path(what).name}: "
    return reason[len(prefix) :] if reason.startswith(prefix) else reason


def _genre_counts(tracks: list[Track]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in tracks:
        counts[t.genre] = counts.get(t.genre, 0) + 1
    return dict(sorted(counts.items()))
