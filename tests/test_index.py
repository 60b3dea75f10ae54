"""Tests for recommender.index: both search methods answer like brute-force cosine, filters, storage."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import ModelError, NotBuiltError, UserInputError
from recommender.index import BALL_TREE_MAX_DIM, BALL_TREE_MAX_TRACKS, SimilarityIndex
from tests.fixtures import mode_of

GENRES = ("Rock", "Jazz", "Folk")


def catalog(seed: int, *, n: int = 300, d: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random (not normalised) embeddings ``(n, d)``, shuffled unique ids and genres."""
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(n, d)).astype(np.float32) * rng.uniform(0.5, 3.0, size=(n, 1)).astype(
        np.float32
    )
    ids = rng.permutation(np.arange(1000, 1000 + 3 * n))[:n].astype(np.int64)
    genres = rng.choice(GENRES, size=n)
    return embeddings, ids, genres


def brute_force(embeddings, ids, genres, vector, *, k, genre=None, exclude=()):
    """Reference answer: cosine of every candidate, sorted."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    cos = unit.astype(np.float64) @ (vector / np.linalg.norm(vector))
    keep = ~np.isin(ids, list(exclude))
    if genre is not None:
        keep &= genres == genre
    rows = np.flatnonzero(keep)
    order = rows[np.argsort(-cos[rows], kind="stable")][:k]
    return ids[order].tolist(), cos[order]


@pytest.fixture
def built():
    embeddings, ids, genres = catalog(0)
    return SimilarityIndex().fit(embeddings, ids, genres), embeddings, ids, genres


ALGORITHMS = [("ball_tree", 2), ("ball_tree", 40), ("brute", 40)]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("genre", [None, "Jazz"])
@pytest.mark.parametrize(("algorithm", "leaf_size"), ALGORITHMS)
def test_query_matches_brute_force(seed, genre, algorithm, leaf_size):
    embeddings, ids, genres = catalog(seed)
    index = SimilarityIndex(leaf_size=leaf_size, algorithm=algorithm).fit(embeddings, ids, genres)
    rng = np.random.default_rng(100 + seed)
    for _ in range(5):
        vector = rng.normal(size=embeddings.shape[1])
        exclude = rng.choice(ids, size=7, replace=False).tolist()
        got = index.query(vector, k=12, genre=genre, exclude=exclude)
        want_ids, want_cos = brute_force(embeddings, ids, genres, vector, k=12, genre=genre, exclude=exclude)
        assert [t for t, _ in got] == want_ids
        np.testing.assert_allclose([c for _, c in got], want_cos, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("algorithm", ["ball_tree", "brute"])
def test_query_track_matches_brute_force_without_itself(seed, algorithm):
    embeddings, ids, genres = catalog(seed)
    index = SimilarityIndex(algorithm=algorithm).fit(embeddings, ids, genres)
    for track_id in ids[:10]:
        vector = embeddings[ids == track_id][0]
        got = index.query_track(int(track_id), k=5, genre="Rock")
        want_ids, want_cos = brute_force(
            embeddings, ids, genres, vector, k=5, genre="Rock", exclude=[track_id]
        )
        assert [t for t, _ in got] == want_ids
        np.testing.assert_allclose([c for _, c in got], want_cos, atol=1e-6)


@pytest.mark.parametrize("algorithm", ["ball_tree", "brute"])
def test_scores_are_cosine_similarity(algorithm):
    index = SimilarityIndex(algorithm=algorithm).fit(
        np.array([[1.0, 0], [0, 2.0], [-3.0, 0], [1.0, 1.0]]), np.arange(4)
    )
    got = dict(index.query(np.array([5.0, 0.0]), k=4))
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(0.0, abs=1e-9)
    assert got[2] == pytest.approx(-1.0)
    assert got[3] == pytest.approx(np.sqrt(0.5))
    assert list(got) == [0, 3, 1, 2]


@pytest.mark.parametrize("algorithm", ["ball_tree", "brute"])
def test_query_track_skips_itself_and_exact_duplicates(algorithm):
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(50, 8))
    # Tracks 100, 101 and 102 are the same song (102 louder: same direction).
    embeddings[1] = embeddings[0]
    embeddings[2] = embeddings[0] * 4.0
    ids = np.arange(100, 150)
    index = SimilarityIndex(algorithm=algorithm).fit(embeddings, ids, np.array(["a"] * 25 + ["b"] * 25))
    got = index.query_track(100, k=10)
    returned = [t for t, _ in got]
    assert len(got) == 10
    assert not {100, 101, 102} & set(returned)
    assert all(c < 1 - 1e-6 for _, c in got)
    # A near-duplicate that is not exact stays recommendable.
    embeddings[3] = embeddings[0] + 1e-2 * rng.normal(size=8)
    index.fit(embeddings, ids, np.array(["a"] * 25 + ["b"] * 25))
    assert index.query_track(100, k=1)[0][0] == 103


def copies_catalog(algorithm: str) -> tuple[SimilarityIndex, dict[int, int]]:
    """30 songs in 5 groups of 6 exact copies (some scaled: same direction), plus 30 distinct songs.

    Returns the index and ``{track_id: group}`` for the copies (ids 0-29; group = id // 6).
    """
    rng = np.random.default_rng(11)
    originals = rng.normal(size=(5, 8))
    copies = np.repeat(originals, 6, axis=0) * rng.uniform(0.5, 2.0, size=(30, 1))
    embeddings = np.vstack([copies, rng.normal(size=(30, 8))])
    ids = np.arange(60)
    index = SimilarityIndex(algorithm=algorithm, leaf_size=4).fit(embeddings, ids, np.array(["a", "b"] * 30))
    return index, {t: t // 6 for t in range(30)}


@pytest.mark.parametrize("algorithm", ["ball_tree", "brute"])
def test_no_query_returns_a_copy_of_an_excluded_song_nor_two_copies(algorithm):
    index, group = copies_catalog(algorithm)
    for vector in (index.vector(0), index.vector(7) + index.vector(13), np.ones(8)):
        got = [t for t, _ in index.query(vector, k=20)]
        groups = [group[t] for t in got if t in group]
        assert len(got) == 20 and len(groups) == len(set(groups))  # one song per group of copies
        excluded = [t for t, _ in index.query(vector, k=20, exclude=[0, 7])]
        assert len(excluded) == 20 and not {group[t] for t in excluded if t in group} & {0, 1}
    # The vector of a clip: none of its copies, and still k songs.
    clip = index.vector(12) * 3.0
    got = [t for t, _ in index.query(clip, k=30, exclude_copies_of=[clip])]
    assert len(got) == 30 and not set(range(12, 18)) & set(got)
    similar = [t for t, _ in index.query_track(0, k=40)]
    groups = [group[t] for t in similar if t in group]
    assert len(similar) == 34 and sorted(groups) == [1, 2, 3, 4]  # 30 distinct songs and one per group


def test_is_copy_follows_the_same_rule():
    index, _ = copies_catalog("brute")
    assert index.is_copy(3, of=[0]) and index.is_copy(3, of=[40, 5])
    assert not index.is_copy(3, of=[3]) and not index.is_copy(3, of=[6, 40]) and not index.is_copy(3, of=[])
    assert not index.is_copy(3, of=[999_999])  # a song outside the index has no vector: never a copy


@pytest.mark.parametrize("algorithm", ["ball_tree", "brute"])
def test_query_track_widens_past_many_duplicates(algorithm):
    # More exact copies than the first fetch covers: the search must widen to still give k.
    rng = np.random.default_rng(8)
    embeddings = rng.normal(size=(120, 6))
    embeddings[1:40] = embeddings[0] * rng.uniform(0.5, 2.0, size=(39, 1))
    ids = np.arange(120)
    index = SimilarityIndex(leaf_size=4, algorithm=algorithm).fit(embeddings, ids, np.array(["a", "b"] * 60))
    got = index.query_track(0, k=5)
    want = brute_force(embeddings, ids, np.array(["a", "b"] * 60), embeddings[0], k=5, exclude=range(40))[0]
    assert [t for t, _ in got] == want
    assert len(index.query_track(0, k=5, genre="b")) == 5


def test_k_honoured_with_genre_filter_and_exclusions(built):
    index, embeddings, ids, genres = built
    jazz = ids[genres == "Jazz"]
    # Exclude the 20 jazz tracks nearest to the query so the first fetch mostly misses.
    vector = embeddings[0]
    nearest_jazz = [t for t, _ in index.query(vector, k=20, genre="Jazz")]
    got = index.query(vector, k=15, genre="Jazz", exclude=nearest_jazz)
    assert len(got) == 15
    assert all(t in set(jazz) and t not in nearest_jazz for t, _ in got)
    assert [t for t, _ in got] == brute_force(
        embeddings, ids, genres, vector, k=15, genre="Jazz", exclude=nearest_jazz
    )[0]


def test_k_larger_than_available_returns_all(built):
    index, embeddings, ids, genres = built
    n_jazz = int((genres == "Jazz").sum())
    got = index.query(embeddings[0], k=10_000, genre="Jazz", exclude=ids[:3].tolist())
    expected = set(ids[genres == "Jazz"]) - set(ids[:3].tolist())
    assert {t for t, _ in got} == expected and len(got) <= n_jazz
    assert len(index.query_track(int(ids[0]), k=10_000)) == len(ids) - 1
    scores = [c for _, c in got]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_bad_k(built, k):
    index = built[0]
    with pytest.raises(UserInputError, match="k must"):
        index.query(np.ones(16), k=k)


def test_unknown_genre_lists_known(built):
    with pytest.raises(UserInputError, match="Folk, Jazz, Rock"):
        built[0].query(np.ones(16), genre="Polka")


def test_unknown_track(built):
    with pytest.raises(UserInputError, match="no track with id 7"):
        built[0].query_track(7)
    with pytest.raises(UserInputError):
        built[0].vector(7)


def test_wrong_dimension_and_zero_query(built):
    with pytest.raises(ModelError, match="8 dimensions"):
        built[0].query(np.ones(8))
    with pytest.raises(UserInputError, match="zero"):
        built[0].query(np.zeros(16))


@pytest.mark.parametrize("call", ["query", "query_track", "vector", "save", "add"])
def test_before_fit(call, tmp_path):
    index = SimilarityIndex()
    calls = {
        "query": lambda: index.query(np.ones(4)),
        "query_track": lambda: index.query_track(1),
        "vector": lambda: index.vector(1),
        "save": lambda: index.save(tmp_path / "i.npz"),
        "add": lambda: index.add(np.ones(4), 1, "Rock"),
    }
    with pytest.raises(NotBuiltError, match="build the catalog first"):
        calls[call]()


@pytest.mark.parametrize(
    ("embeddings", "ids", "match"),
    [
        (np.array([[1.0, 0], [0, 0]]), [1, 2], "zero vectors"),
        (np.array([[1.0, 0], [0, 1]]), [1, 1], "unique"),
        (np.array([[1.0, 0], [0, 1]]), [1, 2, 3], "track ids"),
        (np.array([[np.nan, 0], [0, 1]]), [1, 2], "NaN"),
        (np.zeros((0, 3)), [], "non-empty"),
    ],
)
def test_fit_rejects_bad_input(embeddings, ids, match):
    with pytest.raises(ValueError, match=match):
        SimilarityIndex().fit(embeddings, np.array(ids, dtype=np.int64))


def test_fit_stores_unit_float32_and_no_work_in_init():
    index = SimilarityIndex(leaf_size=7)
    assert vars(index) == {"leaf_size": 7, "algorithm": "auto"}
    embeddings, ids, genres = catalog(4, n=20)
    index.fit(embeddings, ids, genres)
    assert index.embeddings_.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(index.embeddings_, axis=1), 1.0, atol=1e-6)
    assert index.genres == sorted(GENRES)
    np.testing.assert_allclose(
        index.vector(int(ids[3])), embeddings[3] / np.linalg.norm(embeddings[3]), atol=1e-6
    )


def test_save_load_round_trip_without_pickle(built, tmp_path):
    index, embeddings, ids, genres = built
    path = tmp_path / "catalog" / "index.npz"
    index.save(path)
    assert not list(path.parent.glob("*.tmp"))
    with np.load(path, allow_pickle=False) as data:  # no object arrays inside
        assert data["genres"].dtype.kind == "U"
        np.testing.assert_array_equal(data["track_ids"], ids)
    loaded = SimilarityIndex.load(path)
    rng = np.random.default_rng(9)
    for _ in range(5):
        vector = rng.normal(size=16)
        assert loaded.query(vector, k=8, genre="Folk") == index.query(vector, k=8, genre="Folk")
    assert loaded.query_track(int(ids[5]), k=8) == index.query_track(int(ids[5]), k=8)
    np.testing.assert_array_equal(loaded.genres_, genres)


def test_saved_index_gets_the_process_umask_mode(built, tmp_path, umask):
    built[0].save(tmp_path / "index.npz")
    assert mode_of(tmp_path / "index.npz") == 0o666 & ~umask


def test_save_load_without_genres(tmp_path):
    embeddings, ids, _ = catalog(2, n=30)
    index = SimilarityIndex().fit(embeddings, ids)
    index.save(tmp_path / "i.npz")
    loaded = SimilarityIndex.load(tmp_path / "i.npz")
    assert loaded.genres_ is None and loaded.genres == []
    assert loaded.query_track(int(ids[0])) == index.query_track(int(ids[0]))
    with pytest.raises(UserInputError, match="known genres: none"):
        loaded.query(embeddings[0], genre="Rock")


def test_load_missing_or_broken(tmp_path):
    with pytest.raises(NotBuiltError, match="build the catalog first"):
        SimilarityIndex.load(tmp_path / "missing.npz")
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(NotBuiltError, match="unreadable"):
        SimilarityIndex.load(tmp_path / "broken.npz")


def test_add_makes_track_findable(built):
    index, embeddings, ids, genres = built
    new = embeddings[10] + 0.01
    index.add(new, 99_999, "Folk")
    assert len(index) == len(ids) + 1
    assert index.query(new, k=1, genre="Folk")[0][0] == 99_999
    by_track, by_vector = index.query_track(99_999, k=3), index.query(new, k=3, exclude=[99_999])
    assert [t for t, _ in by_track] == [t for t, _ in by_vector]
    np.testing.assert_allclose([c for _, c in by_track], [c for _, c in by_vector], atol=1e-6)
    with pytest.raises(UserInputError, match="already"):
        index.add(new, 99_999, "Folk")


@pytest.mark.parametrize(
    ("n", "d", "expected"),
    [
        (40, 256, "ball_tree"),
        (BALL_TREE_MAX_TRACKS, 8, "ball_tree"),
        (BALL_TREE_MAX_TRACKS + 1, 8, "brute"),
        (BALL_TREE_MAX_TRACKS + 1, BALL_TREE_MAX_DIM, "ball_tree"),
    ],
)
def test_auto_picks_the_method_by_catalog_size_and_dimension(n, d, expected):
    embeddings, ids, genres = catalog(6, n=n, d=d)
    index = SimilarityIndex().fit(embeddings, ids, genres)
    assert index.algorithm_ == expected


def test_unknown_algorithm():
    embeddings, ids, genres = catalog(6, n=10)
    with pytest.raises(ValueError, match="algorithm"):
        SimilarityIndex(algorithm="kd").fit(embeddings, ids, genres)


def exact_cosine(stored, ids, genres, vector, *, k, genre=None, exclude=(), unit=False):
    """``brute_force`` on already-unit float64 rows, without normalising them (nor a ``unit`` query) again.

    Applies the duplicate rule: no copy of an excluded song, nor of a song ranked before it.
    """
    cos = stored @ (vector if unit else vector / np.linalg.norm(vector))
    keep = ~np.isin(ids, list(exclude)) & (cos < 1 - 1e-6 if len(exclude) else True)
    if genre is not None:
        keep &= genres == genre
    rows = np.flatnonzero(keep)
    kept = []
    for row in rows[np.argsort(-cos[rows], kind="stable")]:
        if len(kept) == k:
            break
        if not any(stored[row] @ stored[other] >= 1 - 1e-6 for other in kept):
            kept.append(row)
    order = np.array(kept, dtype=int)
    return ids[order].tolist(), cos[order]


def rings(rng, *, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors ``(n, d)`` on rings around 4 unit centres ``(4, d)``: each at one of two
    angles (+ 1e-9 jitter) from its centre, in a random direction; no two are exact copies."""
    centres = rng.normal(size=(4, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    centre = centres[rng.integers(0, 4, size=n)]
    away = rng.normal(size=(n, d))
    away -= (away * centre).sum(axis=1, keepdims=True) * centre
    away /= np.linalg.norm(away, axis=1, keepdims=True)
    angle = rng.choice([0.2, 0.3], size=(n, 1)) + 1e-9 * rng.normal(size=(n, 1))
    return np.cos(angle) * centre + np.sin(angle) * away, centres


@pytest.mark.parametrize("d", [8, 64, 256])
def test_brute_and_ball_tree_give_the_same_answers(d):
    # Songs of a ring are at nearly the same angle to its centre: their cosines to a query at the centre
    # tie closer than float32 rounding, and the float32 pass must not lose a float64 winner.
    rng = np.random.default_rng(d)
    embeddings, centres = rings(rng, n=2000, d=d)
    embeddings[10:20] = embeddings[9]  # exact ties: copies, of which one is returned
    ids = rng.permutation(5000)[:2000].astype(np.int64)
    genres = rng.choice(GENRES, size=2000)
    tree = SimilarityIndex(algorithm="ball_tree").fit(embeddings, ids, genres)
    brute = SimilarityIndex(algorithm="brute").fit(embeddings, ids, genres)
    # Near-ties closer than float32 rounding: the reference is float64 cosine on the stored vectors.
    stored = brute.embeddings_.astype(np.float64)
    for i in range(20):
        vector = (centres[i % 4] if i < 12 else embeddings[i * 37]) + 1e-9 * rng.normal(size=d)
        for genre in (None, "Folk"):
            want_ids, want_cos = exact_cosine(stored, ids, genres, vector, k=25, genre=genre)
            got = brute.query(vector, k=25, genre=genre)
            from_tree = tree.query(vector, k=25, genre=genre)
            assert [t for t, _ in got] == want_ids
            np.testing.assert_allclose([c for _, c in got], want_cos, atol=1e-12)
            # The tree ranks by Euclidean distance, which equals cosine order only up to the
            # float32 rounding of the stored norms (~1e-7): near-ties closer than that may swap.
            np.testing.assert_allclose([c for _, c in from_tree], want_cos, atol=1e-6)
            gap = np.diff(exact_cosine(stored, ids, genres, vector, k=26, genre=genre)[1])[-1]
            assert {t for t, _ in from_tree} == set(want_ids) or -gap < 1e-6
        track_id = int(ids[i * 37])
        want = exact_cosine(stored, ids, genres, stored[i * 37], k=10, exclude=[track_id], unit=True)[0]
        assert [t for t, _ in brute.query_track(track_id, k=10)] == want


def test_algorithm_survives_save_and_load(tmp_path):
    embeddings, ids, genres = catalog(7, n=50)
    SimilarityIndex(algorithm="brute").fit(embeddings, ids, genres).save(tmp_path / "i.npz")
    assert SimilarityIndex.load(tmp_path / "i.npz").algorithm_ == "brute"
