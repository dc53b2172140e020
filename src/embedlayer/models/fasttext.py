"""A fastText-style classifier: the mean of a text's rows, then a linear layer and a softmax.

A text's rows are its words, its hashed word n-grams and optionally its words' char n-grams
(:mod:`embedlayer.models.fasttext_ids`); the model is ``head(mean(weight[rows]))``. It trains as
fastText's ``train_supervised`` does: SGD one example (or a small batch) at a time with the
learning rate decaying linearly to 0 over all epochs, on several threads that update the shared
weights without locks (Hogwild), moving only the rows a text uses. The whole epoch (forward,
softmax, backward and update) is one compiled kernel per thread, :func:`train_chunk`: with torch
ops at batch size 1 the per-call overhead alone would take longer than fastText's whole run.

Initialisation follows fastText: word rows uniform in ``[-1/D, 1/D]``, the head zero. Bucket rows
start at zero (no memory is touched for the millions of buckets a model never uses) and those the
training texts use get the same uniform values when training starts (:func:`init_rows`); a bucket
no training text used stays zero, so at prediction time it adds nothing but weight to the mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from embedlayer._jit import njit_cached
from embedlayer.errors import ConfigError
from embedlayer.kernels.prefetch import prefetch_row
from embedlayer.kernels.threads import num_threads, run_parallel
from embedlayer.models.config import ClassifierConfig
from embedlayer.models.fasttext_ids import RowScheme
from embedlayer.models.masking import masked_mean

__all__ = ["FastTextClassifier", "init_rows", "train_chunk", "train_epochs"]


def _lazy_zeros(rows: int, dim: int) -> Tensor:
    """A (rows, dim) float32 zero tensor whose pages are only touched when written (calloc), or an
    empty one on torch's meta device (shape checks)."""
    if torch.empty(0).device.type == "meta":
        return torch.empty(rows, dim)
    return torch.from_numpy(np.zeros((rows, dim), dtype=np.float32))


class FastTextClassifier(nn.Module):
    """Logits ``head(mean of the rows of each text)``: ``config.encoder.kind == "fasttext"``.

    Attributes: ``config``, ``scheme`` (the RowScheme of its rows), ``embedding`` (an
    ``nn.Embedding`` holding the (nwords + buckets, D) table), ``head`` (``nn.Linear(D, C)``).
    """

    def __init__(self, config: ClassifierConfig, *, seed: int = 0) -> None:
        super().__init__()
        enc = config.encoder
        self.config = config
        self.scheme = RowScheme(
            nwords=config.num_embeddings - enc.ft_buckets,
            buckets=enc.ft_buckets,
            word_ngrams=enc.ft_word_ngrams,
            minn=enc.ft_minn,
            maxn=enc.ft_maxn,
            eos=enc.ft_eos,
            combine=enc.ft_combine,
        )
        rows, dim = config.num_embeddings, config.embedding_dim
        weight = _lazy_zeros(rows, dim)
        if weight.device.type != "meta":
            bound = 1.0 / dim
            gen = torch.Generator().manual_seed(seed)
            weight[: self.scheme.nwords].uniform_(-bound, bound, generator=gen)
        self.embedding = nn.Embedding(rows, dim, _weight=weight)
        self.head = nn.Linear(dim, config.num_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, ids: Tensor, lengths: Tensor, mask: Tensor | None = None) -> Tensor:
        """ids (B, T) int64 rows (padded), lengths (B,) int64, mask (B, T) bool -> logits (B, C):
        the plain mean of the rows (``ft_combine="word"`` needs its weights: :meth:`forward_bags`)."""
        if self.scheme.combine != "row":
            raise ConfigError(
                f"FastTextClassifier.forward: ft_combine={self.scheme.combine!r} weighs each row; "
                "expected forward_bags(ids, offsets, weights) (padded ids carry no weights)"
            )
        if mask is None:
            mask = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)
        return self.head(masked_mean(self.embedding(ids), mask))  # (B, C)

    def forward_bags(self, ids: Tensor, offsets: Tensor, weights: Tensor | None = None) -> Tensor:
        """ids (M,) int64 rows of all texts, offsets (N + 1,) int64, weights (M,) float32 or None
        -> logits (N, C): each text's rows averaged (None) or summed with ``weights``
        (``build_weighted_rows``); an empty text's vector is zero. One pooled lookup for all."""
        weight = self.embedding.weight
        if weights is None:
            pooled = nn.functional.embedding_bag(ids, weight, offsets, mode="mean", include_last_offset=True)
        else:
            pooled = nn.functional.embedding_bag(
                ids, weight, offsets, mode="sum", per_sample_weights=weights, include_last_offset=True
            )  # (N, D)
        return self.head(pooled)


@njit_cached(nogil=True)
def _init_rows(weight, ids, nwords, seed):
    """The kernel of :func:`init_rows`; returns the number of rows it set."""
    dim = weight.shape[1]
    bound = 1.0 / dim
    done = 0
    for i in range(ids.shape[0]):
        r = ids[i]
        if r < nwords:
            continue
        zero = True
        for d in range(dim):
            if weight[r, d] != 0.0:
                zero = False
                break
        if not zero:
            continue
        state = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(r) * np.uint64(0xBF58476D1CE4E5B9)
        for d in range(dim):
            state += np.uint64(0x9E3779B97F4A7C15)  # splitmix64
            z = state
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            u = np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)  # [0, 1)
            weight[r, d] = np.float32((2.0 * u - 1.0) * bound)
        done += 1
    return done


def init_rows(weight: np.ndarray, ids: np.ndarray, nwords: int, seed: int) -> int:
    """Give the bucket rows (>= ``nwords``) among ``ids`` that are still all zero fastText's
    uniform ``[-1/D, 1/D]`` values, in place; returns how many rows it set. A row's values depend
    only on ``seed`` and its number (splitmix64), not on which other rows are set or in what order."""
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    return int(_init_rows(weight, ids, int(nwords), int(seed) & 0x7FFFFFFFFFFFFFFF))


@njit_cached(sources=("embedlayer.kernels.prefetch",), nogil=True, error_model="numpy", fastmath=True)
def train_chunk(
    weight, head_w, head_b, ids, offsets, wts, labels, order, lr0, epoch, epochs, batch, ahead, losses, lo, hi
):
    """SGD over the examples ``order[lo:hi]`` in batches of ``batch``, in place (Hogwild-safe).

    weight (V, D) float32 rows, head_w (C, D) and head_b (C,) float32, ids/offsets the CSR of the
    texts' rows, wts (M,) float32 each row's weight in its text's vector (empty: the plain mean),
    labels (N,) int64, order (N,) int64; losses (N,) float32 gets each example's
    cross-entropy at its position in ``order``. The step of a batch of B examples is plain SGD on
    their mean cross-entropy with ``lr = lr0 * (1 - progress)``, progress being
    ``(epoch + done / (hi - lo)) / epochs``; every gradient of a batch is taken before any of its
    updates. With B = 1 this is fastText's supervised update. ``ahead`` (True): prefetch the rows of
    the next example while this one computes (every row is a cache miss in a large table)."""
    dim, classes = weight.shape[1], head_w.shape[0]
    weighted = wts.shape[0] > 0
    hidden = np.empty((batch, dim), dtype=np.float32)
    grad = np.empty((batch, dim), dtype=np.float32)
    alpha = np.empty((batch, classes), dtype=np.float32)
    logit = np.empty(classes, dtype=np.float32)
    span = max(hi - lo, 1)
    for start in range(lo, hi, batch):
        stop = min(start + batch, hi)
        lr = lr0 * (1.0 - (epoch + (start - lo) / span) / epochs)
        scale = np.float32(lr / (stop - start))
        for b in range(stop - start):
            e = order[start + b]
            a, z = offsets[e], offsets[e + 1]
            if ahead and start + b + 1 < hi:
                nxt = order[start + b + 1]
                for k in range(offsets[nxt], offsets[nxt + 1]):
                    prefetch_row(weight, ids[k])
            hidden[b, :] = 0.0
            for k in range(a, z):
                r = ids[k]
                if weighted:
                    w = wts[k]
                    for d in range(dim):
                        hidden[b, d] += w * weight[r, d]
                else:
                    for d in range(dim):
                        hidden[b, d] += weight[r, d]
            if z > a and not weighted:
                inv = np.float32(1.0 / (z - a))
                for d in range(dim):
                    hidden[b, d] *= inv
            top = -np.inf
            for c in range(classes):
                s = head_b[c]
                for d in range(dim):
                    s += head_w[c, d] * hidden[b, d]
                logit[c] = s
                top = max(top, s)
            total = np.float32(0.0)
            for c in range(classes):
                total += np.exp(logit[c] - top)
            y = labels[e]
            losses[start + b] = np.log(total) - (logit[y] - top)
            grad[b, :] = 0.0
            for c in range(classes):
                p = np.exp(logit[c] - top) / total
                g = scale * ((np.float32(1.0) if c == y else np.float32(0.0)) - p)
                alpha[b, c] = g
                for d in range(dim):
                    grad[b, d] += g * head_w[c, d]
        for b in range(stop - start):
            for c in range(classes):
                g = alpha[b, c]
                head_b[c] += g
                for d in range(dim):
                    head_w[c, d] += g * hidden[b, d]
        for b in range(stop - start):
            e = order[start + b]
            a, z = offsets[e], offsets[e + 1]
            if z > a:
                inv = np.float32(1.0 / (z - a))
                for k in range(a, z):
                    r = ids[k]
                    w = wts[k] if weighted else inv
                    for d in range(dim):
                        weight[r, d] += grad[b, d] * w


def train_epochs(
    model: FastTextClassifier,
    ids: np.ndarray,
    offsets: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int = 1,
    seed: int = 0,
    threads: int | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    prefetch: bool = True,
    shuffle: bool = True,
    weights: np.ndarray | None = None,
) -> list[float]:
    """Train ``model`` in place on the texts ``(ids, offsets)`` (CSR, see fasttext_ids) with
    ``labels`` (N,) int64; returns the mean training cross-entropy of each epoch.

    Each epoch visits the examples in a fresh seeded order, cut into one contiguous part per
    thread (``threads``, default torch's count); the parts run at the same time on shared weights
    (Hogwild, as fastText). With one thread the result is deterministic. ``on_epoch(epoch, loss)``
    is called after each epoch. ``weights`` (M,) float32: each row's weight in its text's vector
    (``build_weighted_rows``; None: the plain mean)."""
    weight = model.embedding.weight.detach().numpy()
    head_w, head_b = model.head.weight.detach().numpy(), model.head.bias.detach().numpy()
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    wts = np.zeros(0, dtype=np.float32) if weights is None else np.ascontiguousarray(weights, dtype=np.float32)
    if wts.shape[0] not in (0, ids.shape[0]):
        raise ConfigError(f"train_epochs: weights has {wts.shape[0]} entries; expected one per row ({ids.shape[0]})")
    n = len(offsets) - 1
    init_rows(weight, ids, model.scheme.nwords, seed)
    parts = max(1, min(threads or num_threads(), n))
    bounds = np.linspace(0, n, parts + 1).astype(np.int64)
    rng = np.random.default_rng(seed)
    losses = np.zeros(n, dtype=np.float32)
    history = []
    for epoch in range(epochs):
        order = rng.permutation(n).astype(np.int64) if shuffle else np.arange(n, dtype=np.int64)

        # one call per thread and epoch: our own pool (no per-process wrapper to compile for
        # torch's OpenMP team, and the team's spin-wait after torch ops is nothing beside an epoch)
        def chunk(c: int, order: np.ndarray = order, epoch: int = epoch) -> None:
            lo, hi = int(bounds[c]), int(bounds[c + 1])
            args = (order, float(lr), epoch, epochs, batch_size, prefetch, losses)
            train_chunk(weight, head_w, head_b, ids, offsets, wts, labels, *args, lo, hi)

        run_parallel(chunk, parts)
        history.append(float(losses.mean()) if n else math.nan)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return history
