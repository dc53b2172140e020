"""The autograd functions of sharded lookups: rows (or pooled partial sums) come from their
owners in the forward pass, and their gradients go back to the owners in the backward pass.

The backward pass is a collective: every rank must run the backward of every sharded lookup it
ran forward, in the same order (as DDP requires of its buckets). A rank with an empty batch still
takes part (it sends and receives nothing of its own, and answers the others).

The owner hands the gradient rows it received, (R, D) for the shard rows ``local_ids`` (R,)
(duplicates from several ranks included; the optimizer coalesces them), to the row-wise optimizer
bound to its :class:`LocalShard` (``row_sink``), exactly as a bound single-process table does;
without one, the shard's weight gets a sparse COO gradient (padding row zero).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from embedlayer.distributed.exchange import BagRoute, Route
from embedlayer.distributed.group import ShardGroup
from embedlayer.kernels.tables import RowSink

__all__ = ["LocalShard", "bag_sums", "lookup_rows"]


class LocalShard:
    """This rank's rows as a table a row-wise optimizer of :mod:`embedlayer.sparse` trains.

    Attributes:
        weight: (local rows, D) the shard (the layer's ``weight`` parameter).
        padding_idx: the padding row as a row of this shard, or None when it is elsewhere.
        storage: always None (in memory).
        row_sink: the bound optimizer's binding, set by its ``bind()``.
    """

    storage = None

    def __init__(self, weight: Tensor, padding_idx: int | None) -> None:
        self.weight = weight
        self.padding_idx = padding_idx
        self.row_sink: RowSink | None = None


class _Rows(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: Tensor, group: ShardGroup, route: Route, local: LocalShard, what: str) -> Tensor:
        rows = weight.detach()[route.local_ids].float()  # (R, D) the rows the other ranks asked for
        ctx.group, ctx.route, ctx.local, ctx.what = group, route, local, what
        return group.all_to_all(rows, route.recv, route.send, what=f"{what}: rows")  # (U, D)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        route: Route = ctx.route
        grads = ctx.group.all_to_all(grad.float(), route.send, route.recv, what=f"{ctx.what}: gradients")
        return _deliver(ctx, route.local_ids, grads), None, None, None, None


class _BagSums(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, weight: Tensor, group: ShardGroup, route: BagRoute, local: LocalShard, n_bags: int, what: str
    ) -> Tensor:
        dim = weight.shape[1]
        rows = weight.detach()[route.local_ids].float() * route.weights.unsqueeze(1)  # (E, D)
        partial = torch.zeros(sum(route.recv_segments), dim).index_add_(0, route.local_segment, rows)
        back = group.all_to_all(partial, route.recv_segments, route.send_segments, what=f"{what}: pooled rows")
        ctx.group, ctx.route, ctx.local, ctx.what = group, route, local, what
        return torch.zeros(n_bags, dim).index_add_(0, route.segment_bag, back)  # (B, D)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        route: BagRoute = ctx.route
        per_segment = grad.float()[route.segment_bag]  # (S, D) the gradient of each segment sent back
        got = ctx.group.all_to_all(per_segment, route.send_segments, route.recv_segments, what=f"{ctx.what}: gradients")
        grads = got[route.local_segment] * route.weights.unsqueeze(1)  # (E, D)
        return _deliver(ctx, route.local_ids, grads), None, None, None, None, None


def _deliver(ctx: Any, local_ids: Tensor, grads: Tensor) -> Tensor | None:
    """Hand gradient rows (R, D) of shard rows ``local_ids`` (R,) to the bound optimizer, or return
    them as the weight's sparse gradient."""
    local: LocalShard = ctx.local
    if local.row_sink is not None:
        local.row_sink.accept(local_ids, grads)
        return None
    if not ctx.needs_input_grad[0]:
        return None
    if local.padding_idx is not None:
        grads = grads.masked_fill((local_ids == local.padding_idx).unsqueeze(1), 0.0)
    shape = tuple(local.weight.shape)
    return torch.sparse_coo_tensor(local_ids.unsqueeze(0), grads, shape, check_invariants=False).to(local.weight.dtype)


def lookup_rows(weight: Tensor, group: ShardGroup, route: Route, local: LocalShard, what: str) -> Tensor:
    """The rows of the distinct ids routed by ``route``, (U, D) float32, differentiable w.r.t. ``weight``."""
    out: Tensor = _Rows.apply(weight, group, route, local, what)
    return out


def bag_sums(weight: Tensor, group: ShardGroup, route: BagRoute, local: LocalShard, n_bags: int, what: str) -> Tensor:
    """The weighted sum of each bag's rows, (B, D) float32, differentiable w.r.t. ``weight``."""
    out: Tensor = _BagSums.apply(weight, group, route, local, n_bags, what)
    return out
