"""Query-time figures: index build and k-NN latency at FMA-full scale, per search algorithm.

    python bench/query.py [--n 106574] [--dims 128 256] [--queries 500] [--algorithms auto ball_tree]
                          [--data random clustered] [--home DIR]

Random unit vectors are the hard case for a Ball-tree (no low-dimensional
structure to prune with); learned embeddings cluster by genre and query faster.
Each figure is printed on its own line with its target.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.index import ALGORITHMS, SimilarityIndex  # noqa: E402

FMA_FULL_TRACKS = 106_574
N_GENRES = 8
K = 10
BUILD_TARGET_S = 30.0
QUERY_P95_TARGET_MS = 20.0


def random_catalog(n: int, dim: int, *, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors ``(n, dim)`` float32, ids ``(n,)`` and one of ``N_GENRES`` genres each."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    genres = rng.choice([f"genre{i}" for i in range(N_GENRES)], size=n)
    return vectors, np.arange(1, n + 1, dtype=np.int64), genres


def clustered_catalog(
    n: int, dim: int, *, seed: int, rank: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like ``random_catalog`` but shaped like learned embeddings: one centre per genre plus
    variation in a ``rank``-dimensional subspace and a little isotropic noise."""
    rng = np.random.default_rng(seed)
    genre_idx = rng.integers(0, N_GENRES, size=n)
    centres = rng.standard_normal((N_GENRES, dim), dtype=np.float32)
    basis = rng.standard_normal((rank, dim), dtype=np.float32) / np.sqrt(rank)
    vectors = centres[genre_idx] + rng.standard_normal((n, rank), dtype=np.float32) @ basis
    vectors += 0.05 * rng.standard_normal((n, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    genres = np.array([f"genre{i}" for i in range(N_GENRES)])[genre_idx]
    return vectors, np.arange(1, n + 1, dtype=np.int64), genres


def brute_force(vectors: np.ndarray, query: np.ndarray, *, k: int) -> np.ndarray:
    """Rows of the ``k`` largest dot products with ``query`` ``(d,)``, best first."""
    scores = vectors @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def latencies_ms(call: Callable[[int], object], queries: np.ndarray) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``call(q)`` over ``queries``."""
    times = np.empty(len(queries))
    for i, q in enumerate(queries):
        start = time.perf_counter()
        call(int(q))
        times[i] = time.perf_counter() - start
    p50, p95 = np.percentile(times, [50, 95]) * 1e3
    return float(p50), float(p95)


def bench_index(
    *,
    n: int,
    dim: int,
    n_queries: int,
    leaf_size: int,
    algorithms: list[str],
    data: str = "random",
    seed: int = 0,
) -> list[tuple[str, str]]:
    """Figures for one catalog size and dimension: ``[(label, "value (target …)")]``.

    Every algorithm of ``SimilarityIndex`` is built and queried on the same catalog and
    queries; a bare numpy matrix product is the reference point. The answers of every
    algorithm are compared with the first one's.
    """
    make = clustered_catalog if data == "clustered" else random_catalog
    vectors, ids, genres = make(n, dim, seed=seed)
    rng = np.random.default_rng(seed + 1)
    rows = rng.integers(0, n, size=n_queries)
    query_genres = rng.choice(sorted(set(genres.tolist())), size=n_queries)
    positions = np.arange(n_queries)
    tag = f"{data} n={n} dim={dim}"
    lines: list[tuple[str, str]] = []
    answers: dict[str, list] = {}

    for algorithm in algorithms:
        start = time.perf_counter()
        index = SimilarityIndex(leaf_size=leaf_size, algorithm=algorithm).fit(vectors, ids, genres)
        build_s = time.perf_counter() - start
        name = f"{algorithm} ({index.algorithm_})" if algorithm == "auto" else algorithm

        def plain(row: int, index=index) -> object:
            return index.query_track(int(ids[row]), k=K)

        def filtered(i: int, index=index) -> object:
            return index.query_track(int(ids[rows[i]]), k=K, genre=str(query_genres[i]))

        lines.append(
            (
                f"{tag} {name} build (all + {N_GENRES} genres)",
                f"{build_s:.2f} s (target <= {BUILD_TARGET_S:.0f} s)",
            )
        )
        lines += _latency_lines(f"{tag} {name} k=10", latencies_ms(plain, rows))
        lines += _latency_lines(f"{tag} {name} k=10 genre-filtered", latencies_ms(filtered, positions))
        check = rows[:50]
        answers[name] = [plain(int(r)) for r in check] + [filtered(int(i)) for i in positions[:50]]
        del index

    # Reference: a bare float32 numpy product over all songs, and over per-genre copies.
    unit = vectors
    genre_rows = {g: np.flatnonzero(genres == g) for g in set(genres.tolist())}
    genre_unit = {g: unit[r] for g, r in genre_rows.items()}

    def brute(row: int) -> object:
        return brute_force(unit, unit[row], k=K + 1)  # +1: the query track itself

    def brute_genre(i: int) -> object:
        genre = str(query_genres[i])
        return genre_rows[genre][brute_force(genre_unit[genre], unit[rows[i]], k=K + 1)]

    lines += _latency_lines(f"{tag} bare numpy k=10", latencies_ms(brute, rows))
    lines += _latency_lines(f"{tag} bare numpy k=10 genre-filtered", latencies_ms(brute_genre, positions))

    names = list(answers)
    for other in names[1:]:
        same = sum(_same(a, b) for a, b in zip(answers[names[0]], answers[other], strict=True))
        lines.append((f"{tag} {other} answers equal to {names[0]}", f"{same}/{len(answers[other])} queries"))
    return lines


def _same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """Same ids in the same order and scores equal to 1e-6 (the Ball-tree's rounding of cosine)."""
    return [t for t, _ in a] == [t for t, _ in b] and np.allclose(
        [s for _, s in a], [s for _, s in b], atol=1e-6
    )


def _latency_lines(label: str, p50_p95: tuple[float, float]) -> list[tuple[str, str]]:
    p50, p95 = p50_p95
    verdict = "ok" if p95 <= QUERY_P95_TARGET_MS else "MISSES"
    return [
        (f"{label} p50", f"{p50:.2f} ms"),
        (f"{label} p95", f"{p95:.2f} ms (target <= {QUERY_P95_TARGET_MS:.0f} ms: {verdict})"),
    ]


def main(argv: list[str] | None = None) -> None:
    """Print every figure on its own line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=FMA_FULL_TRACKS, help="catalog size")
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 256], help="embedding dimensions")
    parser.add_argument("--queries", type=int, default=500, help="queries per latency figure")
    parser.add_argument("--leaf-size", type=int, default=40, help="Ball-tree leaf size")
    parser.add_argument(
        "--algorithms",
        nargs="+",
        choices=list(ALGORITHMS),
        default=["auto", "ball_tree"],
        help="SimilarityIndex algorithms to time (answers compared with the first)",
    )
    parser.add_argument(
        "--data",
        nargs="+",
        choices=["random", "clustered"],
        default=["random"],
        help="random unit vectors (worst case) and/or genre clusters of low intrinsic dimension",
    )
    parser.add_argument("--home", type=Path, default=None, help="a built catalog: also time an uploaded clip")
    parser.add_argument("--clips", type=int, default=10, help="timed uploads (after one warm-up)")
    parser.add_argument("--upload-only", action="store_true", help="with --home: skip the index figures")
    args = parser.parse_args(argv)

    # ---- index: build and query latency of each algorithm ---------------------------
    for data in [] if args.upload_only else args.data:
        for dim in args.dims:
            figures = bench_index(
                n=args.n,
                dim=dim,
                n_queries=args.queries,
                leaf_size=args.leaf_size,
                algorithms=args.algorithms,
                data=data,
            )
            for label, value in figures:
                print(f"{label}: {value}", flush=True)

    # ---- upload: decode + embed + query of an uploaded clip ----------------------------
    if args.home is not None:
        for label, value in bench_upload(args.home, n_clips=args.clips):
            print(f"{label}: {value}", flush=True)


def bench_upload(home: Path, *, n_clips: int) -> list[tuple[str, str]]:
    """Time ``similar --file`` the way the app runs it: analyse a 30-s 44.1 kHz stereo MP3, query k=10."""
    import tempfile

    import soundfile as sf

    from recommender.catalog import Catalog

    rng = np.random.default_rng(0)
    sr, t = 44_100, np.arange(44_100 * 30) / 44_100
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "upload.mp3"
        tone = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(80, 2_000, 4)) / 6
        y = tone + 0.05 * rng.standard_normal(len(t))
        sf.write(clip, np.stack([y, y], axis=1).astype(np.float32), sr, format="MP3")
        start = time.perf_counter()
        catalog = Catalog.open(home)
        catalog.similar_to_clip(catalog.analyse(clip), k=10)
        first = time.perf_counter() - start
        times = []
        for _ in range(n_clips):
            start = time.perf_counter()
            catalog.similar_to_clip(catalog.analyse(clip), k=10)
            times.append((time.perf_counter() - start) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return [
        ("upload first call (loads model and index)", f"{first:.2f} s"),
        (
            "upload warm 30-s MP3 -> 10 similar songs",
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target <= 1500 ms)",
        ),
    ]


if __name__ == "__main__":
    main()
