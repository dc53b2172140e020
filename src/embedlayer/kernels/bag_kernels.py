"""Compiled pooled lookups (bags): forward and backward of sum / mean / max with per-id weights.

Bag b holds the ids ``ids[bounds[b]:bounds[b + 1]]``; the padding id takes no part (no value, no
weight, no gradient). With per-id weights ``w`` (all 1 without them):

* sum:  ``out[b] = sum_i w_i e_i``
* mean: ``out[b] = sum_i w_i e_i / sum_i w_i`` (the weighted mean, TensorFlow's
  ``embedding_lookup_sparse`` "mean" combiner; without weights the plain mean)
* max:  ``out[b, d] = max_i w_i e_i[d]`` (the first maximum wins ties)

A bag with no id left, or (mean) whose weights sum to 0, gives zeros and passes no gradient.
The backward writes the gradient of every id's row, (N, D) -- the rows then go to a sparse
optimizer or into a sparse/dense table gradient -- and of every weight, (N,). Both work on a range
of bags; callers run ranges on parallel threads (bags own disjoint ids: no races).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["MAX", "MEAN", "NO_PADDING", "SUM", "bag_backward", "bag_forward"]

SUM, MEAN, MAX = 0, 1, 2
NO_PADDING = -(1 << 62)  # padding_idx for "no padding row": equal to no id
_JIT: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def bag_forward(
    table, ids, gathered, num_rows, bounds, weights, has_weights, mode, padding_idx, out, argmax, wsum, b_lo, b_hi
):
    """Pool the rows of bags b_lo..b_hi-1 into ``out`` (B, D) float32; ``argmax`` (B, D) int64
    (max mode: position of the winning id, -1 for none); ``wsum`` (B,) float32 the weight total.

    ``table`` is the (V, D) float32 table, or with ``gathered`` the (N, D) float32 rows already
    looked up (row i for id i). Returns the position of the first id outside [0, num_rows), or -1.
    """
    dim = out.shape[1]
    bad = -1
    for b in range(b_lo, b_hi):
        lo, hi = bounds[b], bounds[b + 1]
        for d in range(dim):
            out[b, d] = 0.0
            if mode == MAX:
                argmax[b, d] = -1
        total = np.float32(0.0)
        for i in range(lo, hi):
            r = ids[i]
            if r == padding_idx:
                continue
            if r < 0 or r >= num_rows:
                if bad < 0:
                    bad = i
                continue
            w = weights[i] if has_weights else np.float32(1.0)
            t = i if gathered else r
            total += w
            if mode == MAX:
                for d in range(dim):
                    x = w * table[t, d]
                    if argmax[b, d] < 0 or x > out[b, d]:
                        out[b, d] = x
                        argmax[b, d] = i
            else:
                for d in range(dim):
                    out[b, d] += w * table[t, d]
        wsum[b] = total
        if mode == MEAN:
            scale = np.float32(1.0) / total if total != 0.0 else np.float32(0.0)
            for d in range(dim):
                out[b, d] *= scale
    return bad


@njit(**_JIT)
def bag_backward(
    table,
    ids,
    gathered,
    bounds,
    weights,
    has_weights,
    mode,
    padding_idx,
    grad_out,
    out,
    argmax,
    wsum,
    grad_rows,
    grad_weights,
    need_weight_grad,
    b_lo,
    b_hi,
):
    """Gradients of ``bag_forward`` for bags b_lo..b_hi-1: ``grad_rows`` (N, D) float32, the gradient of the row each id
    looked up, and (``need_weight_grad``) ``grad_weights`` (N,) float32 (else it may be empty and is
    not touched); both fully written."""
    dim = grad_out.shape[1]
    for b in range(b_lo, b_hi):
        lo, hi = bounds[b], bounds[b + 1]
        if mode == MAX:
            for i in range(lo, hi):
                if need_weight_grad:
                    grad_weights[i] = 0.0
                for d in range(dim):
                    grad_rows[i, d] = 0.0
            for d in range(dim):
                i = argmax[b, d]
                if i >= 0:
                    w = weights[i] if has_weights else np.float32(1.0)
                    grad_rows[i, d] = w * grad_out[b, d]
                    if need_weight_grad:
                        t = i if gathered else ids[i]
                        grad_weights[i] += table[t, d] * grad_out[b, d]
            continue
        scale = np.float32(1.0)
        if mode == MEAN:
            scale = np.float32(1.0) / wsum[b] if wsum[b] != 0.0 else np.float32(0.0)
        for i in range(lo, hi):
            r = ids[i]
            if r == padding_idx:
                if need_weight_grad:
                    grad_weights[i] = 0.0
                for d in range(dim):
                    grad_rows[i, d] = 0.0
                continue
            w = (weights[i] if has_weights else np.float32(1.0)) * scale
            for d in range(dim):
                grad_rows[i, d] = w * grad_out[b, d]
            if need_weight_grad:
                t = i if gathered else r
                dot = np.float32(0.0)
                if mode == MEAN:
                    for d in range(dim):
                        dot += (table[t, d] - out[b, d]) * grad_out[b, d]
                else:
                    for d in range(dim):
                        dot += table[t, d] * grad_out[b, d]
                grad_weights[i] = dot * scale
