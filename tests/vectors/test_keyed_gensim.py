"""gensim's KeyedVectors names on Vectors (keyed.py, Vectors.load): each equals gensim's on the same file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError, VocabError
from embedlayer.vectors import FastTextVectors, Vectors, load_vectors

gensim_models = pytest.importorskip("gensim.models")
KeyedVectors = gensim_models.KeyedVectors
pytestmark = pytest.mark.interop

WORDS = ["king", "queen", "man", "woman", "paris", "france", "good", "film", "car", "truck"]


@pytest.fixture(scope="module")
def glove_file(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3,000 words of GloVe 6B 50d (a real file, no header), read by both libraries."""
    lines = (shared_data / "vectors" / "glove.6B.50d.top20k.txt").read_bytes().split(b"\n")[:3000]
    path = tmp_path_factory.mktemp("glove") / "glove3k.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(scope="module")
def both(glove_file: Path) -> tuple[Vectors, object]:
    ours = Vectors.load_word2vec_format(glove_file, no_header=True)
    return ours, KeyedVectors.load_word2vec_format(str(glove_file), no_header=True)


def same_neighbours(ours, theirs) -> None:
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)


# --- files -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("vectors/glove.6B.50d.top20k.txt", {"no_header": True, "limit": 500}),
        ("formats/word2vec_pre_kv_c", {}),
        ("formats/word2vec_pre_kv_c", {"limit": 7}),
        ("formats/euclidean_vectors.bin", {"binary": True}),
        ("formats/crime-and-punishment.vec", {"unicode_errors": "replace"}),
    ],
)
def test_load_word2vec_format_equals_gensim(shared_data: Path, name: str, kwargs: dict) -> None:
    path = shared_data / name
    ours = Vectors.load_word2vec_format(path, **kwargs)
    theirs = KeyedVectors.load_word2vec_format(str(path), **kwargs)
    assert type(ours) is Vectors
    assert list(ours.index_to_key) == theirs.index_to_key and dict(ours.key_to_index) == theirs.key_to_index
    assert ours.vector_size == theirs.vector_size
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)


def test_load_is_load_vectors(shared_data: Path, glove_file: Path) -> None:
    assert load_vectors.__func__ is Vectors.load.__func__  # the same function, not a copy
    table = Vectors.load(glove_file)
    np.testing.assert_array_equal(table.matrix, load_vectors(glove_file).matrix)
    fasttext = shared_data / "formats" / "lee_fasttext.bin"
    assert type(Vectors.load(fasttext)) is FastTextVectors and type(FastTextVectors.load(fasttext)) is FastTextVectors


@pytest.mark.parametrize(("write_header", "prefix"), [(True, ""), (False, ""), (True, "en_")])
def test_save_word2vec_format_text_is_gensims_bytes(tmp_path: Path, both, write_header: bool, prefix: str) -> None:
    ours, theirs = both
    ours.save_word2vec_format(tmp_path / "ours.txt", write_header=write_header, prefix=prefix)
    theirs.save_word2vec_format(str(tmp_path / "gensim.txt"), write_header=write_header, prefix=prefix)
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "gensim.txt").read_bytes()


def test_save_word2vec_format_binary_reads_back_in_both(tmp_path: Path, both) -> None:
    ours, theirs = both
    ours.save_word2vec_format(tmp_path / "ours.bin", binary=True)
    theirs.save_word2vec_format(str(tmp_path / "gensim.bin"), binary=True)
    for reread in (
        KeyedVectors.load_word2vec_format(str(tmp_path / "ours.bin"), binary=True),
        Vectors.load_word2vec_format(tmp_path / "gensim.bin", binary=True),
    ):
        assert list(reread.index_to_key) == theirs.index_to_key
        np.testing.assert_array_equal(reread.vectors, theirs.vectors)


def test_word2vec_format_refuses_what_it_cannot_do(tmp_path: Path, glove_file: Path, both) -> None:
    ours = both[0]
    for kwargs, message in [
        ({"fvocab": "vocab.txt"}, "fvocab='vocab.txt'"),
        ({"encoding": "latin-1"}, "'latin-1'"),
        ({"datatype": np.float16}, "datatype must be float32"),
        ({"binary": True, "no_header": True}, "no_header=True is for text files"),
        ({"limit": 0}, "limit must be a positive int"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Vectors.load_word2vec_format(glove_file, **kwargs)
    assert len(Vectors.load_word2vec_format(glove_file, encoding="UTF-8", no_header=True, limit=3)) == 3
    with pytest.raises(ConfigError, match="fvocab"):
        ours.save_word2vec_format(tmp_path / "x.txt", fvocab=tmp_path / "v.txt")
    with pytest.raises(ConfigError, match="need their header"):
        ours.save_word2vec_format(tmp_path / "x.bin", binary=True, write_header=False)
    assert not list(tmp_path.iterdir())


# --- attributes and lookups ----------------------------------------------------------------------------
def test_attributes_and_lookups_equal_gensim(both) -> None:
    ours, theirs = both
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    assert ours.vectors is ours.matrix and not ours.vectors.flags.writeable
    assert ours.vector_size == theirs.vector_size == 50
    for key in ["the", "film", 0, 2999, np.int64(17)]:
        assert ours.get_index(key) == theirs.get_index(key) and ours.has_index_for(key) == theirs.has_index_for(key)
    for key in ["zzzqqq", 3000, -1]:
        assert ours.get_index(key, default=-5) == theirs.get_index(key, default=-5) == -5
        assert not ours.has_index_for(key) and not theirs.has_index_for(key)
        with pytest.raises(VocabError, match=repr(key)):
            ours.get_index(key)
    np.testing.assert_allclose(ours.get_normed_vectors(), theirs.get_normed_vectors(), atol=1e-7)


def test_has_index_for_an_unseen_fasttext_word(shared_data: Path) -> None:
    gensim_fasttext = pytest.importorskip("gensim.models.fasttext")
    path = shared_data / "formats" / "crime-and-punishment.bin"
    ours, theirs = Vectors.load(path), gensim_fasttext.load_facebook_model(str(path)).wv
    for word in ["раскольниковщина", ours.index_to_key[5]]:
        assert (word in ours, ours.has_index_for(word)) == (word in theirs, theirs.has_index_for(word))


# --- queries ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"topn": 3}, {"restrict_vocab": 500}])
def test_similar_by_word_and_key_equal_gensim(both, options: dict) -> None:
    ours, theirs = both
    for word in WORDS[:4]:
        same_neighbours(ours.similar_by_word(word, **options), theirs.similar_by_word(word, **options))
        same_neighbours(ours.similar_by_key(word, **options), theirs.similar_by_key(word, **options))
    np.testing.assert_allclose(
        ours.similar_by_key("king", topn=None), theirs.similar_by_key("king", topn=None), atol=1e-6
    )


def test_cosine_similarities_and_distances_equal_gensim(both) -> None:
    ours, theirs = both
    vector = np.random.default_rng(5).standard_normal(50).astype(np.float32)
    rows = theirs.vectors[100:140]
    got = Vectors.cosine_similarities(vector, rows)
    expected = KeyedVectors.cosine_similarities(vector, rows)
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-6)
    for query in ["king", vector]:
        np.testing.assert_allclose(ours.distances(query), theirs.distances(query), atol=1e-6)
        np.testing.assert_allclose(ours.distances(query, WORDS), theirs.distances(query, WORDS), atol=1e-6)
    assert ours.distances("king").shape == (len(ours),) and ours.distances("king")[ours.get_index("king")] < 1e-6
    with pytest.raises(VocabError, match="zzzqqq"):
        ours.distances("king", ["queen", "zzzqqq"])
    with pytest.raises(ConfigError, match=r"shape \(3,\)"):
        ours.distances(np.ones(3, dtype=np.float32))
    with pytest.raises(ConfigError, match="shapes"):
        Vectors.cosine_similarities(vector, vector)
    assert Vectors.cosine_similarities(np.zeros(2), np.array([[1.0, 0.0]])).tolist() == [0.0]  # gensim: NaN


def test_relative_cosine_similarity_and_most_similar_to_given_equal_gensim(both) -> None:
    ours, theirs = both
    for wa, wb in [("king", "queen"), ("good", "film"), ("car", "truck")]:
        for topn in (10, 3):
            assert ours.relative_cosine_similarity(wa, wb, topn) == pytest.approx(
                theirs.relative_cosine_similarity(wa, wb, topn), abs=1e-6
            )
    for key in ["king", "paris", "car"]:
        assert ours.most_similar_to_given(key, WORDS[4:]) == theirs.most_similar_to_given(key, WORDS[4:])
    with pytest.raises(ConfigError, match="at least one key"):
        ours.most_similar_to_given("king", [])


@pytest.mark.parametrize("use_norm", [True, False])
def test_rank_by_centrality_and_doesnt_match_equal_gensim(both, use_norm: bool) -> None:
    ours, theirs = both
    for words in (WORDS, ["morning", "evening", "night", "film"], ["king"]):
        got, expected = ours.rank_by_centrality(words, use_norm), theirs.rank_by_centrality(words, use_norm)
        assert [w for _, w in got] == [w for _, w in expected]
        np.testing.assert_allclose([s for s, _ in got], [s for s, _ in expected], atol=1e-6)
        assert ours.doesnt_match(words) == theirs.doesnt_match(words)
    with pytest.raises(ConfigError, match="at least one word"):
        ours.rank_by_centrality([])
    with pytest.raises(VocabError, match="zzzqqq"):  # gensim drops it with a warning
        ours.rank_by_centrality(["king", "zzzqqq"])


# --- evaluation as methods, returning what gensim returns ----------------------------------------------
@pytest.mark.parametrize(
    "options",
    [{}, {"restrict_vocab": 1000, "case_insensitive": False}, {"dummy4unknown": True, "restrict_vocab": 2000}],
)
def test_evaluate_word_analogies_method_equals_gensim(both, questions_subset: Path, options: dict) -> None:
    ours, theirs = both
    score, sections = ours.evaluate_word_analogies(questions_subset, **options)
    expected_score, expected_sections = theirs.evaluate_word_analogies(str(questions_subset), **options)
    assert score == pytest.approx(expected_score, abs=1e-12)
    assert sections == expected_sections  # names and the very (a, b, c, d) questions, right and wrong
    with pytest.raises(ConfigError, match="'3CosMul'"):
        ours.evaluate_word_analogies(questions_subset, similarity_function="3CosMul")


def test_evaluate_word_analogies_with_every_question_oov_equals_gensim(questions_subset: Path) -> None:
    words, matrix = ["щи", "борщ"], np.eye(2, 3, dtype=np.float32)
    theirs = KeyedVectors(3)
    theirs.add_vectors(words, matrix)
    for dummy4unknown in (False, True):
        expected = theirs.evaluate_word_analogies(str(questions_subset), dummy4unknown=dummy4unknown)
        assert Vectors(words, matrix).evaluate_word_analogies(questions_subset, dummy4unknown=dummy4unknown) == expected


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
@pytest.mark.parametrize("options", [{}, {"dummy4unknown": True, "case_insensitive": False}])
def test_evaluate_word_pairs_method_equals_gensim(both, shared_data: Path, name: str, options: dict) -> None:
    ours, theirs = both
    path = shared_data / "wordsim" / name
    (r, r_p), (rho, rho_p), oov_ratio = ours.evaluate_word_pairs(path, **options)
    pearson, spearman, expected_oov = theirs.evaluate_word_pairs(str(path), **options)
    assert (r, rho) == pytest.approx((pearson[0], spearman[0]), abs=1e-6)
    assert (r_p, rho_p) == pytest.approx((pearson[1], spearman[1]), rel=1e-4)
    assert oov_ratio == pytest.approx(expected_oov, abs=1e-9)
