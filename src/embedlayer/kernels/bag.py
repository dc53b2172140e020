"""``embedding_bag``: pooled lookups with autograd, for every mode with per-id weights.

Unlike ``torch.nn.functional.embedding_bag`` (weights only with ``mode="sum"``), every mode takes
``per_sample_weights`` (definitions in :mod:`embedlayer.kernels.bag_kernels`); the padding id is
skipped in every mode, empty bags give zeros. The table gradient is, as the layer asks: handed to
a bound row-wise optimizer (no table gradient at all), a sparse COO tensor of the looked-up rows, or
a dense (V, D) tensor. Runs on CPU (numba kernels over ranges of bags, on parallel threads);
tables stored as float16/bfloat16 are widened row by row to float32 for the computation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from embedlayer.errors import ConfigError
from embedlayer.kernels import bag_kernels as K
from embedlayer.kernels.checks import check_ids, check_offsets, check_table, raise_bad_id
from embedlayer.kernels.lookup import first_bad, split
from embedlayer.kernels.tables import RowSink
from embedlayer.kernels.threads import run_chunks

__all__ = ["BAG_MODES", "embedding_bag"]

BAG_MODES = {"sum": K.SUM, "mean": K.MEAN, "max": K.MAX}
_MIN_BAGS_PER_THREAD = 64


class _Bag(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        weight: Tensor,
        per_sample_weights: Tensor | None,
        ids: Tensor,
        bounds: Tensor,
        mode: int,
        padding_idx: int,
        sink: RowSink | None,
        sparse: bool,
        ids_shape: tuple[int, ...],
    ) -> Tensor:
        weight = weight.detach()
        gathered = weight.dtype != torch.float32
        table = weight.index_select(0, ids).float() if gathered else weight  # (N, D) or (V, D)
        has_weights = per_sample_weights is not None
        w = torch.zeros(0) if per_sample_weights is None else per_sample_weights.detach().float().contiguous()
        n_bags, dim = bounds.shape[0] - 1, weight.shape[1]
        out = torch.empty(n_bags, dim)
        argmax = torch.empty((n_bags, dim) if mode == K.MAX else (0, 0), dtype=torch.int64)
        wsum = torch.empty(n_bags)
        args = (
            table.numpy(),
            ids.numpy(),
            gathered,
            weight.shape[0],
            bounds.numpy(),
            w.numpy(),
            has_weights,
            mode,
            padding_idx,
            out.numpy(),
            argmax.numpy(),
            wsum.numpy(),
        )
        parts = split(n_bags, minimum=_MIN_BAGS_PER_THREAD)
        bad = first_bad(run_chunks(K.bag_forward, args, parts))
        if bad >= 0:
            raise_bad_id(ids.reshape(ids_shape), int(bad), weight.shape[0])
        ctx.mode, ctx.padding_idx, ctx.sink, ctx.sparse, ctx.gathered = mode, padding_idx, sink, sparse, gathered
        ctx.has_weights, ctx.shape, ctx.dtype = has_weights, tuple(weight.shape), weight.dtype
        ctx.save_for_backward(table, ids, bounds, w, out, argmax, wsum)
        return out  # (B, D)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        table, ids, bounds, w, out, argmax, wsum = ctx.saved_tensors
        need_w = bool(ctx.needs_input_grad[1])
        grad_rows = torch.empty(ids.shape[0], ctx.shape[1])
        grad_w = torch.empty(ids.shape[0] if need_w else 0)
        args = (
            table.numpy(),
            ids.numpy(),
            ctx.gathered,
            bounds.numpy(),
            w.numpy(),
            ctx.has_weights,
            ctx.mode,
            ctx.padding_idx,
            grad_out.float().contiguous().numpy(),
            out.numpy(),
            argmax.numpy(),
            wsum.numpy(),
            grad_rows.numpy(),
            grad_w.numpy(),
            need_w,
        )
        parts = split(out.shape[0], minimum=_MIN_BAGS_PER_THREAD)
        run_chunks(K.bag_backward, args, parts)
        grad_weight = None
        if ctx.sink is not None:
            ctx.sink.accept(ids, grad_rows)
        elif ctx.needs_input_grad[0]:
            if ctx.sparse:
                grad_weight = torch.sparse_coo_tensor(
                    ids.long().unsqueeze(0), grad_rows, ctx.shape, check_invariants=False
                ).to(ctx.dtype)
            else:
                grad_weight = torch.zeros(ctx.shape).index_add_(0, ids.long(), grad_rows).to(ctx.dtype)
        return grad_weight, (grad_w if need_w else None), None, None, None, None, None, None, None


def embedding_bag(
    weight: Tensor,
    ids: Tensor,
    offsets: Tensor | None = None,
    *,
    mode: str = "mean",
    per_sample_weights: Tensor | None = None,
    padding_idx: int | None = None,
    include_last_offset: bool = False,
    sink: RowSink | None = None,
    sparse: bool = False,
) -> Tensor:
    """Pool the rows of ``weight`` (V, D) over bags of ``ids`` -> (B, D) float32.

    Args:
        ids: (N,) flat ids with ``offsets`` (B,) bag starts (or (B + 1,) with
            ``include_last_offset``), or (B, L) fixed-size bags with ``offsets=None``.
        mode: "sum", "mean" or "max".
        per_sample_weights: (N,) or (B, L) float, one weight per id, in every mode.
        padding_idx: the id that takes no part (None: every id counts).
        sink: where backward hands the gradient rows (a bound row-wise optimizer) instead of
            giving the table a gradient.
        sparse: the table gradient is a sparse COO tensor (else dense), without ``sink``.

    Raises:
        ConfigError: a bad mode, non-integer ids, offsets that do not fit the ids (see
            :func:`~embedlayer.kernels.checks.check_offsets`), weights of another shape than the
            ids, offsets with 2-D ids, or a table that is not a CPU float32/float16/bfloat16 tensor.
        IdOutOfRangeError: an id < 0 or >= V.
    """
    if mode not in BAG_MODES:
        raise ConfigError(f"bag mode must be one of {', '.join(BAG_MODES)}, got {mode!r}")
    check_table(weight.detach() if isinstance(weight, Tensor) else weight, what="weight")
    ids = check_ids(ids, None)
    if ids.dim() == 2:
        if offsets is not None:
            raise ConfigError(
                f"ids of shape {tuple(ids.shape)} are fixed-size bags; expected offsets=None (or flat "
                f"1-D ids with offsets)"
            )
        bounds = torch.arange(0, ids.numel() + 1, max(ids.shape[1], 1), dtype=torch.int64)[: ids.shape[0] + 1]
        if ids.shape[1] == 0:
            bounds = torch.zeros(ids.shape[0] + 1, dtype=torch.int64)
    elif ids.dim() == 1:
        if offsets is None:
            raise ConfigError(
                f"flat ids of shape {tuple(ids.shape)} need offsets (the start of each bag); expected "
                f"offsets or 2-D ids"
            )
        bounds = check_offsets(offsets, ids.shape[0], include_last_offset=include_last_offset)
    else:
        raise ConfigError(f"ids must be 1-D (with offsets) or 2-D (fixed-size bags), got shape {tuple(ids.shape)}")
    if per_sample_weights is not None:
        if not isinstance(per_sample_weights, Tensor) or not per_sample_weights.dtype.is_floating_point:
            raise ConfigError(
                f"per_sample_weights must be a float tensor, got "
                f"{getattr(per_sample_weights, 'dtype', type(per_sample_weights).__name__)}"
            )
        if tuple(per_sample_weights.shape) != tuple(ids.shape):
            raise ConfigError(
                f"per_sample_weights has shape {tuple(per_sample_weights.shape)}; expected the shape of "
                f"ids {tuple(ids.shape)} (one weight per id)"
            )
        per_sample_weights = per_sample_weights.reshape(-1)
    pad = K.NO_PADDING if padding_idx is None else int(padding_idx)
    if weight.dtype != torch.float32:
        check_ids(ids, weight.shape[0])
    return _Bag.apply(
        weight,
        per_sample_weights,
        ids.reshape(-1),
        bounds.contiguous(),
        BAG_MODES[mode],
        pad,
        sink,
        bool(sparse),
        tuple(ids.shape),
    )
