"""Sonic playlists: quality per clustering method and number of playlists on a built catalog.

For each method (k-means, Gaussian mixture, Ward agglomeration) and each number of
playlists tried, prints the silhouette (cosine), tag coherence, size balance, genre
purity, sub-style purity (the demo's sub-style, read from the album: "Name (Sub-style)")
and album cohesion (for albums of at least 2 songs: the share of an album's songs in the
playlist that holds most of them; on real music, how often playlists keep an album
together), then the partition ``discover`` keeps and its playlists.

    python bench/discover.py --home DIR [--n 4 8 16] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.catalog import Catalog  # noqa: E402
from recommender.discover import (  # noqa: E402
    METHODS,
    candidate_counts,
    cluster,
    discover_catalog,
    purity,
    quality,
    substyle,
)


def album_cohesion(labels: np.ndarray, albums: np.ndarray) -> float:
    """Share of songs of albums with >= 2 songs that sit in their album's most common playlist."""
    kept = total = 0
    for album in np.unique(albums):
        rows = albums == album
        if rows.sum() < 2:
            continue
        kept += Counter(labels[rows].tolist()).most_common(1)[0][1]
        total += int(rows.sum())
    return kept / total if total else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", required=True)
    ap.add_argument(
        "--n", type=int, nargs="*", default=None, help="numbers of playlists (default: discover's)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    catalog = Catalog.open(args.home)
    index = catalog.index
    ids = index.track_ids_
    tracks = catalog.tracks().set_index("track_id").loc[ids]
    albums = tracks["album"].astype(str).to_numpy()
    subs = np.array([substyle(a) for a in albums])
    tags = catalog.tag_matrix(ids)
    x = index.embeddings_.astype(np.float64)
    counts = args.n or candidate_counts(len(ids))
    rows = []
    for method in METHODS:
        for n in counts:
            start = time.perf_counter()
            labels = cluster(x, method, n)
            seconds = time.perf_counter() - start
            q = quality(x, labels, tags if tags.shape[1] else None, index.genres_)
            rows.append({"method": method, "n": n, **q, "substyle_purity": round(purity(labels, subs), 4),
                         "album_cohesion": round(album_cohesion(labels, albums), 4), "seconds": round(seconds, 2)})  # fmt: skip
    kept = discover_catalog(catalog)
    out = {"songs": len(ids), "genres": len(set(index.genres_)), "substyles": len(set(subs)), "tried": rows,
           "kept": {"method": kept.method, "n": len(kept.playlists), **kept.quality},
           "playlists": [{"name": p.name, "size": p.size, "genres": p.genres} for p in kept.playlists]}  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{out['songs']} songs, {out['genres']} genres, {out['substyles']} sub-styles")
    head = "| method | n | silhouette | tag coherence | balance | genre purity | sub-style purity | album cohesion | s |"
    print(head + "\n|" + "---|" * 9)
    for r in rows:
        print(f"| {r['method']} | {r['n']} | {r['silhouette']:.3f} | {r.get('tag_coherence', float('nan')):.3f} | "
              f"{r['balance']:.2f} | {r.get('genre_purity', float('nan')):.0%} | {r['substyle_purity']:.0%} | "
              f"{r['album_cohesion']:.0%} | {r['seconds']:.2f} |")  # fmt: skip
    print(f"kept: {out['kept']}")
    for p in out["playlists"]:
        print(f"  {p['name']} · {p['size']} · {dict(list(p['genres'].items())[:3])}")


if __name__ == "__main__":
    main()
