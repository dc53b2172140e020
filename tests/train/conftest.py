"""A tiny synthetic task shared by the training tests: label 1 iff token 7 occurs in the text."""

from types import SimpleNamespace

import numpy as np
import pytest

from embedlayer.batching import pad_batch

VOCAB = 24  # ids 1..23 are tokens, 0 pads
MARK = 7


def examples(n, seed, max_len=10):
    rng = np.random.default_rng(seed)
    tokens = np.array([t for t in range(1, VOCAB) if t != MARK])
    out = []
    for _ in range(n):
        length = int(rng.integers(1, max_len + 1))
        seq = rng.choice(tokens, size=length).tolist()
        label = int(rng.integers(0, 2))
        if label:
            seq[int(rng.integers(0, length))] = MARK
        out.append((seq, label))
    return out


def batches(data, batch_size, *, seed=None):
    """Padded batches; shuffled deterministically by ``seed`` when given."""
    order = np.arange(len(data)) if seed is None else np.random.default_rng(seed).permutation(len(data))
    out = []
    for start in range(0, len(data), batch_size):
        chunk = [data[i] for i in order[start : start + batch_size]]
        out.append(pad_batch([s for s, _ in chunk], labels=[y for _, y in chunk]))
    return out


def loader(data, batch_size, seed=0):
    """train_batches(epoch) for fit: a different, deterministic order per epoch."""
    return lambda epoch: batches(data, batch_size, seed=seed * 1000 + epoch)


@pytest.fixture
def task():
    return SimpleNamespace(vocab=VOCAB, mark=MARK, examples=examples, batches=batches, loader=loader)
