"""run_chunks: kernels on torch's OpenMP team (where verified), with the same results as on our own
threads, every chunk run once."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from numba import njit
from numba.core.errors import TypingError

from embedlayer.errors import KernelError
from embedlayer.kernels import threads
from embedlayer.kernels.coalesce import balanced_chunks, coalesce
from embedlayer.kernels.lookup import gather, gather_rows
from embedlayer.kernels.threads import omp_runtime, run_chunks, run_parallel
from embedlayer.kernels.updates import sgd_apply

ON_OPENMP = "parallel backend: OpenMP" in torch.__config__.parallel_info()
ON_TEAM = omp_runtime() is not None


@pytest.fixture(params=["team", "pool"])
def path(request, monkeypatch):
    """Each test on torch's OpenMP team (where this machine has one) and on the thread pool."""
    if request.param == "team" and not ON_TEAM:
        pytest.skip("no verified OpenMP team here: the pool is the only path")
    if request.param == "pool":
        monkeypatch.setattr(threads, "_omp", [None])
    return request.param


@njit(nogil=True)
def _fill(out, lo, hi, value, scale, flag):
    """out[i] = value * scale + flag + i for lo <= i < hi; returns lo (a per-chunk result)."""
    for i in range(lo, hi):
        out[i] = value * scale + flag + i
    return lo


@njit(nogil=True)
def _thread_of(out, lo, hi):
    """Marks rows lo..hi-1 with the chunk's lo; no result."""
    for i in range(lo, hi):
        out[i] = lo


@pytest.mark.skipif(not (ON_OPENMP and sys.platform.startswith("linux")), reason="no GNU OpenMP torch here")
def test_runs_on_torchs_own_gnu_openmp_library():
    path = omp_runtime()
    assert path is not None and os.path.basename(path).startswith("libgomp")
    assert os.path.realpath(path).startswith(os.path.realpath(os.path.dirname(torch.__file__)) + os.sep)


@pytest.mark.skipif(not ON_TEAM, reason="no verified OpenMP team here")
def test_the_team_is_used_only_after_its_self_test_passes(monkeypatch):
    runtime = threads._omp[0]
    assert threads._verified(runtime)

    class Silent:  # a runtime whose "team" never runs the chunks: the self-test must reject it
        path, thread_num, team_size = runtime.path, runtime.thread_num, runtime.team_size

        @staticmethod
        def parallel(fn, data, n, flags):
            return None

    assert not threads._verified(Silent())
    monkeypatch.setattr(sys, "platform", "darwin")  # macOS's libomp, Windows: never the team
    assert threads._find_openmp() is None


def test_scalars_of_every_kind_and_bounds_in_the_middle_reach_the_kernel():
    out = np.zeros(10, np.float64)
    bounds = np.array([0, 3, 7, 10])
    results = run_chunks(_fill, (out, np.float32(1.5), 2, True), bounds, at=1)
    assert results == [0, 3, 7]
    assert np.array_equal(out, 1.5 * 2 + 1 + np.arange(10))
    out[:] = 0
    run_chunks(_fill, (out, 0.25, np.int32(-4), False), bounds, at=1)
    assert np.array_equal(out, -1.0 + np.arange(10))


@njit(nogil=True)
def _divide(out, lo, hi, by):
    for i in range(lo, hi):
        out[i] = 10 // by  # integer division by zero raises ZeroDivisionError
    return lo


@njit(nogil=True)
def _half(out, lo, hi):
    return lo / 2


@njit(nogil=True)
def _add_then_fail(table, lo, hi, bad):
    """Adds 1 to rows lo..hi-1 in turn, and raises on reaching row ``bad`` (not idempotent)."""
    for i in range(lo, hi):
        if i == bad:
            raise ValueError("bad row")
        table[i] += 1.0
    return hi - lo


def test_a_kernel_that_raises_raises_here_after_every_chunk_ran(path):
    out = np.zeros(8, np.int64)
    team_error = r"_divide: chunk 0 of 4 \(rows 0..2\) raised on torch's OpenMP team \(4 chunk\(s\) failed\)"
    with pytest.raises(KernelError, match=team_error) if path == "team" else pytest.raises(ZeroDivisionError):
        run_chunks(_divide, (out, 0), np.array([0, 2, 4, 6, 8]), at=1)
    assert run_chunks(_divide, (out, 5), np.array([0, 2, 4, 6, 8]), at=1) == [0, 2, 4, 6]
    assert np.array_equal(out, np.full(8, 2))


def test_a_chunk_that_fails_half_way_is_not_run_again(path):
    table = np.zeros((8, 3), np.float32)
    with pytest.raises(KernelError, match="chunk 1 of 2") if path == "team" else pytest.raises(ValueError, match="bad"):
        run_chunks(_add_then_fail, (table, 6), np.array([0, 4, 8]), at=1)
    # rows 4 and 5 were updated before row 6 failed: once, not again by a second run of the chunk
    assert np.array_equal(table[:, 0], [1, 1, 1, 1, 1, 1, 0, 0])


def test_non_integer_results_come_back_whole():
    assert run_chunks(_half, (np.zeros(4),), np.array([0, 1, 3])) == [0.0, 0.5]


def test_a_read_only_table_is_read_and_never_written():
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    table.flags.writeable = False
    out = np.zeros((6, 4), np.float32)
    ids = np.array([9, 0, 3, 3, 7, 1])
    assert run_chunks(gather_rows, (table, ids, out), np.array([0, 3, 6])) == [-1, -1]
    assert np.array_equal(out, table[ids])
    frozen = np.zeros(10)
    frozen.flags.writeable = False
    with pytest.raises(TypingError, match="readonly"):  # as the same call from Python would
        run_chunks(_fill, (frozen, 1.0, 1, True), np.array([0, 5, 10]), at=1)
    assert not frozen.any()


def test_every_chunk_runs_once_even_with_more_chunks_than_threads():
    out = np.full(100, -1, np.int64)
    bounds = np.arange(0, 101, 10)
    assert run_chunks(_thread_of, (out,), bounds) == [None] * 10
    assert np.array_equal(out, np.repeat(np.arange(0, 100, 10), 10))


def test_non_contiguous_arrays_take_the_thread_pool_path_with_the_same_result():
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    wide = np.zeros((6, 8), np.float32)
    out = wide[:, ::2]  # not contiguous: cannot be passed by address
    ids = np.array([9, 0, 3, 3, 7, 1])
    assert run_chunks(gather_rows, (table, ids, out), np.array([0, 3, 6])) == [-1, -1]
    assert np.array_equal(out, table[ids])


def test_sgd_driver_gives_the_same_table_on_both_paths():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, 5000)
    grads = rng.standard_normal((5000, 8)).astype(np.float32)
    heads, nxt, counts = coalesce(ids, -1)
    bounds = balanced_chunks(counts, 4)
    omp, pool = np.zeros((50, 8), np.float32), np.zeros((50, 8), np.float32)
    run_chunks(sgd_apply, (omp, ids, heads, nxt, grads, False, 1.0, 0.0), bounds, at=5)
    run_parallel(lambda c: sgd_apply(pool, ids, heads, nxt, grads, bounds[c], bounds[c + 1], False, 1.0, 0.0), 4)
    assert np.array_equal(omp, pool)
    expected = np.zeros((50, 8))
    np.add.at(expected, ids, -grads.astype(np.float64))
    assert np.allclose(omp, expected, atol=1e-4)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_a_forked_child_gathers_on_its_own_threads():
    """An OpenMP team does not survive fork() (torch's own parallel ops hang in such a child): the
    child's kernels must run on fresh threads of ours, not wait on the parent's team."""
    code = (
        "import os, torch, numpy as np\n"
        "from embedlayer.kernels.lookup import gather\n"
        "from embedlayer.kernels.threads import omp_runtime\n"
        "w = torch.arange(400000.0).reshape(100000, 4); ids = torch.arange(99999, -1, -1)\n"
        "expected = w.numpy()[::-1]\n"
        "assert np.array_equal(gather(w, ids).numpy(), expected)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = omp_runtime() is None and np.array_equal(gather(w, ids).numpy(), expected)\n"
        "    os._exit(0 if ok else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_gather_matches_index_select_on_a_large_table():
    weight = torch.randn(200_000, 16, generator=torch.Generator().manual_seed(1))
    ids = torch.randint(0, 200_000, (50_000,), generator=torch.Generator().manual_seed(2))
    assert torch.equal(gather(weight, ids), weight.index_select(0, ids))


def test_own_threads_on_request():
    code = (
        "import torch\n"
        "from embedlayer.kernels.lookup import gather\n"
        "from embedlayer.kernels.threads import omp_runtime\n"
        "w = torch.randn(50000, 8); ids = torch.randint(0, 50000, (40000,))\n"
        "assert omp_runtime() is None and torch.equal(gather(w, ids), w[ids])\n"
    )
    env = {**os.environ, "EMBEDLAYER_OWN_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
