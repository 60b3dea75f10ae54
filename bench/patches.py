"""How many 3-s patches per song, and which backbones, the quality needs on real music.

    python bench/patches.py [--data DIR]

The same clips and protocol as bench/real_audio.py (its catalog and query clips, the album
as the label). Every clip's ten patches go through both musicnn backbones once, patch by
patch (cached in ``DIR/patches.npz``); a song's sound features are then the mean over the
patches kept (``backbone.patches`` picks the same evenly spread ones a build does). For each
backbone set and number of patches it prints album precision@10 and 1-NN accuracy of the
backbone embedding alone (head ``none``) and of the LDA head fitted on the catalog's albums
(the default build's refit on every labelled song).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import real_audio  # noqa: E402

from recommender import backbone  # noqa: E402
from recommender.backbone import BACKBONES, DEFAULT_SOUND, sound_layout  # noqa: E402
from recommender.errors import AudioError  # noqa: E402
from recommender.features import clip_features  # noqa: E402

PATCHES = 10  # a 30-s clip holds ten 3-s patches
GROUP = 8  # clips whose patches go through the backbones together


def patch_features(paths: list[Path]) -> tuple[np.ndarray, list[Path]]:
    """``(n_clips, PATCHES, width)`` sound features of each patch alone, and the clips heard (not silent)."""
    kept, mels = [], []
    for path in paths:
        try:
            mels.append(clip_features(path, config=None, sound=DEFAULT_SOUND)[1])
            kept.append(path)
        except AudioError as error:
            print(f"skipped: {error}", file=sys.stderr)
    out, started = [], time.perf_counter()
    for i in range(0, len(mels), GROUP):
        group = [list(backbone.patches(mel, max_patches=PATCHES)) for mel in mels[i : i + GROUP]]
        heard = backbone.sound_features([p for g in group for p in g], max_patches=1)  # one patch a "song"
        at = 0
        for g in group:
            one = np.empty((PATCHES, heard.shape[1]), np.float32)
            one[: len(g)], one[len(g) :] = heard[at : at + len(g)], heard[at : at + len(g)].mean(axis=0)
            out.append(one)
            at += len(g)
        print(f"{i + len(group)}/{len(mels)} clips, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return np.stack(out), kept


def spread(k: int) -> np.ndarray:
    """The patches ``backbone.patches(max_patches=k)`` keeps of a clip's ten."""
    return (np.arange(k) * 2 + 1) * PATCHES // (2 * k)


def precision(embeddings: np.ndarray, labels: np.ndarray, n_catalog: int) -> tuple[float, float]:
    base, queries = embeddings[:n_catalog], embeddings[n_catalog:]
    top = np.argsort(-(queries @ base.T), axis=1)[:, : real_audio.K]
    found, truth = labels[:n_catalog][top], labels[n_catalog:]
    return float(np.mean(found == truth[:, None])), float(np.mean(found[:, 0] == truth))


def main() -> None:
    from recommender.head import BackboneModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "artifacts" / "real_audio")
    args = ap.parse_args()
    out = args.data / "clips"
    real_audio.cut_clips(
        real_audio.album_tracks(real_audio.fetch_packages(args.data)), out, fraction=0.3, seed=0
    )
    cache = args.data / "patches.npz"
    if not cache.is_file():
        catalog = sorted((out / "catalog").glob("*/*.ogg"))
        feats, kept = patch_features(catalog + sorted((out / "queries").glob("*/*.ogg")))
        n_catalog = sum(1 for p in kept if p in set(catalog))
        np.savez(cache, feats=feats, n_catalog=n_catalog, labels=np.array([p.parent.name for p in kept]))
    z = np.load(cache)
    feats, n_catalog, labels = z["feats"], int(z["n_catalog"]), z["labels"]
    print(f"{n_catalog} catalog clips, {len(labels) - n_catalog} query clips, album-P@{real_audio.K} / 1-NN")
    print("| backbones | patches | backbone only | + LDA head |")
    print("|---|---:|---|---|")
    for names in (BACKBONES, BACKBONES[:1], BACKBONES[1:]):
        columns, start = [], 0
        for name, _, size in sound_layout(BACKBONES):
            if name in names:
                columns.extend(range(start, start + size))
            start += size
        for k in (10, 5, 3, 2, 1):
            x = feats[:, spread(k)].mean(axis=1)[:, columns]
            cells = []
            for head in ("none", "lda"):
                fitted = BackboneModel(genres=sorted(set(labels)), backbones=names, head=head)
                fitted.fit(x[:n_catalog], labels[:n_catalog] if head == "lda" else None)
                p10, nn = precision(fitted.embed_and_predict_many(x)[0], labels, n_catalog)
                cells.append(f"{p10:.3f} / {nn:.3f}")
            print(f"| {' + '.join(names)} | {k} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
