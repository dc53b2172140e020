"""The random draws of word2vec training: noise words, down-sampling, windows, and their RNG.

Everything here is plain numpy built once per run, plus small numba functions the kernels inline:

- **Noise words** come from the unigram distribution raised to ``power`` (0.75, Mikolov et al.
  2013), drawn in O(1) with Walker's alias method: one 64-bit random number gives a column (high
  32 bits, by multiply-shift) and a coin (low 32 bits) against that column's threshold. Unlike
  word2vec's 100M-entry table, the distribution is exact and the tables fit in L2 cache.
- **Down-sampling** keeps an occurrence of word ``w`` with probability
  ``min(1, (sqrt(c / (s * N)) + 1) * (s * N) / c)`` (word2vec's formula, as gensim), ``c`` its
  count, ``N`` the corpus size, ``s`` the ``sample`` threshold; stored as 32-bit thresholds.
- **RNG**: word2vec's 64-bit linear congruential generator with a mixing output function,
  seeded per work chunk from ``(seed, epoch, chunk)`` with splitmix64, so a chunk's draws never
  depend on which thread runs it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["alias_table", "chunk_seed", "keep_probabilities", "keep_thresholds", "noise_distribution"]

_U32 = 1 << 32


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """(V,) float64 probabilities proportional to ``counts ** power``."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def alias_table(probabilities: np.ndarray) -> np.ndarray:
    """Walker/Vose alias table for ``probabilities`` (V,), summing to 1.

    Returns:
        (V,) uint64: entry ``i`` holds column ``i``'s threshold in its low 32 bits and its alias in
        its high 32 bits. Column ``i`` is drawn uniformly; it yields ``i`` when a uniform 32-bit
        number is below the threshold (out of 2**32), else the alias (a column that is always
        kept has itself as alias). The resulting distribution equals ``probabilities`` up to
        2**-32 per column.
    """
    threshold, alias = _vose(np.asarray(probabilities, dtype=np.float64))
    full = threshold >= _U32
    alias[full] = np.flatnonzero(full)
    return np.minimum(threshold, _U32 - 1) | (alias.astype(np.uint64) << np.uint64(32))


@njit(cache=True)
def _vose(probabilities):
    n = len(probabilities)
    scaled = probabilities * n
    threshold = np.full(n, np.uint64(_U32), dtype=np.uint64)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        nl -= 1
        s, g = small[ns], large[nl]
        threshold[s] = np.uint64(round(scaled[s] * _U32))
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    # leftovers are 1 up to rounding: they keep their own column always (threshold 2**32)
    return threshold, alias


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """(V,) float64 probability of keeping each occurrence of a word (1 when ``sample`` is 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)


def keep_thresholds(counts: np.ndarray, sample: float) -> np.ndarray:
    """``keep_probabilities`` as (V,) uint64 thresholds out of 2**32 (2**32 = always keep)."""
    return np.round(keep_probabilities(counts, sample) * _U32).astype(np.uint64)


def chunk_seed(seed: int, epoch: int, chunk: int) -> np.uint64:
    """A well-mixed 64-bit starting state for one work chunk (splitmix64 of the three numbers)."""
    x = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + chunk * 0x94D049BB133111EB + 1) % (1 << 64)
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % (1 << 64)
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % (1 << 64)
    return np.uint64(x ^ (x >> 31))


@njit(inline="always")
def next_state(state: np.uint64) -> np.uint64:
    """word2vec's generator step (mod 2**64)."""
    return state * np.uint64(25214903917) + np.uint64(11)


@njit(inline="always")
def output(state: np.uint64) -> np.uint64:
    """64 well-mixed bits from a generator state (a multiply-xorshift finaliser: the LCG's own
    low bits have short periods)."""
    z = (state ^ (state >> np.uint64(32))) * np.uint64(0xD6E8FEB86659FD93)
    return z ^ (z >> np.uint64(32))


@njit(inline="always")
def below(bits: np.uint64, n: int) -> np.int64:
    """A draw in [0, n) from the high 32 of 64 random ``bits`` (multiply-shift, no division)."""
    return np.int64(((bits >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))  # int() would stay uint64


@njit(inline="always")
def low32(bits: np.uint64) -> np.uint64:
    """The low 32 of 64 random ``bits``, a uniform draw in [0, 2**32)."""
    return bits & np.uint64(0xFFFFFFFF)


@njit(inline="always")
def draw_noise(bits: np.uint64, table: np.ndarray) -> np.int64:
    """One noise word from the ``alias_table``, using 64 random bits."""
    column = below(bits, len(table))
    entry = table[column]
    alias = np.int64(entry >> np.uint64(32))
    return column if low32(bits) < low32(entry) else alias
