"""Tests for recommender.projection: UMAP map coordinates, tiny catalogs, placing a new clip."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.projection import locate, pca_coordinates, umap_coordinates

PER_CLUSTER = 30


def two_clusters(seed: int = 0, *, d: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Two well-separated cosine clusters ``(2 * PER_CLUSTER, d)`` and their labels."""
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:2]
    labels = np.repeat([0, 1], PER_CLUSTER)
    points = centres[labels] + 0.1 * rng.normal(size=(2 * PER_CLUSTER, d))
    return points.astype(np.float32), labels


@pytest.fixture(scope="module")
def mapped():
    """One UMAP run shared by the module: the first call JIT-compiles for seconds."""
    points, labels = two_clusters()
    return points, labels, umap_coordinates(points, seed=42)


def test_shape_and_dtype(mapped):
    points, _, coords = mapped
    assert coords.shape == (len(points), 2) and coords.dtype == np.float32
    assert np.all(np.isfinite(coords))


def test_deterministic(mapped):
    points, _, coords = mapped
    np.testing.assert_array_equal(umap_coordinates(points, seed=42), coords)


def test_clusters_stay_separated(mapped):
    _, labels, coords = mapped
    distances = np.linalg.norm(coords[:, None, :] - coords[None, :, :], axis=-1)
    np.fill_diagonal(distances, np.inf)
    nearest = distances.argmin(axis=1)
    assert np.all(labels[nearest] == labels)
    centre_gap = np.linalg.norm(coords[labels == 0].mean(axis=0) - coords[labels == 1].mean(axis=0))
    spread = max(coords[labels == c].std(axis=0).max() for c in (0, 1))
    assert centre_gap > 3 * spread


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 12])
def test_tiny_catalogs(n):
    points = np.random.default_rng(n).normal(size=(n, 8)).astype(np.float32)
    coords = umap_coordinates(points)
    assert coords.shape == (n, 2) and coords.dtype == np.float32
    assert np.all(np.isfinite(coords))
    if n >= 2:  # distinct songs get distinct spots
        assert len({tuple(c) for c in coords.round(6)}) == n


def test_pca_layout_keeps_distances_and_is_deterministic():
    points = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    coords = pca_coordinates(points)
    # Three points span a plane: PCA to 2-D keeps all pairwise distances.
    for i in range(3):
        for j in range(3):
            assert np.linalg.norm(coords[i] - coords[j]) == pytest.approx(
                np.linalg.norm(points[i] - points[j])
            )
    np.testing.assert_array_equal(pca_coordinates(points), coords)
    np.testing.assert_array_equal(pca_coordinates(points[:1]), [[0.0, 0.0]])


def test_rejects_non_matrix():
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        umap_coordinates(np.ones(5))


def test_locate_weighted_mean_of_nearest():
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
    coords = np.array([[0.0, 0.0], [10.0, 0.0], [50.0, 50.0], [0.0, 10.0]])
    vector = np.array([2.0, 0.0])  # cosine 1 with row 0, 0.6 with row 3, 0 with row 1
    assert locate(vector, embeddings, coords, k=2) == pytest.approx((0.0, 10 * 0.6 / 1.6))
    assert locate(vector, embeddings, coords, k=1) == pytest.approx((0.0, 0.0))
    # k larger than the catalog is capped; dissimilar rows (cosine <= 0) weigh nothing.
    assert locate(vector, embeddings, coords, k=10) == pytest.approx((0.0, 10 * 0.6 / 1.6))


def test_locate_all_dissimilar_falls_back_to_plain_mean():
    embeddings = np.array([[-1.0, 0.0], [0.0, -1.0]])
    coords = np.array([[0.0, 0.0], [4.0, 2.0]])
    assert locate(np.array([1.0, 1.0]), embeddings, coords, k=2) == pytest.approx((2.0, 1.0))


def test_locate_lands_in_its_cluster(mapped):
    points, labels, coords = mapped
    new = points[labels == 1].mean(axis=0)
    x, y = locate(new, points, coords, k=5)
    distances = np.linalg.norm(coords - np.array([x, y]), axis=1)
    assert labels[distances.argmin()] == 1


def test_locate_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="dimensions"):
        locate(np.ones(3), np.ones((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="coords"):
        locate(np.ones(2), np.ones((4, 2)), np.zeros((3, 2)))
