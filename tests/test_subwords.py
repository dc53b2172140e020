"""fastText subwords: n-grams and signed-char FNV-1a, checked against hand-written code and gensim."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlayer.errors import ConfigError
from embedlayer.subwords import char_ngrams, fasttext_hash, hash_many, ngram_bytes, subword_ids
from embedlayer.vocab import fnv1a_32

WORDS = ["where", "a", "", "naïveté", "слово", "Раскольников", "日本語", "🙂x", "ab"]


def reference_hash(data: bytes) -> int:
    """Written from fastText's dictionary.cc: h ^= uint32_t(int8_t(c)); h *= 16777619."""
    h = 2166136261
    for c in data:
        signed = c - 256 if c > 127 else c
        h = ((h ^ (signed & 0xFFFFFFFF)) * 16777619) % 2**32
    return h


def test_golden_hashes() -> None:
    # values computed by hand with reference_hash; ASCII agrees with the standard (unsigned) FNV-1a
    assert fasttext_hash("") == 2166136261
    assert fasttext_hash("<wh") == reference_hash(b"<wh") == fnv1a_32(b"<wh") == 1048167652
    for text in ["é", "сл", "<сло", "日本", "🙂"]:
        raw = text.encode()
        assert fasttext_hash(text) == reference_hash(raw)
        assert fasttext_hash(text) != fnv1a_32(raw)  # the signed-char difference
    grams = [g.encode() for w in WORDS for g in char_ngrams(w, 1, 6)]
    assert hash_many(grams).tolist() == [reference_hash(g) for g in grams]


def test_ngram_rules() -> None:
    assert char_ngrams("ab", 1, 6) == ["<a", "<ab", "<ab>", "a", "ab", "ab>", "b", "b>"]  # no lone < or >
    assert char_ngrams("where", 3, 4)[:5] == ["<wh", "<whe", "whe", "wher", "her"]
    assert char_ngrams("слово", 5, 5) == ["<слов", "слово", "лово>"]  # characters, not bytes
    assert char_ngrams("ab", 5, 6) == []
    assert subword_ids("ab", 3, 6, 0, 5).size == 0  # no buckets: no n-gram rows
    ids = subword_ids("слово", 3, 6, 1000, 7)
    assert ids.dtype == np.int64 and ids.min() >= 7 and ids.max() < 1007
    assert ids.tolist() == [7 + reference_hash(g.encode()) % 1000 for g in char_ngrams("слово", 3, 6)]
    with pytest.raises(ConfigError, match="minn"):
        char_ngrams("x", -1, 3)
    with pytest.raises(ConfigError, match="buckets"):
        subword_ids("x", 3, 6, -2, 0)


@pytest.mark.interop
def test_equal_to_gensim() -> None:
    fasttext = pytest.importorskip("gensim.models.fasttext")
    for word in WORDS:
        assert ngram_bytes(word.encode(), 3, 6) == fasttext.compute_ngrams_bytes(word, 3, 6)
        assert subword_ids(word, 3, 6, 2_000_000, 0).tolist() == list(fasttext.ft_ngram_hashes(word, 3, 6, 2_000_000))
        for gram in char_ngrams(word, 1, 4):
            assert fasttext_hash(gram) == fasttext.ft_hash_bytes(gram.encode())


@pytest.mark.interop
@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=12), st.integers(1, 4), st.integers(0, 4))
def test_random_words_match_gensim(word: str, minn: int, extra: int) -> None:
    fasttext = pytest.importorskip("gensim.models.fasttext")
    maxn = minn + extra
    assert subword_ids(word, minn, maxn, 1000, 3).tolist() == [
        3 + h for h in fasttext.ft_ngram_hashes(word, minn, maxn, 1000)
    ]
