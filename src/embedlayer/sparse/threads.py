"""Parallel chunks for the compiled kernels, run on torch's own OpenMP threads.

The kernels are serial ``numba.njit(nogil=True)`` functions over a range ``lo..hi`` of rows;
:func:`run_chunks` runs one range per thread. Where torch runs on OpenMP (its Linux and macOS
builds), the ranges run on **torch's OpenMP team**: a small compiled wrapper (a numba ``cfunc``,
one per kernel and argument types) is handed to the runtime's ``GOMP_parallel``, from the
library torch itself loaded, so the threads that just ran a torch op pick up our chunks.

Why not numba's ``prange`` or a thread pool of our own: numba's ``omp`` layer loads a second
OpenMP runtime, and after each parallel region the worker threads of an OpenMP runtime spin for
a few milliseconds waiting for more work. A training step alternates torch ops and our kernels,
so a second team of threads (numba's, or ours) finds the cores busy with torch's spinning
workers: measured on 2 cores, a 32k-row gather took 2.5 ms on our own threads right after a
torch op and 1.2 ms on torch's team, where ``index_select`` takes 1.4 ms. The thread pool below
is kept as the fallback: where torch's runtime is not OpenMP or has no ``GOMP_parallel``, for
arguments the wrapper cannot pass (non-contiguous arrays), and in tests that compare both paths.

The thread count follows ``torch.get_num_threads()`` (what ``--threads`` and
``torch.set_num_threads`` set).
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

__all__ = ["num_threads", "omp_runtime", "run_chunks", "run_parallel"]

_pools: dict[int, ThreadPoolExecutor] = {}
_omp: list[_OpenMP | None] = []  # [] until looked up, then [the runtime or None]
_lock = threading.Lock()


def _forget_pools() -> None:
    _pools.clear()
    _omp[:] = [None]  # an OpenMP team does not survive fork(): a child runs on fresh threads of ours


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
    """``[work(0), ..., work(n_chunks - 1)]``, chunk 0 here and the rest on a pool of our threads.

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


class _OpenMP:
    """torch's OpenMP runtime: ``GOMP_parallel`` and the thread-number queries, via ctypes."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        self.path = path
        self.parallel = lib.GOMP_parallel  # (void (*fn)(void *), void *data, unsigned threads, unsigned flags)
        self.parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        self.parallel.restype = None
        self.thread_num, self.team_size = lib.omp_get_thread_num, lib.omp_get_num_threads
        for fn in (self.thread_num, self.team_size):
            fn.argtypes, fn.restype = [], ctypes.c_int


def _find_openmp() -> _OpenMP | None:
    """The OpenMP library torch loaded (from the process's memory map), if torch uses OpenMP."""
    if os.environ.get("EMBEDLAYER_OWN_THREADS") or "parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if re.search(r"/lib(i?omp|gomp)[^/]*$", line)}
    except OSError:
        return None
    torch_dir = os.path.dirname(torch.__file__)
    for path in sorted(paths, key=lambda p: not p.startswith(torch_dir)):  # torch's own copy first
        try:
            return _OpenMP(path)
        except (OSError, AttributeError):
            continue
    return None


_wrappers: dict[tuple[Any, ...], tuple[Any, bool, int]] = {}


def omp_runtime() -> str | None:
    """Path of the OpenMP library the chunks run on, or None where they run on our own threads."""
    if not _omp:
        with _lock:
            if not _omp:
                _omp.append(_find_openmp())
    runtime = _omp[0]
    return runtime.path if runtime is not None else None


def _encode(args: Sequence[Any]) -> tuple[tuple[Any, ...], list[int]] | None:
    """A key for the kinds of ``args`` (per array: dtype and ndim) and their int64 words (an
    array: address then shape; a float: its float64 bits), or None when an argument cannot be
    passed through the wrapper (a non-contiguous or object array, another type)."""
    kinds: list[Any] = []
    words: list[int] = []
    for arg in args:
        if isinstance(arg, np.ndarray):
            if not arg.flags.c_contiguous or arg.dtype.hasobject or arg.ndim == 0:
                return None
            kinds.append((arg.dtype, arg.ndim))
            words.append(arg.ctypes.data)
            words.extend(arg.shape)
        elif isinstance(arg, (bool, np.bool_)):
            kinds.append(np.dtype(np.bool_))
            words.append(int(arg))
        elif isinstance(arg, (int, np.integer, float, np.floating)):
            kind = np.dtype(type(arg)) if isinstance(arg, np.generic) else np.dtype(np.int64 if isinstance(arg, int)
                                                                                   else np.float64)
            kinds.append(kind)
            words.append(int(np.float64(arg).view(np.int64)) if kind.kind == "f" else int(arg))
        else:
            return None
    return tuple(kinds), words


def _numba_type(kind: Any) -> Any:
    """The numba type of an argument kind from :func:`_encode`: a C-contiguous array or a scalar."""
    import numba

    if isinstance(kind, tuple):
        return numba.types.Array(numba.from_dtype(kind[0]), kind[1], "C")
    return numba.from_dtype(kind)


def _wrapper(kernel: Any, kinds: tuple[Any, ...], at: int, runtime: _OpenMP) -> tuple[Any, bool, int]:
    """A ``cfunc`` running ``kernel`` on chunks ``tid, tid + team, ...`` of the bounds stored in its
    data words, and whether the kernel returns a value (stored per chunk), and the words of args.

    Data words: the arguments (:func:`_encode`), then the chunk count n, the n + 1 bounds, and
    n result slots."""
    import numba
    from numba import carray, cfunc
    from numba.core import types as nt

    key = (kernel, kinds, at)
    cached = _wrappers.get(key)
    if cached is not None:
        return cached
    types = tuple(_numba_type(kind) for kind in kinds)
    full = (*types[:at], nt.int64, nt.int64, *types[at:])
    kernel.compile(full)
    returns = kernel.overloads[full].signature.return_type != nt.none
    scope: dict[str, Any] = {"carray": carray, "kernel": kernel, "_tid": runtime.thread_num,
                             "_team": runtime.team_size, "_bits_f64": _bits_to_f64}
    lines, names, w = [], [], 0
    for i, t in enumerate(types):
        if isinstance(t, nt.Array):
            scope[f"_p{i}"] = _as_pointer(t.dtype)
            shape = ", ".join(f"data[{w + 1 + d}]" for d in range(t.ndim))
            lines.append(f"a{i} = carray(_p{i}(data[{w}]), ({shape},))")
            w += 1 + t.ndim
        elif t == nt.boolean:
            lines.append(f"a{i} = data[{w}] != 0")
            w += 1
        else:
            scope[f"_t{i}"] = np.dtype(str(t)).type
            lines.append(f"a{i} = _t{i}({'_bits_f64' if isinstance(t, nt.Float) else ''}(data[{w}]))")
            w += 1
        names.append(f"a{i}")
    call_args = ", ".join([*names[:at], f"data[{w + 1} + c]", f"data[{w + 2} + c]", *names[at:]])
    call = f"data[{w + 2} + n + c] = kernel({call_args})" if returns else f"kernel({call_args})"
    body = "\n    ".join([*lines, f"n = data[{w}]", "team = _team()", "for c in range(_tid(), n, team):",
                          f"    {call}"])
    exec(f"def outlined(data):\n    {body}\n", scope)  # noqa: S102 - source built above from types only
    compiled = cfunc(numba.types.void(nt.CPointer(nt.int64)), nogil=True)(scope["outlined"])
    result = _wrappers[key] = (compiled, returns, w)
    return result


def _intrinsics() -> tuple[Callable[..., Any], Any]:
    from numba.core import types as nt
    from numba.extending import intrinsic

    pointer_makers: dict[Any, Any] = {}

    def as_pointer(dtype: Any) -> Any:
        if dtype not in pointer_makers:
            def make(typingctx: Any, address: Any) -> Any:
                sig = nt.CPointer(dtype)(nt.int64)
                return sig, lambda context, builder, s, a: builder.inttoptr(a[0], context.get_value_type(s.return_type))
            make.__name__ = f"as_{dtype}_pointer"
            pointer_makers[dtype] = intrinsic(make)
        return pointer_makers[dtype]

    def bits_to_f64(typingctx: Any, bits: Any) -> Any:
        from llvmlite import ir
        return nt.float64(nt.int64), lambda context, builder, s, a: builder.bitcast(a[0], ir.DoubleType())

    return as_pointer, intrinsic(bits_to_f64)


_as_pointer, _bits_to_f64 = _intrinsics()


def run_chunks(kernel: Any, args: Sequence[Any], bounds: np.ndarray | Sequence[int], *,
               at: int | None = None) -> list[Any]:
    """``kernel(*args[:at], lo, hi, *args[at:])`` for every chunk ``lo, hi = bounds[c], bounds[c + 1]``
    in parallel, one chunk per thread; returns the kernels' results in chunk order.

    ``kernel`` is a ``numba.njit(nogil=True)`` function whose chunks touch disjoint data;
    ``at`` (default: after all of ``args``) is where the two bounds go in its arguments. The
    chunks run on torch's OpenMP team when it has one (see the module docstring), else on
    :func:`run_parallel`'s threads.
    """
    n = len(bounds) - 1
    at = len(args) if at is None else at
    lo_hi = [int(b) for b in bounds]
    if n <= 1 or omp_runtime() is None or (encoded := _encode(args)) is None:
        return run_parallel(lambda c: kernel(*args[:at], lo_hi[c], lo_hi[c + 1], *args[at:]), n)
    runtime = _omp[0]
    assert runtime is not None
    kinds, words = encoded
    compiled, returns, w = _wrapper(kernel, kinds, at, runtime)
    data = np.array([*words, n, *lo_hi, *([0] * n)], dtype=np.int64)
    runtime.parallel(compiled.address, data.ctypes.data, min(n, num_threads()), 0)
    return [int(r) for r in data[w + 2 + n:]] if returns else [None] * n
