"""Project word vectors to 2 or 3 dimensions for looking at them: PCA built in, UMAP and t-SNE as an extra.

PCA is computed here with numpy (float64 covariance, then ``eigh``): for word vectors D is small
(50-300), so the D × D covariance is cheap even for 400,000 rows and the result is exact, not a
randomised approximation. Each component's sign is fixed (its largest loading is positive) so the
same table always gives the same picture.

UMAP (``umap-learn``) and t-SNE (``scikit-learn``) preserve local neighbourhoods better and global
distances worse; they are imported only when asked for, with an error naming the ``viz`` extra.
They work on unit-normalised rows (cosine geometry, as the neighbour queries use).

A projection is only a picture: neighbour queries always use cosine in the full space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from embedlayer.errors import ConfigError, DataError

__all__ = ["METHODS", "Projection", "min_rows", "pca", "project"]

METHODS = ("pca", "umap", "tsne")
_NAMES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}


@dataclass(frozen=True)
class Projection:
    """Low-dimensional coordinates of N rows.

    Attributes:
        coords: (N, dim) float32, read-only.
        method: ``"pca"``, ``"umap"`` or ``"tsne"``.
        explained: for PCA, the fraction of the total variance each component keeps (dim,);
            None for the other methods.
    """

    coords: np.ndarray
    method: str
    explained: tuple[float, ...] | None = None

    @property
    def dim(self) -> int:
        """The number of components (2 or 3)."""
        return int(self.coords.shape[1])

    def describe(self) -> str:
        """``"PCA 2-d (41% of variance)"``, ``"UMAP 3-d"``: for titles and page headers."""
        text = f"{_NAMES[self.method]} {self.dim}-d"
        if self.explained is not None:
            text += f" ({sum(self.explained):.0%} of variance)"
        return text

    def normalised(self) -> np.ndarray:
        """(N, dim) float32 coordinates centred on the bounding box and scaled into [-1, 1]
        (the same factor on every axis, so shapes are not distorted)."""
        coords = self.coords.astype(np.float64)
        lo, hi = coords.min(axis=0), coords.max(axis=0)
        centred = coords - (lo + hi) / 2
        half = float(np.abs(centred).max()) if len(coords) else 0.0
        return (centred / half if half > 0 else centred).astype(np.float32)


def min_rows(method: str, dim: int) -> int:
    """Fewest rows ``project`` accepts: PCA needs dim + 1 (centring removes one degree of freedom);
    UMAP and t-SNE need a few neighbours per point as well."""
    return dim + 1 if method == "pca" else max(dim + 2, 5)


def project(
    matrix: np.ndarray,
    dim: int = 2,
    method: str = "pca",
    *,
    seed: int = 0,
    source: str = "vectors",
    log: Callable[[str], None] | None = None,
) -> Projection:
    """Project the rows of ``matrix`` (N, D) to ``dim`` (2 or 3) dimensions.

    Args:
        matrix: (N, D) numbers; converted to float64 for PCA, float32 for UMAP / t-SNE.
        dim: 2 or 3.
        method: ``"pca"`` (built in), ``"umap"`` or ``"tsne"`` (the ``viz`` extra).
        seed: for UMAP and t-SNE (PCA is deterministic).
        source: names the data in error messages (e.g. the vectors file).
        log: receives a one-line note when a method's parameter is adapted to a small N.

    Raises:
        ConfigError: unknown ``method`` or ``dim`` not 2 or 3; UMAP / t-SNE without their library.
        DataError: fewer rows than ``min_rows(method, dim)``, or fewer columns than ``dim``.
    """
    if method not in METHODS:
        raise ConfigError(f"projection method {method!r}: expected one of {', '.join(METHODS)}")
    if isinstance(dim, bool) or dim not in (2, 3):
        raise ConfigError(f"projection dimension {dim!r}: expected 2 or 3")
    array = np.asarray(matrix)
    if array.ndim != 2:
        raise DataError(f"{source}: expected an (N, D) matrix to project, got shape {tuple(array.shape)}")
    n, d = array.shape
    need = min_rows(method, dim)
    if n < need:
        raise DataError(
            f"{source}: {n} vector(s) are too few to project to {dim}-d with {_NAMES[method]}; "
            f"expected at least {need} rows"
        )
    if d < dim:
        raise DataError(
            f"{source}: vectors have {d} dimension(s), fewer than the {dim} requested; expected at least {dim} columns"
        )
    if method == "pca":
        coords, explained = pca(array, dim)
        return _frozen(coords, "pca", tuple(float(x) for x in explained))
    unit = _unit_rows(np.asarray(array, dtype=np.float32))
    if method == "umap":
        return _frozen(_umap(unit, dim, seed, log), "umap", None)
    return _frozen(_tsne(unit, dim, seed, log), "tsne", None)


def pca(matrix: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact PCA of the rows: ((N, dim) float32 scores, (dim,) explained-variance ratios).

    The covariance (D, D) is accumulated in float64 over blocks of rows (a memory-mapped table is
    streamed). Component signs are fixed: each component's largest-magnitude loading is positive.
    """
    x = np.asarray(matrix)
    n, d = x.shape
    mean = np.zeros(d)
    step = max(1, (1 << 22) // max(d, 1))
    for start in range(0, n, step):
        mean += x[start : start + step].sum(axis=0, dtype=np.float64)
    mean /= n
    cov = np.zeros((d, d))
    for start in range(0, n, step):
        block = x[start : start + step].astype(np.float64) - mean  # (B, D)
        cov += block.T @ block
    cov /= max(n - 1, 1)
    values, vectors = np.linalg.eigh(cov)  # ascending
    order = np.argsort(values)[::-1][:dim]
    components = vectors[:, order]  # (D, dim)
    peak = np.argmax(np.abs(components), axis=0)
    components *= np.sign(components[peak, np.arange(dim)])
    total = float(values.clip(min=0).sum())
    explained = values[order].clip(min=0) / total if total > 0 else np.zeros(dim)
    scores = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, step):
        scores[start : start + step] = (x[start : start + step].astype(np.float64) - mean) @ components
    return scores, explained


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def _umap(unit: np.ndarray, dim: int, seed: int, log: Callable[[str], None] | None) -> np.ndarray:
    try:
        import umap
    except ImportError:
        raise ConfigError(
            "projection method 'umap' needs umap-learn: pip install 'embedlayer[viz]' (or use --method pca, built in)"
        ) from None
    import warnings

    neighbours = min(15, len(unit) - 1)
    if neighbours < 15 and log is not None:
        log(f"UMAP: {len(unit)} points, so n_neighbors is {neighbours} instead of 15")
    reducer = umap.UMAP(
        n_components=dim,
        n_neighbors=neighbours,
        metric="euclidean",
        random_state=seed,
        init="spectral" if len(unit) > dim + 1 else "random",
        n_jobs=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns that random_state disables parallelism: we want that
        coords = reducer.fit_transform(unit)
    return np.asarray(coords, dtype=np.float32)


def _tsne(unit: np.ndarray, dim: int, seed: int, log: Callable[[str], None] | None) -> np.ndarray:
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise ConfigError(
            "projection method 'tsne' needs scikit-learn: pip install 'embedlayer[viz]' (or use --method pca, built in)"
        ) from None
    perplexity = min(30.0, (len(unit) - 1) / 3)
    if perplexity < 30 and log is not None:
        log(f"t-SNE: {len(unit)} points, so perplexity is {perplexity:.1f} instead of 30")
    tsne = TSNE(
        n_components=dim,
        perplexity=perplexity,
        init="pca",
        random_state=seed,
        method="barnes_hut" if dim <= 3 else "exact",
    )
    return np.asarray(tsne.fit_transform(unit), dtype=np.float32)


def _frozen(coords: np.ndarray, method: str, explained: tuple[float, ...] | None) -> Projection:
    coords = np.ascontiguousarray(coords, dtype=np.float32)
    coords.flags.writeable = False
    return Projection(coords=coords, method=method, explained=explained)
