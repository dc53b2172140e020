"""Compiled row updates of the sparse optimizers: the per-row rules and the parallel drivers.

Two levels, both ``numba.njit`` (nopython, disk-cached) so other compiled code can call them:

* **row rules** update row ``r`` of a (V, D) float32 table in place from gradient row ``gi`` of a
  (K, D) float32 array: :func:`sgd_row`, :func:`adagrad_row`, :func:`rowwise_adagrad_row`,
  :func:`adam_row`. Pretraining kernels (word2vec SGD) or any numba code can call them inside
  their own loops, e.g. ``sgd_row(w_in, word, grad, 0, lr, 0.0)`` with ``grad`` of shape
  (1, D). They take whole arrays plus row numbers rather than row views, and numba inlines them
  (``inline="always"``): passing a fresh view per row costs reference counting and blocks
  vectorisation.
* **drivers** apply a rule to every row a batch touched: :func:`sgd_apply`,
  :func:`adagrad_apply`, :func:`rowwise_adagrad_apply`, :func:`adam_apply`. They take the
  grouping of :func:`embedlayer.kernels.coalesce.coalesce` (``heads``, ``nxt``), sum the
  gradient rows of each distinct row (duplicate ids add up) and update it, for the distinct rows
  ``lo..hi-1``: callers cut the rows into chunks with
  :func:`~embedlayer.kernels.coalesce.balanced_chunks` and run the chunks on parallel threads
  (:func:`embedlayer.kernels.threads.run_chunks`); each row belongs to one chunk, so there are no
  races. With ``compact=True`` the weight passed is a
  float32 copy of the touched rows only, row k for distinct row k (how float16/bfloat16 tables
  are trained: widen the touched rows, update in float32, narrow them back).

Importing this module loads numba and numpy only (no torch).

Semantics (the reference formulas the tests check, with ``g`` the sum of the row's gradients in
this step, ``wd`` the weight decay, everything in float32):

* SGD: ``w -= lr * (g + wd * w)``.
* Adagrad (element-wise, as ``torch.optim.Adagrad``): ``g' = g + wd * w``; ``s += g'^2``;
  ``w -= lr * g' / (sqrt(s) + eps)``.
* Row-wise Adagrad (one accumulator per row, as FBGEMM's ``EXACT_ROWWISE_ADAGRAD``):
  ``g' = g + wd * w``; ``s += mean(g'^2)``; ``w -= lr * g' / (sqrt(s) + eps)``.
* Adam (lazy): ``t`` = the row's own step count (incremented when the row occurs) or, with
  ``global_step > 0``, that number for every row (``torch.optim.SparseAdam``'s choice);
  L2 decay ``g' = g + wd * w``, or decoupled (AdamW) ``w *= 1 - lr * wd`` first;
  ``m = b1 m + (1 - b1) g'``; ``v = b2 v + (1 - b2) g'^2``;
  ``w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`` (``torch.optim.Adam``'s form).

Weight decay only reaches rows that occur in the batch ("lazy" decay): a row the data never shows
keeps its value, as its gradient and moments do.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from embedlayer._jit import njit_cached
from embedlayer.kernels.prefetch import prefetch_row, prefetch_row_read

__all__ = [
    "adagrad_apply",
    "adagrad_row",
    "adam_apply",
    "adam_row",
    "rowwise_adagrad_apply",
    "rowwise_adagrad_row",
    "sgd_apply",
    "sgd_row",
    "sum_chain",
]

# prefetch's intrinsics are compiled into the rules and drivers: their disk cache is keyed on
# prefetch.py too, so an edit there is never served stale (embedlayer._jit)
_JIT: dict[str, Any] = {"sources": ("embedlayer.kernels.prefetch",), "error_model": "numpy", "nogil": True}
# Row rules are inlined into their callers at numba's IR level: a call per row that passes array
# views costs reference counting and blocks vectorisation (measured: 1.5x slower drivers).
_RULE = {**_JIT, "inline": "always"}


# ------------------------------------------------------------------------------------ row rules
@njit_cached(**_RULE)
def sgd_row(weight, r, g, gi, lr, weight_decay):
    """``weight[r] -= lr * (g[gi] + weight_decay * weight[r])`` in place.

    weight (V, D) float32 table, r its row; g (K, D) float32 gradients, gi the row of g."""
    lr32 = np.float32(lr)
    if weight_decay != 0.0:
        wd = np.float32(weight_decay)
        for d in range(weight.shape[1]):
            weight[r, d] -= lr32 * (g[gi, d] + wd * weight[r, d])
    else:
        for d in range(weight.shape[1]):
            weight[r, d] -= lr32 * g[gi, d]


@njit_cached(**_RULE)
def adagrad_row(weight, r, state, s, g, gi, lr, eps, weight_decay):
    """Element-wise Adagrad on ``weight[r]`` with accumulator ``state[s]`` (V, D) float32."""
    lr32, eps32, wd = np.float32(lr), np.float32(eps), np.float32(weight_decay)
    for d in range(weight.shape[1]):
        gd = g[gi, d] + wd * weight[r, d]
        sd = state[s, d] + gd * gd
        state[s, d] = sd
        weight[r, d] -= lr32 * gd / (np.sqrt(sd) + eps32)


@njit_cached(**_RULE)
def rowwise_adagrad_row(weight, r, state, s, g, gi, lr, eps, weight_decay):
    """Row-wise Adagrad on ``weight[r]`` with the one accumulator ``state[s]`` ((V,) float32).

    ``state[s] += mean(g'^2)`` over the D values, then every value of the row moves by
    ``lr * g' / (sqrt(state[s]) + eps)``: one learning rate per row, one float of state per row."""
    wd = np.float32(weight_decay)
    n = weight.shape[1]
    total = np.float32(0.0)
    for d in range(n):
        gd = g[gi, d] + wd * weight[r, d]
        total += gd * gd
    acc = np.float32(state[s] + total / np.float32(n))
    state[s] = acc
    scale = np.float32(lr) / (np.sqrt(acc) + np.float32(eps))
    for d in range(n):
        weight[r, d] -= scale * (g[gi, d] + wd * weight[r, d])


@njit_cached(**_RULE)
def adam_row(weight, r, m, v, s, g, gi, lr, beta1, beta2, eps, weight_decay, decoupled, step):
    """Adam on ``weight[r]`` with moments ``m[s]``, ``v[s]`` ((V, D) float32) at step ``step``
    (>= 1, this update included). ``decoupled``: AdamW decay (``w *= 1 - lr * wd`` first)."""
    b1, b2 = np.float32(beta1), np.float32(beta2)
    c1, c2 = np.float32(1.0 - beta1), np.float32(1.0 - beta2)
    step_size = np.float32(lr / (1.0 - beta1**step))
    inv_bc2 = np.float32(1.0 / math.sqrt(1.0 - beta2**step))
    eps32 = np.float32(eps)
    n = weight.shape[1]
    wd = np.float32(weight_decay)
    if decoupled:
        if weight_decay != 0.0:
            keep = np.float32(1.0 - lr * weight_decay)
            for d in range(n):
                weight[r, d] *= keep
        wd = np.float32(0.0)
    for d in range(n):
        gd = g[gi, d] + wd * weight[r, d]
        md = b1 * m[s, d] + c1 * gd
        vd = b2 * v[s, d] + c2 * gd * gd
        m[s, d] = md
        v[s, d] = vd
        weight[r, d] -= step_size * md / (np.sqrt(vd) * inv_bc2 + eps32)


# ------------------------------------------------------------------------------------ drivers
@njit_cached(**_RULE)
def sum_chain(grads, nxt, i, acc):
    """``acc[0]`` = the sum of ``grads`` rows along the occurrence chain that starts at position
    ``i`` (see :func:`~embedlayer.kernels.coalesce.coalesce`), in batch order; acc (1, D) float32.
    The next row of the chain is prefetched while one is added: a frequent id's occurrences are
    scattered over the batch, out of reach of the hardware prefetcher."""
    j = nxt[i]
    if j >= 0:
        prefetch_row_read(grads, j)
    for d in range(acc.shape[1]):
        acc[0, d] = grads[i, d]
    while j >= 0:
        after = nxt[j]
        if after >= 0:
            prefetch_row_read(grads, after)
        for d in range(acc.shape[1]):
            acc[0, d] += grads[j, d]
        j = after


# Every driver handles the distinct rows lo..hi-1 (a chunk from ``balanced_chunks``; callers run
# the chunks on several threads, see :mod:`embedlayer.kernels.threads`). Distinct row k has its
# first occurrence at position i = heads[k] and its id s = ids[i]; it is row s of the optimizer
# state, and row s of ``weight`` (or row k when ``compact``: a float32 copy of the touched rows of
# a float16/bfloat16 table). A row that occurred once reads its gradient in place; a duplicated
# row sums its chain into a scratch row. Rows PREFETCH ahead are requested early.
PREFETCH = 8


@njit_cached(**_JIT)
def sgd_apply(weight, ids, heads, nxt, grads, lo, hi, compact, lr, weight_decay):
    """SGD on distinct rows lo..hi-1; grads (N, D) float32."""
    acc = np.empty((1, grads.shape[1]), np.float32)
    for k in range(lo, hi):
        if k + PREFETCH < hi:
            q = k + PREFETCH
            prefetch_row(weight, q if compact else ids[heads[q]])
        i = heads[k]
        r = k if compact else ids[i]
        if nxt[i] < 0:
            src, gi = grads, i
        else:
            sum_chain(grads, nxt, i, acc)
            src, gi = acc, 0
        sgd_row(weight, r, src, gi, lr, weight_decay)


@njit_cached(**_JIT)
def adagrad_apply(weight, state, ids, heads, nxt, grads, lo, hi, compact, lr, eps, weight_decay):
    """Element-wise Adagrad on distinct rows lo..hi-1; ``state`` (V, D) float32 accumulators."""
    acc = np.empty((1, grads.shape[1]), np.float32)
    for k in range(lo, hi):
        if k + PREFETCH < hi:
            q = k + PREFETCH
            sq = ids[heads[q]]
            prefetch_row(weight, q if compact else sq)
            prefetch_row(state, sq)
        i = heads[k]
        s = ids[i]
        if nxt[i] < 0:
            src, gi = grads, i
        else:
            sum_chain(grads, nxt, i, acc)
            src, gi = acc, 0
        adagrad_row(weight, k if compact else s, state, s, src, gi, lr, eps, weight_decay)


# reassoc: lets LLVM vectorise the row's sum of squares (a strict left-to-right float sum cannot be)
@njit_cached(fastmath={"reassoc"}, **_JIT)
def rowwise_adagrad_apply(weight, state, ids, heads, nxt, grads, lo, hi, compact, lr, eps, weight_decay):
    """Row-wise Adagrad on distinct rows lo..hi-1; ``state`` (V,) float32, one accumulator per row."""
    acc = np.empty((1, grads.shape[1]), np.float32)
    for k in range(lo, hi):
        if k + PREFETCH < hi:
            q = k + PREFETCH
            prefetch_row(weight, q if compact else ids[heads[q]])
        i = heads[k]
        s = ids[i]
        if nxt[i] < 0:
            src, gi = grads, i
        else:
            sum_chain(grads, nxt, i, acc)
            src, gi = acc, 0
        rowwise_adagrad_row(weight, k if compact else s, state, s, src, gi, lr, eps, weight_decay)


@njit_cached(**_JIT)
def adam_apply(
    weight,
    m,
    v,
    steps,
    ids,
    heads,
    nxt,
    grads,
    lo,
    hi,
    compact,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    decoupled,
    global_step,
):
    """Lazy Adam on distinct rows lo..hi-1; m, v (V, D) float32, steps (V,) int64 per-row counts.

    ``global_step > 0``: bias correction uses it for every row (``steps`` is left alone);
    otherwise each row's count is incremented and used."""
    acc = np.empty((1, grads.shape[1]), np.float32)
    counts = steps.reshape((steps.shape[0], 1))  # a view, so its rows can be prefetched too
    for k in range(lo, hi):
        if k + PREFETCH < hi:
            q = k + PREFETCH
            sq = ids[heads[q]]
            prefetch_row(weight, q if compact else sq)
            prefetch_row(m, sq)
            prefetch_row(v, sq)
            if global_step <= 0:
                prefetch_row(counts, sq)
        i = heads[k]
        s = ids[i]
        if nxt[i] < 0:
            src, gi = grads, i
        else:
            sum_chain(grads, nxt, i, acc)
            src, gi = acc, 0
        if global_step > 0:
            t = global_step
        else:
            t = steps[s] + 1
            steps[s] = t
        adam_row(weight, k if compact else s, m, v, s, src, gi, lr, beta1, beta2, eps, weight_decay, decoupled, t)
