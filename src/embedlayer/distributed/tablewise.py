"""Table-wise placement: for a model with many tables, each table whole on one rank.

`place_tables` puts the tables greedily, largest (rows × dim) first, each onto the rank with the
least load so far (lowest rank on ties), so every rank computes the same placement. `choose_layout`
picks table-wise automatically when there are at least as many tables as ranks and the placement
is balanced (the heaviest rank holds at most ``BALANCE`` × the mean load, so no table dominates),
row-wise otherwise; ``"row"`` and ``"table"`` force one.

A table placed on rank p is a sharded table whose rows all belong to p (`WholeTable`, a plan with
the interface of `RowShard`): lookups still go through the all-to-all (ids to rank p, rows back),
and every other rank holds none of its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from embedlayer.distributed.autograd import LocalShard
from embedlayer.distributed.bag import ShardedEmbeddingBag
from embedlayer.distributed.embedding import ShardedEmbedding
from embedlayer.distributed.group import ShardGroup
from embedlayer.distributed.plan import RowShard
from embedlayer.errors import ConfigError, DistributedError

__all__ = [
    "BALANCE",
    "LAYOUTS",
    "Layout",
    "TableWiseEmbedding",
    "TableWiseEmbeddingBag",
    "WholeTable",
    "choose_layout",
    "place_tables",
    "rank_loads",
    "whole_table",
]

Layout = Literal["row", "table", "auto"]
LAYOUTS: tuple[str, ...] = ("row", "table", "auto")
BALANCE = 1.5  # auto: table-wise when the heaviest rank holds at most this times the mean load


def place_tables(shapes: Sequence[tuple[int, int]], world_size: int) -> list[int]:
    """The rank of each table (``shapes``: (rows, dim) each): largest rows × dim first (the
    earlier table on ties), onto the least-loaded rank (the lowest on ties). Deterministic."""
    if world_size < 1:
        raise ConfigError(f"world size {world_size}: expected >= 1")
    loads = [0] * world_size
    ranks = [0] * len(shapes)
    for index in sorted(range(len(shapes)), key=lambda i: (-shapes[i][0] * shapes[i][1], i)):
        rank = min(range(world_size), key=lambda r: (loads[r], r))
        ranks[index] = rank
        loads[rank] += shapes[index][0] * shapes[index][1]
    return ranks


def rank_loads(shapes: Sequence[tuple[int, int]], ranks: Sequence[int], world_size: int) -> list[int]:
    """Numbers (rows × dim) each rank holds under the placement ``ranks``."""
    loads = [0] * world_size
    for (rows, dim), rank in zip(shapes, ranks):
        loads[rank] += rows * dim
    return loads


def choose_layout(shapes: Sequence[tuple[int, int]], world_size: int, layout: str = "auto") -> Literal["row", "table"]:
    """``"row"`` or ``"table"`` for tables of ``shapes`` over ``world_size`` ranks (see the module)."""
    if layout not in LAYOUTS:
        raise ConfigError(f"shard layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    if layout != "auto":
        return layout  # type: ignore[return-value]
    if world_size == 1 or len(shapes) < world_size:
        return "row"
    loads = rank_loads(shapes, place_tables(shapes, world_size), world_size)
    mean = sum(loads) / world_size
    return "table" if mean > 0 and max(loads) <= BALANCE * mean else "row"


@dataclass(frozen=True)
class WholeTable(RowShard):
    """A row plan in which rank ``owner_rank`` holds all ``num_rows`` rows (a `RowShard` to the
    exchange and the sharded layers)."""

    owner_rank: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.owner_rank, bool) or not isinstance(self.owner_rank, int):
            raise ConfigError(f"WholeTable: owner_rank must be an int, got {self.owner_rank!r}")
        if not 0 <= self.owner_rank < self.world_size:
            raise ConfigError(f"WholeTable: owner_rank {self.owner_rank}: expected a rank in [0, {self.world_size})")

    @property
    def rows_per_rank(self) -> int:
        return self.num_rows

    def range(self, rank: int) -> tuple[int, int]:
        """[start, stop) of the rows ``rank`` holds: all of them on the owner, none elsewhere."""
        super().range(rank)  # ConfigError for a rank outside the group
        return (0, self.num_rows) if rank == self.owner_rank else (0, 0)

    def owner(self, ids: Tensor) -> Tensor:
        """(n,) int64 rank of each id: the owner's."""
        return torch.full_like(ids, self.owner_rank, dtype=torch.int64)


class _Whole:
    """What a table-wise table does differently from a row-wise one: gathering the full table."""

    group: ShardGroup
    weight: nn.Parameter
    num_embeddings: int
    embedding_dim: int

    def full_weight(self) -> Tensor:
        """The whole (N, D) table, sent by its owner to every rank (a collective)."""
        import torch.distributed as dist

        owner = getattr(self, "shard").owner_rank  # noqa: B009 - a WholeTable (see whole_table)
        buffer = (
            self.weight.detach().clone()
            if self.group.rank == owner
            else self.weight.new_empty(self.num_embeddings, self.embedding_dim)
        )
        if self.group.world_size > 1:
            moved = buffer.to(self.group.device)
            try:
                dist.broadcast(moved, src=owner, group=self.group.process_group)
            except RuntimeError as exc:
                raise DistributedError(
                    f"rank {self.group.rank} of {self.group.world_size}: broadcast of a table-wise table "
                    f"({self.num_embeddings} x {self.embedding_dim}) from rank {owner} failed: "
                    f"{str(exc).strip()[:300]}; "
                    f"expected every rank to gather it (another rank died, left or timed out)"
                ) from exc
            buffer = moved.cpu()
        return buffer


class TableWiseEmbedding(_Whole, ShardedEmbedding):
    """A `ShardedEmbedding` whose rows all live on one rank (see `whole_table`)."""


class TableWiseEmbeddingBag(_Whole, ShardedEmbeddingBag):
    """A `ShardedEmbeddingBag` whose rows all live on one rank (see `whole_table`)."""


def whole_table(
    weight: Tensor, group: ShardGroup, owner: int, *, padding_idx: int | None = None, bag: bool = False, **kwargs: Any
) -> ShardedEmbedding:
    """The table ``weight`` (N, D) (the same on every rank) held whole by rank ``owner``: the
    others keep no row of it (their ``weight`` is (0, D)) and send their ids to ``owner``.
    ``kwargs``: the bag's ``mode`` and the like. Raises ConfigError for a bad owner or padding row."""
    n, d = weight.shape
    plan = WholeTable(int(n), group.world_size, owner)
    cls = TableWiseEmbeddingBag if bag else TableWiseEmbedding
    # built empty without a padding row, then given its plan, rows and padding row
    module = cls(
        int(n),
        int(d),
        padding_idx=None,
        group=group,
        dtype=weight.dtype,
        _shard_weight=weight.new_empty(0, d),
        **kwargs,
    )
    if padding_idx is not None and not 0 <= padding_idx < n:
        raise ConfigError(f"whole_table: padding_idx {padding_idx}: expected None or a row in [0, {n})")
    start, stop = plan.range(group.rank)
    rows = weight.detach()[start:stop].clone()
    local_pad = padding_idx - start if padding_idx is not None and start <= padding_idx < stop else None
    if local_pad is not None:
        rows[local_pad] = 0
    module.shard, module.row_start, module.row_stop = plan, start, stop
    module.padding_idx = padding_idx
    module.weight = nn.Parameter(rows, requires_grad=True)
    module.local = LocalShard(module.weight, local_pad)
    return module
