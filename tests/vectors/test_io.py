"""The format dispatcher: detection from content, every writable format round-trips, the fast text path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embedlayer.vectors.text_fast as text_fast
import embedlayer.vectors.text_format as text_format
from embedlayer.errors import ConfigError, FormatError
from embedlayer.vectors import FORMATS, WRITABLE_FORMATS, Vectors, detect_vectors_format, load_vectors


@pytest.fixture
def sample() -> Vectors:
    matrix = np.random.default_rng(2).normal(size=(7, 5)).astype(np.float32)
    return Vectors(["the", "of", "Ünïcödé", "слово", "日本", "x.y", "</s>"], matrix)


@pytest.mark.parametrize("fmt", WRITABLE_FORMATS)
def test_every_writable_format_round_trips(tmp_path: Path, sample: Vectors, fmt: str) -> None:
    path = tmp_path / f"v.{fmt}"
    sample.save(path, fmt)
    detected = detect_vectors_format(path)
    assert detected == {"fasttext-vec": "word2vec"}.get(fmt, fmt)
    for given in (None, fmt):
        loaded = load_vectors(path, format=given)
        assert loaded.index_to_key == sample.index_to_key
        np.testing.assert_array_equal(loaded.matrix, sample.matrix)
    assert len(load_vectors(path, limit=3)) == 3


def test_detects_shared_fixtures(shared_data: Path) -> None:
    base = shared_data / "formats"
    assert detect_vectors_format(base / "test_glove.txt") == "glove"
    assert detect_vectors_format(base / "word2vec_pre_kv_c") == "word2vec"
    assert detect_vectors_format(base / "lee_fasttext.vec") == "word2vec"
    assert detect_vectors_format(base / "crime-and-punishment.bin") == "fasttext-bin"
    assert detect_vectors_format(base / "lee_fasttext.bin") == "fasttext-bin"  # pre-0.2: no magic number
    assert load_vectors(base / "lee_fasttext.vec", format="fasttext-vec").vector_size == 10


def test_bad_arguments(tmp_path: Path, sample: Vectors) -> None:
    with pytest.raises(ConfigError, match="'bin'"):
        load_vectors(tmp_path / "x", format="bin")
    with pytest.raises(ConfigError, match="to write must be one of"):
        sample.save(tmp_path / "x", "fasttext-bin")
    with pytest.raises(FormatError, match="no such file"):
        load_vectors(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(FormatError, match="empty file"):
        load_vectors(tmp_path / "empty.txt")
    assert "native" in FORMATS and "fasttext-bin" in FORMATS


# --- the fast text path: used on good files, same result as the careful reader -----------------------------
def careful(path: Path, fmt: str, **kwargs) -> Vectors:
    with open(path, "rb") as fh:
        table = text_format._Reader(path, fmt, kwargs.get("limit"), None, "strict").read(fh)
    return Vectors(table.words, table.matrix)


TEXTS = [
    ("glove", b"a 1 2\nb 3 4\n"),
    ("glove", b"\xef\xbb\xbfa 1 2 \r\n\r\n  b\t3   4\r\nc 5 6"),
    ("word2vec", b"3 2\na 1.5 -2e-3\nb 3 4\nc 5 6\n"),
    ("glove", "слово 1e-30 -3.4e38\nnan 0 -0\n1990 7 8\n".encode()),
]


@pytest.mark.parametrize(("fmt", "data"), TEXTS)
def test_fast_path_is_used_and_equals_careful_reader(tmp_path: Path, monkeypatch, fmt: str, data: bytes) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes(data)
    expected = careful(path, fmt)
    monkeypatch.setattr(text_format, "_Reader", None)  # the careful reader must not be needed
    monkeypatch.setattr(text_fast, "_CHUNK", 5)  # chunks end inside lines
    for limit in (None, 1, 2):
        loaded = load_vectors(path, limit=limit)
        assert loaded.index_to_key == expected.index_to_key[:limit]
        np.testing.assert_array_equal(loaded.matrix, expected.matrix[:limit])


def test_fast_path_on_real_glove(shared_data: Path, monkeypatch) -> None:
    path = shared_data / "vectors" / "glove.6B.50d.top20k.txt"
    monkeypatch.setattr(text_format, "_Reader", None)
    vectors = load_vectors(path, limit=5000)
    monkeypatch.undo()
    expected = careful(path, "glove", limit=5000)
    assert vectors.index_to_key == expected.index_to_key
    np.testing.assert_array_equal(vectors.matrix, expected.matrix)


@pytest.mark.parametrize(
    "data",
    [
        b"a 1 2\nb 3\nc 4 5 6\n",
        b"a 1 2\nb 3 4 5\nc 6\n",
        b"a 1 2\nb 1.5-2\n",
        b"a 1 2\nb 0x10 1\n",
        b"a 1 2\nb 1,5 2\n",
    ],
)
def test_fast_path_never_accepts_what_the_careful_reader_refuses(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=r"v.txt:2"):
        load_vectors(path)


def test_older_names_keep_working(tmp_path: Path, sample: Vectors, shared_data: Path) -> None:
    """save_vectors, save_native, load_native, load_fasttext_bin and detect_format are thin aliases."""
    from embedlayer.vectors import (
        FastTextVectors,
        detect_format,
        load_fasttext_bin,
        load_native,
        save_native,
        save_vectors,
    )

    assert detect_format is detect_vectors_format
    save_vectors(sample, tmp_path / "v.txt", "word2vec", precision=3)
    assert (tmp_path / "v.txt").read_text().startswith("7 5\nthe ")
    save_native(sample, tmp_path / "v.native")
    loaded = load_native(tmp_path / "v.native", limit=2)
    assert loaded.index_to_key == sample.index_to_key[:2]
    fasttext = load_fasttext_bin(shared_data / "formats" / "lee_fasttext.bin", limit=5)
    assert isinstance(fasttext, FastTextVectors) and len(fasttext) == 5


def test_load_returns_the_class_it_is_called_on(tmp_path: Path, sample: Vectors, shared_data: Path) -> None:
    from embedlayer.vectors import FastTextVectors

    class Mine(Vectors):
        pass

    sample.save(tmp_path / "v.txt")
    sample.save(tmp_path / "v.native", "native")
    assert type(Mine.load(tmp_path / "v.txt")) is Mine and type(Mine.load(tmp_path / "v.native")) is Mine
    fasttext = shared_data / "formats" / "lee_fasttext.bin"
    with pytest.raises(ConfigError, match=r"lee_fasttext.bin: a fastText model, which Mine.load cannot return"):
        Mine.load(fasttext)
    with pytest.raises(ConfigError, match="FastTextVectors.load reads format 'fasttext-bin', got format='glove'"):
        FastTextVectors.load(tmp_path / "v.txt", format="glove")
    with pytest.raises(FormatError, match="v.txt at byte 0: magic number"):
        FastTextVectors.load(tmp_path / "v.txt")
