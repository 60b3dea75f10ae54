"""Real music: album precision@10 of each way of listening, on freely licensed game soundtracks.

    python bench/real_audio.py [--sets A B AB] [--methods backbone head flat] [--data DIR]

The recordings come from Debian packages of game music, one album per package (fetched
with ``apt-get download`` and unpacked with ``dpkg -x``, never installed). Set ``A``:
wesnoth-1.16-music, hedgewars-data, supertux-data, freedroidrpg-data, megaglest-data;
set ``B``: asc-music, planetblupi-music-ogg and the music of lincity-ng-data and
extremetuxracer-data; ``AB``: both as one catalog. Every track of at least 30 s gives up
to four evenly spread, non-overlapping 30-s clips. Per album a seeded ~30 % of the
*tracks* are query tracks; the clips of the other tracks form a ``folder`` catalog laid
out as ``<album>/<clip>.ogg`` (hard links under ``DIR/clips/sets/<set>``), so the album
is the label the build sees. Each query clip is then heard as ``similar --file`` hears
it (decode, log-mel, the backbone's sound features, the catalog's model) and its 10
nearest catalog clips are looked up in the catalog's index. Printed per set and method:
album precision@10 (the share of those 10 from the query's album) and 1-NN accuracy,
then one table of every method × set.

Methods (each a real ``build`` into its own home under ``DIR/clips/homes``):
- ``mfcc``: MFCC-20 mean + std of the catalog's own log-mels, standardised, cosine;
- ``cnn1d``: the from-scratch CNN trained on the catalog (``--arch cnn1d``);
- ``backbone``: the pretrained backbone's embedding, no training (``--no-train``);
- ``head``: the default build, the backbone plus a head fitted on the catalog's albums;
- ``flat``: the default build of the same clips in ONE folder (``<album>__<clip>.ogg``):
  no labels at all, so the backbone embedding fitted on the catalog alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Debian package → the folder holding its music once unpacked (a glob below the package's root).
SETS = {
    "A": {
        "wesnoth-1.16-music": "usr/share/games/wesnoth/1.16/data/core/music",
        "hedgewars-data": "usr/share/games/hedgewars/Data/Music",
        "supertux-data": "usr/share/games/supertux2/music",
        "freedroidrpg-data": "usr/share/freedroidrpg/data/sound/music",
        "megaglest-data": "usr/share/games/megaglest/**/music",
    },
    "B": {
        "asc-music": "usr/share/games/asc/music",
        "planetblupi-music-ogg": "usr/share/planetblupi/music",
        "lincity-ng-data": "usr/share/games/lincity-ng/music",
        "extremetuxracer-data": "usr/share/games/etr/music",
    },
}
ALBUMS = {package: folder for albums in SETS.values() for package, folder in albums.items()}
MUSIC = ("*.ogg", "*.mp3")
CLIP_SECONDS = 30.0
CLIPS_PER_TRACK = 4
K = 10


# ---- the recordings ----------------------------------------------------------------------------
def fetch_packages(data: Path) -> dict[str, Path]:
    """Download and unpack each package once; returns package → unpacked root."""
    debs, roots = data / "debs", {}
    debs.mkdir(parents=True, exist_ok=True)
    for package in ALBUMS:
        root = data / "unpacked" / package
        if not root.is_dir():
            found = sorted(debs.glob(f"{package}_*.deb"))
            if not found:
                print(f"apt-get download {package} …", file=sys.stderr)
                subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
                found = sorted(debs.glob(f"{package}_*.deb"))
            tmp = root.with_name(root.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            subprocess.run(["dpkg", "-x", str(found[-1]), str(tmp)], check=True)
            tmp.rename(root)
        roots[package] = root
    return roots


def album_tracks(roots: dict[str, Path]) -> dict[str, list[Path]]:
    """Album name → its music files (OGG), sorted; the album is the package's game."""
    albums = {}
    for package, pattern in ALBUMS.items():
        files = sorted(
            {p for suffix in MUSIC for p in roots[package].glob(f"{pattern}/**/{suffix}")}
            | {p for suffix in MUSIC for p in roots[package].glob(f"{pattern}/{suffix}")}
        )
        albums[album_name(package)] = files
    return albums


def album_name(package: str) -> str:
    """The album (label) of a package's music: its game's name."""
    return package.split("-")[0]


def album_set(album: str) -> str:
    """The development set (``SETS``' key) an album belongs to."""
    return next(name for name, albums in SETS.items() if album in {album_name(p) for p in albums})


def _query_tracks(usable: list[Path], fraction: float, seed: int) -> set[Path]:
    """A seeded ``fraction`` of an album's tracks (at least one, never all) as query tracks."""

    def draw(path: Path) -> bytes:
        return hashlib.sha1(f"{seed}:{path.parent.name}/{path.name}".encode()).digest()

    n = min(len(usable) - 1, max(1, round(fraction * len(usable))))
    return set(sorted(usable, key=draw)[:n])


def cut_clips(albums: dict[str, list[Path]], out: Path, *, fraction: float, seed: int) -> dict:
    """Write the 30-s clips into ``out/catalog/<album>/`` and ``out/queries/<album>/``; returns counts."""
    counts: dict = defaultdict(
        lambda: {"catalog_tracks": 0, "query_tracks": 0, "catalog_clips": 0, "query_clips": 0}
    )
    for album, files in albums.items():
        usable = [f for f in files if sf.info(str(f)).duration >= CLIP_SECONDS]
        query = _query_tracks(usable, fraction, seed)
        for f in usable:
            role = "queries" if f in query else "catalog"
            counts[album]["query_tracks" if f in query else "catalog_tracks"] += 1
            for i, (start, stop) in enumerate(
                _clip_windows(sf.info(str(f)).frames, sf.info(str(f)).samplerate)
            ):
                target = out / role / album / f"{f.stem}-{i}.ogg"
                counts[album]["query_clips" if f in query else "catalog_clips"] += 1
                if target.is_file():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                y, sr = sf.read(str(f), start=start, stop=stop, dtype="float32", always_2d=True)
                tmp = target.with_name(target.stem + ".partial.ogg")
                sf.write(str(tmp), y, sr, format="OGG", subtype="VORBIS")
                tmp.rename(target)
    return dict(counts)


def _clip_windows(frames: int, sr: int) -> list[tuple[int, int]]:
    """Up to CLIPS_PER_TRACK evenly spread, non-overlapping 30-s windows ``(start, stop)`` in frames."""
    length = int(CLIP_SECONDS * sr)
    n = min(CLIPS_PER_TRACK, frames // length)
    if n == 0:
        return []
    gap = (frames - n * length) / (n + 1)
    return [(int(gap * (i + 1) + length * i), int(gap * (i + 1) + length * i) + length) for i in range(n)]


# ---- the methods -------------------------------------------------------------------------------
def set_albums(name: str) -> set[str]:
    """The albums of a development set: ``A``, ``B`` or several joined (``AB``)."""
    return {album_name(p) for letter in name for p in SETS[letter]}


def queries(out: Path, albums: set[str] | None = None) -> tuple[list[Path], np.ndarray]:
    paths = sorted(p for p in (out / "queries").glob("*/*.ogg") if albums is None or p.parent.name in albums)
    return paths, np.array([p.parent.name for p in paths])


def set_folder(out: Path, name: str, *, flat: bool) -> Path:
    """The catalog clips of set ``name`` as hard links: ``<album>/<clip>`` (labelled), or all in one
    folder as ``<album>__<clip>`` (flat: no labels at all). Made once."""
    folder = out / "sets" / name / ("flat" if flat else "catalog")
    if not folder.is_dir():
        tmp = folder.with_name(folder.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        for clip in sorted((out / "catalog").glob("*/*.ogg")):
            if clip.parent.name in set_albums(name):
                target = tmp / (
                    f"{clip.parent.name}__{clip.name}" if flat else f"{clip.parent.name}/{clip.name}"
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                target.hardlink_to(clip)
        tmp.rename(folder)
    return folder


def build_home(out: Path, name: str, *extra: str, folder: Path | None = None) -> Path:
    """A folder catalog of the clips, built with ``extra`` build options (once; rebuilt with --rebuild).

    Features are reused from a home built from a folder of the same layout (hard links keep
    track ids and content keys: the same clips are not heard twice)."""
    home = out / "homes" / name
    folder = folder or out / "catalog"
    layout = "flat" if folder.name == "flat" else "albums"
    if not (home / "build.json").is_file():
        done = [
            h for h in sorted((out / "homes").glob("*/features"))
            if h.parent != home and (h.parent / "layout").is_file() and (h.parent / "layout").read_text() == layout
        ]  # fmt: skip
        if done and not (home / "features").exists():
            home.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cp", "-al", str(done[0]), str(home / "features")], check=True)
        command = [sys.executable, "-m", "recommender", "build", "--source", "folder", "--audio",
                   str(folder), "--home", str(home), *extra]  # fmt: skip
        print("$", " ".join(command), file=sys.stderr)
        started = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT)
        (home / "layout").write_text(layout)
        print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return home


_HEARD: dict[Path, np.ndarray] = {}


def scores_with_catalog(home: Path, query_paths: list[Path]) -> tuple[list[list[str]], float]:
    """Albums of the K nearest catalog clips of each query clip, as ``similar --file`` finds them.

    ``Catalog.analyse``'s path (decode, log-mel, the backbone's sound features, the catalog's
    model); a clip's sound features are the same for every catalog of the same backbone
    settings, so they are computed once per run. The time is that of the first catalog.
    """
    from recommender.backbone import sound_features
    from recommender.catalog import Catalog
    from recommender.features import clip_features

    catalog = Catalog.open(home)
    sound = catalog.sound_config
    albums = catalog.tracks().set_index("track_id")["genre"]
    if catalog.info_.get("source") == "folder" and set(albums) == {"Unknown"}:  # flat: album from the name
        paths = catalog.tracks().set_index("track_id")["audio_path"]
        albums = paths.map(lambda p: Path(p).name.split("__")[0])
    found, started = [], time.perf_counter()
    for path in query_paths:
        if path not in _HEARD:
            heard = clip_features(path, config=None, sound=sound)[1]
            _HEARD[path] = sound_features([heard], names=sound.backbones, max_patches=sound.max_patches)[0]
        embedding = catalog.model.embed_and_predict_many(_HEARD[path][None])[0][0]
        hits = catalog.index.query(embedding, k=K)
        found.append([albums[t] for t, _ in hits])
    return found, (time.perf_counter() - started) / max(1, len(query_paths))


def scores_mfcc(home: Path, query_paths: list[Path]) -> list[list[str]]:
    """MFCC-20 mean + std of the log-mels, standardised on the catalog, cosine neighbours."""
    from recommender.audio import mel_for_file
    from recommender.catalog import Catalog
    from recommender.evaluate import mfcc_stats

    catalog = Catalog.open(home)
    tracks = catalog.tracks()
    base = np.stack([mfcc_stats(catalog.features.get(int(t))) for t in tracks["track_id"]])
    mean, std = base.mean(axis=0), base.std(axis=0) + 1e-9
    base = (base - mean) / std
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    labels = tracks["genre"].to_numpy()
    found = []
    for path in query_paths:
        q = (mfcc_stats(mel_for_file(path, config=catalog.config)) - mean) / std
        order = np.argsort(-(base @ (q / np.linalg.norm(q))))[:K]
        found.append(labels[order].tolist())
    return found


def report(name: str, found: list[list[str]], truth: np.ndarray, extra: str = "") -> dict:
    found_arr = np.array(found)
    p_at_k = float(np.mean(found_arr == truth[:, None]))
    one_nn = float(np.mean(found_arr[:, 0] == truth))
    print(f"{name:<10} album-P@{K} {p_at_k:.3f}   1-NN {one_nn:.3f}   {extra}")
    return {f"album_precision_at_{K}": round(p_at_k, 4), "one_nn_accuracy": round(one_nn, 4)}


METHODS = {
    "cnn1d": ["--arch", "cnn1d"],
    "backbone": ["--no-train"],
    "head": [],
    "flat": [],  # the same clips in one folder: no labels at all
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "artifacts" / "real_audio")
    parser.add_argument("--methods", nargs="+", default=["backbone", "head", "flat"],
                        help=f"any of mfcc, {', '.join(METHODS)}")  # fmt: skip
    parser.add_argument(
        "--sets", nargs="+", default=["A", "B", "AB"], help="development sets (SETS), or joined"
    )
    parser.add_argument("--query-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rebuild", action="store_true", help="build every catalog again")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data: Path = args.data
    if args.rebuild:
        shutil.rmtree(data / "clips" / "homes", ignore_errors=True)
    roots = fetch_packages(data)
    out = data / "clips"
    counts = cut_clips(album_tracks(roots), out, fraction=args.query_fraction, seed=args.seed)
    for album, c in counts.items():
        print(f"{album:<16} set {album_set(album)}  {c['catalog_tracks']:>3} catalog tracks "
              f"({c['catalog_clips']} clips), {c['query_tracks']:>3} query tracks ({c['query_clips']} clips)")  # fmt: skip
    results: dict = {"albums": counts}
    # The largest set first: the smaller ones reuse its features.
    for name in sorted(args.sets, key=len, reverse=True):
        query_paths, truth = queries(out, set_albums(name))
        print(f"set {name}: {len(query_paths)} query clips")
        results[name] = {}
        for method in sorted(args.methods, key=lambda m: m == "mfcc"):  # mfcc reads the backbone home's cache
            folder = set_folder(out, name, flat=method == "flat")
            if method == "mfcc":
                home = build_home(out, f"{name}-backbone", "--no-train", folder=folder)
                results[name][method] = report(method, scores_mfcc(home, query_paths), truth)
                continue
            home = build_home(out, f"{name}-{method}", *METHODS[method], folder=folder)
            found, seconds = scores_with_catalog(home, query_paths)
            results[name][method] = report(method, found, truth, f"({seconds * 1000:.0f} ms per query clip)")
    print(f"\n| method | {' | '.join(f'set {n}' for n in args.sets)} |")
    print("|---|" + "---|" * len(args.sets))
    for method in args.methods:
        cells = [results[n][method] for n in args.sets]
        print(f"| {method} | " + " | ".join(
            f"{c[f'album_precision_at_{K}']:.3f} / {c['one_nn_accuracy']:.3f}" for c in cells) + " |")  # fmt: skip
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
