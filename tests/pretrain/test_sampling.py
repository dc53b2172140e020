"""Noise words follow unigram^0.75 exactly; down-sampling keeps word2vec's fraction."""

import numpy as np
import pytest
from numba import njit

from embedlayer.pretrain.kernels import subsample
from embedlayer.pretrain.sampling import (
    alias_table,
    chunk_seed,
    draw_noise,
    keep_probabilities,
    keep_thresholds,
    next_state,
    noise_distribution,
    output,
)


def _alias_distribution(table: np.ndarray) -> np.ndarray:
    """The exact distribution the alias table defines (independent of how it was built)."""
    n = len(table)
    threshold, alias = table & np.uint64(2**32 - 1), (table >> np.uint64(32)).astype(np.int64)
    stay = threshold.astype(np.float64) / 2**32
    dist = stay / n
    np.add.at(dist, alias, (1.0 - stay) / n)
    return dist


@njit
def _draws(table, count, seed):
    out = np.zeros(len(table), np.int64)
    state = seed
    for _ in range(count):
        state = next_state(state)
        out[draw_noise(output(state), table)] += 1
    return out


def test_noise_distribution_is_unigram_to_the_075():
    counts = np.array([100, 10, 1, 1000, 5])
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(noise_distribution(counts), expected, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_alias_tables_define_the_target_distribution_exactly(seed):
    rng = np.random.default_rng(seed)
    counts = rng.zipf(1.2, size=5000).clip(max=10**7)
    target = noise_distribution(counts)
    np.testing.assert_allclose(_alias_distribution(alias_table(target)), target, rtol=0, atol=1e-9)


def test_drawn_noise_words_match_unigram_075():
    counts = np.array([5000, 2000, 700, 300, 100, 40, 10, 5, 1, 1], dtype=np.int64)
    target = noise_distribution(counts)
    n = 2_000_000
    freq = _draws(alias_table(target), n, chunk_seed(3, 0, 0)) / n
    # within 5 binomial standard errors sqrt(p(1-p)/n) of each word's probability
    z = np.abs(freq - target) / np.sqrt(target * (1 - target) / n)
    assert z.max() < 5, (freq, target)


def test_keep_probability_is_word2vecs_formula():
    counts = np.array([60_000, 1_000, 10], dtype=np.float64)  # N = 61,010
    sample = 1e-3
    t = sample * counts.sum()
    expected = np.minimum(1.0, (np.sqrt(counts / t) + 1) * t / counts)
    np.testing.assert_allclose(keep_probabilities(counts, sample), expected)
    assert expected[0] == pytest.approx((np.sqrt(60_000 / 61.01) + 1) * 61.01 / 60_000)
    assert keep_probabilities(counts, 0.0).tolist() == [1.0, 1.0, 1.0]


def test_subsampling_keeps_the_expected_fraction():
    counts = np.array([900_000, 90_000, 2_000], dtype=np.int64)
    keep = keep_thresholds(counts, 1e-3)
    probability = keep_probabilities(counts, 1e-3)
    ids = np.repeat(np.arange(3, dtype=np.int32), counts)
    np.random.default_rng(0).shuffle(ids)
    buf = np.empty(len(ids), dtype=np.int64)
    n, _ = subsample(ids, 0, len(ids), keep, buf, chunk_seed(1, 0, 0))
    kept = np.bincount(buf[:n], minlength=3)
    for word in range(3):
        p = probability[word]
        sd = np.sqrt(counts[word] * p * (1 - p)) + 1
        assert abs(kept[word] - counts[word] * p) < 5 * sd, (word, kept[word], counts[word] * p)
    assert kept[2] == counts[2]  # a rare word is always kept (probability 1)


def test_chunk_seeds_differ_and_repeat():
    seeds = {int(chunk_seed(s, e, c)) for s in range(3) for e in range(3) for c in range(50)}
    assert len(seeds) == 450
    assert chunk_seed(1, 2, 3) == chunk_seed(1, 2, 3)
