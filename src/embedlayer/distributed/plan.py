"""Which rank owns which rows of a table sharded row-wise over ``W`` ranks.

Rank ``r`` owns the rows ``[r·B, min((r+1)·B, N))`` with ``B = ceil(N / W)``: contiguous blocks
of equal size, the last one shorter, and empty ones when ``N < W`` or the blocks run out early
(N = 10, W = 4: B = 3, shards of 3, 3, 3 and 1 rows; N = 2, W = 3: 1, 1 and 0 rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from embedlayer.errors import ConfigError

__all__ = ["RowShard"]


@dataclass(frozen=True)
class RowShard:
    """The row-wise split of a table of ``num_rows`` rows over ``world_size`` ranks.

    Raises:
        ConfigError: ``num_rows`` < 1 or ``world_size`` < 1.
    """

    num_rows: int
    world_size: int

    def __post_init__(self) -> None:
        for name in ("num_rows", "world_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"RowShard: {name} must be a positive int, got {value!r}")

    @property
    def rows_per_rank(self) -> int:
        """B = ceil(N / W): the rows of every shard but the last non-empty one."""
        return -(-self.num_rows // self.world_size)

    def range(self, rank: int) -> tuple[int, int]:
        """(start, stop) of the rows rank ``rank`` owns; start == stop for an empty shard.

        Raises:
            ConfigError: ``rank`` outside [0, world_size).
        """
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < self.world_size:
            raise ConfigError(f"RowShard: rank must be an int in [0, {self.world_size}), got {rank!r}")
        b = self.rows_per_rank
        return min(rank * b, self.num_rows), min((rank + 1) * b, self.num_rows)

    def size(self, rank: int) -> int:
        """The number of rows rank ``rank`` owns (0 for an empty shard)."""
        start, stop = self.range(rank)
        return stop - start

    def sizes(self) -> list[int]:
        """The number of rows of every rank's shard, (W,) as a list."""
        return [self.size(r) for r in range(self.world_size)]

    def owner(self, ids: Tensor) -> Tensor:
        """The rank owning each id: ids (...,) int -> (...,) int64, ``ids // B`` (ids assumed in range)."""
        return torch.div(ids.long(), self.rows_per_rank, rounding_mode="floor")
