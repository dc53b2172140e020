"""Property tests: random vocabularies round-trip through every writable file format, and corrupted
files make the readers succeed or raise FormatError, never anything else, never hang."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedlayer.errors import FormatError
from embedlayer.vectors import Vectors, load_vectors
from embedlayer.vectors.fasttext_bin import FASTTEXT_MAGIC

# words: any characters but ASCII whitespace (the separators) and surrogates (not UTF-8)
WORD = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=" \t\n\r\x0b\x0c"), min_size=1, max_size=8)
FLOAT = st.floats(width=32, allow_nan=False, allow_infinity=False)


@st.composite
def tables(draw) -> Vectors:
    words = draw(st.lists(WORD, min_size=1, max_size=12, unique=True))
    dim = draw(st.integers(1, 6))
    values = draw(st.lists(FLOAT, min_size=len(words) * dim, max_size=len(words) * dim))
    return Vectors(words, np.array(values, dtype=np.float32).reshape(len(words), dim))


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), fmt=st.sampled_from(["glove", "word2vec", "fasttext-vec", "word2vec-binary", "native"]))
def test_round_trip(table: Vectors, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v"
        table.save(path, fmt)
        loaded = load_vectors(path, format=fmt)
        assert loaded.index_to_key == table.index_to_key
        np.testing.assert_array_equal(loaded.matrix, table.matrix)  # exact, -0.0 and subnormals included


def _valid_files() -> dict[str, bytes]:
    rng = np.random.default_rng(4)
    table = Vectors(["the", "of", "слово", "x"], rng.normal(size=(4, 3)).astype(np.float32))
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("glove", "word2vec", "word2vec-binary"):
            table.save(Path(tmp) / fmt, fmt)
            files[fmt] = (Path(tmp) / fmt).read_bytes()
    args = struct.pack("<12id", 3, 5, 5, 1, 5, 1, 2, 2, 4, 2, 3, 100, 1e-4)
    words = [b"the", b"of", "слово".encode()]
    entries = b"".join(w + b"\0" + struct.pack("<qb", 1, 0) for w in words)
    rows = len(words) + 4
    files["fasttext-bin"] = (
        struct.pack("<ii", FASTTEXT_MAGIC, 12)
        + args
        + struct.pack("<iiiqq", 3, 3, 0, 3, -1)
        + entries
        + b"\0"
        + struct.pack("<qq", rows, 3)
        + rng.normal(size=rows * 3).astype("<f4").tobytes()
        + struct.pack("<?qq", False, 1, 3)
        + np.zeros(3, "<f4").tobytes()
    )
    return files


VALID = _valid_files()
READERS = {
    fmt: lambda p, fmt=fmt: Vectors.load(p, fmt) for fmt in ("glove", "word2vec", "word2vec-binary", "fasttext-bin")
}
READERS["detect"] = load_vectors


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(VALID)),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.floats(0, 1)),
    detect=st.booleans(),
)
def test_corrupted_files_raise_format_error_or_load(fmt: str, edits, cut, detect: bool) -> None:
    data = bytearray(VALID[fmt])
    for where, value in edits:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v"
        path.write_bytes(bytes(data))
        try:
            vectors = READERS["detect" if detect else fmt](path)
        except FormatError:
            return
        assert np.isfinite(vectors.matrix).all() and len(vectors.index_to_key) == len(vectors)
