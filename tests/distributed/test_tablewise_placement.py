"""Table-wise placement: greedy largest-first onto the least-loaded rank, and the automatic choice."""

from __future__ import annotations

import itertools

import pytest
import torch

from embedlayer.distributed.tablewise import WholeTable, choose_layout, place_tables, rank_loads
from embedlayer.errors import ConfigError


def test_greedy_placement_golden() -> None:
    # costs (table: rows x dim) 3: 800, 1: 600, 2: 500, 0: 400, 4: 300, 5: 100 onto 2 ranks, loads after
    # each: 800->r0 (800, 0), 600->r1 (800, 600), 500->r1 (800, 1100), 400->r0 (1200, 1100),
    # 300->r1 (1200, 1400), 100->r0 (1300, 1400)
    shapes = [(100, 4), (50, 12), (100, 5), (200, 4), (30, 10), (10, 10)]
    ranks = place_tables(shapes, 2)
    assert ranks == [0, 1, 1, 0, 1, 0]
    assert rank_loads(shapes, ranks, 2) == [1300, 1400]


def test_placement_is_deterministic_and_near_optimal() -> None:
    gen = torch.Generator().manual_seed(0)
    shapes = [
        (int(r), int(d))
        for r, d in zip(torch.randint(1, 1000, (9,), generator=gen), torch.randint(1, 64, (9,), generator=gen))
    ]
    ranks = place_tables(shapes, 3)
    assert ranks == place_tables(list(shapes), 3)
    best = min(max(rank_loads(shapes, list(p), 3)) for p in itertools.product(range(3), repeat=len(shapes)))
    # greedy LPT is within 4/3 of the optimal makespan
    assert max(rank_loads(shapes, ranks, 3)) <= 4 / 3 * best


def test_ties_go_to_the_earlier_table_and_lowest_rank() -> None:
    assert place_tables([(10, 2)] * 4, 3) == [0, 1, 2, 0]


def test_auto_layout() -> None:
    balanced = [(1000, 16), (900, 16), (800, 16), (700, 16)]
    assert choose_layout(balanced, 2) == "table"
    assert choose_layout(balanced, 8) == "row"  # fewer tables than ranks
    assert choose_layout([(10**6, 64), (100, 8), (100, 8)], 2) == "row"  # one table dominates
    assert choose_layout(balanced, 1) == "row"
    assert choose_layout(balanced, 8, "table") == "table"
    assert choose_layout(balanced, 2, "row") == "row"
    with pytest.raises(ConfigError, match="'column'"):
        choose_layout(balanced, 2, "column")


def test_whole_table_plan() -> None:
    plan = WholeTable(7, 3, 1)
    assert [plan.range(r) for r in range(3)] == [(0, 0), (0, 7), (0, 0)]
    assert plan.owner(torch.tensor([0, 6, 3])).tolist() == [1, 1, 1]
