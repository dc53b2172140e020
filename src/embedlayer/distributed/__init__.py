"""Tables across processes: embedding tables sharded row-wise over ``torch.distributed``.

Rank r of W holds rows ``[r·B, min((r+1)·B, N))`` of each table (``B = ceil(N / W)``); each rank
looks up its own batch, its distinct ids go to their owners with ``all_to_all_single`` and the
rows (or, for bags, pooled partial sums) come back; in the backward pass the gradient rows go to
their owners, whose fused row-wise optimizer (SGD, Adagrad, row-wise Adagrad, lazy Adam) updates
their shard only. gloo on CPU, NCCL on GPUs; the same code except the collective calls.

    group = ShardGroup.from_env()                        # under torchrun
    table = ShardedEmbeddingBag(1_000_000, 64, mode="sum", group=group, seed=0)
    opt = make_sharded_optimizer("rowwise-adagrad", [table], lr=0.05)
    loss = head(table(ids, offsets)).sum(); loss.backward()   # the shard is updated here

Names are imported lazily (:mod:`embedlayer._lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlayer.distributed.autograd import LocalShard
    from embedlayer.distributed.bag import ShardedEmbeddingBag
    from embedlayer.distributed.embedding import ShardedEmbedding
    from embedlayer.distributed.group import DEFAULT_TIMEOUT_S, ShardGroup
    from embedlayer.distributed.init import shard_init
    from embedlayer.distributed.optim import (
        ShardedOptimizer,
        dense_parameters,
        exclude_from_ddp,
        make_sharded_optimizer,
        sharded_modules,
    )
    from embedlayer.distributed.plan import RowShard

__getattr__, __dir__, __all__ = lazy_exports(__name__)
