"""Row gathers: ``out[i] = table[ids[i]]``, checked and parallel.

The forward pass of a lookup is a gather. :func:`gather_rows` copies the rows of one range of
ids, prefetching a few rows ahead, and checks every id on the way (one pass instead of a separate
range check): it returns the position of the first id outside ``[0, V)``, or -1. :func:`gather`
is the torch entry point used by the layers and by ``bench/lookup.py``: it cuts the ids into one
range per thread (:mod:`embedlayer.kernels.threads`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from embedlayer._jit import njit_cached
from embedlayer.kernels.checks import check_ids, check_table, raise_bad_id
from embedlayer.kernels.prefetch import prefetch_row_read
from embedlayer.kernels.threads import num_threads, run_chunks

__all__ = ["first_bad", "gather", "gather_bf16_rows", "gather_rows", "split"]

_AHEAD = 4
# prefetch's intrinsic is compiled into the gathers: their disk cache is keyed on prefetch.py too
_SOURCES = ("embedlayer.kernels.prefetch",)
_MIN_IDS_PER_THREAD = 2048


@njit_cached(sources=_SOURCES, nogil=True)
def gather_rows(table, ids, out, lo, hi):
    """``out[i] = table[ids[i]]`` for lo <= i < hi; table (V, D), ids (N,) int, out (N, D) same dtype.

    Returns the position of the first id in the range that is negative or >= V (its row is not
    copied), or -1 when all are valid."""
    rows = table.shape[0]
    bad = -1
    for i in range(lo, hi):
        if i + _AHEAD < hi:
            ahead = ids[i + _AHEAD]
            if ahead >= 0 and ahead < rows:
                prefetch_row_read(table, ahead)
        r = ids[i]
        if r < 0 or r >= rows:
            if bad < 0:
                bad = i
            continue
        for d in range(table.shape[1]):
            out[i, d] = table[r, d]
    return bad


@njit_cached(sources=_SOURCES, nogil=True)
def gather_bf16_rows(table_bits, ids, out_bits, lo, hi):
    """Like :func:`gather_rows` for a bfloat16 table seen as uint16 bits, widening to float32
    (out seen as uint32 bits): a bfloat16 is the top half of the float32 with the same value."""
    rows = table_bits.shape[0]
    bad = -1
    for i in range(lo, hi):
        if i + _AHEAD < hi:
            ahead = ids[i + _AHEAD]
            if ahead >= 0 and ahead < rows:
                prefetch_row_read(table_bits, ahead)
        r = ids[i]
        if r < 0 or r >= rows:
            if bad < 0:
                bad = i
            continue
        for d in range(table_bits.shape[1]):
            out_bits[i, d] = np.uint32(table_bits[r, d]) << np.uint32(16)
    return bad


def first_bad(results: list[object]) -> int:
    """The smallest non-negative position among per-chunk results, or -1."""
    bad = [int(r) for r in results if int(r) >= 0]  # type: ignore[call-overload]
    return min(bad) if bad else -1


def split(n: int, threads: int | None = None, minimum: int = _MIN_IDS_PER_THREAD) -> np.ndarray:
    """Boundaries (T + 1,) of T near-equal ranges over n items (T <= threads, >= 1)."""
    t = max(1, min(threads or num_threads(), n // max(minimum, 1)))
    return (np.arange(t + 1, dtype=np.int64) * n) // t


def gather(weight: Tensor, ids: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Rows of ``weight`` for ``ids``: weight (V, D) float32/float16/bfloat16 on CPU, ids (...)
    integer -> (..., D) float32 (narrow storage is widened: float32 compute).

    ``out``: a (N, D) float32 contiguous tensor to write into (float32 and bfloat16 tables).

    Raises:
        ConfigError: ids that are not an integer tensor, or a weight that is not a 2-D CPU table.
        IdOutOfRangeError: an id < 0 or >= V (naming it, its position and V).
    """
    check_table(weight.detach() if isinstance(weight, Tensor) else weight, what="weight")
    ids = check_ids(ids, None)
    flat = ids.reshape(-1)
    if weight.dtype == torch.float16:  # no float16 arithmetic in numba: torch widens
        check_ids(ids, weight.shape[0])
        return weight.detach().index_select(0, flat).float().reshape(*ids.shape, weight.shape[1])
    if out is None:
        out = torch.empty(flat.shape[0], weight.shape[1], dtype=torch.float32)
    index = flat.numpy()
    if weight.dtype == torch.bfloat16:
        table = weight.detach().view(torch.int16).numpy().view(np.uint16)
        target, kernel = out.numpy().view(np.uint32), gather_bf16_rows
    else:
        table, target, kernel = weight.detach().numpy(), out.numpy(), gather_rows
    bounds = split(index.shape[0])
    bad = first_bad(run_chunks(kernel, (table, index, target), bounds))
    if bad >= 0:
        raise_bad_id(ids, bad, weight.shape[0])
    return out.reshape(*ids.shape, weight.shape[1])
