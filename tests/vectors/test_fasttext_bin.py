"""fastText .bin: words, vectors and unseen-word vectors equal to gensim's and fastText's; bad files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import FormatError, VocabError
from embedlayer.subwords import char_ngrams, fasttext_hash
from embedlayer.vectors import FastTextVectors, detect_vectors_format, load_vectors
from embedlayer.vectors.fasttext_bin import FASTTEXT_MAGIC

FORMATS = "formats"
OOV = ["steamtrain", "xyzzy", "naïveté", "приветик", "раскольниковщина", "петербургский", "ё", "qz", ""]


@pytest.mark.interop
@pytest.mark.parametrize("name", ["lee_fasttext.bin", "crime-and-punishment.bin"])
def test_equal_to_gensim(shared_data: Path, name: str) -> None:
    gensim_fasttext = pytest.importorskip("gensim.models.fasttext")
    path = shared_data / FORMATS / name
    vectors = load_vectors(path)
    assert detect_vectors_format(path) == "fasttext-bin" and isinstance(vectors, FastTextVectors)
    reference = gensim_fasttext.load_facebook_model(str(path)).wv
    assert vectors.index_to_key == tuple(reference.index_to_key)
    assert (vectors.minn, vectors.maxn, vectors.bucket) == (reference.min_n, reference.max_n, reference.bucket)
    known = [w for w in vectors.index_to_key if w != "</s>"]  # gensim gives </s> n-grams, fastText does not
    np.testing.assert_allclose(
        vectors.matrix[[vectors.key_to_index[w] for w in known]],
        reference.vectors[[reference.key_to_index[w] for w in known]],
        atol=1e-6,
    )
    for word in OOV:
        assert word in vectors  # gensim's semantics: any string has a vector when there are n-grams
        assert word not in vectors.key_to_index
        np.testing.assert_allclose(vectors[word], reference[word], atol=1e-6)


@pytest.mark.interop
@pytest.mark.parametrize("name", ["crime-and-punishment.bin", "pang_lee_polarity_fasttext.bin"])
def test_equal_to_fasttext(shared_data: Path, name: str) -> None:
    fasttext = pytest.importorskip("fasttext")
    path = shared_data / FORMATS / name
    vectors = load_vectors(path, unicode_errors="backslashreplace")
    model = fasttext.load_model(str(path))
    words = model.get_words(on_unicode_error="backslashreplace")
    assert list(vectors.index_to_key) == words
    for word in words[:300]:
        if "\\x" not in word:  # fastText's Python API can only ask for valid UTF-8 words
            np.testing.assert_allclose(vectors[word], model.get_word_vector(word), atol=1e-6)
    if vectors.maxn:
        for word in OOV:
            np.testing.assert_array_equal(vectors[word], model.get_word_vector(word))


def test_supervised_model_without_subwords(shared_data: Path) -> None:
    path = shared_data / FORMATS / "pang_lee_polarity_fasttext.bin"
    with pytest.raises(FormatError, match=r"at byte 2173: the word b'\\x97' is not valid UTF-8"):
        load_vectors(path)
    vectors = load_vectors(path, unicode_errors="replace", limit=50)
    assert len(vectors) == 50 and vectors.labels == ("__label__pos", "__label__neg")
    assert vectors.args.model == 3 and vectors.maxn == 0 and "unseen" not in vectors
    with pytest.raises(VocabError):
        vectors["unseen"]


def test_oov_vector_by_hand(shared_data: Path) -> None:
    vectors = load_vectors(shared_data / FORMATS / "crime-and-punishment.bin")
    rows = [len(vectors) + fasttext_hash(g) % vectors.bucket for g in char_ngrams("ёлка", vectors.minn, vectors.maxn)]
    expected = vectors.input_matrix[rows].astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(vectors.get_vector("ёлка"), expected, atol=1e-6)
    unit = vectors.get_vector("ёлка", norm=True)
    assert abs(np.linalg.norm(unit) - 1) < 1e-6


# --- bad files: a tiny model written here -------------------------------------------------------------
def tiny_bin(
    *, magic=FASTTEXT_MAGIC, version=12, quant=False, words=(b"a", b"bb"), bucket=3, dim=2, rows=None, prune=-1
) -> bytes:
    args = struct.pack("<12id", dim, 5, 5, 1, 5, 1, 2, 2, bucket, 1, 2, 100, 1e-4)
    entries = b"".join(w + b"\0" + struct.pack("<qb", 1, 0) for w in words)
    head = struct.pack("<ii", magic, version) + args
    dictionary = struct.pack("<iiiqq", len(words), len(words), 0, 2, prune) + entries
    n = len(words) + bucket if rows is None else rows
    matrix = struct.pack("<qq", n, dim) + np.arange(n * dim, dtype="<f4").tobytes()
    output = struct.pack("<?qq", False, 1, dim) + np.zeros(dim, "<f4").tobytes()
    return head + dictionary + struct.pack("<?", quant) + matrix + output


def test_tiny_model_reads(tmp_path: Path) -> None:
    path = tmp_path / "m.bin"
    path.write_bytes(tiny_bin())
    vectors = FastTextVectors.load(path)
    assert vectors.index_to_key == ("a", "bb")
    grams = [2 + fasttext_hash(g) % 3 for g in char_ngrams("a", 1, 2)]
    expected = np.arange(10, dtype=np.float32).reshape(5, 2)[[0, *grams]].mean(axis=0)
    np.testing.assert_allclose(vectors["a"], expected, atol=1e-6)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (tiny_bin(magic=123456789), r"at byte 0: magic number is 123456789; expected fastText's 793712314"),
        (tiny_bin(version=13), r"at byte 4: fastText file version is 13; expected one of \(11, 12\)"),
        (tiny_bin(quant=True), r"quantized .ftz not supported"),
        (tiny_bin(prune=2), r"quantized .ftz not supported"),
        (tiny_bin()[:-30], r"file ends inside the input matrix"),
        (tiny_bin()[:70], r"file ends inside the settings|truncated"),
        (tiny_bin(rows=9), r"input matrix is 9 x 2; expected \(nwords \+ bucket\) x dim = 5 x 2"),
        (tiny_bin(words=(b"a", b"a")), r"duplicate word 'a' \(entries 0 and 1\)"),
        (tiny_bin(words=(b"a", b"\xff")), r"the word b'\\xff' is not valid UTF-8"),
        (b"\x00\x00", r"file ends inside the magic number"),
    ],
)
def test_bad_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "m.bin"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=message) as info:
        FastTextVectors.load(path)
    assert "m.bin at byte" in str(info.value)


@pytest.mark.interop
def test_most_similar_unseen_word_equal_to_gensim(shared_data: Path) -> None:
    gensim_fasttext = pytest.importorskip("gensim.models.fasttext")
    path = shared_data / FORMATS / "crime-and-punishment.bin"
    vectors = load_vectors(path)
    reference = gensim_fasttext.load_facebook_model(str(path)).wv
    words = ["раскольниковщина", "steamtrain", "петербургский", vectors.index_to_key[10]]
    assert all(w not in vectors.key_to_index for w in words[:3])
    batch = vectors.most_similar_batch(words, topn=10)
    for word, batched in zip(words, batch):
        expected = reference.most_similar(word, topn=10)
        ours = vectors.most_similar(word, topn=10)
        for got in (ours, batched):
            assert [w for w, _ in got] == [w for w, _ in expected]
            np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)
    # a table without n-grams still refuses an unseen word
    plain = load_vectors(shared_data / FORMATS / "crime-and-punishment.vec")
    with pytest.raises(VocabError, match="раскольниковщина"):
        plain.most_similar_batch(["раскольниковщина"])
