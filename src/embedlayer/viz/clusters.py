"""Colour words by cluster when there is no label file: spherical k-means in the full space.

Clusters are found on unit-normalised rows (cosine geometry, the same as the neighbour queries),
never on the 2-D picture, so a colour says "these words are close in the embedding".
"""

from __future__ import annotations

import numpy as np

from embedlayer.errors import ConfigError

__all__ = ["auto_clusters", "kmeans_cosine"]


def auto_clusters(n: int) -> int:
    """A default number of clusters for ``n`` points: about sqrt(n / 4), between 2 and 8; 0 (no
    clustering) below 10 points."""
    if n < 10:
        return 0
    return int(min(8, max(2, round((n / 4) ** 0.5))))


def kmeans_cosine(matrix: np.ndarray, k: int, *, seed: int = 0, iterations: int = 50) -> np.ndarray:
    """Cluster the rows of ``matrix`` (N, D) by cosine into ``k`` groups; returns (N,) int32 ids.

    k-means++ seeding (``seed``) on unit rows, then Lloyd iterations with centroids re-normalised
    (spherical k-means) until assignments stop changing or ``iterations`` is reached. Cluster ids
    are renumbered by decreasing size (ties by first member), so colours are stable.

    Raises:
        ConfigError: ``k`` < 1 or larger than N.
    """
    x = np.asarray(matrix, dtype=np.float64)
    n = len(x)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ConfigError(f"number of clusters {k!r}: expected an integer from 1 to the number of points ({n})")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms == 0, 1.0, norms)  # (N, D)
    rng = np.random.default_rng(seed)
    centres = _plus_plus(unit, k, rng)
    assign = np.full(n, -1)
    for _ in range(iterations):
        new = np.argmax(unit @ centres.T, axis=1)  # (N,) nearest centre by cosine
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = unit[assign == j]
            if len(members):
                total = members.sum(axis=0)
                length = np.linalg.norm(total)
                centres[j] = total / length if length > 0 else centres[j]
            else:  # an empty cluster takes the point furthest from its centre
                far = int(np.argmin((unit * centres[assign]).sum(axis=1)))
                centres[j] = unit[far]
    return _by_size(assign, k)


def _plus_plus(unit: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeds with cosine distance 1 - cos."""
    centres = np.empty((k, unit.shape[1]))
    centres[0] = unit[rng.integers(len(unit))]
    dist = 1 - unit @ centres[0]
    for j in range(1, k):
        weights = np.clip(dist, 0, None)
        total = weights.sum()
        pick = int(rng.choice(len(unit), p=weights / total)) if total > 0 else int(rng.integers(len(unit)))
        centres[j] = unit[pick]
        dist = np.minimum(dist, 1 - unit @ centres[j])
    return centres


def _by_size(assign: np.ndarray, k: int) -> np.ndarray:
    sizes = np.bincount(assign, minlength=k)
    first = np.array([np.flatnonzero(assign == j)[0] if sizes[j] else len(assign) for j in range(k)])
    order = sorted(range(k), key=lambda j: (-sizes[j], first[j]))
    rank = np.empty(k, dtype=np.int32)
    rank[order] = np.arange(k, dtype=np.int32)
    return rank[assign]
