"""Each update is exactly -lr times the gradient of the negative-sampling loss (finite differences)."""

import numpy as np
import pytest

from embedlayer.pretrain.kernels import output_step, sg_window


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _sg_loss(syn0, syn1, ctx, outs):
    """sum over contexts c of -log σ(u_c·v_out0) - Σ_k log σ(-u_c·v_outk), in float64."""
    scores = syn0[ctx] @ syn1[outs].T  # (C, O)
    return float(-_log_sigmoid(scores[:, 0]).sum() - _log_sigmoid(-scores[:, 1:]).sum())


def _cbow_loss(hidden, syn1, outs):
    scores = syn1[outs] @ hidden
    return float(-_log_sigmoid(scores[0]) - _log_sigmoid(-scores[1:]).sum())


def _numeric_grad(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = f()
        x[idx] = old - eps
        down = f()
        x[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_skipgram_window_update_is_minus_lr_times_gradient(seed):
    rng = np.random.default_rng(seed)
    vocab, dim, lr = 7, 5, 0.01
    syn0 = rng.normal(0, 0.8, (vocab, dim))
    syn1 = rng.normal(0, 0.8, (vocab, dim))
    ctx = np.array([1, 2, 2, 4], dtype=np.int64)  # a repeated context word
    outs = np.array([3, 5, 0, 5], dtype=np.int64)  # positive 3; noise words with a repeat
    loss64 = _sg_loss(syn0, syn1, ctx, outs)
    g0 = _numeric_grad(lambda: _sg_loss(syn0, syn1, ctx, outs), syn0)
    g1 = _numeric_grad(lambda: _sg_loss(syn0, syn1, ctx, outs), syn1)

    s0, s1 = syn0.astype(np.float32), syn1.astype(np.float32)
    win, wout = np.empty((4, dim), np.float32), np.empty((4, dim), np.float32)
    coef = np.empty((4, 4))
    loss = sg_window(s0, s1, ctx, len(ctx), outs, len(outs), lr, win, wout, coef, True)
    assert loss == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(s0 - syn0.astype(np.float32), -lr * g0, atol=2e-6)
    np.testing.assert_allclose(s1 - syn1.astype(np.float32), -lr * g1, atol=2e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_output_step_is_minus_lr_times_gradient(seed):
    rng = np.random.default_rng(seed)
    vocab, dim, lr = 6, 4, 0.05
    syn1 = rng.normal(0, 0.7, (vocab, dim))
    hidden = rng.normal(0, 0.7, dim)
    outs = np.array([2, 0, 4, 0], dtype=np.int64)  # a repeated noise word
    loss64 = _cbow_loss(hidden, syn1, outs)
    g_hidden = _numeric_grad(lambda: _cbow_loss(hidden, syn1, outs), hidden)
    g_out = _numeric_grad(lambda: _cbow_loss(hidden, syn1, outs), syn1)
    s1 = syn1.astype(np.float32)
    grad = np.zeros(dim, np.float32)
    loss = output_step(hidden.astype(np.float32), s1, outs, len(outs), lr, grad, np.empty(len(outs), np.float32), True)
    assert loss == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad, -lr * g_hidden, atol=2e-6)
    np.testing.assert_allclose(s1 - syn1.astype(np.float32), -lr * g_out, atol=2e-6)


def test_loss_of_zero_output_vectors_is_log2_per_term():
    dim = 8
    syn0 = np.random.default_rng(0).normal(size=(5, dim)).astype(np.float32)
    syn1 = np.zeros((5, dim), np.float32)
    ctx, outs = np.array([0, 1, 2], np.int64), np.array([3, 4, 0], np.int64)
    loss = sg_window(
        syn0,
        syn1,
        ctx,
        3,
        outs,
        3,
        0.0,
        np.empty((3, dim), np.float32),
        np.empty((3, dim), np.float32),
        np.empty((3, 3)),
        True,
    )
    assert loss == pytest.approx(9 * np.log(2), rel=1e-6)


def test_extreme_scores_stay_finite():
    dim = 4
    syn0 = np.full((2, dim), 30.0, np.float32)
    syn1 = np.full((2, dim), 30.0, np.float32)  # score 3600: far beyond the table
    loss = sg_window(
        syn0,
        syn1,
        np.array([0], np.int64),
        1,
        np.array([1, 1], np.int64),
        2,
        0.001,
        np.empty((1, dim), np.float32),
        np.empty((2, dim), np.float32),
        np.empty((1, 2)),
        True,
    )
    assert np.isfinite(loss) and loss > 50  # the noise term is hopelessly wrong: -log σ(-60) ≈ 60
    assert np.isfinite(syn0).all() and np.isfinite(syn1).all()
