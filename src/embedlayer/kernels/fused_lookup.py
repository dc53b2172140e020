"""The fused lookup: a gather whose backward hands the row gradients to a row-wise optimizer.

``fused_lookup(weight, ids, sink)`` returns ``weight[ids]`` in float32 like any lookup, but its
backward never forms the (V, D) gradient of the table, nor a sparse COO tensor: it passes the
(N, D) gradient of the looked-up rows and the ids to ``sink.accept`` (a bound optimizer, see
:mod:`embedlayer.sparse.optim`), which updates the rows once backward has finished (or records
them for ``step()``). The table itself gets no ``.grad``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from embedlayer.kernels.lookup import gather
from embedlayer.kernels.tables import RowSink

__all__ = ["fused_lookup"]


class _FusedLookup(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: Tensor, ids: Tensor, sink: RowSink) -> Tensor:
        ctx.sink = sink
        ctx.save_for_backward(ids)
        return gather(weight.detach(), ids)  # (..., D) float32; checks the ids

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[None, None, None]:
        (ids,) = ctx.saved_tensors
        ctx.sink.accept(ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        return None, None, None


def fused_lookup(weight: Tensor, ids: Tensor, sink: RowSink) -> Tensor:
    """Rows ``weight[ids]`` (..., D) float32 whose backward hands their gradient to ``sink``.

    ``weight`` must require grad for the backward to run (a frozen table is looked up plainly).

    Raises:
        ConfigError, IdOutOfRangeError: as :func:`embedlayer.kernels.lookup.gather`.
    """
    return _FusedLookup.apply(weight, ids, sink)
