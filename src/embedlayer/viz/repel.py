"""Place text labels next to their points without overlapping each other (a small label-repel).

Greedy placement in display pixels, in priority order: each label tries spots around its point on
rings of growing radius (8 directions beside the point, more on outer rings) and takes the
cheapest spot that stays inside the plot and overlaps no label placed before it; the cost
prefers near rings and spots covering few other points. A label that finds no free spot is either
left out (``required=False``) or put where it overlaps least and reported (``required=True``).
Because a label is only accepted where it overlaps nothing, a result with ``overlaps == 0`` is
guaranteed free of overlaps, which the tests check against matplotlib's own text extents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Placement", "place_labels"]


@dataclass(frozen=True)
class Placement:
    """Where each label went, in display pixels.

    Attributes:
        centres: (n, 2) float64 box centres (NaN for a label left out).
        placed: (n,) bool, False for a label left out.
        ring: (n,) int, the ring used (0: right beside its point; -1 left out).
        overlaps: how many required labels had to overlap another label.
    """

    centres: np.ndarray
    placed: np.ndarray
    ring: np.ndarray
    overlaps: int


def _candidates(rings: int, gap: float, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(C,) ring index, (C, 2) unit-square direction and (C,) radius of every candidate spot."""
    ring_ids, dirs, radii = [], [], []
    for r in range(rings):
        count = min(8 + 4 * r, 32)
        angles = np.arange(count) * (2 * np.pi / count)
        c, s = np.cos(angles), np.sin(angles)
        # stretch the circle onto the square so the box always clears its point by `radius`
        d = np.stack([np.clip(c * np.sqrt(2), -1, 1), np.clip(s * np.sqrt(2), -1, 1)], axis=1)
        ring_ids.append(np.full(count, r))
        dirs.append(d)
        radii.append(np.full(count, gap + r * step))
    return np.concatenate(ring_ids), np.concatenate(dirs), np.concatenate(radii)


def place_labels(
    anchors: np.ndarray,
    sizes: np.ndarray,
    bounds: tuple[float, float, float, float],
    *,
    obstacles: np.ndarray | None = None,
    point_radius: float = 3.0,
    required: bool | np.ndarray = True,
    gap: float = 3.0,
    step: float = 7.0,
    rings: int = 30,
    pad: float = 1.0,
) -> Placement:
    """Place n labels of ``sizes`` (n, 2) (width, height) next to ``anchors`` (n, 2), in order.

    Args:
        anchors: (n, 2) pixel positions of the labelled points; earlier labels get better spots.
        sizes: (n, 2) pixel width and height of each label.
        bounds: (x0, y0, x1, y1) the region every label must stay inside.
        obstacles: (m, 2) other points labels should avoid covering (the anchors are added).
        point_radius: marker radius in pixels, for the points labels avoid.
        required: a bool or (n,) bools: a required label is always placed (overlapping if it must).
        gap, step, rings: first ring's distance from the point, ring spacing, number of rings.
        pad: minimum free space between two labels, in pixels.
    """
    anchors = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    sizes = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    n = len(anchors)
    need = np.broadcast_to(np.asarray(required, dtype=bool), (n,))
    points = anchors if obstacles is None else np.concatenate([anchors, np.asarray(obstacles, float).reshape(-1, 2)])
    ring_of, dirs, radii = _candidates(rings, gap, step)
    x0, y0, x1, y1 = bounds
    centres = np.full((n, 2), np.nan)
    ring = np.full(n, -1)
    boxes = np.empty((0, 4))  # placed boxes: cx, cy, half w, half h
    overlaps = 0
    reach = gap + rings * step
    for i in range(n):
        half = sizes[i] / 2
        cand = anchors[i] + dirs * (half + radii[:, None])  # (C, 2)
        inside = (
            (cand[:, 0] - half[0] >= x0)
            & (cand[:, 0] + half[0] <= x1)
            & (cand[:, 1] - half[1] >= y0)
            & (cand[:, 1] + half[1] <= y1)
        )
        clash = _overlap_area(cand, half, boxes, pad)  # (C,)
        close = np.abs(points - anchors[i]).max(axis=1) <= reach + half.max() + point_radius
        close[i] = False  # its own point: every spot clears it by construction
        near = points[close]
        covered = _covered(cand, half + point_radius, near)  # (C,)
        cost = ring_of + 2.0 * covered + 0.001 * np.arange(len(cand))
        free = inside & (clash == 0)
        if free.any():
            best = int(np.argmin(np.where(free, cost, np.inf)))
        elif need[i]:
            pool = inside if inside.any() else np.ones(len(cand), bool)
            best = int(np.argmin(np.where(pool, clash * 1e6 + cost, np.inf)))
            overlaps += 1
        else:
            continue
        centres[i], ring[i] = cand[best], ring_of[best]
        boxes = np.concatenate([boxes, [[*cand[best], *half]]])
    return Placement(centres=centres, placed=ring >= 0, ring=ring, overlaps=overlaps)


def _overlap_area(cand: np.ndarray, half: np.ndarray, boxes: np.ndarray, pad: float) -> np.ndarray:
    """(C,) total overlap area of each candidate box with the placed boxes (0: free)."""
    if not len(boxes):
        return np.zeros(len(cand))
    dx = (half[0] + boxes[None, :, 2] + pad) - np.abs(cand[:, None, 0] - boxes[None, :, 0])  # (C, P)
    dy = (half[1] + boxes[None, :, 3] + pad) - np.abs(cand[:, None, 1] - boxes[None, :, 1])
    return (np.clip(dx, 0, None) * np.clip(dy, 0, None)).sum(axis=1)


def _covered(cand: np.ndarray, half: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(C,) how many ``points`` lie inside each candidate box grown by ``half``."""
    if not len(points):
        return np.zeros(len(cand))
    inside = (np.abs(cand[:, None, 0] - points[None, :, 0]) < half[0]) & (
        np.abs(cand[:, None, 1] - points[None, :, 1]) < half[1]
    )
    return inside.sum(axis=1)
