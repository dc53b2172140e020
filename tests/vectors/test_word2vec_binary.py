"""word2vec C binary: round trips, both record styles, and every bad-file error with its byte offset."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError, FormatError
from embedlayer.vectors import Vectors, detect_vectors_format, load_vectors


def record(word: bytes, values, newline: bool = True) -> bytes:
    return word + b" " + struct.pack(f"<{len(values)}f", *values) + (b"\n" if newline else b"")


def write(tmp_path: Path, data: bytes, name: str = "v.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture
def sample() -> Vectors:
    matrix = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    matrix[0] = [1e-38, -3.4e38, -0.0]
    return Vectors(["the", "Ünïcödé", "слово", "a\u00a0b", "</s>"], matrix)


def test_round_trip_and_detection(tmp_path: Path, sample: Vectors) -> None:
    path = tmp_path / "v.bin"
    sample.save(path, "word2vec-binary")
    assert path.read_bytes().startswith(b"5 3\nthe ")
    assert detect_vectors_format(path) == "word2vec-binary"
    loaded = load_vectors(path)
    assert loaded.index_to_key == sample.index_to_key
    np.testing.assert_array_equal(loaded.matrix, sample.matrix)
    assert load_vectors(path, limit=2).index_to_key == ("the", "Ünïcödé")
    assert [p.name for p in tmp_path.iterdir()] == ["v.bin"]


@pytest.mark.parametrize("newline", [True, False])
def test_both_record_styles_and_small_chunks(tmp_path: Path, newline: bool, monkeypatch) -> None:
    import embedlayer.vectors.word2vec_binary as module

    monkeypatch.setattr(module, "_CHUNK", 7)  # records cross chunk boundaries
    rows = np.arange(40, dtype=np.float32).reshape(10, 4) - 20.5
    data = b"10 4\n" + b"".join(record(f"w{i}".encode(), r, newline) for i, r in enumerate(rows))
    vectors = Vectors.load(write(tmp_path, data), "word2vec-binary")
    assert vectors.index_to_key == tuple(f"w{i}" for i in range(10))
    np.testing.assert_array_equal(vectors.matrix, rows)


def test_unicode_policies(tmp_path: Path) -> None:
    path = write(tmp_path, b"2 1\n" + record(b"ok", [1]) + record(b"bad\xe9", [2]))
    with pytest.raises(FormatError, match=r"v.bin at byte 15: the word b'bad\\xe9' is not valid UTF-8"):
        load_vectors(path)
    assert load_vectors(path, unicode_errors="replace").index_to_key == ("ok", "bad\ufffd")
    assert load_vectors(path, unicode_errors="ignore").index_to_key == ("ok", "bad")
    assert load_vectors(path, unicode_errors="backslashreplace").index_to_key == ("ok", "bad\\xe9")
    with pytest.raises(ConfigError, match="unicode_errors"):
        load_vectors(path, unicode_errors="loose")  # type: ignore[arg-type]


GOOD = record(b"a", [1, 2]) + record(b"b", [3, 4])


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (b"2 2\n" + GOOD[:-2], {}, r"at byte 24: file ends inside word 1 of 2 \(its 2 values need 8 bytes"),
        (b"3 2\n" + GOOD, {}, r"too short for the header's 3 words of dimension 2.*truncated"),
        (b"3 2\n" + GOOD + b"c" * 12, {}, r"no space after word 2|file ends"),
        (b"1 2\n" + GOOD, {}, r"at byte 15: more data after the header's 1 words"),
        (b"2 3\n" + GOOD + GOOD, {}, r"at byte 40: more data after the header's 2 words.*dimension wrong"),
        (
            b"3 3\n" + record(b"a", [1, 2, 3]) + record(b"b", [1, 2]) + record(b"c", [1, 2, 3, 4]),
            {},
            r"at byte 33: expected a newline after the vector of word 2.*dimension 3",
        ),
        (b"2 2\n" + record(b"a", [1, 2]) + b" " + struct.pack("<2f", 3, 4), {}, r"at byte 15: empty word"),
        (
            b"2 2\n" + record(b"a", [1, 2]) + record(b"a", [3, 4]),
            {},
            r"at byte 15: duplicate word 'a' \(first at byte 4\)",
        ),
        (
            b"2 2\n" + record(b"a", [1, 2]) + record(b"b", [3, float("nan")]),
            {},
            r"at byte 21: value 2 of the word 'b' is nan",
        ),
        (b"2 2\n" + record(b"a", [float("-inf"), 2]) + GOOD[11:], {}, r"at byte 6: value 1 of the word 'a' is -inf"),
        (b"2 x\n" + GOOD, {}, r"at byte 0: expected a word2vec header 'count dim'"),
        (b"2 0\n" + GOOD, {}, r"header dimension is 0"),
        (b"2 2\n" + GOOD, {"expected_dim": 3}, r"dimension 2, expected_dim is 3"),
        (b"", {}, r"expected a word2vec header"),
    ],
)
def test_bad_files(tmp_path: Path, data: bytes, kwargs: dict, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        Vectors.load(write(tmp_path, data), "word2vec-binary", **kwargs)


def test_limit_stops_before_bad_data(tmp_path: Path) -> None:
    path = write(tmp_path, b"3 2\n" + GOOD + b"\xff\xfe garbage")
    assert Vectors.load(path, "word2vec-binary", limit=2).index_to_key == ("a", "b")


def test_missing_file_and_unwritable_words(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="nope.bin: no such file"):
        Vectors.load(tmp_path / "nope.bin", "word2vec-binary")
    with pytest.raises(FormatError, match=r"'new york' \(row 1\)"):
        Vectors(["ok", "new york"], np.zeros((2, 2))).save(tmp_path / "w.bin", "word2vec-binary")
    assert not (tmp_path / "w.bin").exists()
