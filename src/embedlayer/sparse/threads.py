"""Parallel chunks for the compiled kernels: our own blocking threads, not numba's OpenMP.

The kernels are serial ``numba.njit(nogil=True)`` functions over a range of rows; this module
runs chunk 0 on the calling thread and the others on a small pool, so they execute in parallel
(the GIL is released inside the kernels). Why not ``numba.prange``: torch runs its ops on its own
OpenMP runtime, and numba's ``omp`` layer loads a second one; the worker threads of each runtime
spin for milliseconds after every parallel region, so a training step that alternates torch ops
and numba kernels has two teams fighting over the cores (measured on 2 cores: a 3 ms torch loss
took 16 ms, a 0.6 ms kernel 8 ms). Pool threads block on a queue when idle instead.

The thread count follows ``torch.get_num_threads()`` (what ``--threads`` and
``torch.set_num_threads`` set). The pools are created on first use, one per size, and are
forgotten in a forked child (whose copy would have no threads).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import torch

__all__ = ["num_threads", "run_parallel"]

_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def _forget_pools() -> None:
    _pools.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def num_threads() -> int:
    """Threads the kernels use: torch's intra-op thread count."""
    return max(1, torch.get_num_threads())


def _pool(workers: int) -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            pool = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="embedlayer-sparse")
        return pool


def run_parallel(work: Callable[[int], object], n_chunks: int) -> list[object]:
    """``[work(0), ..., work(n_chunks - 1)]``, chunk 0 here and the rest on pool threads.

    ``work`` should be a ``nogil`` numba kernel call on disjoint data. The first exception raised
    by any chunk is re-raised after every chunk has finished.
    """
    if n_chunks <= 1:
        return [work(0)]
    futures: list[Future] = [_pool(n_chunks - 1).submit(work, c) for c in range(1, n_chunks)]
    first: object = None
    error: BaseException | None = None
    try:
        first = work(0)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, after the other chunks finish
        error = exc
    results = [first]
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:  # noqa: BLE001
            error = error or exc
    if error is not None:
        raise error
    return results
