"""How much structure a built demo catalog shows: neighbour scores, sub-styles, hybrids on the map.

Reads a built home (``python -m recommender build --source demo --home DIR``) and prints:
- the distribution of nearest-neighbour scores (``Catalog.similar``, k=10);
- of each song's 10 neighbours, the share with its genre, its sub-style, its artist, and
  its sub-style among the neighbours by other artists (the sub-style is read from the
  album, ``"Name (Sub-style)"``; a catalog built before sub-styles has none);
- on the map (``Catalog.map_frame``): genre and sub-style silhouettes, and where each
  hybrid lands on the line from its genre's centre (0) to the centre of the genre it
  borrows from (1), against the songs of its genre that are not hybrids;
- the same for the backbone half of the embedding alone (a pretrained head's embedding is
  the backbone's PCA and the genre discriminant side by side, each of unit length): what
  the audio carries before the labels pull each genre together, and a UMAP map of it.

    python bench/demo_map.py --home /tmp/d [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import silhouette_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recommender.catalog import Catalog  # noqa: E402
from recommender.sources import demo  # noqa: E402

_SUBSTYLE = re.compile(r"\(([^()]+)\)$")


def substyle_of(album: str) -> str | None:
    found = _SUBSTYLE.search(album or "")
    return found.group(1) if found else None


def neighbours(catalog: Catalog, tracks: pd.DataFrame, k: int) -> pd.DataFrame:
    """One row per (song, neighbour): rank, score and whether they share genre/sub-style/artist."""
    info = tracks.set_index("track_id")
    rows = []
    for tid in tracks["track_id"]:
        me = info.loc[tid]
        for rank, hit in enumerate(catalog.similar(int(tid), k=k).itertuples(), start=1):
            other = info.loc[hit.track_id]
            rows.append(
                {
                    "track_id": tid,
                    "rank": rank,
                    "score": hit.score,
                    "genre": other.genre == me.genre,
                    "substyle": me.substyle is not None and other.substyle == me.substyle,
                    "artist": other.artist == me.artist,
                }
            )
    return pd.DataFrame(rows)


def score_figures(hits: pd.DataFrame) -> dict:
    q = [5, 25, 50, 75, 95]
    first = hits[hits["rank"] == 1]["score"]
    tenth = hits[hits["rank"] == hits["rank"].max()]["score"]
    return {
        "all_k": dict(
            zip([f"p{p}" for p in q], np.percentile(hits["score"], q).round(3).tolist(), strict=True)
        ),
        "nearest": dict(zip([f"p{p}" for p in q], np.percentile(first, q).round(3).tolist(), strict=True)),
        "kth": dict(zip([f"p{p}" for p in q], np.percentile(tenth, q).round(3).tolist(), strict=True)),
        "share_above_0.95": round(float((hits["score"] > 0.95).mean()), 3),
        "share_below_0.80": round(float((hits["score"] < 0.80).mean()), 3),
    }


def share_figures(hits: pd.DataFrame, tracks: pd.DataFrame) -> dict:
    out = {
        "genre_precision": round(float(hits["genre"].mean()), 3),
        "artist_share": round(float(hits["artist"].mean()), 3),
    }
    if tracks["substyle"].notna().all():
        others = hits[~hits["artist"]]
        same_genre = hits[hits["genre"]]
        # chance: a neighbour drawn at random from the song's genre has its sub-style this often
        sizes = tracks.groupby(["genre", "substyle"]).size()
        per_genre = tracks.groupby("genre").size()
        chance = np.mean(
            [
                (sizes[g, s] - 1) / (per_genre[g] - 1)
                for g, s in zip(tracks.genre, tracks.substyle, strict=True)
            ]
        )
        out |= {
            "substyle_precision": round(float(hits["substyle"].mean()), 3),
            "substyle_share_of_same_genre": round(float(same_genre["substyle"].mean()), 3),
            "substyle_precision_other_artists": round(float(others["substyle"].mean()), 3),
            "substyle_chance_within_genre": round(float(chance), 3),
        }
    return out


def map_figures(frame: pd.DataFrame) -> dict:
    xy = frame[["x", "y"]].to_numpy()
    out: dict = {"genre_silhouette": round(float(silhouette_score(xy, frame["genre"])), 3)}
    spread = []  # median distance to the genre centre / median distance between genre centres
    centres = frame.groupby("genre")[["x", "y"]].median()
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(centres.values) for b in centres.values[i + 1 :]]
    for genre, part in frame.groupby("genre"):
        spread.append(
            np.median(np.linalg.norm(part[["x", "y"]].to_numpy() - centres.loc[genre].values, axis=1))
        )
    out["genre_spread_over_centre_gap"] = round(float(np.median(spread) / np.median(gaps)), 3)
    if frame["substyle"].isna().any():
        return out
    within = []
    for _, part in frame.groupby("genre"):
        if part["substyle"].nunique() > 1:
            within.append(silhouette_score(part[["x", "y"]].to_numpy(), part["substyle"]))
    out["substyle_silhouette_within_genre"] = round(float(np.mean(within)), 3)
    borrowed = {s.name: s.borrows for s in demo.SUBSTYLES if s.borrows}
    pure_centres = frame[~frame["substyle"].isin(borrowed)].groupby("genre")[["x", "y"]].median()
    hybrids = {}
    for name, other in borrowed.items():
        mine = frame[frame["substyle"] == name]
        if mine.empty:
            continue
        genre = mine["genre"].iloc[0]
        pure = frame[(frame["genre"] == genre) & ~frame["substyle"].isin(borrowed)]
        a, b = pure_centres.loc[genre].values, pure_centres.loc[other].values

        def position(points: np.ndarray, a=a, b=b) -> np.ndarray:
            return (points - a) @ (b - a) / np.sum((b - a) ** 2)

        def gap(points: np.ndarray, b=b) -> float:
            return float(np.median(np.linalg.norm(points - b, axis=1)))

        hybrids[f"{name} ({genre} + {other})"] = {
            "n": len(mine),
            "position_hybrid": round(float(np.median(position(mine[["x", "y"]].to_numpy()))), 2),
            "position_rest_of_genre": round(float(np.median(position(pure[["x", "y"]].to_numpy()))), 2),
            "distance_to_other_hybrid": round(gap(mine[["x", "y"]].to_numpy()), 2),
            "distance_to_other_rest": round(gap(pure[["x", "y"]].to_numpy()), 2),
            # how much of the borrowed genre the classifier hears in them
            "p_other_genre_hybrid": round(float(np.median(mine[f"p:{other}"])), 3),
            "p_other_genre_rest": round(float(np.median(pure[f"p:{other}"])), 3),
        }
    out["hybrids"] = hybrids
    return out


def hybrid_similarity(vectors: np.ndarray, info: pd.DataFrame) -> dict:
    """Per hybrid: median cosine of its songs, and of the rest of its genre, to the borrowed genre's centre.

    ``vectors`` (n, d) unit rows in the order of ``info`` (genre, substyle). A hybrid that
    borrows audibly is nearer the other genre than its genre's other songs are.
    """
    borrowed = {s.name: s.borrows for s in demo.SUBSTYLES if s.borrows}
    if info["substyle"].isna().any():
        return {}
    pure = ~info["substyle"].isin(borrowed).to_numpy()
    out = {}
    for name, other in borrowed.items():
        mine = (info["substyle"] == name).to_numpy()
        if not mine.any():
            continue
        genre = info.loc[mine, "genre"].iloc[0]
        centre = vectors[(info["genre"] == other).to_numpy() & pure].mean(axis=0)
        centre /= np.linalg.norm(centre)
        rest = (info["genre"] == genre).to_numpy() & pure
        out[f"{name} ({genre} + {other})"] = {
            "cos_to_other_hybrid": round(float(np.median(vectors[mine] @ centre)), 3),
            "cos_to_other_rest": round(float(np.median(vectors[rest] @ centre)), 3),
        }
    return out


def backbone_figures(catalog: Catalog, tracks: pd.DataFrame, k: int) -> dict:
    """Scores, shares and map figures of the backbone half of the embedding (unit length)."""
    from recommender.projection import umap_coordinates

    ids = tracks["track_id"].to_numpy()
    vectors = np.array([catalog.index.vector(int(t)) for t in ids])
    lda_dims = len(catalog.genres()) - 1 if (catalog.model_info or {}).get("head") == "lda" else 0
    part = vectors[:, : vectors.shape[1] - lda_dims]
    part = part / np.linalg.norm(part, axis=1, keepdims=True)
    cos = part @ part.T
    np.fill_diagonal(cos, -np.inf)
    order = np.argsort(-cos, axis=1)[:, :k]
    info = tracks.reset_index(drop=True)
    rows = []
    for i, near in enumerate(order):
        for rank, j in enumerate(near, start=1):
            rows.append(
                {
                    "track_id": ids[i],
                    "rank": rank,
                    "score": cos[i, j],
                    "genre": info.genre[j] == info.genre[i],
                    "substyle": info.substyle[i] is not None and info.substyle[j] == info.substyle[i],
                    "artist": info.artist[j] == info.artist[i],
                }
            )
    hits = pd.DataFrame(rows)
    coords = umap_coordinates(part)
    frame = info.assign(x=coords[:, 0], y=coords[:, 1])
    for genre in catalog.genres():  # no classifier here: a genre column of zeros keeps map_figures simple
        frame[f"p:{genre}"] = 0.0
    maps = map_figures(frame)
    for figures in maps.get("hybrids", {}).values():
        del figures["p_other_genre_hybrid"], figures["p_other_genre_rest"]
    return {
        "scores": score_figures(hits),
        "neighbours": share_figures(hits, tracks),
        "map": maps,
        "hybrids_in_embedding": hybrid_similarity(part, info),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    catalog = Catalog.open(args.home)
    tracks = catalog.tracks().copy()
    tracks["substyle"] = tracks["album"].map(substyle_of)
    hits = neighbours(catalog, tracks, args.k)
    frame = catalog.map_frame().merge(tracks[["track_id", "substyle"]], on="track_id")
    probs = pd.DataFrame([catalog.genre_probabilities(int(t)) for t in frame["track_id"]]).fillna(0.0)
    frame = pd.concat([frame, probs.add_prefix("p:")], axis=1)
    figures = {
        "tracks": len(tracks),
        "scores": score_figures(hits),
        "neighbours": share_figures(hits, tracks),
        "map": map_figures(frame),
        "hybrids_in_embedding": hybrid_similarity(
            np.array([catalog.index.vector(int(t)) for t in tracks["track_id"]]),
            tracks.reset_index(drop=True),
        ),
        "backbone_half": backbone_figures(catalog, tracks, args.k),
    }
    print(json.dumps(figures, indent=None if args.json else 1))
    return figures


if __name__ == "__main__":
    main()
