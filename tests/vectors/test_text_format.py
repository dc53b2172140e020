"""GloVe / word2vec text: round trips, golden values from real files, and every bad-input error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError, FormatError
from embedlayer.vectors import Vectors, detect_vectors_format, load_vectors

TEST_GLOVE = "formats/test_glove.txt"  # under the shared_data fixture (tests/conftest.py)
WORD2VEC = "formats/word2vec_pre_kv_c"
GLOVE_20K = "vectors/glove.6B.50d.top20k.txt"


def write(tmp_path: Path, text: str | bytes, name: str = "v.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def independent_parse(path: Path, header: bool) -> tuple[list[str], np.ndarray]:
    """Read a vectors text file with plain str.split and float(), nothing shared with the library."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if header:
        lines = lines[1:]
    rows = [line.split(" ") for line in lines]
    return [r[0] for r in rows], np.array([[float(x) for x in r[1:] if x] for r in rows], dtype=np.float32)


# --- round trips ------------------------------------------------------------------------------------
@pytest.fixture
def sample() -> Vectors:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(6, 4)).astype(np.float32)
    matrix[0] = [1e-30, -3.4e38, 0.0, -0.0]  # extremes must survive the text form exactly
    matrix[1] = [1 / 3, 2 / 3, 1e7 + 1, 123456.789]
    return Vectors(["the", "Ünïcödé", "слово", "a\u00a0b", "x.y", "<unk>"], matrix)


@pytest.mark.parametrize("fmt", ["glove", "word2vec"])
def test_round_trip_is_exact(tmp_path: Path, sample: Vectors, fmt: str) -> None:
    path = tmp_path / f"v.{fmt}"
    sample.save(path, format=fmt)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert (first == "6 4") == (fmt == "word2vec")
    assert detect_vectors_format(path) == fmt
    loaded = load_vectors(path)
    assert loaded.index_to_key == sample.index_to_key
    np.testing.assert_array_equal(loaded.matrix, sample.matrix)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_precision_writes_significant_digits(tmp_path: Path) -> None:
    vectors = Vectors(["w"], np.array([[0.123456, 98765.4]], dtype=np.float32))
    vectors.save(tmp_path / "p.txt", precision=3)
    assert (tmp_path / "p.txt").read_text() == "w 0.123 9.88e+04\n"
    with pytest.raises(ConfigError, match="precision"):
        vectors.save(tmp_path / "q.txt", precision=0)


def test_save_refuses_words_text_cannot_hold(tmp_path: Path) -> None:
    vectors = Vectors(["ok", "new york"], np.zeros((2, 2)))
    with pytest.raises(FormatError, match=r"'new york' \(row 1\)"):
        vectors.save(tmp_path / "v.txt")
    assert not (tmp_path / "v.txt").exists()
    with pytest.raises(ConfigError, match="'fasttext'"):
        vectors.save(tmp_path / "v.txt", format="fasttext")  # type: ignore[arg-type]


# --- real files: golden values read independently -----------------------------------------------------
def test_golden_test_glove(shared_data: Path) -> None:
    path = shared_data / TEST_GLOVE
    vectors = load_vectors(path)
    words, matrix = independent_parse(path, header=False)
    assert detect_vectors_format(path) == "glove"
    assert (len(vectors), vectors.vector_size) == (76, 50)
    assert vectors.index_to_key == tuple(words)
    np.testing.assert_array_equal(vectors.matrix, matrix)
    assert vectors["the"][0] == np.float32(0.418) and vectors["the"][1] == np.float32(0.24968)


def test_golden_word2vec_text_with_header(shared_data: Path) -> None:
    path = shared_data / WORD2VEC
    vectors = load_vectors(path)
    words, matrix = independent_parse(path, header=True)
    assert detect_vectors_format(path) == "word2vec"
    assert (len(vectors), vectors.vector_size) == (1750, 10)
    assert vectors.index_to_key == tuple(words)
    np.testing.assert_array_equal(vectors.matrix, matrix)
    assert vectors["the"][0] == np.float32(-0.561106) and vectors["to"][9] == np.float32(-1.576732)
    head = load_vectors(path, limit=3)
    assert head.index_to_key == ("the", "to", "of")
    np.testing.assert_array_equal(head.matrix, matrix[:3])


def test_glove_20k_loads_whole(shared_data: Path) -> None:
    path = shared_data / GLOVE_20K
    vectors = load_vectors(path, expected_dim=50)
    assert (len(vectors), vectors.vector_size) == (20_000, 50)
    with path.open(encoding="utf-8") as fh:
        first = fh.readline().split()
    assert vectors.index_to_key[0] == first[0]
    np.testing.assert_array_equal(vectors.matrix[0], np.array(first[1:], dtype=np.float32))


# --- tolerated variations ---------------------------------------------------------------------------------
def test_crlf_bom_trailing_space_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfa 1 2 \r\n\r\nb 3 4\r\n\n")
    vectors = load_vectors(path)
    assert vectors.index_to_key == ("a", "b")
    np.testing.assert_array_equal(vectors.matrix, [[1, 2], [3, 4]])


def test_limit_on_glove_and_word2vec(tmp_path: Path) -> None:
    glove = write(tmp_path, "a 1 2\nb 3 4\nc 5 6\n", "g.txt")
    assert load_vectors(glove, limit=2).index_to_key == ("a", "b")
    w2v = write(tmp_path, "3 2\na 1 2\nb 3 4\nc 5 6\n", "w.txt")
    assert load_vectors(w2v, limit=1).index_to_key == ("a",)
    assert load_vectors(w2v, limit=10).index_to_key == ("a", "b", "c")


def test_growth_beyond_initial_capacity(tmp_path: Path) -> None:
    lines = "".join(f"w{i} {i} {-i}\n" for i in range(3000))
    vectors = load_vectors(write(tmp_path, lines))
    assert len(vectors) == 3000
    np.testing.assert_array_equal(vectors["w2999"], [2999, -2999])


def test_unicode_errors(tmp_path: Path) -> None:
    path = write(tmp_path, b"ok 1\nbad\xe9 2\n")
    with pytest.raises(FormatError, match=r"v.txt:2: the word b'bad\\xe9' is not valid UTF-8"):
        load_vectors(path)
    assert load_vectors(path, unicode_errors="replace").index_to_key == ("ok", "bad\ufffd")


def test_header_with_zero_words(tmp_path: Path) -> None:
    vectors = load_vectors(write(tmp_path, "0 7\n"))
    assert len(vectors) == 0 and vectors.vector_size == 7


# --- errors: file:line and what was expected ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        (
            "a 1 2\nb 3 4\nc 5\n",
            {},
            r"v.txt:3: expected 2 values after the word 'c' \(the first row's dimension\), found 1",
        ),
        (
            "2 3\na 1 2 3\nb 1 2\n",
            {},
            r"v.txt:3: expected 3 values after the word 'b' \(the header's dimension\), found 2",
        ),
        ("2 3\na 1 2 3 4\nb 1 2 3\n", {}, r"v.txt:2: expected 3 values .* found 4"),
        ("3 2\na 1 2\nb 3 4\n", {}, r"v.txt: the header says 3 words but the file has 2"),
        ("1 2\na 1 2\nb 3 4\n", {}, r"v.txt:3: more words than the header's count 1"),
        ("a 1 2\nb 3 x4\n", {}, r"v.txt:2: value 2 of the word 'b' is 'x4'; expected a number"),
        ("a 1 2\nb 3 4\nc nan 1\n", {}, r"v.txt:3: value 1 of the word 'c' is nan; expected a finite number"),
        ("a 1 2\nb 3 -inf\n", {}, r"v.txt:2: value 2 of the word 'b' is -inf"),
        ("a 1 2\nb 3 4\na 5 6\n", {}, r"v.txt:3: duplicate word 'a' \(first on line 1\)"),
        ("", {}, r"v.txt: empty file"),
        ("\n  \n", {}, r"v.txt: empty file"),
        ("lonely\n", {}, r"v.txt:1: found the word 'lonely' and no values"),
        ("a 1 2 3 4\n", {"expected_dim": 50}, r"v.txt:1: the vectors have dimension 4, expected_dim is 50"),
        ("3 4\na 1 2 3 4\n", {"expected_dim": 50}, r"v.txt:1: the vectors have dimension 4, expected_dim is 50"),
        ("a 1 2\n", {"format": "word2vec"}, r"v.txt:1: expected a word2vec header 'count dim', found 'a 1 2'"),
        (
            "2 3\na 1 2 3\n",
            {"format": "glove"},
            r"v.txt:2: expected 1 values .* found 3; line 1 looks like a word2vec header",
        ),
        ("2 0\n", {}, r"v.txt:1: header dimension is 0"),
    ],
)
def test_format_errors(tmp_path: Path, text: str, kwargs: dict, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FormatError, match=message):
        load_vectors(path, **kwargs)


def test_missing_file_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="nope.txt: no such file"):
        load_vectors(tmp_path / "nope.txt")
    path = write(tmp_path, "a 1\n")
    with pytest.raises(ConfigError, match="'bin'"):
        load_vectors(path, format="bin")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="limit must be a positive int or None, got 0"):
        load_vectors(path, limit=0)
    with pytest.raises(ConfigError, match="expected_dim"):
        load_vectors(path, expected_dim=-3)
