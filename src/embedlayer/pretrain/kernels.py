"""Compiled (numba) kernels of skip-gram and CBOW training with negative sampling.

Two tables are trained: ``syn0`` (V or V + buckets rows: the *input* vectors, the ones users keep)
and ``syn1`` (V rows: the *output* vectors the noise-contrastive loss scores against). Threads run
whole work chunks (groups of sentences) at once and update the shared tables without locks
(Hogwild, as word2vec, gensim and fastText do); each chunk draws from its own generator, so one
thread and one seed always give the same vectors.

The loss of one positive example (a word and one of its contexts) with noise words ``n_k`` is::

    -log σ(u·v) - Σ_k log σ(-u·v_{n_k})

and every update below is exactly ``-lr`` times its gradient (σ interpolated in a fine table, see
``_prob``), which ``tests/pretrain/test_kernels.py`` checks by finite differences.

- **skip-gram, words only** (``sg_window``): for each position, the contexts in its window are
  the inputs and the word itself plus ``negative`` noise words, drawn once and shared by the whole
  window, are the outputs. The (contexts × outputs) scores form one small matrix product, so each
  output row is read once per window instead of once per context (Ji et al. 2016, "Parallelizing
  Word2Vec in Shared and Distributed Memory"); the loss is the same sum as word2vec's, with the
  noise words shared.
- **skip-gram with subwords** (``output_step`` per context): fastText's direction: the word's
  input vector is the mean of its own row and its character n-gram rows; it predicts each context
  word against ``negative`` noise words of its own. The n-gram rows are read and written once per
  position (fastText does it once per context, the main reason it is slow).
- **CBOW**: the mean of the context words' input vectors (with subwords: of all their rows)
  predicts the word; the error is added in full to every input row (word2vec's ``cbow_mean`` and
  fastText's convention).

Tables up to ``fused.MAX_WIDTH`` floats wide (dim 320) take the row arithmetic of ``fused``, which
keeps the vectors a row is combined with in registers (1.5-1.7x faster); wider ones the numba
loops here (``sg_window``, ``_mean_rows``, ``output_step``, ``_add_rows``), which compute the same.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from embedlayer._jit import njit_cached
from embedlayer.kernels.prefetch import prefetch_row
from embedlayer.pretrain.fused import (
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
from embedlayer.pretrain.sampling import below, draw_noise, low32, next_state, output

__all__ = ["CBOW", "SKIPGRAM", "output_step", "sg_window", "subsample", "train_chunk"]

SKIPGRAM = 0
CBOW = 1
_TINY = 1e-250  # flush the running product of probabilities into the log sum below this
_CLIP = 60.0  # exp(60) is far from float64's limits; |score| > 60 never happens in practice
_REDRAWS = 8  # a noise word equal to the target is drawn again, at most this many times


_SIG_RANGE = 8.0  # the table covers |score| < 8; beyond, σ is computed from exp
_SIG_STEPS = 2048
_SIG_SCALE = _SIG_STEPS / _SIG_RANGE
# σ(-x) for x in [0, 8] (the smaller of σ(±x), kept with float32's full relative precision), 8 KB:
# small enough to stay in L1 cache beside the rows
_SIG_SMALL = (1.0 / (1.0 + np.exp(np.linspace(0.0, _SIG_RANGE, _SIG_STEPS + 1)))).astype(np.float32)


@njit(inline="always")
def _prob(score: float | np.float32, positive: bool) -> tuple[float, float]:
    """(σ(score) - label, probability the model gives the right answer).

    The smaller of σ(±score) is interpolated linearly in a 2049-point table over [0, 8]
    (absolute error below 2e-7, relative below 2e-6: far under float32's resolution of the
    updates) and the larger is 1 minus it; beyond ±8 the smaller is computed from ``exp``."""
    s = float(score)
    a = abs(s)
    if a < _SIG_RANGE:
        t = a * _SIG_SCALE
        i = int(t)
        small = _SIG_SMALL[i] + (t - i) * (_SIG_SMALL[i + 1] - _SIG_SMALL[i])
    else:
        e = math.exp(-min(a, _CLIP))
        small = e / (1.0 + e)
    large = 1.0 - small
    p, q = (large, small) if s >= 0.0 else (small, large)  # σ(s), σ(-s)
    if positive:
        return -q, p
    return p, q


@njit(fastmath=True, nogil=True, cache=True)
def sg_window(syn0, syn1, ctx, nc, outs, nout, lr, win, wout, coef, want_loss) -> float:
    """One skip-gram window: inputs ``syn0[ctx[:nc]]``, outputs ``syn1[outs[:nout]]`` with
    ``outs[0]`` the positive word and the rest noise words. Updates both tables in place.

    ``win`` (>= nc, D), ``wout`` (>= nout, D) and ``coef`` (>= nc, >= nout) are scratch arrays.
    Returns the summed loss of the ``nc`` positive examples (0.0 unless ``want_loss``).
    """
    g: float | np.float32  # σ - label (float64) while scoring, then a float32 step (no code: a type)
    dim = syn0.shape[1]
    for c in range(nc):
        row = ctx[c]
        for d in range(dim):
            win[c, d] = syn0[row, d]
    for o in range(nout):
        row = outs[o]
        for d in range(dim):
            wout[o, d] = syn1[row, d]
    loss = 0.0
    product = 1.0
    for c in range(nc):
        for o in range(nout):
            score = np.float32(0.0)
            for d in range(dim):
                score += win[c, d] * wout[o, d]
            g, p = _prob(score, o == 0)
            coef[c, o] = -lr * g
            if want_loss:
                product *= p
                if product < _TINY:
                    loss -= math.log(product)
                    product = 1.0
    for c in range(nc):
        row = ctx[c]
        for o in range(nout):
            g = np.float32(coef[c, o])
            for d in range(dim):
                syn0[row, d] += g * wout[o, d]
    for o in range(nout):
        row = outs[o]
        for c in range(nc):
            g = np.float32(coef[c, o])
            for d in range(dim):
                syn1[row, d] += g * win[c, d]
    if want_loss:
        loss -= math.log(product)
    return loss


@njit(inline="always")
def _coefs(scores, nout, lr, coef, want_loss) -> float:
    """``coef[o] = -lr * (σ(scores[o]) - label_o)`` for o < ``nout`` (label 1 for o = 0, the
    positive word; ``coef`` may be ``scores`` itself). Returns the loss of the example (0.0 unless
    ``want_loss``)."""
    product = 1.0
    for o in range(nout):
        g, p = _prob(scores[o], o == 0)
        coef[o] = np.float32(-lr * g)
        if want_loss:
            product *= p
    return -math.log(product) if want_loss else 0.0


@njit(fastmath=True, nogil=True, cache=True)
def output_step(hidden, syn1, outs, nout, lr, grad, coef, want_loss) -> float:
    """Score ``hidden`` (D,) against ``syn1[outs[:nout]]`` (``outs[0]`` positive, the rest noise;
    ``coef`` (>= nout,) float32 scratch), then update those output rows in place and add the
    gradient for the input side into ``grad`` (D,): all scores first, so the step is exactly
    ``-lr`` times the gradient. Returns the loss of this one example (0.0 unless ``want_loss``)."""
    dim = hidden.shape[0]
    for o in range(nout):
        row = outs[o]
        score = np.float32(0.0)
        for d in range(dim):
            score += hidden[d] * syn1[row, d]
        coef[o] = score
    loss = _coefs(coef, nout, lr, coef, want_loss)
    for o in range(nout):
        row, g = outs[o], coef[o]
        for d in range(dim):
            grad[d] += g * syn1[row, d]
    for o in range(nout):
        row, g = outs[o], coef[o]
        for d in range(dim):
            syn1[row, d] += g * hidden[d]
    return loss


@njit(inline="always")
def _output(hidden, syn1, outs, nout, lr, grad, coef, want_loss, fused) -> float:
    """``output_step``, fused or as loops."""
    if fused:
        score_rows(hidden, syn1, outs, nout, coef)
        loss = _coefs(coef, nout, lr, coef, want_loss)
        step_rows(hidden, syn1, outs, nout, coef, grad)
        return loss
    return output_step(hidden, syn1, outs, nout, lr, grad, coef, want_loss)


@njit(inline="always")
def _cbow_example(syn0, rows, nrows, syn1, outs, nout, lr, hidden, grad, coef, want_loss, fused) -> float:
    """One CBOW example: the mean of ``syn0[rows[:nrows]]`` predicts ``outs[0]`` against the noise
    words ``outs[1:nout]``; updates both tables. Returns its loss (0.0 unless ``want_loss``)."""
    if fused:
        cbow_forward(syn0, rows, nrows, syn1, outs, nout, hidden, coef)
        loss = _coefs(coef, nout, lr, coef, want_loss)
        cbow_backward(syn0, rows, nrows, syn1, outs, nout, hidden, coef)
        return loss
    _mean_rows(syn0, rows, nrows, hidden, False)
    loss = output_step(hidden, syn1, outs, nout, lr, grad, coef, want_loss)
    _add_rows(syn0, rows, nrows, grad, False)
    return loss


@njit(inline="always")
def _sg_example(syn0, ctx, nc, syn1, outs, nout, lr, win, wout, coef, scores, want_loss, fused) -> float:
    """One skip-gram window (``sg_window``), fused or as loops; ``scores`` (>= nc * nout,) float32
    scratch for the fused path. Returns the summed loss of its ``nc`` examples."""
    if not fused:
        return sg_window(syn0, syn1, ctx, nc, outs, nout, lr, win, wout, coef, want_loss)
    sg_forward(syn0, ctx, nc, syn1, outs, nout, scores)
    loss = 0.0
    for c in range(nc):
        part = scores[c * nout : (c + 1) * nout]
        loss += _coefs(part, nout, lr, part, want_loss)
    sg_backward(syn0, ctx, nc, syn1, outs, nout, scores, win)
    return loss


@njit(inline="always")
def _noise(outs, start, count, target, state, noise):
    """Fill ``outs[start:start+count]`` with noise words different from ``target`` (drawn again
    up to _REDRAWS times). Returns the new generator state."""
    for k in range(count):
        word = target
        for _ in range(_REDRAWS):
            state = next_state(state)
            word = draw_noise(output(state), noise)
            if word != target:
                break
        outs[start + k] = word
    return state


@njit(inline="always")
def _mean_rows(syn0, rows, nrows, hidden, fused):
    """``hidden = mean(syn0[rows[:nrows]])``."""
    if fused:
        mean_rows(syn0, rows, nrows, hidden)
        return
    dim = syn0.shape[1]
    for d in range(dim):
        hidden[d] = 0.0
    for r in range(nrows):
        row = rows[r]
        for d in range(dim):
            hidden[d] += syn0[row, d]
    scale = np.float32(1.0 / nrows)
    for d in range(dim):
        hidden[d] *= scale


@njit(inline="always")
def _add_rows(syn0, rows, nrows, grad, fused):
    """``syn0[rows[r]] += grad`` for r < nrows, then ``grad = 0``."""
    if fused:
        add_rows(syn0, rows, nrows, grad)
        return
    dim = syn0.shape[1]
    for r in range(nrows):
        row = rows[r]
        for d in range(dim):
            syn0[row, d] += grad[d]
    for d in range(dim):
        grad[d] = 0.0


@njit(inline="always")
def _input_rows(word, sub_off, sub_ids, use_sub, rows, n):
    """Append the input rows of ``word`` (itself, or its row and n-gram rows) to ``rows[n:]``."""
    if not use_sub:
        rows[n] = word
        return n + 1
    for j in range(sub_off[word], sub_off[word + 1]):
        rows[n] = sub_ids[j]
        n += 1
    return n


@njit(inline="always")
def _prefetch_next(syn0, syn1, buf, i, n, window, nxt, use_sub):
    """Start loading the rows position ``i + 1`` will need: its output row, its noise words'
    rows, and (words only) the input row of the word entering the window."""
    prefetch_row(syn1, buf[i + 1])
    for k in range(len(nxt)):
        prefetch_row(syn1, nxt[k])
    if not use_sub and i + 1 + window < n:
        prefetch_row(syn0, buf[i + 1 + window])


@njit(inline="always")
def subsample(ids, a, b, keep, buf, state):
    """Copy the words ``ids[a:b]`` that survive down-sampling into ``buf``; an occurrence of word
    ``w`` survives when a uniform 32-bit draw is below ``keep[w]``. Returns (count, state)."""
    n = 0
    for p in range(a, b):
        word = ids[p]
        if keep[word] < np.uint64(1 << 32):
            state = next_state(state)
            if low32(output(state)) >= keep[word]:
                continue
        buf[n] = word
        n += 1
    return n, state


# train_chunk compiles in the row arithmetic of fused, the generator of sampling and prefetch's
# intrinsic: its disk cache is keyed on those files too, so an edit there is never served stale
@njit_cached(
    sources=("embedlayer.pretrain.fused", "embedlayer.pretrain.sampling", "embedlayer.kernels.prefetch"),
    fastmath=True,
    nogil=True,
)
def train_chunk(
    ids,
    starts,
    s_lo,
    s_hi,
    done_before,
    total,
    lr0,
    lr1,
    syn0,
    syn1,
    keep,
    noise,
    window,
    negative,
    model,
    sub_off,
    sub_ids,
    use_sub,
    max_rows,
    max_len,
    want_loss,
    state,
):
    """Train on sentences ``s_lo .. s_hi - 1`` (one work chunk), drawing from generator ``state``.
    Returns (loss sum, positive examples, state).

    ``done_before`` and ``total`` place the words in the run for the linear learning-rate decay
    from ``lr0`` to ``lr1``: a sentence starting at word ``a`` of this epoch trains with
    ``lr0 - (lr0 - lr1) * (done_before + a) / total``. Releases the GIL: threads run chunks at once.
    """
    dim = syn0.shape[1]
    buf = np.empty(max_len, dtype=np.int64)
    ctx = np.empty(2 * window, dtype=np.int64)
    outs = np.empty(negative + 1, dtype=np.int64)
    nxt = np.empty(negative, dtype=np.int64)
    win = np.empty((2 * window, dim), dtype=np.float32)
    wout = np.empty((negative + 1, dim), dtype=np.float32)
    coef = np.empty((2 * window, negative + 1), dtype=np.float64)
    ocoef = np.empty(negative + 1, dtype=np.float32)
    scores = np.empty(2 * window * (negative + 1), dtype=np.float32)
    rows = np.empty(max(2 * window, 1) * max_rows, dtype=np.int64)
    hidden = np.empty(dim, dtype=np.float32)
    grad = np.zeros(dim, dtype=np.float32)  # zero between examples: _add_rows clears it
    loss = 0.0
    examples = 0
    fused = fits(dim)
    ahead = not (use_sub and model == SKIPGRAM)  # one set of noise words per position: draw it early
    for s in range(s_lo, s_hi):
        a, b = starts[s], starts[s + 1]
        lr = max(lr1, lr0 - (lr0 - lr1) * (done_before + a) / total)
        n, state = subsample(ids, a, b, keep, buf, state)
        if ahead and n > 0:
            state = _noise(nxt, 0, negative, buf[0], state, noise)
        for i in range(n):
            state = next_state(state)
            reach = window - below(output(state), window)
            word = buf[i]
            if ahead:  # this position's noise words were drawn one step ago; draw the next ones
                outs[0] = word
                outs[1:] = nxt
                if i + 1 < n:
                    state = _noise(nxt, 0, negative, buf[i + 1], state, noise)
                    _prefetch_next(syn0, syn1, buf, i, n, window, nxt, use_sub)
            nc = 0
            for j in range(max(0, i - reach), min(n, i + reach + 1)):
                if j != i:
                    ctx[nc] = buf[j]
                    nc += 1
            if nc == 0:
                continue
            if model == CBOW:
                nrows = 0
                for c in range(nc):
                    nrows = _input_rows(ctx[c], sub_off, sub_ids, use_sub, rows, nrows)
                loss += _cbow_example(
                    syn0, rows, nrows, syn1, outs, negative + 1, lr, hidden, grad, ocoef, want_loss, fused
                )
                examples += 1
            elif not use_sub:
                loss += _sg_example(
                    syn0, ctx, nc, syn1, outs, negative + 1, lr, win, wout, coef, scores, want_loss, fused
                )
                examples += nc
            else:
                nrows = _input_rows(word, sub_off, sub_ids, use_sub, rows, 0)
                _mean_rows(syn0, rows, nrows, hidden, fused)
                for c in range(nc):
                    outs[0] = ctx[c]
                    state = _noise(outs, 1, negative, ctx[c], state, noise)
                    loss += _output(hidden, syn1, outs, negative + 1, lr, grad, ocoef, want_loss, fused)
                _add_rows(syn0, rows, nrows, grad, fused)
                examples += nc
    return loss, examples, state
