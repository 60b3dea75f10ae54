"""Ways of listening, scored offline on cached patch features of the real_audio clips.

    python bench/listening.py [--data DIR] [--sets A B AB] [--methods ...] [--partitions N]

The clips and protocol of bench/real_audio.py (album = label, query tracks never in the
catalog), for each development set (``A``: the five original soundtracks, ``B``: the four
added packages, ``AB``: both as one catalog). Every clip's five 3-s patches (a build's) go through both
musicnn backbones once (``DIR/patch_features.npz``, grown as clips are added), so that a
method is re-scored in seconds without hearing any audio again. Printed per method and
set: album precision@10 and 1-NN accuracy, with the catalog's albums as labels
("labelled") and as one unlabelled folder ("flat"). With ``--partitions N`` each set's clips
are also divided again N times by real_audio.py's rule (another seeded 30 % of each album's
tracks as queries): the mean over those draws, and each method's mean difference from the
first method listed, ± its standard error, show how much a figure owes to one draw.
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

import real_audio  # noqa: E402

PATCHES = 5  # the patches a default build hears of a 30-s clip (backbone.DEFAULT_MAX_PATCHES)
GROUP = 8


def clip_paths(out: Path) -> list[Path]:
    return sorted((out / "catalog").glob("*/*.ogg")) + sorted((out / "queries").glob("*/*.ogg"))


def patch_cache(
    data: Path, paths: list[Path], *, part: str = "", save_every: int = 16, reverse: bool = False
) -> dict[str, np.ndarray]:
    """Clip (path relative to ``data``) → ``(PATCHES, width)`` sound features of each patch alone.

    Read from every ``DIR/patch_features*.npz``; what is missing is heard and saved in
    ``DIR/patch_features<part>.npz`` (several processes may each hear some albums).
    """
    from recommender import backbone
    from recommender.backbone import DEFAULT_SOUND
    from recommender.errors import AudioError
    from recommender.features import clip_features

    cache_file = data / f"patch_features{part}.npz"
    known: dict[str, np.ndarray] = {}
    for found in sorted(data.glob("patch_features*.npz")):
        if ".partial" not in found.name:
            z = np.load(found)
            known |= dict(zip(z["names"].tolist(), z["feats"], strict=True))
    todo = [p for p in paths if str(p.relative_to(data)) not in known]
    # In an order fixed by a hash of the name: whatever is heard so far is a fair sample of the
    # clips, and a second process hearing them in the reverse order meets the first in the middle.
    todo = sorted(
        todo, key=lambda p: hashlib.sha1(str(p.relative_to(data)).encode()).digest(), reverse=reverse
    )
    mine = {str(p.relative_to(data)) for p in todo}
    if cache_file.is_file():
        mine |= set(np.load(cache_file)["names"].tolist())

    def save() -> None:
        names = sorted(mine & set(known))
        tmp = cache_file.with_name(f"patch_features{part}.partial.npz")
        np.savez(tmp, names=np.array(names), feats=np.stack([known[n] for n in names]))
        tmp.rename(cache_file)

    started, done = time.perf_counter(), 0
    for i in range(0, len(todo), GROUP):
        group, mels = [], []
        for path in todo[i : i + GROUP]:
            try:
                mels.append(clip_features(path, config=None, sound=DEFAULT_SOUND)[1])
                group.append(path)
            except AudioError as error:
                print(f"skipped: {error}", file=sys.stderr)
        cut = [list(backbone.patches(mel, max_patches=PATCHES)) for mel in mels]
        heard = backbone.sound_features([p for c in cut for p in c], max_patches=1, layout=1)
        at = 0
        for path, c in zip(group, cut, strict=True):
            one = np.empty((PATCHES, heard.shape[1]), np.float32)
            one[: len(c)], one[len(c) :] = heard[at : at + len(c)], heard[at : at + len(c)].mean(axis=0)
            known[str(path.relative_to(data))] = one
            at += len(c)
        done += len(group)
        print(f"{done}/{len(todo)} clips, {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if done % save_every < GROUP:
            save()
    if todo:
        save()
    return known


def mel_stats_cache(data: Path, paths: list[Path]) -> dict[str, np.ndarray]:
    """Clip → its log-mel band statistics ``(192,)`` (sound-feature layout 2's last two blocks: per band
    of the clip's musicnn log-mel, mean then standard deviation), from ``DIR/mel_stats.npz``; what is
    missing is decoded and saved there."""
    from recommender.backbone import DEFAULT_SOUND
    from recommender.errors import AudioError
    from recommender.features import clip_features

    cache_file = data / "mel_stats.npz"
    known: dict[str, np.ndarray] = {}
    if cache_file.is_file():
        z = np.load(cache_file)
        known = dict(zip(z["names"].tolist(), z["feats"], strict=True))
    todo = [p for p in paths if str(p.relative_to(data)) not in known]
    for i, path in enumerate(todo):
        try:
            mel = clip_features(path, config=None, sound=DEFAULT_SOUND)[1].astype(np.float64)
        except AudioError as error:
            print(f"skipped: {error}", file=sys.stderr)
            continue
        known[str(path.relative_to(data))] = np.concatenate([mel.mean(axis=0), mel.std(axis=0)]).astype(
            np.float32
        )
        if i % 50 == 49 or i == len(todo) - 1:
            print(f"band statistics: {i + 1}/{len(todo)} clips", file=sys.stderr)
    if todo:
        names = sorted(known)
        tmp = cache_file.with_name("mel_stats.partial.npz")
        np.savez(tmp, names=np.array(names), feats=np.stack([known[n] for n in names]))
        tmp.rename(cache_file)
    return known


def layout_2(per_patch: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Layout-1 features of each patch ``(n, P, width 1)`` and each clip's band statistics ``(n, 192)`` →
    the layout-2 features of each patch ``(n, P, width 2)``: their mean over patches is what a build keeps."""
    from recommender.backbone import ROOTED, signed_root, sound_layout

    blocks, roots, start = [], [], 0
    for _, part, size in sound_layout(BACKBONES, 1):
        block = per_patch[..., start : start + size].astype(np.float64)
        blocks.append(signed_root(block) if part in ROOTED else block)
        if part == "penultimate":  # appended rooted, after every model's layout-1 blocks
            roots.append(signed_root(block))
        start += size
    blocks += roots
    blocks.append(np.repeat(stats[:, None, :].astype(np.float64), per_patch.shape[1], axis=1))
    return np.concatenate(blocks, axis=-1)


# ---- the data of one set ----------------------------------------------------------------------
class Split:
    """One set's catalog and query clips: per-patch features, albums, and track of each clip."""

    def __init__(
        self, known: dict[str, np.ndarray], names: list[str], stats: dict[str, np.ndarray] | None = None
    ):
        def part(role: str) -> list[str]:
            return [
                n for n in names if n.split("/")[1] == role and n in known and (stats is None or n in stats)
            ]

        self.cat_names, self.query_names = part("catalog"), part("queries")
        self.cat = np.stack([known[n] for n in self.cat_names])
        self.query = np.stack([known[n] for n in self.query_names])
        self.by_layout = {1: (self.cat, self.query)}
        if stats is not None:  # layout 2, the default's
            self.by_layout[2] = tuple(
                layout_2(x, np.stack([stats[n] for n in names]))
                for x, names in ((self.cat, self.cat_names), (self.query, self.query_names))
            )
        self.cat_labels = np.array([n.split("/")[2] for n in self.cat_names])
        self.query_labels = np.array([n.split("/")[2] for n in self.query_names])

    def repartitioned(self, seed: int, fraction: float = 0.3) -> Split:
        """The same clips, with another seeded ``fraction`` of each album's tracks as the queries.

        The rule of ``real_audio.cut_clips`` (at least one query track, never all), another draw:
        how much a figure owes to which tracks happened to be the queries.
        """
        names = self.cat_names + self.query_names
        labels = np.concatenate([self.cat_labels, self.query_labels])
        tracks = [Path(n.split("/")[2]) / n.split("/")[3].rsplit("-", 1)[0] for n in names]
        queries: set[Path] = set()
        for album in sorted(set(labels)):
            queries |= real_audio._query_tracks(
                sorted({t for t in tracks if t.parent.name == album}), fraction, seed
            )
        is_query = np.array([t in queries for t in tracks])
        out = object.__new__(Split)
        out.cat_names = [n for n, q in zip(names, is_query, strict=True) if not q]
        out.query_names = [n for n, q in zip(names, is_query, strict=True) if q]
        out.cat_labels, out.query_labels = labels[~is_query], labels[is_query]
        out.by_layout = {}
        for layout, (cat, query) in self.by_layout.items():
            both = np.concatenate([cat, query])
            out.by_layout[layout] = (both[~is_query], both[is_query])
        out.cat, out.query = out.by_layout[1]
        return out


def spread(k: int) -> np.ndarray:
    """The patches ``backbone.patches(max_patches=k)`` keeps of a clip's ``PATCHES``."""
    return (np.arange(k) * 2 + 1) * PATCHES // (2 * k)


def score(similarity: np.ndarray, split: Split) -> tuple[float, float]:
    """Album precision@K and 1-NN accuracy of a query × catalog similarity matrix."""
    top = np.argsort(-similarity, axis=1)[:, : real_audio.K]
    found = split.cat_labels[top]
    truth = split.query_labels[:, None]
    return float(np.mean(found == truth)), float(np.mean(found[:, 0] == truth[:, 0]))


# ---- the ways of listening ---------------------------------------------------------------------
class Listener:
    """Sound features → embedding, fitted on catalog songs: standardise, unit blocks, PCA, whitening, LDA.

    ``dims``: PCA dimensions; ``shrink``: whitening of component ``i`` by
    ``(lambda_i + shrink * mean(lambda))^-1/2`` (None: no whitening, plain PCA as the head's);
    ``lda_weight``: the LDA part's weight beside the PCA part (0: none; the head's 0.5);
    ``within``: whiten the PCA space by the spread of each catalog song's patches around their
    mean (``patches`` given to ``fit``), ``within`` times the mean eigenvalue added (None: not);
    ``pooled``: the weight of the pooled blocks beside the penultimate ones (the head's
    ``DEFAULT_POOLED_WEIGHT``; 1: every block the same, the default before);
    ``posterior``: λ of a re-rank by the LDA's genre probabilities, ``cosine + λ · P(query has
    the catalog song's label)`` (0: none; ``evaluate`` applies it).
    """

    def __init__(
        self,
        *,
        dims: int = 128,
        shrink: float | None = None,
        lda_weight: float = 0.0,
        within: float | None = None,
        pooled: float | None = None,
        layout: int = 2,
        posterior: float = 0.0,
    ):
        from recommender.head_blocks import DEFAULT_POOLED_WEIGHT

        self.dims, self.shrink, self.lda_weight, self.within = dims, shrink, lda_weight, within
        self.pooled = DEFAULT_POOLED_WEIGHT if pooled is None else pooled
        self.layout = layout
        self.posterior = posterior

    def fit(
        self, songs: np.ndarray, labels: np.ndarray | None, patches: np.ndarray | None = None
    ) -> Listener:
        from recommender.discriminant import fit_lda
        from recommender.head_blocks import (
            block_unit,
            block_weights,
            default_penultimate,
            embedding_blocks,
            pca_mask,
        )

        # As the head: with labels the rooted penultimate blocks, without them musicnn's own.
        pen = default_penultimate(self.layout, labelled=labels is not None and bool(self.lda_weight))
        self.columns, self.blocks = embedding_blocks(BACKBONES, self.layout, pen)
        self.weights = block_weights(BACKBONES, self.pooled, self.layout, pen)
        mask = pca_mask(BACKBONES, self.layout, pen)  # layout 2's band statistics: the LDA's only
        x = songs[:, self.columns].astype(np.float64)
        self.mean = x.mean(axis=0)
        self.scale = np.maximum(x.std(axis=0), 1e-6 * max(float(np.abs(x).max()), 1.0))
        standard = block_unit((x - self.mean) / self.scale, self.blocks) * self.weights
        self.centre = standard.mean(axis=0) * mask
        _, sv, vt = np.linalg.svd((standard - self.centre) * mask, full_matrices=False)
        d = min(self.dims, len(sv) - 1)
        self.components = vt[:d] * mask
        variance = sv[:d] ** 2 / max(len(x) - 1, 1)
        self.whiten = (
            np.ones(d) if self.shrink is None else 1.0 / np.sqrt(variance + self.shrink * variance.mean())
        )
        self.rotate = np.eye(d)
        if self.within is not None and patches is not None:
            x = patches.reshape(-1, patches.shape[-1])[:, self.columns].astype(np.float64)
            z = (
                block_unit((x - self.mean) / self.scale, self.blocks) * self.weights - self.centre
            ) @ self.components.T
            z = z.reshape(*patches.shape[:2], -1)
            spread = (z - z.mean(axis=1, keepdims=True)).reshape(-1, z.shape[-1])
            within = spread.T @ spread / len(spread)
            values, vectors = np.linalg.eigh(within + self.within * np.trace(within) / d * np.eye(d))
            self.rotate = vectors @ np.diag(values**-0.5) @ vectors.T
        self.lda = None
        if self.lda_weight and labels is not None:
            self.lda = fit_lda(standard, labels, sorted(set(labels)))
        return self

    def probabilities(self, songs: np.ndarray) -> np.ndarray:
        """The LDA's probability of each catalog label ``(n, labels)``, labels sorted."""
        from recommender.discriminant import softmax
        from recommender.head_blocks import block_unit

        x = songs[:, self.columns].astype(np.float64)
        standard = block_unit((x - self.mean) / self.scale, self.blocks) * self.weights
        return softmax(standard @ self.lda.coef.T + self.lda.intercept)

    def __call__(self, songs: np.ndarray) -> np.ndarray:
        from recommender.head_blocks import block_unit
        from recommender.rerank import unit_rows

        shape = songs.shape
        x = songs.reshape(-1, shape[-1])[:, self.columns].astype(np.float64)
        standard = block_unit((x - self.mean) / self.scale, self.blocks) * self.weights
        out = unit_rows((((standard - self.centre) @ self.components.T) * self.whiten) @ self.rotate)
        if self.lda is not None:
            projected = unit_rows((standard - self.lda.centre) @ self.lda.scalings)
            out = np.concatenate([(1 - self.lda_weight) * out, self.lda_weight * projected], axis=1)
            out = unit_rows(out)
        return out.reshape(*shape[:-1], out.shape[-1])


BACKBONES = ("musicnn-msd", "musicnn-mtt")


def evaluate(split: Split, *, labelled: bool, listener: dict, rerank: str = "", cat_patches: int = 5,
             query_patches: int = 5) -> tuple[float, float]:  # fmt: skip
    """Album-P@K and 1-NN of one way of listening on ``split``."""
    from recommender import rerank as rr

    cat_p, query_p = split.by_layout[listener.get("layout", 2)]
    cat = cat_p[:, spread(cat_patches)].mean(axis=1)
    query = query_p[:, spread(query_patches)].mean(axis=1)
    fitted = Listener(**listener).fit(cat, split.cat_labels if labelled else None, patches=cat_p)
    base, q = fitted(cat), fitted(query)
    if rerank.startswith(("patchmean", "qpatchmean")):  # each patch embedded alone, a song the mean of them
        if rerank.startswith("patchmean"):  # catalog songs too, not only the queries
            base = rr.unit_rows(fitted(cat_p[:, spread(cat_patches)]).mean(axis=1))
        q = rr.unit_rows(fitted(query_p[:, spread(query_patches)]).mean(axis=1))
        rerank = rerank.partition("+")[2]
    diffuse = None
    if "+diff:" in rerank:  # e.g. "aqe:3+diff:20:0.9": the re-rank, then diffusion (k 20, alpha 0.9)
        rerank, _, spec = rerank.partition("+diff:")
        k_text, _, alpha_text = spec.partition(":")
        diffuse = (int(k_text), float(alpha_text or 0.9))
    kind, _, arg = rerank.partition(":")
    value = float(arg) if arg else 0.0
    if kind == "dba":
        base = rr.database_augmented(base, k=int(value))
    elif kind == "aqe":
        q = rr.expanded_query(q, base, k=int(value))
    elif kind == "dba+aqe":
        base = rr.database_augmented(base, k=int(value))
        q = rr.expanded_query(q, base, k=int(value))
    similarity = q @ base.T
    if fitted.posterior and fitted.lda is not None:
        labels = np.array(sorted(set(split.cat_labels)))
        similarity += (
            fitted.posterior * fitted.probabilities(query)[:, np.searchsorted(labels, split.cat_labels)]
        )
    if diffuse is not None:
        similarity = diffusion(similarity, base @ base.T, k=diffuse[0], alpha=diffuse[1])
    if kind == "kr":
        similarity = rr.k_reciprocal(similarity, base @ base.T, k=int(value))
    elif kind == "patchset":  # re-rank the top candidates by their patch sets (the five of each catalog clip)
        top = np.argsort(-similarity, axis=1)[:, : int(value)]
        cat_e, query_e = fitted(cat_p), fitted(query_p[:, spread(query_patches)])
        for i, row in enumerate(top):
            similarity[i, row] = 2.0 + rr.patch_set_similarity(query_e[i], cat_e[row])
    return score(similarity, split)


def diffusion(
    query_sim: np.ndarray, cat_sim: np.ndarray, *, k: int, alpha: float, gamma: float = 3.0
) -> np.ndarray:
    """Diffusion on the catalog's k-NN graph (Iscen et al. 2017): ``(I - alpha S)^-1 y`` per query.

    ``S``: the symmetric-normalised mutual k-NN affinities ``max(0, cos)^gamma`` of the catalog;
    ``y``: the query's affinities to its ``k`` nearest catalog songs.
    """
    n = len(cat_sim)
    k = min(k, n - 1)

    def sparse_rows(sim: np.ndarray, skip_self: bool) -> np.ndarray:
        out = np.zeros_like(sim)
        order = np.argsort(-sim, axis=1)
        for i, row in enumerate(order):
            keep = row[row != i][:k] if skip_self else row[:k]
            out[i, keep] = np.maximum(sim[i, keep], 0.0) ** gamma
        return out

    a = sparse_rows(cat_sim, True)
    w = np.minimum(a, a.T)  # mutual neighbours
    d = w.sum(axis=1)
    d = np.where(d > 0, d, 1.0) ** -0.5
    s = d[:, None] * w * d[None, :]
    inverse = np.linalg.inv(np.eye(n) - alpha * s)
    y = sparse_rows(query_sim, False)
    return y @ inverse.T


METHODS = {
    # name: (listener settings, re-rank, catalog patches)
    "backbone (PCA 128)": ({}, "", 5),
    "PCA 256": ({"dims": 256}, "", 5),
    "PCA 64": ({"dims": 64}, "", 5),
    "whiten 128 s0.1": ({"shrink": 0.1}, "", 5),
    "whiten 128 s0.5": ({"shrink": 0.5}, "", 5),
    "whiten 128 s1": ({"shrink": 1.0}, "", 5),
    "whiten 128 s2": ({"shrink": 2.0}, "", 5),
    "whiten 128 s4": ({"shrink": 4.0}, "", 5),
    "whiten 32 s1": ({"dims": 32, "shrink": 1.0}, "", 5),
    "whiten 64 s0.5": ({"dims": 64, "shrink": 0.5}, "", 5),
    "whiten 256 s0.5": ({"dims": 256, "shrink": 0.5}, "", 5),
    "PCA + dba:3": ({}, "dba:3", 5),
    "PCA + dba:5": ({}, "dba:5", 5),
    "PCA + aqe:3": ({}, "aqe:3", 5),
    "PCA + dba+aqe:3": ({}, "dba+aqe:3", 5),
    "PCA + dba+aqe:2": ({}, "dba+aqe:2", 5),
    "PCA + dba+aqe:5": ({}, "dba+aqe:5", 5),
    "whiten s2 + dba+aqe:3": ({"shrink": 2.0}, "dba+aqe:3", 5),
    "PCA + kr:10": ({}, "kr:10", 5),
    "PCA + kr:20": ({}, "kr:20", 5),
    "PCA + patchset:30": ({}, "patchset:30", 5),
    "head w0.5 (default)": ({"lda_weight": 0.5}, "", 5),
    "head w0.3": ({"lda_weight": 0.3}, "", 5),
    "head w0.7": ({"lda_weight": 0.7}, "", 5),
    "head w0.85": ({"lda_weight": 0.85}, "", 5),
    "head w0.5 + aqe:3": ({"lda_weight": 0.5}, "aqe:3", 5),
    "head w0.3 + aqe:3": ({"lda_weight": 0.3}, "aqe:3", 5),
    "head w0.7 + aqe:3": ({"lda_weight": 0.7}, "aqe:3", 5),
    "head w0.5 + dba+aqe:3": ({"lda_weight": 0.5}, "dba+aqe:3", 5),
    "head w0.7 + dba+aqe:3": ({"lda_weight": 0.7}, "dba+aqe:3", 5),
    "head w0.5 whiten s2": ({"lda_weight": 0.5, "shrink": 2.0}, "", 5),
    "within-song whitening": ({"within": 0.1}, "aqe:3", 5),
    "patch embeddings averaged + aqe:3": ({}, "patchmean+aqe:3", 5),
    "query's patch embeddings averaged + aqe:3": ({}, "qpatchmean+aqe:3", 5),
    "head w0.5, patch embeddings averaged + aqe:3": ({"lda_weight": 0.5}, "patchmean+aqe:3", 5),
    "head w0.5 + within-song whitening": ({"lda_weight": 0.5, "within": 0.1}, "aqe:3", 5),
    # the pooled blocks' weight beside the penultimate ones (the default's 0.5; 1 before)
    "pooled 1 + aqe:3": ({"pooled": 1.0}, "aqe:3", 5),
    "head w0.5, pooled 1 + aqe:3": ({"lda_weight": 0.5, "pooled": 1.0}, "aqe:3", 5),
    "pooled 0.3 + aqe:3": ({"pooled": 0.3}, "aqe:3", 5),
    "head w0.5, pooled 0.3 + aqe:3": ({"lda_weight": 0.5, "pooled": 0.3}, "aqe:3", 5),
    "pooled 0.7 + aqe:3": ({"pooled": 0.7}, "aqe:3", 5),
    "head w0.5, pooled 0.7 + aqe:3": ({"lda_weight": 0.5, "pooled": 0.7}, "aqe:3", 5),
    "pooled 0 (penultimate only) + aqe:3": ({"pooled": 0.0}, "aqe:3", 5),
    "head w0.5, pooled 0 + aqe:3": ({"lda_weight": 0.5, "pooled": 0.0}, "aqe:3", 5),
    # sound-feature layout 1 (every patch's values as musicnn gives them, no band statistics): the
    # default before layout 2; every method above reads layout 2 unless it says "layout 1"
    "layout 1: PCA + aqe:3": ({"layout": 1}, "aqe:3", 5),
    "layout 1: head w0.5 + aqe:3": ({"layout": 1, "lda_weight": 0.5}, "aqe:3", 5),
    # diffusion on the catalog's k-NN graph (k, alpha), alone or after query expansion
    "PCA + diffusion k10": ({}, "+diff:10:0.9", 5),
    "PCA + diffusion k20": ({}, "+diff:20:0.9", 5),
    "PCA + diffusion k20 a0.99": ({}, "+diff:20:0.99", 5),
    "PCA + aqe:3 + diffusion k20": ({}, "aqe:3+diff:20:0.9", 5),
    "head w0.5 + diffusion k10": ({"lda_weight": 0.5}, "+diff:10:0.9", 5),
    "head w0.5 + diffusion k20": ({"lda_weight": 0.5}, "+diff:20:0.9", 5),
    "head w0.5 + diffusion k20 a0.99": ({"lda_weight": 0.5}, "+diff:20:0.99", 5),
    "head w0.5 + aqe:3 + diffusion k20": ({"lda_weight": 0.5}, "aqe:3+diff:20:0.9", 5),
    # re-ranked by the LDA's probability that the query has each catalog song's label
    "head w0.5 + aqe:3 + posterior 0.1": ({"lda_weight": 0.5, "posterior": 0.1}, "aqe:3", 5),
    "head w0.5 + aqe:3 + posterior 0.3": ({"lda_weight": 0.5, "posterior": 0.3}, "aqe:3", 5),
    "head w0.5 + aqe:3 + posterior 1": ({"lda_weight": 0.5, "posterior": 1.0}, "aqe:3", 5),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "artifacts" / "real_audio")
    ap.add_argument("--extract-only", action="store_true", help="cut and hear the clips, score nothing")
    ap.add_argument("--score-only", action="store_true", help="score the cached clips only, hear nothing")
    ap.add_argument(
        "--reverse", action="store_true", help="hear the clips in the reverse order (a 2nd process)"
    )
    ap.add_argument("--sets", nargs="+", default=["A", "B", "AB"], help="development sets, or joined")
    ap.add_argument("--albums", nargs="*", help="hear only these albums' clips (to share the work out)")
    ap.add_argument("--methods", nargs="*", help=f"any of: {', '.join(METHODS)}")
    ap.add_argument(
        "--partitions", type=int, default=0,
        help="also score N other draws of each album's query tracks: their mean, and each method's "
        "mean difference from the first method listed that scores the same cell, ± its standard error",
    )  # fmt: skip
    args = ap.parse_args()
    out = args.data / "clips"
    if not args.score_only:
        albums = real_audio.album_tracks(real_audio.fetch_packages(args.data))
        if args.albums:
            albums = {a: files for a, files in albums.items() if a in args.albums}
        real_audio.cut_clips(albums, out, fraction=0.3, seed=0)
    paths = [p for p in clip_paths(out) if not args.albums or p.parent.name in args.albums]
    if args.score_only:  # what is cached, nothing heard
        known = patch_cache(args.data, [])
    else:
        part = ("-" + "-".join(args.albums) if args.albums else "") + ("-reversed" if args.reverse else "")
        known = patch_cache(args.data, paths, part=part, reverse=args.reverse)
    print(f"{len(known)} clips heard")
    if args.extract_only:
        return
    stats = mel_stats_cache(args.data, [args.data / n for n in known])
    names = sorted(known)
    sets = {name: name for name in args.sets}
    splits = {
        name: Split(known, [n for n in names if real_audio.album_set(n.split("/")[2]) in members], stats)
        for name, members in sets.items()
    }
    for name, split in splits.items():
        print(f"set {name}: {len(split.cat_names)} catalog clips, {len(split.query_names)} query clips, "
              f"{len(set(split.cat_labels))} albums")  # fmt: skip
    chosen = {m: METHODS[m] for m in (args.methods or METHODS)}
    header = " | ".join(f"{s} labelled | {s} flat" for s in splits)
    print(f"| method | {header} |")
    print("|---|" + "---|" * (2 * len(splits)))
    drawn = {
        name: [split.repartitioned(seed) for seed in range(1, args.partitions + 1)]
        for name, split in splits.items()
    }
    first: dict[tuple[str, bool], np.ndarray] = {}
    for method, (listener, rerank, cat_patches) in chosen.items():
        cells = []
        for name, split in splits.items():
            for labelled in (True, False):
                if not labelled and listener.get("lda_weight"):
                    cells.append("—")
                    continue
                p10, nn = evaluate(split, labelled=labelled, listener=listener, rerank=rerank,
                                   cat_patches=cat_patches)  # fmt: skip
                cell = f"{p10:.3f} / {nn:.3f}"
                if drawn[name]:
                    other = np.array([
                        evaluate(s, labelled=labelled, listener=listener, rerank=rerank, cat_patches=cat_patches)[0]
                        for s in drawn[name]
                    ])  # fmt: skip
                    cell += f"; {args.partitions} draws {other.mean():.3f}"
                    if (name, labelled) in first:
                        diff = other - first[(name, labelled)]
                        cell += f", {diff.mean():+.3f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.3f}"
                    else:
                        first[(name, labelled)] = other
                cells.append(cell)
        print(f"| {method} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
