"""Interop both ways: files gensim writes load identically here; files written here load identically in gensim."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.vectors import Vectors, load_vectors

gensim_models = pytest.importorskip("gensim.models")
pytestmark = pytest.mark.interop
KeyedVectors = gensim_models.KeyedVectors


@pytest.fixture(scope="module")
def table(shared_data: Path) -> Vectors:
    glove = load_vectors(shared_data / "vectors" / "glove.6B.50d.top20k.txt", limit=800)
    extra = ["слово", "Ünïcödé", "日本語", "a\u00a0b", "🙂"]
    rng = np.random.default_rng(3)
    matrix = np.vstack([glove.matrix, rng.normal(size=(len(extra), 50)).astype(np.float32) * 1e-3])
    return Vectors(list(glove.index_to_key) + extra, matrix)


def keyed(table: Vectors):
    kv = KeyedVectors(table.vector_size)
    kv.add_vectors(list(table.index_to_key), np.asarray(table.matrix))
    return kv


@pytest.mark.parametrize(("binary", "header"), [(True, True), (False, True), (False, False)])
def test_gensim_writes_we_read(tmp_path: Path, table: Vectors, binary: bool, header: bool) -> None:
    path = tmp_path / "g.vec"
    keyed(table).save_word2vec_format(str(path), binary=binary, write_header=header)
    loaded = load_vectors(path)
    assert loaded.index_to_key == table.index_to_key
    np.testing.assert_array_equal(loaded.matrix, table.matrix)


@pytest.mark.parametrize("fmt", ["word2vec-binary", "word2vec", "fasttext-vec", "glove"])
def test_we_write_gensim_reads(tmp_path: Path, table: Vectors, fmt: str) -> None:
    path = tmp_path / "o.vec"
    table.save(path, fmt)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove")
    assert kv.index_to_key == list(table.index_to_key)
    np.testing.assert_array_equal(kv.vectors, table.matrix)
