"""A rank that never joins, dies, or stops calling collectives gives the others a
DistributedError naming the rank, the collective and the timeout, within the timeout: no hang."""

from __future__ import annotations

import os
import time

import pytest
import torch
from dist_harness import free_port, run_raw, set_env, spawn

from embedlayer.distributed import ShardedEmbedding, ShardGroup
from embedlayer.errors import DistributedError

TIMEOUT_S = 3.0


def _never_joined(rank: int, port: int) -> None:
    """Rank 0 of 2 waits for a rank 1 that never starts."""
    set_env(0, 2, port)
    start = time.monotonic()
    with pytest.raises(DistributedError, match=r"rank 0 of 2: joining the process group .* timeout of 3 s"):
        ShardGroup.from_env("gloo", timeout_s=TIMEOUT_S)
    assert time.monotonic() - start < TIMEOUT_S + 10


@pytest.mark.slow
def test_a_rank_that_never_joins_fails_within_the_timeout():
    run_raw(_never_joined, 1, free_port(), deadline_s=60)


def _one_dies(group: ShardGroup, silent: bool) -> None:
    table = ShardedEmbedding(8, 2, group=group)
    table(torch.tensor([group.rank, 7])).sum().backward()  # one good step first
    if group.rank == 1:
        if silent:  # alive, but stops calling collectives
            time.sleep(TIMEOUT_S + 4)
            return
        os._exit(0)  # dies
    start = time.monotonic()
    with pytest.raises(DistributedError, match=r"rank 0 of 2: all_to_all_single \(ShardedEmbedding\(8, 2\): counts\)"):
        table(torch.tensor([1, 5]))
    assert time.monotonic() - start < TIMEOUT_S + 3


def test_a_rank_that_dies_fails_the_others():
    spawn(_one_dies, 2, False, timeout_s=TIMEOUT_S)


@pytest.mark.slow
def test_a_rank_that_stops_calling_fails_the_others_after_the_timeout():
    spawn(_one_dies, 2, True, timeout_s=TIMEOUT_S)
