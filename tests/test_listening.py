"""Ways of listening: songs of other albums only, re-ranking, and the catalog-fitted whitening."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommender import rerank
from recommender.catalog import Catalog
from recommender.errors import UserInputError
from tests.test_cli import cli, cli_json


@pytest.fixture(scope="module")
def own_home(built_home):
    """The shared demo catalog (these tests write user data only as their own users)."""
    return built_home


def _album_mates(tracks, track_id: int) -> set[int]:
    row = tracks.set_index("track_id").loc[track_id]
    same = tracks[(tracks["artist"] == row["artist"]) & (tracks["album"] == row["album"])]
    return {int(t) for t in same["track_id"]} - {track_id}


def _seed_with_album_mates(catalog: Catalog) -> int:
    tracks = catalog.tracks()
    return next(int(t) for t in tracks["track_id"] if _album_mates(tracks, int(t)))


# ---- other albums / other artists only ---------------------------------------------------------------------
def test_similar_other_albums_never_returns_the_tracks_album(own_home):
    catalog = Catalog.open(own_home)
    seed = _seed_with_album_mates(catalog)
    mates = _album_mates(catalog.tracks(), seed)
    everyone = len(catalog.tracks()) - 1
    plain = cli_json("similar", "--track", seed, "-k", everyone, home=own_home)["results"]
    assert mates <= {r["track_id"] for r in plain}  # without the switch the album is there
    out = cli_json("similar", "--track", seed, "-k", everyone, "--other-albums", home=own_home)
    found = {r["track_id"] for r in out["results"]}
    assert found and not found & mates and seed not in found
    assert len(found) == everyone - len(mates)  # every other song is still offered
    assert set(out["results"][0]) == {"track_id", "title", "artist", "genre", "score"}


def test_similar_other_artists_leaves_out_the_artist(own_home):
    catalog = Catalog.open(own_home)
    seed = _seed_with_album_mates(catalog)
    tracks = catalog.tracks()
    artist = tracks.set_index("track_id").loc[seed, "artist"]
    frame = catalog.similar(seed, k=len(tracks) - 1, other_than="artist")
    assert len(frame) and artist not in set(frame["artist"])


def test_other_albums_needs_a_catalog_track(own_home, tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"")
    proc = cli("similar", "--file", clip, "--other-albums", home=own_home, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: --other-albums needs --track: an audio file has no album or artist in the catalog"
    ]
    with pytest.raises(UserInputError, match="other than 'genre'"):
        Catalog.open(own_home).similar(1, other_than="genre")


def test_recommend_other_albums_skips_the_albums_the_user_heard(own_home):
    catalog = Catalog.open(own_home)
    seed = _seed_with_album_mates(catalog)
    mates = _album_mates(catalog.tracks(), seed)
    catalog.store.record_play("otheralbums", seed)
    everyone = len(catalog.tracks())
    plain = cli_json("recommend", "--user", "otheralbums", "-k", everyone, home=own_home)["results"]
    assert mates & {r["track_id"] for r in plain}
    out = cli_json("recommend", "--user", "otheralbums", "-k", everyone, "--other-albums", home=own_home)
    found = {r["track_id"] for r in out["results"]}
    assert found and not found & (mates | {seed})


# ---- re-ranking on constructed examples ----------------------------------------------------------------------
def _unit(*rows) -> np.ndarray:
    return rerank.unit_rows(np.array(rows, dtype=float))


def test_database_augmentation_pulls_a_song_towards_its_neighbours():
    base = _unit([1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.95, 0.05])
    out = rerank.database_augmented(base, k=1, alpha=1.0)
    # Each row becomes the mean of itself and its nearest row, weighted by their cosine.
    expected = rerank.unit_rows(base[0] + (base[0] @ base[1]) * base[1])
    np.testing.assert_allclose(out[0], expected, atol=1e-12)
    assert out[0] @ out[1] > base[0] @ base[1]  # the pair is tighter
    np.testing.assert_allclose(rerank.database_augmented(base, k=0), base)


def test_query_expansion_changes_the_order_as_designed():
    # On a circle: the query at -15°, its best match at 0°, song 1 at -35° and song 2 at +15°.
    # Song 1 is nearer the query (20° against 30°), but expanded by its best match (to about
    # -7.6°) the query is nearer song 2 (22.6° against 27.4°).
    def at(degrees):
        return [np.cos(np.radians(degrees)), np.sin(np.radians(degrees))]

    base, query = _unit(at(0), at(-35), at(15)), _unit(at(-15))
    before = np.argsort(-(query @ base.T)[0])
    expanded = rerank.expanded_query(query, base, k=1, alpha=1.0)
    after = np.argsort(-(expanded @ base.T)[0])
    assert before.tolist() == [0, 1, 2] and after.tolist() == [0, 2, 1]
    np.testing.assert_allclose(expanded[0], rerank.unit_rows(query[0] + (query[0] @ base[0]) * base[0]))


def test_k_reciprocal_moves_mutual_neighbours_up():
    # On a circle, the query at 0°: song 0 at -16° is nearest, song 1 at +21° next, both count the
    # query among their 2 nearest (its k-reciprocal set is {0, 1}). Song 0's own reciprocal set is
    # {0, 2, 3} (-36°, -47°: Jaccard with the query's 1/4), song 1's is {1, 4} (53°: 1/3), so
    # song 1 moves up.
    def at(degrees):
        return [np.cos(np.radians(degrees)), np.sin(np.radians(degrees))]

    base, query = _unit(at(-16), at(21), at(-36), at(-47), at(53)), _unit(at(0))
    similarity = query @ base.T
    reranked = rerank.k_reciprocal(similarity, base @ base.T, k=2, weight=0.5)
    np.testing.assert_allclose(reranked[0, :2], 0.5 * similarity[0, :2] + 0.5 * np.array([1 / 4, 1 / 3]))
    assert np.argmax(similarity[0]) == 0 and np.argmax(reranked[0]) == 1
    np.testing.assert_allclose(rerank.k_reciprocal(similarity, base @ base.T, k=2, weight=0.0), similarity)


def test_patch_set_similarity_is_the_mean_best_match():
    query = _unit([1, 0], [0, 1])
    one = _unit([1, 0], [1, 0])  # matches the first query patch only
    both = _unit([0, 1], [1, 0])  # matches each query patch
    scores = rerank.patch_set_similarity(query, np.stack([one, both]))
    np.testing.assert_allclose(scores, [0.5, 1.0])


# ---- query expansion in the index's search --------------------------------------------------------------
def test_expanded_search_reorders_the_indexs_answers():
    from recommender.index import SimilarityIndex

    def at(degrees):
        return [np.cos(np.radians(degrees)), np.sin(np.radians(degrees))]

    index = SimilarityIndex().fit(_unit(at(0), at(-35), at(15)), np.array([10, 11, 12]), np.array(["g"] * 3))
    query = _unit(at(-15))[0]
    assert [t for t, _ in index.query(query, k=3)] == [10, 11, 12]
    expanded = rerank.expanded_search(index, query, k=3, expand=1, alpha=1.0)
    assert [t for t, _ in expanded] == [10, 12, 11]
    assert rerank.expanded_search(index, query, k=3, expand=0) == index.query(query, k=3)
    assert rerank.QUERY_EXPANSION >= 1  # the default search expands


# ---- the cross-album figure --------------------------------------------------------------------------------
def test_cross_album_precision_counts_only_other_albums():
    from recommender.evaluate import cross_album_precision_at_k, genre_precision_at_k

    # Two genres, two albums each. Song 0's album mate (1) is its nearest neighbour, the next is
    # song 4 of the other genre, then its own genre's other album (2, 3).
    vectors = np.array([[1, 0], [1, 0.01], [0.9, 0.5], [0.85, 0.55], [0.99, -0.2], [0, 1], [0.1, 1]])
    genres = ["a", "a", "a", "a", "b", "b", "b"]
    albums = ["x", "x", "y", "y", "z", "w", "w"]
    query = np.array([True, False, False, False, False, False, False])
    assert genre_precision_at_k(vectors, genres, query, k=1) == 1.0  # the album mate
    assert cross_album_precision_at_k(vectors, genres, albums, query, k=1) == 0.0  # song 4
    assert cross_album_precision_at_k(vectors, genres, albums, query, k=3) == pytest.approx(2 / 3)
    assert cross_album_precision_at_k(vectors, genres, ["x"] * 7, query, k=3) is None


# ---- the head: whitening and the LDA weight, on synthetic sound features -----------------------------------
def _features(rng, n: int = 90):
    from tests.test_head import GENRES, sound_features

    labels = [GENRES[i % len(GENRES)] for i in range(n)]
    return sound_features(rng, labels), labels


def test_whitening_evens_out_the_catalogs_principal_directions(rng, tmp_path):
    from recommender.config import AudioConfig
    from recommender.embedding import load_model
    from recommender.head import BackboneModel

    x, _ = _features(rng)
    plain = BackboneModel(head="none", whiten=None).fit(x)
    white = BackboneModel(head="none", whiten=0.0).fit(x)  # full whitening
    columns, _ = white._blocks()  # without labels: musicnn's own penultimate layers, the rooted pooled blocks

    def spread(model) -> np.ndarray:
        standard = model.model_.get_layer("standardise")(x[:, columns])
        return np.asarray(model.model_.get_layer("pca")(standard)).std(axis=0, ddof=1)

    assert spread(white) == pytest.approx(np.ones(white.embedding_dim_), rel=1e-3)  # every direction the same
    assert spread(plain).max() / spread(plain).min() > 1.5  # plain PCA: the first directions weigh more
    # Saved and loaded, the same songs get the same embeddings (an upload is projected as the catalog).
    path = white.save(tmp_path, "white")
    again = load_model(path, config=AudioConfig())
    assert json.loads(path.with_suffix(".json").read_text())["whiten"] == 0.0
    np.testing.assert_allclose(
        again.embed_and_predict_many(x)[0], white.embed_and_predict_many(x)[0], atol=1e-5
    )


def test_the_lda_weight_sets_the_heads_share_of_the_embedding(rng, tmp_path):
    from recommender.config import AudioConfig
    from recommender.embedding import load_model
    from recommender.head import BackboneModel
    from tests.test_head import GENRES

    x, labels = _features(rng)
    weighted = BackboneModel(genres=GENRES, head="lda", lda_weight=0.8).fit(x, labels)
    emb, _ = weighted.embed_and_predict_many(x)
    backbone_dim = emb.shape[1] - (len(GENRES) - 1)
    ratio = np.linalg.norm(emb[:, backbone_dim:], axis=1) / np.linalg.norm(emb[:, :backbone_dim], axis=1)
    assert ratio == pytest.approx(np.full(len(x), 0.8 / 0.2), rel=1e-4)
    again = load_model(weighted.save(tmp_path, "weighted"), config=AudioConfig(), genres=GENRES)
    assert again.lda_weight_ == 0.8
    np.testing.assert_allclose(again.embed_and_predict_many(x)[0], emb, atol=1e-5)


def test_validation_chooses_the_lda_weight(rng, monkeypatch):
    from recommender import head
    from recommender.head import BackboneModel
    from tests.test_head import GENRES

    x, labels = _features(rng, 120)
    train, val = slice(0, 90), slice(90, 120)
    monkeypatch.setattr(head, "LDA_WEIGHTS", (0.5, 0.9))
    chosen = BackboneModel(genres=GENRES, head="auto").fit(
        x[train], labels[train], val_features=x[val], val_genres=labels[val]
    )
    scores = {}
    for w in (0.5, 0.9):
        fixed = BackboneModel(genres=GENRES, head="lda", lda_weight=w).fit(x[train], labels[train])
        emb = fixed.embed_and_predict_many(x)[0]
        labels_all = np.array(labels)
        scores[w] = head._precision_at_k(emb, labels_all, np.arange(90, 120), 90)
    best = max((0.5, 0.9), key=lambda w: (scores[w], -abs(w - 0.5)))
    assert chosen.lda_weight_ == best
