"""Projections: PCA against an independent SVD, fixed signs, UMAP / t-SNE keep clusters, bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from embedlayer.errors import ConfigError, DataError
from embedlayer.vectors import Vectors, load_vectors
from embedlayer.viz.projection import Projection, min_rows, pca, project


def _svd_scores(x: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    centred = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :dim] * s[:dim], (s**2 / (s**2).sum())[:dim]


def _blobs(n_per: int = 20, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d)) * 4
    x = np.concatenate([c + rng.normal(scale=0.3, size=(n_per, d)) for c in centres])
    return x.astype(np.float32), np.repeat(np.arange(3), n_per)


@pytest.mark.parametrize("dim", [2, 3])
def test_pca_equals_svd_up_to_sign(glove: Vectors, dim: int) -> None:
    x = glove.matrix[:500]
    p = project(x, dim)
    ref, ratio = _svd_scores(x, dim)
    assert p.coords.shape == (500, dim) and p.coords.dtype == np.float32 and p.method == "pca"
    for j in range(dim):
        sign = np.sign(ref[:, j] @ p.coords[:, j])
        np.testing.assert_allclose(p.coords[:, j], sign * ref[:, j], atol=2e-4)
    np.testing.assert_allclose(p.explained, ratio, rtol=1e-6)
    assert not p.coords.flags.writeable
    assert p.describe() == f"PCA {dim}-d ({sum(ratio):.0%} of variance)"


def test_pca_signs_are_fixed(glove: Vectors) -> None:
    x = glove.matrix[:300].astype(np.float64)
    order = np.random.default_rng(1).permutation(300)
    a = pca(x, 3)[0]
    np.testing.assert_allclose(pca(x[order], 3)[0], a[order], atol=1e-5)  # row order does not matter
    np.testing.assert_allclose(pca(-x, 3)[0], -a, atol=1e-5)  # same axes, so mirrored scores


def test_pca_streams_a_memory_mapped_table(glove: Vectors, tmp_path) -> None:
    small = Vectors(glove.index_to_key[:400], glove.matrix[:400])
    small.save(tmp_path / "v", format="native")
    mapped = load_vectors(tmp_path / "v")
    assert not mapped.matrix.flags.writeable and not mapped.matrix.flags.owndata  # a view of the mapped file
    np.testing.assert_allclose(project(mapped.matrix, 2).coords, project(small.matrix, 2).coords, atol=1e-5)


def test_normalised_fits_the_unit_box() -> None:
    p = Projection(coords=np.array([[0, 0], [4, 1], [2, 3]], np.float32), method="pca")
    n = p.normalised()
    assert np.abs(n).max() == pytest.approx(1.0)
    np.testing.assert_allclose(n, [[-1, -0.75], [1, -0.25], [0, 0.75]])  # one scale for both axes


def _neighbour_purity(coords: np.ndarray, groups: np.ndarray) -> float:
    d = ((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float((groups[d.argmin(axis=1)] == groups).mean())


@pytest.mark.parametrize("method", ["tsne", pytest.param("umap", marks=pytest.mark.slow)])
def test_tsne_and_umap_keep_clusters_and_are_seeded(method: str) -> None:
    pytest.importorskip("sklearn" if method == "tsne" else "umap")
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    x, groups = _blobs()
    with threadpool_limits(1):  # OpenMP threads fighting other jobs for 2 cores make t-SNE 10x slower
        a = project(x, 2, method, seed=3)
        assert a.coords.shape == (60, 2) and a.method == method and a.explained is None
        assert _neighbour_purity(a.coords, groups) == 1.0
        np.testing.assert_allclose(project(x, 2, method, seed=3).coords, a.coords, atol=1e-5)
        notes: list[str] = []
        small = project(x[:12], 2, method, log=notes.append)  # parameters adapted to 12 points, and said
    assert small.coords.shape == (12, 2)
    assert ("perplexity is 3.7" if method == "tsne" else "n_neighbors is 11") in notes[0]


def test_too_few_rows_or_columns() -> None:
    with pytest.raises(
        DataError,
        match=r"glove\.txt: 2 vector\(s\) are too few to project to 2-d with PCA; "
        r"expected at least 3 rows",
    ):
        project(np.ones((2, 5)), 2, source="glove.txt")
    with pytest.raises(DataError, match="expected at least 4 rows"):
        project(np.ones((3, 5)), 3)
    with pytest.raises(DataError, match="vectors have 2 dimension"):
        project(np.random.default_rng(0).normal(size=(10, 2)), 3)
    assert min_rows("umap", 2) == 5 and min_rows("pca", 3) == 4
    with pytest.raises(DataError, match="too few to project to 2-d with t-SNE"):
        project(np.ones((4, 5)), 2, "tsne")


def test_bad_method_or_dim() -> None:
    x = np.ones((10, 4))
    with pytest.raises(ConfigError, match="projection method 'lda'"):
        project(x, 2, "lda")
    with pytest.raises(ConfigError, match="expected 2 or 3"):
        project(x, 4)


def test_missing_extra_names_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)  # import umap now raises ImportError
    with pytest.raises(ConfigError, match=r"needs umap-learn: pip install 'embedlayer\[viz\]'"):
        project(_blobs()[0], 2, "umap")
