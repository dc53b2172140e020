"""The Vectors query API against gensim's KeyedVectors built from the same matrix: same words, same
scores (1e-6), for every query form; batched queries equal single ones; the approximate index."""

from __future__ import annotations

import numpy as np
import pytest

from embedlayer.errors import ConfigError, VocabError
from embedlayer.vectors import Vectors

gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
pytestmark = pytest.mark.interop

N, D = 3000, 24


@pytest.fixture(scope="module")
def pair() -> tuple[Vectors, object]:
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((N, D)).astype(np.float32) * rng.uniform(0.5, 3.0, (N, 1)).astype(np.float32)
    words = [f"w{i}" for i in range(N)]
    kv = gensim_kv.KeyedVectors(D)
    kv.add_vectors(words, matrix.copy())
    return Vectors(words, matrix), kv


def same(ours, theirs) -> None:
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)


QUERIES = [
    {"positive": "w1"},
    {"positive": ["w1", "w2"]},
    {"positive": ["w3", "w4"], "negative": ["w5"]},
    {"negative": ["w9"]},
    {"positive": [("w10", 2.0), ("w11", 0.5)], "negative": [("w12", -1.5)]},
    {"positive": ["w1"], "restrict_vocab": 500},
    {"positive": ["w2999"], "restrict_vocab": 100},
    {"positive": ["w1"], "topn": 1},
    {"positive": ["w1"], "topn": 50},
]


@pytest.mark.parametrize("query", QUERIES)
def test_most_similar_equals_gensim(pair, query) -> None:
    ours, kv = pair
    same(ours.most_similar(**query), kv.most_similar(**query))


def test_vector_terms_and_all_scores(pair) -> None:
    ours, kv = pair
    vec = np.random.default_rng(3).standard_normal(D).astype(np.float32)
    query = {"positive": [vec, "w4"], "negative": ["w6"]}
    same(ours.most_similar(**query), kv.most_similar(**query))
    same(ours.similar_by_vector(vec, topn=7), kv.similar_by_vector(vec, topn=7))
    np.testing.assert_allclose(ours.most_similar("w8", topn=None), kv.most_similar("w8", topn=None), atol=1e-6)
    np.testing.assert_allclose(
        ours.get_mean_vector(["w1", vec], weights=[1.0, -2.0]),
        kv.get_mean_vector(["w1", vec], weights=[1.0, -2.0]),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        ours.get_mean_vector(["w1", "w2"], pre_normalize=False, post_normalize=True),
        kv.get_mean_vector(["w1", "w2"], pre_normalize=False, post_normalize=True),
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "query",
    [
        {"positive": ["w3", "w4"], "negative": ["w5"]},
        {"positive": "w7"},
        {"positive": ["w1", "w2", "w3"], "negative": ["w4", "w5"]},
    ],
)
def test_most_similar_cosmul_equals_gensim(pair, query) -> None:
    ours, kv = pair
    same(ours.most_similar_cosmul(**query), kv.most_similar_cosmul(**query))


def test_pairwise_and_set_queries_equal_gensim(pair) -> None:
    ours, kv = pair
    for a, b in [("w1", "w2"), ("w5", "w5"), ("w10", "w2000")]:
        assert ours.similarity(a, b) == pytest.approx(float(kv.similarity(a, b)), abs=1e-6)
        assert ours.distance(a, b) == pytest.approx(float(kv.distance(a, b)), abs=1e-6)
    expected = float(kv.n_similarity(["w1", "w2"], ["w3"]))
    assert ours.n_similarity(["w1", "w2"], ["w3"]) == pytest.approx(expected, abs=1e-6)
    group = ["w1", "w2", "w3", "w4", "w17"]
    assert ours.doesnt_match(group) == kv.doesnt_match(group)
    assert ours.closer_than("w1", "w2") == kv.closer_than("w1", "w2")
    assert ours.words_closer_than("w3", "w100") == kv.closer_than("w3", "w100")
    assert ours.rank("w1", "w2") == kv.rank("w1", "w2")
    np.testing.assert_allclose(ours.get_vector("w5", norm=True), kv.get_vector("w5", norm=True), atol=1e-7)


def test_batch_equals_single_queries(pair) -> None:
    ours, kv = pair
    words = [f"w{i}" for i in range(0, N, 7)]
    batch = ours.most_similar_batch(words, topn=10)
    assert len(batch) == len(words)
    for word, result in zip(words, batch):
        same(result, kv.most_similar(word, topn=10))
    for word, result in zip(words[:50], ours.most_similar_batch(words[:50], topn=5, restrict_vocab=1000)):
        same(result, ours.most_similar(word, topn=5, restrict_vocab=1000))
    assert ours.most_similar_batch([]) == []


def test_ties_by_row_and_zero_rows() -> None:
    vectors = Vectors(["q", "b", "a", "c", "zero"], [[1, 0], [0, 1], [0, 1], [-1, 0], [0, 0]])
    assert [w for w, _ in vectors.most_similar("q", topn=4)] == ["b", "a", "zero", "c"]
    assert vectors.most_similar_batch(["q"], topn=4) == [vectors.most_similar("q", topn=4)]
    assert [w for w, _ in vectors.most_similar("q", topn=1)] == ["b"]  # a boundary tie goes to the lower row
    assert vectors.most_similar("zero", topn=1)[0][1] == 0.0


def test_read_only_and_cached(pair) -> None:
    ours, _ = pair
    assert ours.norms() is ours.norms()
    for array in (ours["w1"], ours.get_vector("w1", norm=True), ours.norms(), ours.matrix):
        with pytest.raises(ValueError):
            array[0] = 1.0


def test_errors(pair) -> None:
    ours, _ = pair
    with pytest.raises(VocabError, match="'nope'"):
        ours.most_similar(["w1", "nope"])
    with pytest.raises(VocabError, match="'nope'"):
        ours.most_similar_batch(["w1", "nope"])
    with pytest.raises(ConfigError, match="restrict_vocab must be a positive int"):
        ours.most_similar("w1", restrict_vocab=0)
    with pytest.raises(ConfigError, match=r"query vector has shape \(3,\)"):
        ours.most_similar([np.zeros(3)])
    with pytest.raises(ConfigError, match="at least one positive"):
        ours.most_similar_cosmul(negative=["w1"])
    with pytest.raises(ConfigError, match="non-empty"):
        ours.n_similarity([], ["w1"])


def test_approximate_index_recall(pair) -> None:
    from embedlayer.vectors.ann import ApproxIndex, available_backends, recall_at_k

    if not available_backends():
        with pytest.raises(ConfigError, match="pip install faiss-cpu"):
            ApproxIndex(pair[0])
        pytest.skip("neither faiss nor hnswlib is installed (optional extra)")
    ours, _ = pair
    index = ApproxIndex(ours, m=16, ef_construction=100, ef_search=64)
    words = [f"w{i}" for i in range(0, N, 10)]
    recall = recall_at_k(index, words, k=10)
    assert recall >= 0.9, recall  # random 24-d data is the hard case for HNSW; real vectors reach ~1.0
    top = index.most_similar("w1", topn=5)
    assert len(top) == 5 and "w1" not in {w for w, _ in top}
