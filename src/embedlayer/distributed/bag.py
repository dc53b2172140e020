"""``ShardedEmbeddingBag``: a row-wise sharded table whose lookups pool each bag (sum or mean).

Pooling happens on the owners: each rank sends (bag, id, weight) entries to the owners of the ids
(duplicate (bag, id) pairs merged, the padding id left out), every owner sums the weighted rows
of each (rank, bag) it holds ids of, and sends back one partial sum per such bag; the sender adds
them up. A bag's traffic is one row per owner it touches, not one per id. gloo has no
reduce-scatter, so all of this runs on ``all_to_all_single`` under both backends.

Semantics are those of :class:`embedlayer.layers.EmbeddingBag` (and
:func:`embedlayer.kernels.bag.embedding_bag`): ``sum`` is ``sum_i w_i e_i``, ``mean`` the weighted
mean ``sum_i w_i e_i / sum_i w_i``; the padding id takes no part; an empty bag, or a mean bag
whose weights add up to 0, gives zeros. ``max`` is not supported (the maximum of partial maxima
would need the argmax of each owner for the gradient).
"""

from __future__ import annotations

import torch
from torch import Tensor

from embedlayer.distributed.autograd import bag_sums
from embedlayer.distributed.embedding import ShardedEmbedding
from embedlayer.distributed.exchange import first_bad, route_bags
from embedlayer.errors import ConfigError
from embedlayer.kernels.checks import check_ids, check_offsets

__all__ = ["ShardedEmbeddingBag"]

_MODES = ("sum", "mean")


class ShardedEmbeddingBag(ShardedEmbedding):
    """A sharded table looked up and pooled per bag (see the module docstring).

    Args:
        mode: "sum" or "mean" (weighted mean with per-id weights).
        include_last_offset: ``offsets`` also holds the end of the last bag (B + 1,), as in torch.
        other arguments: as :class:`~embedlayer.distributed.embedding.ShardedEmbedding`.

    Raises:
        ConfigError: a bad mode, or a bad setting of ShardedEmbedding.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        mode: str = "mean",
        include_last_offset: bool = False,
        **kwargs: object,
    ) -> None:
        if mode not in _MODES:
            raise ConfigError(f"{type(self).__name__}: mode must be one of {', '.join(_MODES)}, got {mode!r}")
        super().__init__(num_embeddings, embedding_dim, **kwargs)  # type: ignore[arg-type]
        self.mode = mode
        self.include_last_offset = bool(include_last_offset)

    def forward(self, ids: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None) -> Tensor:
        """Pooled rows: ids (N,) with offsets (B,) bag starts, or ids (B, L) without -> (B, D) float32.

        ``per_sample_weights``: one float per id (same shape as ``ids``); they get no gradient.

        Raises:
            ConfigError: non-integer ids, offsets that do not fit the ids, weights of another
                shape, or weights that require a gradient.
            IdOutOfRangeError: on every rank, when any rank has an id < 0 or >= N (naming it).
            DistributedError: another rank died or timed out.
        """
        ids = check_ids(ids, None)
        device = ids.device
        bounds = self._bounds(ids, offsets)  # (B + 1,)
        flat = ids.reshape(-1).long().cpu()
        weights = self._weights(ids, per_sample_weights)  # (N,) float32
        n_bags = bounds.shape[0] - 1
        bag = torch.repeat_interleave(torch.arange(n_bags), bounds[1:] - bounds[:-1])  # (N,)
        bad = first_bad(flat, self.num_embeddings)
        keep = flat != self.padding_idx if self.padding_idx is not None else torch.ones_like(flat, dtype=torch.bool)
        what = f"{type(self).__name__}({self.num_embeddings}, {self.embedding_dim})"
        route = route_bags(self.group, self.shard, bag[keep], flat[keep], weights[keep], bad, what=what)
        sums = bag_sums(self.weight, self.group, route, self.local, n_bags, what)  # (B, D)
        if self.mode == "mean":
            total = torch.zeros(n_bags).index_add_(0, bag[keep], weights[keep])
            scale = torch.where(total != 0, 1.0 / torch.where(total != 0, total, 1.0), 0.0)
            sums = sums * scale.unsqueeze(1)
        return sums.to(device)

    def _bounds(self, ids: Tensor, offsets: Tensor | None) -> Tensor:
        if ids.dim() == 2:
            if offsets is not None:
                raise ConfigError(
                    f"ids of shape {tuple(ids.shape)} are fixed-size bags; expected offsets=None (or flat 1-D "
                    f"ids with offsets)"
                )
            return torch.arange(ids.shape[0] + 1, dtype=torch.int64) * ids.shape[1]
        if ids.dim() == 1:
            if offsets is None:
                raise ConfigError(
                    f"flat ids of shape {tuple(ids.shape)} need offsets (the start of each bag); expected "
                    f"offsets or 2-D ids"
                )
            return check_offsets(offsets, ids.shape[0], include_last_offset=self.include_last_offset)
        raise ConfigError(f"ids must be 1-D (with offsets) or 2-D (fixed-size bags), got shape {tuple(ids.shape)}")

    def _weights(self, ids: Tensor, per_sample_weights: Tensor | None) -> Tensor:
        if per_sample_weights is None:
            return torch.ones(ids.numel())
        if not isinstance(per_sample_weights, Tensor) or not per_sample_weights.dtype.is_floating_point:
            got = getattr(per_sample_weights, "dtype", type(per_sample_weights).__name__)
            raise ConfigError(f"per_sample_weights must be a float tensor, got {got}")
        if tuple(per_sample_weights.shape) != tuple(ids.shape):
            raise ConfigError(
                f"per_sample_weights has shape {tuple(per_sample_weights.shape)}; expected the shape of ids "
                f"{tuple(ids.shape)} (one weight per id)"
            )
        if per_sample_weights.requires_grad and torch.is_grad_enabled():
            raise ConfigError(
                f"{type(self).__name__}: per_sample_weights require a gradient, which sharded bags do not "
                f"compute; expected weights without one (detach them)"
            )
        return per_sample_weights.detach().reshape(-1).float().cpu()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mode={self.mode!r}"
