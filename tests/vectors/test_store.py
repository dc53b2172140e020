"""Vectors: construction checks, gensim-style access, cosine neighbours on a hand-built matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embedlayer.errors import ConfigError, FormatError, VocabError
from embedlayer.vectors import Vectors

# Directions in 3-D whose cosines are known by hand.
WORDS = ["north", "east", "up", "northeast", "diagonal", "south", "nothing"]
MATRIX = np.array(
    [
        [2.0, 0.0, 0.0],  # north (length 2: cosine must not depend on length)
        [0.0, 1.0, 0.0],  # east
        [0.0, 0.0, 3.0],  # up
        [1.0, 1.0, 0.0],  # northeast
        [1.0, 1.0, 1.0],  # diagonal
        [-1.0, 0.0, 0.0],  # south
        [0.0, 0.0, 0.0],  # nothing: a zero vector
    ],
    dtype=np.float32,
)


@pytest.fixture
def compass() -> Vectors:
    return Vectors(WORDS, MATRIX)


def test_access_follows_gensim_names(compass: Vectors) -> None:
    assert compass.index_to_key == tuple(WORDS)
    assert compass.key_to_index["up"] == 2
    assert compass.vector_size == 3
    assert len(compass) == 7
    assert "east" in compass and "west" not in compass
    np.testing.assert_array_equal(compass["up"], [0.0, 0.0, 3.0])
    np.testing.assert_allclose(compass.get_vector("up", norm=True), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(compass.get_vector("nothing", norm=True), [0.0, 0.0, 0.0])
    assert compass.matrix.dtype == np.float32 and compass.matrix.shape == (7, 3)


def test_most_similar_hand_computed(compass: Vectors) -> None:
    result = compass.most_similar("north", topn=6)
    expected = [
        ("northeast", 1 / math.sqrt(2)),
        ("diagonal", 1 / math.sqrt(3)),
        ("east", 0.0),  # ties (east, up, nothing at 0) are broken by row order
        ("up", 0.0),
        ("nothing", 0.0),
        ("south", -1.0),
    ]
    assert [w for w, _ in result] == [w for w, _ in expected]
    for (_, got), (_, want) in zip(result, expected):
        assert got == pytest.approx(want, abs=1e-6)


def test_most_similar_analogy_uses_normalised_difference(compass: Vectors) -> None:
    # unit(northeast) - unit(east) = (0.707, -0.293, 0) lies 22.5 degrees from north (cos pi/8);
    # the query words themselves are never returned.
    result = compass.most_similar(positive=["northeast"], negative=["east"], topn=2)
    assert result[0][0] == "north"
    assert result[0][1] == pytest.approx(math.cos(math.pi / 8), abs=1e-6)
    assert result[1][0] == "diagonal"
    assert all(word not in ("northeast", "east") for word, _ in compass.most_similar(["northeast"], ["east"], topn=10))


def test_most_similar_excludes_queries_and_caps_topn(compass: Vectors) -> None:
    result = compass.most_similar(["north", "east"], topn=100)
    assert [w for w, _ in result][0] == "northeast"
    assert result[0][1] == pytest.approx(1.0, abs=1e-6)
    assert len(result) == 5 and {"north", "east"}.isdisjoint(w for w, _ in result)


def test_similarity(compass: Vectors) -> None:
    assert compass.similarity("north", "south") == pytest.approx(-1.0, abs=1e-7)
    assert compass.similarity("north", "diagonal") == pytest.approx(1 / math.sqrt(3), abs=1e-7)
    assert compass.similarity("up", "up") == pytest.approx(1.0, abs=1e-7)
    assert compass.similarity("nothing", "north") == 0.0


def test_returned_arrays_are_read_only_and_input_is_copied() -> None:
    source = MATRIX.copy()
    vectors = Vectors(WORDS, source)
    source[0, 0] = 99.0  # the caller's array is not shared
    assert vectors["north"][0] == 2.0
    for array in (vectors.matrix, vectors["north"], vectors.get_vector("north", norm=True), vectors.normed_matrix()):
        with pytest.raises(ValueError):
            array[0] = 5.0
    with pytest.raises(TypeError):
        vectors.key_to_index["west"] = 9  # type: ignore[index]


def test_normalised_matrix_is_cached(compass: Vectors) -> None:
    assert compass.normed_matrix() is compass.normed_matrix()
    norms = np.linalg.norm(compass.normed_matrix()[:-1], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)


def test_from_pairs() -> None:
    vectors = Vectors.from_pairs({"a": [1, 2], "b": [3, 4]}.items())
    assert vectors.index_to_key == ("a", "b")
    np.testing.assert_array_equal(vectors["b"], np.array([3, 4], dtype=np.float32))
    with pytest.raises(FormatError, match="different lengths"):
        Vectors.from_pairs([("a", [1, 2]), ("b", [1])])


@pytest.mark.parametrize(
    ("words", "matrix", "message"),
    [
        (["a", "b", "a"], np.zeros((3, 2)), r"duplicate word 'a' at rows 0 and 2"),
        (["a", "b"], np.zeros((3, 2)), r"3 rows but 2 words"),
        (["a"], np.zeros(2), r"must be 2-D"),
        (["a", "b"], np.array([[0.0, 1.0], [np.nan, 0.0]]), r"word 'b' \(row 1\) has a NaN"),
        (["a", "b"], np.array([[0.0, np.inf], [0.0, 0.0]]), r"word 'a' \(row 0\)"),
        (["a", 7], np.zeros((2, 2)), r"word 1 is 7 \(int\)"),
        (["a"], np.zeros((1, 0)), r"with D >= 1, got shape \(1, 0\)"),
        (["a", "b"], [[1.0, 2.0], [3.0]], r"not a numeric \(N, D\) array"),
        (["a"], [["x", "y"]], r"not a numeric"),
    ],
)
def test_construction_errors(words, matrix, message) -> None:
    with pytest.raises(FormatError, match=message):
        Vectors(words, matrix)


def test_lookup_and_query_errors(compass: Vectors) -> None:
    with pytest.raises(VocabError, match=r"'west' is not in these vectors \(7 words\)"):
        compass["west"]
    with pytest.raises(VocabError, match="'west'"):
        compass.most_similar("west")
    with pytest.raises(VocabError, match="'west'"):
        compass.similarity("north", "west")
    with pytest.raises(ConfigError, match="topn must be a positive int, got 0"):
        compass.most_similar("north", topn=0)
    with pytest.raises(ConfigError, match="at least one"):
        compass.most_similar([])
