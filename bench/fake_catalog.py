"""A built catalog of FMA-full size (106 574 tracks) without 106 574 audio files, for the app benchmarks.

    python bench/fake_catalog.py --home /tmp/fma-large [--tracks 106574] [--demo /tmp/demo24]

It writes a home folder in exactly the layout ``recommender.build`` writes
(``build.json``, the DuckDB ``tracks`` table, ``catalog/index-<model>.npz``,
``catalog/catalog-<model>.npz``, ``catalog/metrics-<model>.json``, ``models/``,
``features/<config>/``, ``audio/``), from:

- a real small demo build (``--demo``; built here with 24 tracks and 2 epochs when the
  folder holds none): its trained model (so uploads are really listened to), its 8
  genres, its evaluation, and its audio and log-mel files;
- the demo's own name generator (``sources.demo.plan_catalog``) for 106 574 titles,
  artists, albums, genres and splits;
- random unit 256-d embeddings, map coordinates clustered by genre, and genre
  probabilities peaked on each track's genre.

Every fake track's feature file is a hard link to a real demo log-mel of the same
genre, and its audio path is that demo song's MP3, so the Song page (spectrogram, tempo,
similar songs with reasons) and the player work for every track at no disk cost.
The catalog is labelled as synthesised (source "demo").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.config import Paths  # noqa: E402

FMA_FULL_TRACKS = 106_574
EMBEDDING_DIM = 256


def ensure_demo(demo: Path) -> dict:
    """The ``build.json`` of a small real demo build in ``demo`` (built now if missing)."""
    info_path = Paths.at(demo).build_info
    if not info_path.is_file():
        from recommender.build import BuildOptions, build

        print(f"building a 24-track demo catalog in {demo} (a minute or two)…", file=sys.stderr)
        build(BuildOptions(source="demo", tracks=24, epochs=2), home=demo)
    info = json.loads(info_path.read_text(encoding="utf-8"))
    if not info.get("model"):
        raise SystemExit(f"{demo} has no model; build it without --no-train")
    return info


def fake_arrays(genres_of: np.ndarray, genres: list[str], *, seed: int) -> dict[str, np.ndarray]:
    """Embeddings ``(n, 256)`` unit float32, coords ``(n, 2)`` float32, proba ``(n, n_genres)`` float32."""
    rng = np.random.default_rng(seed)
    n = len(genres_of)
    embeddings = rng.standard_normal((n, EMBEDDING_DIM), dtype=np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    code = np.searchsorted(genres, genres_of)
    angles = 2 * np.pi * np.arange(len(genres)) / len(genres)
    centres = 6 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    coords = (centres[code] + rng.standard_normal((n, 2))).astype(np.float32)
    logits = rng.standard_normal((n, len(genres)))
    logits[np.arange(n), code] += 3.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {"embeddings": embeddings, "coords": coords, "proba": proba.astype(np.float32)}


def link_features(
    demo_paths: Paths, paths: Paths, config_key: str, donors: dict[str, list[int]], tracks
) -> None:
    """Hard-link each fake track's feature file to a demo log-mel of its genre."""
    from recommender.features import FeatureCache

    src = demo_paths.features_dir / config_key
    dst_root = paths.features_dir / config_key
    if dst_root.exists():
        shutil.rmtree(dst_root)
    dst_root.mkdir(parents=True)
    shutil.copy2(src / "config.json", dst_root / "config.json")
    from recommender.catalog import Catalog

    cache_src = Catalog.open(demo_paths.home).features  # the features of the demo's own songs
    cache_dst = FeatureCache(paths.features_dir)
    for i, t in enumerate(tracks):
        donor = donors[t.genre][i % len(donors[t.genre])]
        target = cache_dst.path(t.track_id)
        target.parent.mkdir(exist_ok=True)
        os.link(cache_src.path(donor), target)


def make(home: Path, demo: Path, *, n_tracks: int, seed: int = 0) -> None:
    from recommender.index import SimilarityIndex
    from recommender.sources.base import Track
    from recommender.sources.demo import plan_catalog
    from recommender.store import Store

    demo_info = ensure_demo(demo)
    demo_paths, paths = Paths.at(demo), Paths.at(home)
    if paths.home.exists():
        shutil.rmtree(paths.home)
    paths.ensure()
    model = demo_info["model"]
    name, genres = model["name"], list(model["genres"])

    stamp = time.perf_counter()
    demo_tracks = Store(demo_paths.database).tracks()
    donors = {g: demo_tracks.loc[demo_tracks["genre"] == g, "track_id"].tolist() for g in genres}
    missing = [g for g, ids in donors.items() if not ids]
    if missing:
        raise SystemExit(f"the demo build has no track of {missing}; build it with at least 8 tracks")
    shutil.copytree(demo_paths.audio_dir, paths.audio_dir, dirs_exist_ok=True)
    audio_of = {
        int(r.track_id): str(paths.audio_dir / Path(r.audio_path).relative_to(demo_paths.audio_dir.resolve()))
        for r in demo_tracks.itertuples()
    }
    for suffix in (".keras", ".json", ".history.csv"):
        shutil.copy2(demo_paths.models_dir / f"{name}{suffix}", paths.models_dir / f"{name}{suffix}")
    shutil.copy2(demo_paths.catalog_dir / f"metrics-{name}.json", paths.catalog_dir / f"metrics-{name}.json")

    plan = plan_catalog(n_tracks, seed=seed)
    tracks = []
    for i, s in enumerate(plan):
        donor = donors[s.genre][i % len(donors[s.genre])]
        tracks.append(
            Track(s.track_id, s.title, s.artist, s.album, s.genre, s.split, audio_of[donor], "demo", 30.0)
        )
    print(f"planned {n_tracks} tracks: {time.perf_counter() - stamp:.1f} s", file=sys.stderr)

    stamp = time.perf_counter()
    Store(paths.database).write_tracks(tracks)
    print(f"DuckDB tracks table: {time.perf_counter() - stamp:.1f} s", file=sys.stderr)

    stamp = time.perf_counter()
    config_key = next(p.name for p in demo_paths.features_dir.iterdir() if p.is_dir())
    link_features(demo_paths, paths, config_key, donors, tracks)
    print(f"feature links: {time.perf_counter() - stamp:.1f} s", file=sys.stderr)

    ids = np.array([t.track_id for t in tracks], dtype=np.int64)
    track_genres = np.array([t.genre for t in tracks])
    arrays = fake_arrays(track_genres, genres, seed=seed)
    SimilarityIndex().fit(arrays["embeddings"], ids, track_genres).save(
        paths.catalog_dir / f"index-{name}.npz"
    )
    with open(paths.catalog_dir / f"catalog-{name}.npz", "wb") as f:
        np.savez(f, track_ids=ids, coords=arrays["coords"], proba=arrays["proba"], genres=np.array(genres))

    counts = dict(sorted(zip(*np.unique(track_genres, return_counts=True), strict=True)))
    info = dict(demo_info)
    info |= {
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tracks": n_tracks,
        "genres": {str(g): int(c) for g, c in counts.items()},
        "skipped": {},
        "features": {"computed": 0, "cached": n_tracks},
        "options": demo_info["options"] | {"tracks": n_tracks},
        "model": model | {"path": str((paths.models_dir / f"{name}.keras").resolve())},
    }
    paths.build_info.write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="folder to create (replaced if it exists)")
    parser.add_argument("--tracks", type=int, default=FMA_FULL_TRACKS)
    parser.add_argument("--demo", type=Path, default=Path("/tmp/musicrec-demo24"), help="a small demo build")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    make(args.home, args.demo, n_tracks=args.tracks, seed=args.seed)
    print(f"fake catalog of {args.tracks} tracks in {args.home}: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
