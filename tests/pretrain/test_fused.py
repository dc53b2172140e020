"""The fused CBOW and skip-gram steps equal the same sums written out in float64 numpy, repeated rows included."""

import numpy as np
import pytest
from numba import njit

from embedlayer.pretrain.fused import (
    MAX_WIDTH,
    add_rows,
    cbow_backward,
    cbow_forward,
    fits,
    mean_rows,
    score_rows,
    sg_backward,
    sg_forward,
    step_rows,
)


@njit
def _four_steps(syn0, rows, syn1, outs, hidden, scores, coef, grad):
    """A CBOW example in four calls (as the subword skip-gram uses them); returns the input
    gradient (``grad`` is cleared)."""
    start = grad.copy()
    mean_rows(syn0, rows, len(rows), hidden)
    score_rows(hidden, syn1, outs, len(outs), scores)
    step_rows(hidden, syn1, outs, len(outs), coef, grad)
    step = grad - start
    add_rows(syn0, rows, len(rows), grad)
    return step


@njit
def _two_steps(syn0, rows, syn1, outs, hidden, scores, coef, grad):
    """The same in two calls."""
    cbow_forward(syn0, rows, len(rows), syn1, outs, len(outs), hidden, scores)
    cbow_backward(syn0, rows, len(rows), syn1, outs, len(outs), hidden, coef)


@pytest.mark.parametrize("width", [16, 48, 112, MAX_WIDTH])
@pytest.mark.parametrize("steps", [_four_steps, _two_steps])
def test_cbow_example_matches_numpy(width, steps):
    rng = np.random.default_rng(width)
    syn0 = rng.normal(size=(9, width)).astype(np.float32)
    syn1 = rng.normal(size=(7, width)).astype(np.float32)
    rows = np.array([4, 1, 4, 8, 0], np.int64)  # a context word twice
    outs = np.array([2, 5, 6, 5], np.int64)  # a noise word twice
    coef = rng.normal(size=len(outs)).astype(np.float32)
    hidden, scores = np.zeros(width, np.float32), np.zeros(len(outs), np.float32)

    s0, s1 = syn0.astype(np.float64), syn1.astype(np.float64)
    want_hidden = s0[rows].mean(axis=0)
    want_scores = s1[outs] @ want_hidden
    grad = coef.astype(np.float64) @ s1[outs]  # from the output rows before their update
    np.add.at(s1, outs, coef[:, None].astype(np.float64) * want_hidden)
    np.add.at(s0, rows, grad)

    grad_in = np.zeros(width, np.float32)
    got = steps(syn0, rows, syn1, outs, hidden, scores, coef, grad_in)
    if steps is _four_steps:
        np.testing.assert_allclose(got, grad, rtol=1e-5, atol=1e-5)
        assert not grad_in.any()  # add_rows leaves it cleared for the next example
    np.testing.assert_allclose(hidden, want_hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(syn1, s1, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(syn0, s0, rtol=1e-5, atol=1e-5)


@njit
def _sg_step(syn0, ctx, syn1, outs, scores, coef, scratch):
    sg_forward(syn0, ctx, len(ctx), syn1, outs, len(outs), scores)
    sg_backward(syn0, ctx, len(ctx), syn1, outs, len(outs), coef, scratch)


@pytest.mark.parametrize("width", [16, 64, 112, MAX_WIDTH])
def test_skipgram_window_matches_numpy(width):
    rng = np.random.default_rng(width)
    syn0 = rng.normal(size=(9, width)).astype(np.float32)
    syn1 = rng.normal(size=(7, width)).astype(np.float32)
    ctx = np.array([1, 2, 2, 4, 8], np.int64)  # a context word twice
    outs = np.array([3, 5, 0, 5], np.int64)  # a noise word twice
    coef = rng.normal(size=len(ctx) * len(outs)).astype(np.float32)
    scores = np.zeros(len(ctx) * len(outs), np.float32)

    s0, s1 = syn0.astype(np.float64), syn1.astype(np.float64)
    c = coef.astype(np.float64).reshape(len(ctx), len(outs))
    want_scores = (s0[ctx] @ s1[outs].T).ravel()
    step0, step1 = c @ s1[outs], c.T @ s0[ctx]  # both from the rows as they were
    np.add.at(s0, ctx, step0)
    np.add.at(s1, outs, step1)

    _sg_step(syn0, ctx, syn1, outs, scores, coef, np.zeros((len(ctx), width), np.float32))
    np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(syn0, s0, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(syn1, s1, rtol=1e-5, atol=1e-5)


def test_rows_not_named_are_untouched():
    rng = np.random.default_rng(0)
    syn0, syn1 = rng.normal(size=(6, 32)).astype(np.float32), rng.normal(size=(6, 32)).astype(np.float32)
    before0, before1 = syn0.copy(), syn1.copy()
    _two_steps(
        syn0,
        np.array([1, 3]),
        syn1,
        np.array([0, 2]),
        np.zeros(32, np.float32),
        np.zeros(2, np.float32),
        np.ones(2, np.float32),
        np.zeros(32, np.float32),
    )
    assert np.array_equal(syn0[[0, 2, 4, 5]], before0[[0, 2, 4, 5]])
    assert np.array_equal(syn1[[1, 3, 4, 5]], before1[[1, 3, 4, 5]])
    assert not np.array_equal(syn0[1], before0[1]) and not np.array_equal(syn1[2], before1[2])


def test_tables_that_do_not_fit_are_left_alone():
    syn0, syn1 = np.ones((4, 24), np.float32), np.ones((4, 24), np.float32)  # 1.5 vectors a row
    _two_steps(
        syn0,
        np.array([1]),
        syn1,
        np.array([2]),
        np.zeros(24, np.float32),
        np.zeros(1, np.float32),
        np.ones(1, np.float32),
        np.zeros(24, np.float32),
    )
    assert (syn0 == 1).all() and (syn1 == 1).all()


def test_fits_only_whole_vectors_up_to_the_register_budget():
    assert [fits(w) for w in (16, 112, MAX_WIDTH)] == [True, True, True]
    assert [fits(w) for w in (0, 8, 100, MAX_WIDTH + 16)] == [False, False, False, False]
