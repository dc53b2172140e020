"""``ShardedEmbedding``: an embedding table split row-wise over the ranks of a process group.

Each rank holds rows ``[row_start, row_stop)`` (see :class:`~embedlayer.distributed.plan.RowShard`)
and looks up its *own* batch (data parallel: batches may differ in size, or be empty): its ids
are deduplicated, sent to their owners, and the rows come back (:mod:`.exchange`,
:mod:`.autograd`). The backward pass sends each row's gradient to its owner, whose bound row-wise
optimizer (:func:`~embedlayer.distributed.optim.make_sharded_optimizer`) updates the shard.

Every rank must call the same lookups in the same order, forward and backward (each is a
collective). The shard is a parameter of the module, but must never go through DDP (each rank's
shard is different): wrap the model with ``DistributedDataParallel(model, ...)`` after
:func:`~embedlayer.distributed.optim.exclude_from_ddp` (or build the dense optimizer from
:func:`~embedlayer.distributed.optim.dense_parameters`).

The tables are stored and updated on the CPU (the row-wise optimizers are CPU kernels); under NCCL
only the exchanged tensors go to the GPU, and the rows come back to the ids' device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from embedlayer.distributed.autograd import LocalShard, lookup_rows
from embedlayer.distributed.exchange import first_bad, route_ids
from embedlayer.distributed.group import ShardGroup
from embedlayer.distributed.init import shard_init
from embedlayer.distributed.plan import RowShard
from embedlayer.errors import ConfigError
from embedlayer.kernels.checks import TABLE_DTYPES, check_ids

if TYPE_CHECKING:
    from typing import Self

__all__ = ["ShardedEmbedding"]

_INITS = ("normal", "uniform", "xavier")


class ShardedEmbedding(nn.Module):
    """A (N, D) table of which this rank holds rows ``[row_start, row_stop)``.

    Args:
        num_embeddings: N, the rows of the whole table.
        embedding_dim: D.
        padding_idx: a global row that is zero at init and never trained (None: none).
        group: the process group (None: :meth:`ShardGroup.current`).
        init, std: as :class:`embedlayer.layers.Embedding`.
        seed: the seed of the initial table: every rank draws the same table and keeps its rows,
            so the shards equal the rows of ``Embedding(N, D, init=..., std=...,
            generator=torch.Generator().manual_seed(seed))``.
        generator: used instead of ``seed`` (must be in the same state on every rank).
        dtype: storage (float32, float16, bfloat16); lookups return float32.
        freeze: the table gets no gradient.

    Attributes:
        weight: (row_stop - row_start, D) this rank's shard, a parameter (not for DDP).
        shard: the :class:`RowShard` of the table over the group.
        local: the shard as a table a row-wise optimizer binds to (:class:`LocalShard`).

    Raises:
        ConfigError: a bad size, padding index, init, std or dtype.
        DistributedError: torch.distributed is not initialised.
    """

    weight: nn.Parameter

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        padding_idx: int | None = None,
        group: ShardGroup | None = None,
        init: str = "normal",
        std: float = 1.0,
        seed: int = 0,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        freeze: bool = False,
        _shard_weight: Tensor | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: {arg} must be a positive int, got {value!r}")
        if dtype not in TABLE_DTYPES:
            raise ConfigError(f"{name}: dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype!r}")
        if init not in _INITS:
            raise ConfigError(f"{name}: init must be one of {_INITS}, got {init!r}")
        if padding_idx is not None and (
            isinstance(padding_idx, bool) or not isinstance(padding_idx, int) or not 0 <= padding_idx < num_embeddings
        ):
            raise ConfigError(
                f"{name}: padding_idx must be None or an int in [0, {num_embeddings}), got {padding_idx!r}"
            )
        self.group = group if group is not None else ShardGroup.current()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.init, self.std = init, float(std)
        self.shard = RowShard(num_embeddings, self.group.world_size)
        self.row_start, self.row_stop = self.shard.range(self.group.rank)
        if _shard_weight is None:
            gen = generator if generator is not None else torch.Generator().manual_seed(int(seed))
            values = shard_init(
                num_embeddings, embedding_dim, self.row_start, self.row_stop, init=init, std=self.std, generator=gen
            )
            _shard_weight = values.to(dtype)
        self.weight = nn.Parameter(_shard_weight.contiguous(), requires_grad=not freeze)
        local_pad = None
        if padding_idx is not None and self.row_start <= padding_idx < self.row_stop:
            local_pad = padding_idx - self.row_start
            with torch.no_grad():
                self.weight[local_pad].zero_()
        self.local = LocalShard(self.weight, local_pad)

    @classmethod
    def from_full(
        cls, weight: Tensor, group: ShardGroup | None = None, padding_idx: int | None = None, **kwargs: object
    ) -> Self:
        """The layer whose shards are the rows of the full table ``weight`` (N, D) each rank holds
        (every rank passes the same table; each keeps a copy of its rows).

        Raises:
            ConfigError: ``weight`` is not a 2-D float32/float16/bfloat16 tensor.
        """
        if not isinstance(weight, Tensor) or weight.dim() != 2 or weight.dtype not in TABLE_DTYPES:
            got = f"{weight.dtype} {tuple(weight.shape)}" if isinstance(weight, Tensor) else type(weight).__name__
            raise ConfigError(f"{cls.__name__}.from_full: expected a 2-D float32/float16/bfloat16 table, got {got}")
        group = group if group is not None else ShardGroup.current()
        start, stop = RowShard(weight.shape[0], group.world_size).range(group.rank)
        rows = weight.detach()[start:stop].clone()
        return cls(
            weight.shape[0],
            weight.shape[1],
            padding_idx=padding_idx,
            group=group,
            dtype=weight.dtype,
            _shard_weight=rows,
            **kwargs,  # type: ignore[arg-type]
        )

    def full_weight(self) -> Tensor:
        """The whole (N, D) table, gathered from every rank (a collective: every rank calls it),
        in the storage dtype.

        Raises:
            DistributedError: another rank died or timed out.
        """
        b = self.shard.rows_per_rank
        padded = torch.zeros(b, self.embedding_dim)
        padded[: self.weight.shape[0]] = self.weight.detach().float()
        parts = self.group.all_gather(padded, what=f"{type(self).__name__}.full_weight")
        return torch.cat(parts)[: self.num_embeddings].to(self.weight.dtype)

    def forward(self, ids: Tensor) -> Tensor:
        """Look up this rank's ids (...,) int -> (..., D) float32 rows, on the ids' device.

        Raises:
            ConfigError: ``ids`` is not an integer tensor.
            IdOutOfRangeError: on every rank, when any rank has an id < 0 or >= N (naming it).
            DistributedError: another rank died or timed out.
        """
        ids = check_ids(ids, None)
        flat = ids.reshape(-1).long().cpu()
        bad = first_bad(flat, self.num_embeddings)
        unique, inverse = torch.unique(flat, return_inverse=True)  # sorted: grouped by owner
        what = f"{type(self).__name__}({self.num_embeddings}, {self.embedding_dim})"
        route = route_ids(self.group, self.shard, unique, bad, what=what)
        rows = lookup_rows(self.weight, self.group, route, self.local, what)  # (U, D)
        return rows[inverse].reshape(*ids.shape, self.embedding_dim).to(ids.device)

    def extra_repr(self) -> str:
        return (
            f"{self.num_embeddings}, {self.embedding_dim}, rows=[{self.row_start}, {self.row_stop}), "
            f"rank={self.group.rank}/{self.group.world_size}, padding_idx={self.padding_idx}"
        )
