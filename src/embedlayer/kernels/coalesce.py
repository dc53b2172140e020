"""Group the ids of one batch by row: which rows occurred, and where.

A batch of N lookups touches U <= N distinct rows. The optimizers need, for each distinct row, the
sum of the gradients of its occurrences (duplicate ids must add up, not overwrite each other).
:func:`coalesce` finds the distinct rows with an open-addressing hash table sized by the batch
(not the table: it costs the same for 10k or 100M rows) in one pass, and links the occurrences of
each row into a chain::

    heads  (U,)  position in the batch of the first occurrence of each distinct row, in
                 first-occurrence order (the row id is ids[heads[k]]); padding ids left out
    nxt    (N,)  position of the next occurrence of the same row, -1 at the end of a chain
    counts (U,)  occurrences of each distinct row

Each distinct row then belongs to exactly one unit of work, so the update kernels run in parallel
over rows without races or atomics. The result is deterministic: rows in first-occurrence order,
occurrences in batch order, hence the same sums to the last bit on every run.

:func:`balanced_chunks` cuts the rows into contiguous chunks of similar cost (occurrences plus a
fixed per-row cost) for parallel threads: with Zipf-distributed ids one frequent row may occur thousands
of times, and equal row counts per chunk would leave a thread idle.

Both are ``numba.njit`` functions: other compiled code (e.g. pretraining kernels) may call them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ROW_COST", "balanced_chunks", "coalesce"]

#: Cost of updating one row, in units of "adding one gradient row" (for chunk balancing).
ROW_COST = 4

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier (2^64 / golden ratio)


@njit(cache=True, nogil=True)
def coalesce(ids, padding_idx):
    """Distinct rows of ``ids`` and the chains of their occurrences.

    Args:
        ids: (N,) int32 or int64 row ids (already range-checked).
        padding_idx: id to leave out (its row is never updated); -1 for none.

    Returns:
        ``(heads, nxt, counts)`` as described in the module docstring; int64 arrays.
    """
    n = ids.shape[0]
    bits = 4
    while (1 << bits) < 2 * n:
        bits += 1
    mask = np.uint64((1 << bits) - 1)
    shift = np.uint64(64 - bits)
    table = np.full((1 << bits, 2), -1, np.int64)  # (row id, its index k): one cache line per probe
    heads = np.empty(n, np.int64)
    tails = np.empty(n, np.int64)
    counts = np.empty(n, np.int64)
    nxt = np.full(n, -1, np.int64)
    u = 0
    for i in range(n):
        key = np.int64(ids[i])
        if key == padding_idx:
            continue
        h = (np.uint64(key) * _GOLDEN) >> shift
        while True:
            found = table[h, 0]
            if found == key:
                k = table[h, 1]
                nxt[tails[k]] = i
                tails[k] = i
                counts[k] += 1
                break
            if found == -1:
                table[h, 0] = key
                table[h, 1] = u
                heads[u] = i
                tails[u] = i
                counts[u] = 1
                u += 1
                break
            h = (h + np.uint64(1)) & mask
    return heads[:u].copy(), nxt, counts[:u].copy()


@njit(cache=True, nogil=True)
def balanced_chunks(counts, n_chunks):
    """Boundaries (n_chunks + 1,) cutting rows 0..U into contiguous chunks of similar cost.

    The cost of row k is ``counts[k] + ROW_COST``; chunk c ends at the first row where the running
    cost reaches ``(c + 1) / n_chunks`` of the total. Chunks may be empty.
    """
    u = counts.shape[0]
    total = 0
    for k in range(u):
        total += counts[k] + ROW_COST
    bounds = np.empty(n_chunks + 1, np.int64)
    bounds[0] = 0
    k = 0
    running = 0
    for c in range(1, n_chunks):
        target = (total * c) // n_chunks
        while k < u and running < target:
            running += counts[k] + ROW_COST
            k += 1
        bounds[c] = k
    bounds[n_chunks] = u
    return bounds
