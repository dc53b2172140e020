"""The fused lookup: a gather whose backward hands the row gradients to a sparse optimizer.

``fused_lookup(weight, ids, binding)`` returns ``weight[ids]`` in float32 like any lookup, but
its backward never forms the (V, D) gradient of the table, nor a sparse COO tensor: it passes the
(N, D) gradient of the looked-up rows and the ids to ``binding.accept``, which coalesces them and
updates the rows in place (or records them for ``step()``). The table itself gets no ``.grad``.

The update writes the table while autograd may still hold other nodes: it bumps the table's
version counter, so a graph that also saved the table for another use (e.g. an output layer tied
to it) fails with torch's "modified by an inplace operation" error instead of silently using
updated values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from embedlayer.kernels.lookup import gather

if TYPE_CHECKING:
    from embedlayer.sparse.optim import TableBinding

__all__ = ["fused_lookup"]


class _FusedLookup(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: Tensor, ids: Tensor, binding: TableBinding) -> Tensor:
        ctx.binding = binding
        ctx.save_for_backward(ids)
        return gather(weight.detach(), ids)  # (..., D) float32; checks the ids

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[None, None, None]:
        (ids,) = ctx.saved_tensors
        ctx.binding.accept(ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        return None, None, None


def fused_lookup(weight: Tensor, ids: Tensor, binding: TableBinding) -> Tensor:
    """Rows ``weight[ids]`` (..., D) float32 whose backward updates ``weight`` through ``binding``.

    ``weight`` must require grad for the backward to run (a frozen table is looked up plainly).

    Raises:
        ConfigError, IdOutOfRangeError: as :func:`embedlayer.kernels.lookup.gather`.
    """
    return _FusedLookup.apply(weight, ids, binding)
