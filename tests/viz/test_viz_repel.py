"""Label placement: placed labels never overlap, stay inside, never cover their own point."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlayer.viz.repel import place_labels


def _boxes(placement, sizes):
    half = sizes / 2
    return np.concatenate([placement.centres - half, placement.centres + half], axis=1)  # x0, y0, x1, y1


def _pairwise_overlaps(boxes: np.ndarray) -> int:
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    hit = (
        (x0[:, None] < x1[None, :])
        & (x0[None, :] < x1[:, None])
        & (y0[:, None] < y1[None, :])
        & (y0[None, :] < y1[:, None])
    )
    np.fill_diagonal(hit, False)
    return int(hit.sum() // 2)


def _check_clean(anchors, sizes, bounds, placement) -> None:
    ok = placement.placed
    boxes = _boxes(placement, sizes)[ok]
    assert _pairwise_overlaps(boxes) == 0
    assert (boxes[:, 0] >= bounds[0]).all() and (boxes[:, 2] <= bounds[2]).all()
    assert (boxes[:, 1] >= bounds[1]).all() and (boxes[:, 3] <= bounds[3]).all()
    a = anchors[ok]
    inside_own = (boxes[:, 0] < a[:, 0]) & (a[:, 0] < boxes[:, 2]) & (boxes[:, 1] < a[:, 1]) & (a[:, 1] < boxes[:, 3])
    assert not inside_own.any()


def test_a_crowd_of_labels_is_placed_without_overlap() -> None:
    rng = np.random.default_rng(0)
    anchors = rng.uniform(400, 600, size=(120, 2))  # 120 points in a 200 x 200 px square
    sizes = np.column_stack([rng.uniform(20, 70, 120), np.full(120, 11.0)])
    bounds = (0.0, 0.0, 1000.0, 1000.0)
    placement = place_labels(anchors, sizes, bounds)
    assert placement.placed.all() and placement.overlaps == 0
    _check_clean(anchors, sizes, bounds, placement)


def test_first_label_goes_right_beside_its_point() -> None:
    placement = place_labels(np.array([[100.0, 100.0]]), np.array([[40.0, 10.0]]), (0, 0, 500, 500), gap=3)
    np.testing.assert_allclose(placement.centres[0], [100 + 20 + 3, 100])
    assert placement.ring[0] == 0


def test_labels_avoid_covering_other_points_when_they_can() -> None:
    anchors = np.array([[100.0, 100.0]])
    obstacles = np.array([[125.0, 100.0]])  # right where the label would go
    placement = place_labels(anchors, np.array([[40.0, 10.0]]), (0, 0, 500, 500), obstacles=obstacles)
    box = _boxes(placement, np.array([[40.0, 10.0]]))[0]
    assert not (box[0] - 3 < 125 < box[2] + 3 and box[1] - 3 < 100 < box[3] + 3)


def test_when_space_runs_out_optional_labels_are_dropped_and_required_ones_reported() -> None:
    anchors = np.full((30, 2), 150.0)
    sizes = np.full((30, 2), [120.0, 40.0])
    bounds = (0.0, 0.0, 300.0, 300.0)
    optional = place_labels(anchors, sizes, bounds, required=False)
    assert 0 < optional.placed.sum() < 30 and optional.overlaps == 0
    assert np.isnan(optional.centres[~optional.placed]).all() and (optional.ring[~optional.placed] == -1).all()
    _check_clean(anchors, sizes, bounds, optional)
    required = place_labels(anchors, sizes, bounds, required=True)
    assert required.placed.all() and required.overlaps == 30 - optional.placed.sum()


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60), st.integers(0, 10_000))
def test_placed_labels_never_overlap(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    anchors = rng.uniform(50, 350, size=(n, 2))
    sizes = np.column_stack([rng.uniform(5, 60, n), rng.uniform(5, 15, n)])
    bounds = (0.0, 0.0, 400.0, 400.0)
    placement = place_labels(anchors, sizes, bounds, required=False)
    _check_clean(anchors, sizes, bounds, placement)
