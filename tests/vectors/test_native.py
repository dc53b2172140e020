"""The native format: round trip, O(1) lazy opening, limit views, atomic replace, bad directories."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError, FormatError
from embedlayer.vectors import Vectors
from embedlayer.vectors.similarity import is_mapped

WORDS = ["the", "Ünïcode", "naïve café", "", "tab\there", "last"]


@pytest.fixture
def small() -> Vectors:
    rng = np.random.default_rng(1)
    return Vectors(WORDS, rng.standard_normal((len(WORDS), 4)).astype(np.float32))


def test_round_trip_and_layout(tmp_path: Path, small: Vectors) -> None:
    path = tmp_path / "v.native"
    small.save(path, format="native")
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "vectors.npy", "words.txt"]
    meta = json.loads((path / "meta.json").read_text())
    assert meta == {
        "format": "embedlayer.vectors",
        "version": 1,
        "count": 6,
        "dim": 4,
        "dtype": "float32",
        "matrix": "vectors.npy",
        "words": "words.txt",
    }
    assert (path / "words.txt").read_bytes() == "".join(w + "\n" for w in WORDS).encode()
    loaded = Vectors.load(path, format="native")
    assert loaded.index_to_key == tuple(WORDS)
    np.testing.assert_array_equal(loaded.matrix, small.matrix)
    assert loaded.matrix.dtype == np.float32 and not loaded.matrix.flags.writeable
    np.testing.assert_array_equal(np.load(path / "vectors.npy"), small.matrix)  # plain numpy reads it
    mapped, in_memory = loaded.most_similar("the", topn=3), small.most_similar("the", topn=3)
    assert [w for w, _ in mapped] == [w for w, _ in in_memory]
    assert [s for _, s in mapped] == pytest.approx([s for _, s in in_memory], abs=1e-6)
    assert loaded._normed is None  # the mapped rows were scored block by block, never copied whole
    small.save(tmp_path / "via_save", format="native")
    assert Vectors.load(tmp_path / "via_save", format="native").index_to_key == tuple(WORDS)


def test_open_is_lazy_and_does_not_read_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 300_000
    words = [f"w{i}" for i in range(n)]
    big = Vectors(words, np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32), copy=False)
    big.save(tmp_path / "big", format="native")
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    vectors = Vectors.load(tmp_path / "big", format="native")
    assert not any(p.endswith("words.txt") for p in opened), opened
    assert not vectors.words_loaded and len(vectors) == n and vectors.vector_size == 8
    assert is_mapped(vectors.matrix) and not is_mapped(big.matrix)
    np.testing.assert_array_equal(vectors.matrix[123_456], big.matrix[123_456])  # rows without words
    assert not vectors.words_loaded
    assert "w299999" in vectors and vectors.words_loaded  # the first lookup reads the words, once
    assert sum(p.endswith("words.txt") for p in opened) == 1
    assert vectors.key_to_index["w7"] == 7 and "w7" in vectors
    assert sum(p.endswith("words.txt") for p in opened) == 1


def test_limit_is_a_view_of_the_first_rows(tmp_path: Path, small: Vectors) -> None:
    small.save(tmp_path / "v", format="native")
    head = Vectors.load(tmp_path / "v", format="native", limit=2)
    assert len(head) == 2 and head.index_to_key == ("the", "Ünïcode")
    np.testing.assert_array_equal(head.matrix, small.matrix[:2])
    assert "last" not in head
    assert len(Vectors.load(tmp_path / "v", format="native", limit=100)) == 6
    with pytest.raises(ConfigError, match="limit must be a positive int"):
        Vectors.load(tmp_path / "v", format="native", limit=0)


def test_replace_existing_table_atomically(tmp_path: Path, small: Vectors) -> None:
    path = tmp_path / "v"
    small.save(path, format="native")
    other = Vectors(["x"], [[1.0, 2.0]])
    other.save(path, format="native")
    assert Vectors.load(path, format="native").index_to_key == ("x",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]  # no temporary or old directory left
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="not a native vectors directory"):
        small.save(tmp_path / "mine", format="native")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"
    with pytest.raises(FormatError, match=r"contains a newline"):
        Vectors(["a\nb"], [[1.0]]).save(tmp_path / "nl", format="native")
    assert not (tmp_path / "nl").exists()


def _corrupt(path: Path, **meta_changes) -> None:
    meta = json.loads((path / "meta.json").read_text())
    meta.update(meta_changes)
    (path / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, r"meta.json: format is 'other'; expected 'embedlayer.vectors'"),
        ({"version": 2}, r"version 2 is newer"),
        ({"version": "1"}, r"version is '1'"),
        ({"count": 7}, r"vectors.npy: holds float32 \(6, 4\).*expected little-endian float32 \(7, 4\)"),
        ({"dim": 0}, r"dim is 0; expected an int >= 1"),
        ({"dtype": "float64"}, r"dtype is 'float64'"),
        ({"matrix": "../elsewhere.npy"}, r"matrix is '../elsewhere.npy'; expected a file name inside"),
        ({"words": "nope.txt"}, r"nope.txt: missing"),
    ],
)
def test_bad_meta(tmp_path: Path, small: Vectors, change: dict, message: str) -> None:
    small.save(tmp_path / "v", format="native")
    _corrupt(tmp_path / "v", **change)
    with pytest.raises(FormatError, match=message):
        Vectors.load(tmp_path / "v", format="native")


def test_bad_files(tmp_path: Path, small: Vectors) -> None:
    path = tmp_path / "v"
    with pytest.raises(FormatError, match="does not exist"):
        Vectors.load(path, format="native")
    small.save(path, format="native")
    npy = path / "vectors.npy"
    data = npy.read_bytes()
    npy.write_bytes(data[:-3])
    with pytest.raises(FormatError, match=r"vectors.npy: \d+ bytes; expected \d+ .*truncated"):
        Vectors.load(path, format="native")
    npy.write_bytes(data + b"xx")
    with pytest.raises(FormatError, match="trailing bytes"):
        Vectors.load(path, format="native")
    npy.write_bytes(b"not numpy at all")
    with pytest.raises(FormatError, match="not a valid .npy file"):
        Vectors.load(path, format="native")
    np.save(npy, np.asfortranarray(small.matrix))
    with pytest.raises(FormatError, match="Fortran order"):
        Vectors.load(path, format="native")
    np.save(npy, small.matrix.astype(np.float64))
    with pytest.raises(FormatError, match="float64"):
        Vectors.load(path, format="native")
    np.save(npy, small.matrix)
    (path / "meta.json").write_text("{broken")
    with pytest.raises(FormatError, match="meta.json: not valid JSON"):
        Vectors.load(path, format="native")


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (b"a\nb\nc\nd\ne\n", r"words.txt: 5 lines; expected 6 words"),
        (b"a\nb\nc\nd\ne\nf", r"no final newline"),
        (b"a\nb\n\xff\nd\ne\nf\n", r"words.txt:3: word is not valid UTF-8"),
        (b"a\nb\na\nd\ne\nf\n", r"words.txt: duplicate word 'a' at rows 0 and 2"),
    ],
)
def test_bad_words_file_raises_on_first_lookup(tmp_path: Path, small: Vectors, words: bytes, message: str) -> None:
    small.save(tmp_path / "v", format="native")
    (tmp_path / "v" / "words.txt").write_bytes(words)
    vectors = Vectors.load(tmp_path / "v", format="native")  # opening does not read the words
    with pytest.raises(FormatError, match=message):
        "a" in vectors  # noqa: B015


def test_empty_table(tmp_path: Path) -> None:
    empty = Vectors([], np.zeros((0, 3), dtype=np.float32))
    empty.save(tmp_path / "e", format="native")
    loaded = Vectors.load(tmp_path / "e", format="native")
    assert len(loaded) == 0 and loaded.vector_size == 3 and loaded.index_to_key == ()
