"""The numba building blocks: coalescing, chunking, row rules called from other compiled code."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlayer._jit import njit_cached
from embedlayer.kernels.coalesce import ROW_COST, balanced_chunks, coalesce
from embedlayer.kernels.lookup import gather_rows
from embedlayer.kernels.threads import run_parallel
from embedlayer.kernels.updates import adam_row, sgd_row


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=80), st.sampled_from([-1, 0, 5]))
def test_coalesce_groups_every_occurrence_once(ids, padding):
    ids = np.array(ids, dtype=np.int64)
    heads, nxt, counts = coalesce(ids, padding)
    rows = ids[heads]
    expected = list(dict.fromkeys(r for r in ids.tolist() if r != padding))  # first-occurrence order
    assert rows.tolist() == expected
    seen = []
    for k, head in enumerate(heads):
        chain, i = [], head
        while i >= 0:
            chain.append(int(i))
            i = nxt[i]
        assert chain == [p for p in range(len(ids)) if ids[p] == rows[k]]  # batch order
        assert counts[k] == len(chain)
        seen += chain
    assert sorted(seen) == [p for p in range(len(ids)) if ids[p] != padding]


def test_coalesce_int32_ids_and_large_values():
    ids = np.array([2**40, 7, 2**40, 7, 3], dtype=np.int64)
    heads, _, counts = coalesce(ids, -1)
    assert ids[heads].tolist() == [2**40, 7, 3] and counts.tolist() == [2, 2, 1]
    heads32, _, counts32 = coalesce(np.array([5, 5, 1], dtype=np.int32), -1)
    assert heads32.tolist() == [0, 2] and counts32.tolist() == [2, 1]


@pytest.mark.parametrize("n_chunks", [1, 2, 3, 8])
def test_balanced_chunks_cover_all_rows_with_similar_cost(n_chunks):
    counts = np.array([1000] + [1] * 999, dtype=np.int64)  # one Zipf-like heavy row
    bounds = balanced_chunks(counts, n_chunks)
    assert bounds[0] == 0 and bounds[-1] == len(counts) and (np.diff(bounds) >= 0).all()
    cost = counts + ROW_COST
    per_chunk = [cost[bounds[c] : bounds[c + 1]].sum() for c in range(n_chunks)]
    assert sum(per_chunk) == cost.sum()
    assert max(per_chunk) <= cost.sum() / n_chunks + cost.max()


# other files' rules compiled in: the disk cache must see their edits (numba's cache=True would not)
_ROW_RULES = ("embedlayer.kernels.updates", "embedlayer.kernels.prefetch")


@njit_cached(sources=_ROW_RULES)
def _word2vec_like_update(weight, rows, grads, lr):
    # how other numba code (e.g. a pretraining kernel) calls the row rules
    for k in range(rows.shape[0]):
        sgd_row(weight, rows[k], grads, k, lr, 0.0)


def test_row_rules_are_callable_from_other_numba_code():
    weight = np.ones((4, 3), np.float32)
    _word2vec_like_update(weight, np.array([1, 3, 1]), np.arange(9, dtype=np.float32).reshape(3, 3), 0.5)
    expected = np.ones((4, 3), np.float32)
    expected[1] -= 0.5 * (np.arange(3) + np.arange(6, 9))
    expected[3] -= 0.5 * np.arange(3, 6)
    assert np.array_equal(weight, expected)


@njit_cached(sources=_ROW_RULES)
def _one_adam(weight, m, v, g, step):
    adam_row(weight, 0, m, v, 0, g, 0, 0.1, 0.9, 0.999, 1e-8, 0.0, False, step)


def test_adam_row_first_step_moves_by_lr():
    weight, m, v = np.zeros((1, 2), np.float32), np.zeros((1, 2), np.float32), np.zeros((1, 2), np.float32)
    _one_adam(weight, m, v, np.array([[2.0, -5.0]], np.float32), 1)
    assert np.allclose(weight, [[-0.1, 0.1]], atol=1e-6)
    assert np.allclose(m, [[0.2, -0.5]]) and np.allclose(v, [[0.004, 0.025]])


def test_gather_rows_reports_first_bad_id():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    out = np.empty((3, 3), np.float32)
    assert gather_rows(table, np.array([3, 0, 2]), out, 0, 3) == -1
    assert np.array_equal(out, table[[3, 0, 2]])
    assert gather_rows(table, np.array([1, 4, -1]), out, 0, 3) == 1
    assert gather_rows(table, np.array([1, 4, -1]), out, 2, 3) == 2


def test_run_parallel_returns_every_chunk_and_reraises():
    assert run_parallel(lambda c: c * 10, 3) == [0, 10, 20]

    def fail(c):
        if c == 2:
            raise ValueError("chunk 2")
        return c

    with pytest.raises(ValueError, match="chunk 2"):
        run_parallel(fail, 3)
