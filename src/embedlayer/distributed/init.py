"""The initial rows of one shard, equal to the same rows of a single-process table.

``shard_init(N, D, start, stop, ...)`` returns rows ``[start, stop)`` of the table that
``embedlayer.layers.Embedding(N, D, init=..., std=..., generator=g)`` would draw from the same
generator, without holding the whole table: the table is drawn in blocks of rows, in order, from
one generator, and only the blocks overlapping the shard are kept (each rank draws N·D numbers,
but holds one block and its shard).

This relies on how torch fills float32 CPU tensors, checked by tests/distributed/test_plan_init.py
against ``Embedding`` for several shapes: ``uniform_`` draws one number per value in order, and
``normal_`` draws all uniforms in order and transforms them 16 at a time (Box-Muller), redrawing
the last 16 values of a tensor whose size is not a multiple of 16. So blocks of a multiple of 16
values, with a last block of at least 16 values, give the same numbers as one draw. Drawing
stops after the shard's last block, so a given generator ends in a state that depends on the rank.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["shard_init"]

_BLOCK_VALUES = 1 << 20  # about 4 MiB of float32 drawn at a time


def shard_init(
    num_rows: int,
    dim: int,
    start: int,
    stop: int,
    *,
    init: str = "normal",
    std: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rows [start, stop) of a (num_rows, dim) table drawn as ``Embedding`` draws it -> (stop - start, dim) float32.

    ``init``: "normal" N(0, std²), "uniform" U(-√3·std, √3·std), "xavier" U(-a, a) with a = √(6 / (N + D)).
    """
    out = torch.empty(stop - start, dim)
    if init == "normal":
        draw = lambda t: t.normal_(0.0, std, generator=generator)  # noqa: E731
    else:
        bound = math.sqrt(3.0) * std if init == "uniform" else math.sqrt(6.0 / (num_rows + dim))
        draw = lambda t: t.uniform_(-bound, bound, generator=generator)  # noqa: E731
    if num_rows * dim <= 2 * _BLOCK_VALUES:  # small: one draw, exactly as the layer does
        out.copy_(draw(torch.empty(num_rows, dim))[start:stop])
        return out
    block = max(16, (_BLOCK_VALUES // dim) // 16 * 16)  # rows per block: a multiple of 16
    row = 0
    while row < num_rows:
        # the last block takes what is left if less than two blocks remain (never a short tail)
        end = num_rows if num_rows - row < 2 * block else row + block
        values = draw(torch.empty(end - row, dim))
        lo, hi = max(row, start), min(end, stop)
        if lo < hi:
            out[lo - start : hi - start] = values[lo - row : hi - row]
        if end >= stop:  # the shard is complete; the rest of the table is not drawn
            break
        row = end
    return out
