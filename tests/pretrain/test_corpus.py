"""Corpus preparation: ids, sentences, vocabulary order, streaming of long lines, bad files."""

import functools
import operator

import numpy as np
import pytest

from embedlayer.errors import ConfigError, DataError
from embedlayer.pretrain import corpus as corpus_module
from embedlayer.pretrain.corpus import encode_corpus


def _write(tmp_path, text: str | bytes, name="c.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _sentences(data):
    return [[data.words[i] for i in data.ids[a:b]] for a, b in zip(data.starts[:-1], data.starts[1:])]


def test_ids_vocabulary_and_sentences(tmp_path):
    path = _write(tmp_path, "b a c a\nrare b a\n\n  a b  \n")
    data = encode_corpus(path, tmp_path, min_count=2)
    assert data.words == ("a", "b")  # count 4, 3; c and rare dropped
    assert data.counts.tolist() == [4, 3]
    assert data.raw_tokens == 9 and data.lines == 4
    # dropped words leave the sentence (a window reaches across them); the empty line is no sentence
    assert _sentences(data) == [["b", "a", "a"], ["b", "a"], ["a", "b"]]
    assert data.words_per_epoch == 7
    assert data.ids.dtype == np.int32


def test_ties_are_broken_by_the_word_and_max_vocab_keeps_the_most_frequent(tmp_path):
    path = _write(tmp_path, "z y x z y x w\n")
    data = encode_corpus(path, tmp_path, min_count=1, max_vocab=3)
    assert data.words == ("x", "y", "z")
    assert _sentences(data) == [["z", "y", "x", "z", "y", "x"]]


def test_long_lines_become_pieces_and_blocks_cut_at_whitespace(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "_BLOCK", 7)  # blocks far shorter than the line and some words
    words = [f"w{i % 5}" for i in range(23)] + ["averyveryverylongword"] * 2
    path = _write(tmp_path, " ".join(words))  # one line, no newline at the end
    data = encode_corpus(path, tmp_path, min_count=1, max_sentence_length=10)
    assert [len(s) for s in _sentences(data)] == [10, 10, 5]
    assert functools.reduce(operator.iadd, _sentences(data), []) == words
    assert data.lines == 1


def test_lowercase_and_tokenizer(tmp_path):
    path = _write(tmp_path, "The cat, the Cat.\n")
    assert encode_corpus(path, tmp_path, min_count=1, lowercase=True).words == ("the", "cat,", "cat.")
    data = encode_corpus(path, tmp_path, min_count=1, tokenizer="word", lowercase=True)
    assert _sentences(data) == [["the", "cat", ",", "the", "cat", "."]]
    cased = encode_corpus(path, tmp_path, min_count=1, tokenizer="word")
    assert "The" in cased.words and "Cat" in cased.words


def test_invalid_utf8_is_replaced_and_counted(tmp_path):
    path = _write(tmp_path, b"caf\xe9 ok ok\n" + b"ok word " * 20 + b"\n")
    data = encode_corpus(path, tmp_path, min_count=1)
    assert data.replaced == 1
    assert "caf\ufffd" in data.words


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "has no words"),
        (b"  \n\n \t\n", "has no words"),
        (b"word\x00\x01\x02 binary", "NUL byte"),
        (bytes(range(128, 256)) * 50, "invalid UTF-8"),
        (b"a a a a b\n", "1 distinct word"),
    ],
)
def test_bad_corpora_raise_one_clear_error(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(DataError, match=message) as info:
        encode_corpus(path, tmp_path, min_count=2)
    assert str(path) in str(info.value)


def test_a_token_longer_than_a_mebibyte_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_module, "_MAX_TOKEN", 1000)
    monkeypatch.setattr(corpus_module, "_BLOCK", 256)
    path = _write(tmp_path, "x" * 5000)
    with pytest.raises(DataError, match="without whitespace"):
        encode_corpus(path, tmp_path, min_count=1)


def test_missing_file_directory_and_bad_settings(tmp_path):
    with pytest.raises(DataError, match="no such corpus"):
        encode_corpus(tmp_path / "nope.txt", tmp_path)
    with pytest.raises(DataError, match="is a directory"):
        encode_corpus(tmp_path, tmp_path)
    with pytest.raises(ConfigError, match="max_sentence_length"):
        encode_corpus(_write(tmp_path, "a b\n"), tmp_path, max_sentence_length=0)
    with pytest.raises(ConfigError, match="unknown tokenizer"):
        encode_corpus(_write(tmp_path, "a b\n"), tmp_path, tokenizer="nope")


def test_real_corpus_head_matches_a_plain_count(tmp_path, shared_data):
    with open(shared_data / "corpus" / "english_raw.txt", "rb") as fh:
        head = fh.read(300_000)
    head = head[: head.rfind(b"\n") + 1]
    path = _write(tmp_path, head)
    data = encode_corpus(path, tmp_path, min_count=3)
    from collections import Counter

    counts = Counter(head.decode("utf-8", "replace").split())
    kept = sorted((w for w, c in counts.items() if c >= 3), key=lambda w: (-counts[w], w))
    assert data.words == tuple(kept)
    assert data.counts.tolist() == [counts[w] for w in kept]
    assert data.raw_tokens == sum(counts.values())
    assert data.words_per_epoch == sum(counts[w] for w in kept)


def test_byte_tokens_that_decode_alike_are_one_word(tmp_path):
    path = _write(tmp_path, b"caf\xe9 caf\xe8 ok\ncaf\xe9 ok " + b"ok word " * 30 + b"\n")
    data = encode_corpus(path, tmp_path, min_count=1)
    assert data.words.count("caf\ufffd") == 1
    assert dict(zip(data.words, data.counts.tolist()))["caf\ufffd"] == 3
    assert data.replaced == 3
    assert _sentences(data)[0] == ["caf\ufffd", "caf\ufffd", "ok"]


def test_many_distinct_words_grow_the_table_and_match_the_python_path(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}é" for i in rng.integers(0, 150_000, size=400_000)]  # > the first table's 65,536 keys
    lines = [" ".join(words[i : i + 37]) for i in range(0, len(words), 37)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    fast = encode_corpus(path, tmp_path, min_count=2)
    slow = encode_corpus(path, tmp_path, min_count=2, tokenizer="whitespace")  # the Python path
    assert fast.words == slow.words and fast.counts.tolist() == slow.counts.tolist()
    assert np.array_equal(fast.ids, slow.ids) and np.array_equal(fast.starts, slow.starts)
    assert fast.lines == slow.lines == len(lines) and fast.raw_tokens == 400_000
