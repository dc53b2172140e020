"""Parallel chunks for the compiled kernels, run on torch's own OpenMP threads.

The kernels are serial ``numba.njit(nogil=True)`` functions over a range ``lo..hi`` of rows;
:func:`run_chunks` runs one range per thread. Where torch runs on GNU OpenMP (its Linux builds),
the ranges run on **torch's OpenMP team**: a small compiled wrapper (a numba ``cfunc``, one per
kernel and argument types) is handed to the runtime's ``GOMP_parallel``, from the library torch
itself loaded, so the threads that just ran a torch op pick up our chunks.

Why not numba's ``prange`` or a thread pool of our own: numba's ``omp`` layer loads a second
OpenMP runtime, and after each parallel region the worker threads of an OpenMP runtime spin for
a few milliseconds waiting for more work. A training step alternates torch ops and our kernels,
so a second team of threads (numba's, or ours) finds the cores busy with torch's spinning
workers, and each of our kernels waits for them (bench/results/NOTES.md has the figures).

``GOMP_parallel`` is GNU libgomp's entry point, called here with its C signature through ctypes:
the team is used only where that is known to hold, Linux with torch's runtime a ``libgomp``, and
only after a self-test at first use ran a trivial kernel on the team and found every chunk's
result. Everywhere else (macOS's libomp, Windows, a torch not built on OpenMP), in a forked child
(an OpenMP team does not survive ``fork``), for arguments the wrapper cannot pass (e.g.
non-contiguous arrays), and with ``EMBEDLAYER_OWN_THREADS=1``, the chunks run on a thread pool.

A chunk that raises is never run again: the kernels may not be idempotent (an optimizer update
applied twice to the rows written before the failure). On the pool its exception is re-raised
once every chunk has finished; on the team the exception cannot be brought back, so
:class:`~embedlayer.errors.KernelError` names the chunk instead.

The thread count follows ``torch.get_num_threads()`` (what ``--threads`` and
``torch.set_num_threads`` set).
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
import torch

from embedlayer.errors import KernelError

__all__ = ["num_threads", "omp_runtime", "run_chunks", "run_parallel"]

_pools: dict[int, ThreadPoolExecutor] = {}
_omp: list[_OpenMP | None] = []  # [] until looked up, then [the runtime or None]
_lock = threading.RLock()  # reentrant: the first lookup of the runtime builds a wrapper for its self-test


def _after_fork() -> None:
    _pools.clear()
    _omp[:] = [None]  # an OpenMP team does not survive fork(): a child runs on fresh threads of ours


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


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


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("fname", ctypes.c_char_p),
        ("fbase", ctypes.c_void_p),
        ("sname", ctypes.c_char_p),
        ("saddr", ctypes.c_void_p),
    ]


def _find_openmp() -> _OpenMP | None:
    """The OpenMP library torch itself calls, if torch runs on GNU OpenMP on Linux: the file
    holding the ``GOMP_parallel`` that libtorch_cpu's own symbol lookup finds (other copies may be
    loaded by numba, faiss or scikit-learn; a second team is what this module avoids)."""
    if os.environ.get("EMBEDLAYER_OWN_THREADS", "0") not in ("", "0"):
        return None
    if not sys.platform.startswith("linux") or "parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    libs = sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.*")))
    try:  # dlsym on libtorch_cpu's handle searches its dependencies: the runtime torch calls
        address = ctypes.cast(ctypes.CDLL(libs[0]).GOMP_parallel, ctypes.c_void_p)
        info = _DlInfo()
        if not ctypes.CDLL(None).dladdr(address, ctypes.byref(info)) or not info.fname:
            return None
        path = os.fsdecode(info.fname)
        if not os.path.basename(path).startswith("libgomp"):  # LLVM's or Intel's runtime: untested ABI
            return None
        return _OpenMP(path)
    except (IndexError, OSError, AttributeError):
        return None


@numba.njit(cache=True, nogil=True)
def _probe(out, lo, hi, base):  # pragma: no cover - compiled
    """The self-test's kernel: ``out[i] = base + i`` for lo <= i < hi; returns hi - lo."""
    for i in range(lo, hi):
        out[i] = base + i
    return hi - lo


def _verified(runtime: _OpenMP) -> bool:
    """Whether a trivial kernel runs on ``runtime``'s team with every chunk's writes and result."""
    bounds = np.array([0, 3, 7, 8, 12])
    out = np.zeros(12, np.int64)
    try:
        results = _on_team(runtime, _probe, (out, 100), [int(b) for b in bounds], 1)
    except Exception:  # noqa: BLE001 - any failure means: do not use this runtime
        return False
    return results == [3, 4, 1, 4] and bool((out == 100 + np.arange(12)).all())


_wrappers: dict[tuple[Any, ...], tuple[Any, bool, int] | None] = {}


def omp_runtime() -> str | None:
    """Path of the OpenMP library the chunks run on, or None where they run on our own threads."""
    if not _omp:
        with _lock:
            if not _omp:
                found = _find_openmp()
                _omp.append(found if found is not None and _verified(found) else None)
    runtime = _omp[0]
    return runtime.path if runtime is not None else None


_INT64 = (-(2**63), 2**63)


def _encode(args: Sequence[Any]) -> tuple[tuple[Any, ...], list[int]] | None:
    """A key for the kinds of ``args`` (per array: dtype, ndim, writeable) and their int64 words
    (an array: address then shape; a float: its float64 bits), or None when an argument cannot be
    passed through the wrapper (a non-contiguous, unaligned, byte-swapped or object array, an
    integer beyond int64, another type)."""
    kinds: list[Any] = []
    words: list[int] = []
    for arg in args:
        if isinstance(arg, np.ndarray):
            flags = arg.flags
            if (
                not flags.c_contiguous
                or not flags.aligned
                or arg.ndim == 0
                or arg.dtype.hasobject
                or not arg.dtype.isnative
            ):
                return None
            kinds.append((arg.dtype, arg.ndim, bool(flags.writeable)))
            words.append(arg.ctypes.data)
            words.extend(arg.shape)
        elif isinstance(arg, (bool, np.bool_)):
            kinds.append(np.dtype(np.bool_))
            words.append(int(arg))
        elif isinstance(arg, (int, np.integer)):
            if not _INT64[0] <= int(arg) < _INT64[1]:
                return None
            kinds.append(arg.dtype if isinstance(arg, np.generic) else np.dtype(np.int64))
            words.append(int(arg))
        elif isinstance(arg, (float, np.floating)):
            kinds.append(arg.dtype if isinstance(arg, np.generic) else np.dtype(np.float64))
            words.append(int(np.float64(arg).view(np.int64)))
        else:
            return None
    return tuple(kinds), words


def _numba_type(kind: Any) -> Any:
    """The numba type of an argument kind from :func:`_encode`: a C-contiguous array or a scalar."""
    if isinstance(kind, tuple):
        return numba.types.Array(numba.from_dtype(kind[0]), kind[1], "C", readonly=not kind[2])
    return numba.from_dtype(kind)


def _wrapper(kernel: Any, kinds: tuple[Any, ...], at: int, runtime: _OpenMP) -> tuple[Any, bool, int] | None:
    """A ``cfunc`` running ``kernel`` on chunks ``tid, tid + team, ...`` of the bounds stored in its
    data words, whether the kernel returns a value, and how many words the arguments take; None
    when the kernel returns something other than an integer (the caller uses the thread pool).

    Data words: the arguments (:func:`_encode`), the chunk count n, the n + 1 bounds, n result
    slots, and n failure flags (a chunk whose kernel raised). Built once per kernel, argument
    kinds and ``at`` (a fraction of a second of compiling)."""
    key = (kernel, kinds, at)
    if key in _wrappers:
        return _wrappers[key]
    with _lock:
        if key not in _wrappers:
            _wrappers[key] = _build_wrapper(kernel, kinds, at, runtime)
    return _wrappers[key]


def _build_wrapper(kernel: Any, kinds: tuple[Any, ...], at: int, runtime: _OpenMP) -> tuple[Any, bool, int] | None:
    from numba import carray, cfunc
    from numba.core import types as nt

    declared = tuple(_numba_type(kind) for kind in kinds)
    # as the thread pool would call it: a kernel that writes a read-only array fails to compile here
    kernel.compile((*declared[:at], nt.int64, nt.int64, *declared[at:]))
    types = tuple(t.copy(readonly=False) if isinstance(t, nt.Array) else t for t in declared)  # what carray makes
    full = (*types[:at], nt.int64, nt.int64, *types[at:])
    kernel.compile(full)
    result = kernel.overloads[full].signature.return_type
    if result != nt.none and not isinstance(result, nt.Integer):
        return None
    returns = result != nt.none
    scope: dict[str, Any] = {
        "carray": carray,
        "kernel": kernel,
        "_tid": runtime.thread_num,
        "_team": runtime.team_size,
        "_bits_f64": _bits_to_f64,
    }
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
    body = "\n    ".join(
        [
            *lines,
            f"n = data[{w}]",
            "team = _team()",
            "for c in range(_tid(), n, team):",
            "    try:",
            f"        {call}",
            "    except Exception:",
            f"        data[{w + 2} + 2 * n + c] = 1",
        ]
    )
    exec(f"def outlined(data):\n    {body}\n", scope)  # noqa: S102 - source built above from types only
    compiled = cfunc(numba.types.void(nt.CPointer(nt.int64)), nogil=True)(scope["outlined"])
    return compiled, returns, w


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


def run_chunks(
    kernel: Any, args: Sequence[Any], bounds: np.ndarray | Sequence[int], *, at: int | None = None
) -> list[Any]:
    """``kernel(*args[:at], lo, hi, *args[at:])`` for every chunk ``lo, hi = bounds[c], bounds[c + 1]``
    in parallel, one chunk per thread; returns the kernels' results in chunk order.

    ``kernel`` is a ``numba.njit(nogil=True)`` function whose chunks touch disjoint data;
    ``at`` (default: after all of ``args``) is where the two bounds go in its arguments. The
    chunks run on torch's OpenMP team where it has been verified (see the module docstring), else
    on :func:`run_parallel`'s threads. Every chunk runs once, also when one of them raises.

    Raises:
        KernelError: a chunk raised on the OpenMP team (the exception itself stays there).
        Exception: the first exception a chunk raised on the thread pool.
    """
    n = len(bounds) - 1
    at = len(args) if at is None else at
    lo_hi = [int(b) for b in bounds]
    runtime = _omp[0] if omp_runtime() is not None else None
    results = _on_team(runtime, kernel, args, lo_hi, at) if n > 1 and runtime is not None else None
    if results is not None:
        return results
    return run_parallel(lambda c: kernel(*args[:at], lo_hi[c], lo_hi[c + 1], *args[at:]), n)


def _on_team(runtime: _OpenMP, kernel: Any, args: Sequence[Any], lo_hi: list[int], at: int) -> list[Any] | None:
    """:func:`run_chunks` on ``runtime``'s team, or None where the wrapper cannot take the
    arguments or the kernel (the caller then uses the pool).

    Raises:
        KernelError: a chunk raised (it is not run again: the kernel may not be idempotent).
    """
    encoded = _encode(args)
    built = _wrapper(kernel, encoded[0], at, runtime) if encoded is not None else None
    if encoded is None or built is None:
        return None
    compiled, returns, w = built
    n = len(lo_hi) - 1
    data = np.array([*encoded[1], n, *lo_hi, *([0] * (2 * n))], dtype=np.int64)
    runtime.parallel(compiled.address, data.ctypes.data, min(n, num_threads()), 0)
    failed = np.flatnonzero(data[w + 2 + 2 * n :])
    if failed.size:
        c = int(failed[0])
        name = getattr(kernel, "__name__", repr(kernel))
        raise KernelError(
            f"{name}: chunk {c} of {n} (rows {lo_hi[c]}..{lo_hi[c + 1]}) raised on torch's OpenMP team "
            f"({failed.size} chunk(s) failed); expected no error. The other chunks ran, and the failed "
            f"ones may have written part of their rows: they are not run again (the kernel may not be "
            f"idempotent). Run with EMBEDLAYER_OWN_THREADS=1 to see the exception itself"
        )
    return [int(r) for r in data[w + 2 + n : w + 2 + 2 * n]] if returns else [None] * n
