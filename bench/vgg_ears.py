"""More ears? musicnn's VGG taggers beside the musicnn backbone, scored offline on the real_audio clips.

    python bench/vgg_ears.py --extract-only [--data DIR]   # hear every clip once (DIR/vgg_features.npz)
    python bench/vgg_ears.py --score-only [--data DIR] [--methods ...]

The musicnn wheel ships, beside its two musicnn models, two VGG-like taggers trained on the
same data and the same 3-s, 96-band patches (``MSD_vgg``, ``MTT_vgg``: a batch norm, five
blocks of a 3×3 convolution with 128 filters, batch norm and max pooling, a dense layer to
50 tags). Here they are rebuilt in Keras 3 from musicnn's ``models.vgg`` and read from the
checkpoints (a rough port, checked only by its tags: it is a measurement, not the app's
model), and each clip's five patches (those ``bench/listening.py`` caches, the default
build's) go through both. Kept per patch and net: blocks 3, 4 and 5 averaged and maxed
over time and frequency (128 each), block 5 flat (256) and the tags (50).

Scored with ``bench/listening.py``'s protocol and its cache of the musicnn features
(album-P@10, query tracks never in the catalog, per set; "labelled": the default head,
LDA weight 0.5; "flat": the backbone embedding, no labels; both with the default query
expansion of 3): every feature block standardised and scaled to unit length, blocks of
the VGGs optionally weighted, PCA to 128.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import listening  # noqa: E402
import real_audio  # noqa: E402

VGGS = {"vgg-msd": "MSD_vgg", "vgg-mtt": "MTT_vgg"}
POOLS = (((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4)))
# Per patch and VGG, in this order: name → (offset, size).
PARTS = {"p3mean": (0, 128), "p3max": (128, 128), "p4mean": (256, 128), "p4max": (384, 128),
         "p5mean": (512, 128), "p5max": (640, 128), "p5flat": (768, 256), "tags": (1024, 50)}  # fmt: skip
VGG_WIDTH = 1074
MUSICNN_WIDTH = 3512  # listening.py's cache: both musicnn models' penultimate, max, mean pools and tags


def build_vgg(keras, n_tags: int = 50):
    """musicnn's ``models.vgg`` (128 filters) in Keras 3: ``(batch, 187, 96)`` → pool3..pool5 and tags."""
    layers = keras.layers
    inputs = keras.Input((187, 96))
    x = layers.BatchNormalization(epsilon=1e-3, name="input_bn")(layers.Reshape((187, 96, 1))(inputs))
    pools = {}
    for i, (size, strides) in enumerate(POOLS, start=1):
        x = layers.Conv2D(128, (3, 3), padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.BatchNormalization(epsilon=1e-3, name=f"conv{i}_bn")(x)
        x = pools[f"pool{i}"] = layers.MaxPooling2D(size, strides=strides, padding="valid")(x)
    tags = layers.Activation("sigmoid")(layers.Dense(n_tags, name="logits")(layers.Flatten()(x)))
    return keras.Model(inputs, [pools["pool3"], pools["pool4"], pools["pool5"], tags])


def load_vgg(keras, checkpoint: Path):
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(str(checkpoint) + "/")
    model = build_vgg(keras)
    scopes = {"input_bn": "batch_normalization", "logits": "dense"}
    scopes |= {f"conv{i}": f"{i}CNN" for i in range(1, 6)} | {
        f"conv{i}_bn": f"batch_normalization_{i}" for i in range(1, 6)
    }
    for layer, scope in scopes.items():
        keys = ("gamma", "beta", "moving_mean", "moving_variance") if "bn" in layer else ("kernel", "bias")
        model.get_layer(layer).set_weights([reader.get_tensor(f"{scope}/{k}") for k in keys])
    return model


def extract(data: Path) -> None:
    """Every clip's five patches through both VGGs, saved in ``DIR/vgg_features.npz`` as they are heard."""
    import tensorflow as tf

    from recommender import backbone
    from recommender.backbone import DEFAULT_SOUND
    from recommender.errors import AudioError
    from recommender.features import clip_features
    from recommender.keras_runtime import keras
    from recommender.musicnn_net import checkpoint_dir

    cache = data / "vgg_features.npz"
    known: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache) as z:
            known = dict(zip(z["names"].tolist(), z["feats"], strict=True))
    todo = [p for p in listening.clip_paths(data / "clips") if str(p.relative_to(data)) not in known]
    todo.sort(key=lambda p: hashlib.sha1(str(p.relative_to(data)).encode()).digest())
    folder = checkpoint_dir("musicnn-msd").parent
    forwards = []
    for name in VGGS.values():
        model = load_vgg(keras(), folder / name)
        forwards.append(tf.function(lambda x, m=model: m(x, training=False)))

    def parts(out) -> np.ndarray:
        p3, p4, p5, tags = (np.asarray(o) for o in out)
        return np.concatenate([p3.mean((1, 2)), p3.max((1, 2)), p4.mean((1, 2)), p4.max((1, 2)),
                               p5.mean((1, 2)), p5.max((1, 2)), p5.reshape(len(p5), -1), tags], axis=1)  # fmt: skip

    def save() -> None:
        names = sorted(known)
        tmp = cache.with_name("vgg_features.partial.npz")
        np.savez(tmp, names=np.array(names), feats=np.stack([known[n] for n in names]))
        tmp.rename(cache)

    started = time.perf_counter()
    for i in range(0, len(todo), listening.GROUP):
        group, cut = [], []
        for path in todo[i : i + listening.GROUP]:
            try:
                mel = clip_features(path, config=None, sound=DEFAULT_SOUND)[1]
            except AudioError as error:
                print(f"skipped: {error}", file=sys.stderr)
                continue
            group.append(path)
            cut.append(backbone.patches(mel, max_patches=listening.PATCHES))
        if not group:
            continue
        x = np.concatenate(cut)
        heard = np.concatenate([parts(forward(x)) for forward in forwards], axis=1).astype(np.float32)
        at = 0
        for path, c in zip(group, cut, strict=True):
            one = np.empty((listening.PATCHES, heard.shape[1]), np.float32)
            one[: len(c)], one[len(c) :] = heard[at : at + len(c)], heard[at : at + len(c)].mean(axis=0)
            known[str(path.relative_to(data))] = one
            at += len(c)
        print(f"{i + len(group)}/{len(todo)} clips, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        save()


def blocks(
    musicnn: bool, vgg_parts: tuple[str, ...], nets: tuple[int, ...] = (0, 1)
) -> list[tuple[int, int]]:
    """``(offset, size)`` of each feature block in the joined (musicnn | VGG) patch features."""
    out = []
    if musicnn:  # per model: penultimate 200, max pool 753, mean pool 753 (its 50 tags are left out)
        out += [(0, 200), (200, 753), (953, 753), (1756, 200), (1956, 753), (2709, 753)]
    for net in nets:
        out += [(MUSICNN_WIDTH + net * VGG_WIDTH + PARTS[p][0], PARTS[p][1]) for p in vgg_parts]
    return out


def evaluate(split, cols: list[tuple[int, int]], weights: list[float], *, labelled: bool, lda_weight: float = 0.5,
             expand: int = 3) -> float:  # fmt: skip
    """Album-P@K of one ensemble (listening.Listener's steps on the chosen blocks)."""
    from recommender import rerank
    from recommender.discriminant import fit_lda
    from recommender.rerank import unit_rows

    columns = np.concatenate([np.arange(a, a + s) for a, s in cols])
    column_weight = np.concatenate([np.full(s, w) for (_, s), w in zip(cols, weights, strict=True)])
    cat, query = split.cat.mean(axis=1)[:, columns], split.query.mean(axis=1)[:, columns]
    mean, scale = cat.mean(axis=0), np.maximum(cat.std(axis=0), 1e-6 * max(float(np.abs(cat).max()), 1.0))

    def standard(x: np.ndarray) -> np.ndarray:
        z, out, at = (x - mean) / scale, [], 0
        for _, s in cols:
            block = z[:, at : at + s]
            out.append(block / np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12))
            at += s
        return np.concatenate(out, axis=1) * column_weight

    s_cat = standard(cat)
    centre = s_cat.mean(axis=0)
    _, sv, vt = np.linalg.svd(s_cat - centre, full_matrices=False)
    components = vt[: min(128, len(sv) - 1)]
    lda = fit_lda(s_cat, split.cat_labels, sorted(set(split.cat_labels))) if labelled else None

    def embed(x: np.ndarray) -> np.ndarray:
        s = standard(x)
        out = unit_rows((s - centre) @ components.T)
        if lda is not None:
            part = unit_rows((s - lda.centre) @ lda.scalings)
            out = unit_rows(np.concatenate([(1 - lda_weight) * out, lda_weight * part], axis=1))
        return out

    base, q = embed(cat), embed(query)
    q = rerank.expanded_query(q, base, k=expand)
    return listening.score(q @ base.T, split)[0]


METHODS = {
    # name: (musicnn blocks, VGG parts, VGG nets, weight of each VGG block)
    "musicnn (the default)": (True, (), (0, 1), 1.0),
    "VGG alone, block 5 mean+max": (False, ("p5mean", "p5max"), (0, 1), 1.0),
    "VGG alone, blocks 4+5 mean+max": (False, ("p4mean", "p4max", "p5mean", "p5max"), (0, 1), 1.0),
    "musicnn + VGG block 5 mean+max": (True, ("p5mean", "p5max"), (0, 1), 1.0),
    "musicnn + VGG block 5 mean+max, weight 0.5": (True, ("p5mean", "p5max"), (0, 1), 0.5),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "artifacts" / "real_audio")
    ap.add_argument("--extract-only", action="store_true")
    ap.add_argument("--score-only", action="store_true")
    ap.add_argument("--sets", nargs="+", default=["A", "B", "AB"])
    ap.add_argument("--methods", nargs="*", help=f"any of: {', '.join(METHODS)}")
    args = ap.parse_args()
    if not args.score_only:
        extract(args.data)
    if args.extract_only:
        return
    musicnn = listening.patch_cache(args.data, [])
    with np.load(args.data / "vgg_features.npz") as z:
        vgg = dict(zip(z["names"].tolist(), z["feats"], strict=True))
    joined = {n: np.concatenate([musicnn[n], vgg[n]], axis=1) for n in sorted(set(musicnn) & set(vgg))}
    splits = {
        s: listening.Split(joined, [n for n in joined if real_audio.album_set(n.split("/")[2]) in s])
        for s in args.sets
    }
    print(f"| method | {' | '.join(f'{s} labelled | {s} flat' for s in splits)} |")
    print("|---|" + "---|" * (2 * len(splits)))
    for method in args.methods or METHODS:
        use_musicnn, parts, nets, weight = METHODS[method]
        cols = blocks(use_musicnn, parts, nets)
        weights = [1.0] * (6 if use_musicnn else 0) + [weight] * (len(cols) - (6 if use_musicnn else 0))
        cells = [
            f"{evaluate(sp, cols, weights, labelled=lab):.3f}"
            for sp in splits.values()
            for lab in (True, False)
        ]
        print(f"| {method} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
