"""The workload of ``bench/sharded.py``, shared by its embedlayer and TorchRec workers (torch only).

A recommender-like batch: every rank has its own ``batch`` samples a step, each with one id in
each of ``features`` categorical features (8 here, Criteo has 26). Feature ``f`` has its own
table of ``rows_per_feature`` rows; embedlayer shards the concatenation of the tables (one table
of ``features * rows_per_feature`` rows, feature ``f`` at offset ``f * rows_per_feature``) row-wise,
TorchRec places each feature's table whole on one rank (table-wise). The ids of feature ``f`` are

- ``uniform``: uniform over the feature's rows;
- ``zipf``: Zipf-distributed ranks, P(k) ~ 1 / k^ALPHA for k = 1..rows_per_feature, scattered over
  the rows by a fixed bijection (``k * MULT mod R``, as hashed ids are): the hot ids of a
  frequency-sorted vocabulary would otherwise all live on rank 0 under row-wise sharding.

Bytes are counted by wrapping ``torch.distributed.all_to_all_single`` (every exchange of both
implementations goes through it): the bytes a rank sends *to other ranks* (its own block is a
local copy, not network traffic), summed over ranks, and the number of calls.

The theoretical minimum per step (summed over ranks) for a placement ``owner(id)``:
``sum_r sum_{o != r} u(r, o) * (ID_BYTES + 2 * 4 * D)``, where ``u(r, o)`` is the number of
*distinct* ids of rank r's batch owned by rank o: each distinct remote id travels once to its
owner (8 bytes, int64), its float32 row once back, and its gradient row once to the owner. It
ignores the counts exchanged before (W x a few int64 per rank), which any scheme with variable
message sizes needs, and the owners' local work.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist

ALPHA = 1.05  # Zipf exponent of the ids' ranks
MULT = 1_000_003  # prime: k -> k * MULT mod R is a bijection for R not a multiple of it
ID_BYTES = 8


def zipf_cdf(rows: int, alpha: float = ALPHA) -> torch.Tensor:
    """The cumulative distribution of ranks 1..rows under P(k) ~ k^-alpha, (rows,) float64."""
    weights = torch.arange(1, rows + 1, dtype=torch.float64).pow(-alpha)
    cdf = torch.cumsum(weights, 0)
    return cdf / cdf[-1]


def make_ids(
    step: int,
    rank: int,
    *,
    batch: int,
    features: int,
    rows_per_feature: int,
    dist_name: str,
    seed: int,
    cdf: torch.Tensor | None = None,
) -> torch.Tensor:
    """The ids of one rank's step: (batch, features) int64, global rows of the concatenated table."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + step * 1009 + rank)
    if dist_name == "uniform":
        local = torch.randint(0, rows_per_feature, (batch, features), generator=gen)
    elif dist_name == "zipf":
        cdf = zipf_cdf(rows_per_feature) if cdf is None else cdf
        u = torch.rand(batch, features, generator=gen, dtype=torch.float64)
        k = torch.searchsorted(cdf, u).clamp_(max=rows_per_feature - 1)
        offset = torch.arange(features).mul_(7919)  # each feature its own scatter
        local = (k * MULT + offset) % rows_per_feature
    else:
        raise ValueError(f"dist_name must be 'uniform' or 'zipf', got {dist_name!r}")
    return local + torch.arange(features) * rows_per_feature


def min_bytes(all_ids: list[torch.Tensor], owner: Callable[[torch.Tensor], torch.Tensor], dim: int) -> int:
    """The theoretical minimum all-to-all bytes of one step (see the module docstring); ``all_ids``:
    every rank's ids (any shape), in rank order; ``owner``: ids -> owning rank."""
    total = 0
    for r, ids in enumerate(all_ids):
        uniq = torch.unique(ids.reshape(-1))
        remote = int((owner(uniq) != r).sum())
        total += remote * (ID_BYTES + 2 * 4 * dim)
    return total


def unique_fraction(all_ids: list[torch.Tensor]) -> float:
    """Distinct ids per rank / ids per rank, averaged over ranks."""
    return statistics.mean(torch.unique(i).numel() / max(i.numel(), 1) for i in all_ids)


class A2ACounter:
    """Counts the bytes ``all_to_all_single`` sends to other ranks, and its calls, while active."""

    def __init__(self) -> None:
        self.sent = 0
        self.calls = 0
        self.active = False
        self._orig = dist.all_to_all_single

    def install(self) -> None:
        """Replace ``torch.distributed.all_to_all_single`` by the counting wrapper (in this process)."""
        orig = self._orig

        def counted(
            output: Any,
            input: Any,
            output_split_sizes: Any = None,
            input_split_sizes: Any = None,
            *args: Any,
            **kwargs: Any,
        ) -> Any:
            if self.active:
                self.calls += 1
                group = kwargs.get("group", args[0] if args else None)
                world, rank = dist.get_world_size(group), dist.get_rank(group)
                row = input.element_size() * (input[0].numel() if input.dim() > 0 and input.shape[0] else 0)
                if input_split_sizes is None or len(input_split_sizes) == 0:
                    splits = [input.shape[0] // world] * world if input.dim() else [0] * world
                else:
                    splits = [int(s) for s in input_split_sizes]
                self.sent += row * (sum(splits) - splits[rank])
            return orig(output, input, output_split_sizes, input_split_sizes, *args, **kwargs)

        dist.all_to_all_single = counted  # type: ignore[assignment]


def timed_steps(step: Callable[[int], None], warmup: int, steps: int) -> list[float]:
    """Run ``step(i)`` warmup + steps times, each after a barrier; returns the timed steps' seconds,
    the slowest rank's (a max all-reduce), (steps,) as a list."""
    times = []
    for i in range(warmup + steps):
        dist.barrier()
        t = time.perf_counter()
        step(i)
        if i >= warmup:
            times.append(time.perf_counter() - t)
    slowest = torch.tensor(times, dtype=torch.float64)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    return slowest.tolist()
