"""Evaluation equals gensim's evaluate_word_analogies / evaluate_word_pairs on GloVe (top 20k)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlayer.errors import ConfigError, DataError
from embedlayer.vectors import Vectors, evaluation, load_vectors
from embedlayer.vectors.evaluation import average_ranks, evaluate_word_analogies, evaluate_word_pairs, pearson_r

gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def glove(shared_data: Path) -> tuple[Vectors, object]:
    vectors = load_vectors(shared_data / "vectors" / "glove.6B.50d.top20k.txt")
    kv = gensim_kv.KeyedVectors(vectors.vector_size)
    kv.add_vectors(list(vectors.index_to_key), np.array(vectors.matrix))
    return vectors, kv


def check_analogies(ours, theirs) -> None:
    score, sections = theirs
    assert ours.score == pytest.approx(score, abs=1e-12)
    assert [s["section"] for s in ours.sections] == [s["section"] for s in sections]
    assert [(s["correct"], s["incorrect"]) for s in ours.sections] == [
        (len(s["correct"]), len(s["incorrect"])) for s in sections
    ]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"restrict_vocab": 3000},
        {"case_insensitive": False, "restrict_vocab": 8000},
        {"dummy4unknown": True, "restrict_vocab": 5000},
    ],
)
def test_analogies_equal_gensim(glove, questions_subset: Path, options) -> None:
    vectors, kv = glove
    ours = evaluate_word_analogies(vectors, questions_subset, **options)
    check_analogies(ours, kv.evaluate_word_analogies(str(questions_subset), **options))
    assert ours.sections[-1]["section"] == "Total accuracy" and len(ours.sections) == 15
    lines = questions_subset.read_text().splitlines()
    assert ours.questions == sum(len(line.split()) == 4 for line in lines if not line.startswith(":"))


def test_analogies_full_file_restricted(glove, shared_data: Path) -> None:
    vectors, kv = glove
    path = shared_data / "wordsim" / "questions-words.txt"
    calls = []
    ours = evaluate_word_analogies(vectors, path, restrict_vocab=4000, progress=lambda d, t: calls.append((d, t)))
    theirs = kv.evaluate_word_analogies(str(path), restrict_vocab=4000)
    check_analogies(ours, theirs)
    assert ours.questions == 19544 and calls[-1][0] == calls[-1][1]
    questions = sum(not line.startswith(":") for line in path.read_text().splitlines())
    oov = questions - (ours.sections[-1]["correct"] + ours.sections[-1]["incorrect"])
    assert ours.oov == oov and ours.oov_ratio == pytest.approx(100 * oov / 19544)


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
@pytest.mark.parametrize("options", [{}, {"dummy4unknown": True}, {"case_insensitive": False, "restrict_vocab": 8000}])
def test_word_pairs_equal_gensim(glove, shared_data: Path, name: str, options) -> None:
    vectors, kv = glove
    path = shared_data / "wordsim" / name
    ours = evaluate_word_pairs(vectors, path, **options)
    pearson, spearman, oov_ratio = kv.evaluate_word_pairs(str(path), **options)
    assert ours.pearson[0] == pytest.approx(pearson[0], abs=1e-6)
    assert ours.spearman[0] == pytest.approx(spearman[0], abs=1e-6)
    assert ours.pearson[1] == pytest.approx(pearson[1], rel=1e-4)
    assert ours.spearman[1] == pytest.approx(spearman[1], rel=1e-4)
    assert ours.oov_ratio == pytest.approx(oov_ratio, abs=1e-9)


def test_ranks_and_correlations_match_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, 200).astype(float)  # many ties
    y = x + rng.normal(0, 2, 200)
    np.testing.assert_array_equal(average_ranks(x), stats.rankdata(x))
    assert pearson_r(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)
    assert pearson_r(average_ranks(x), average_ranks(y)) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)


def test_without_scipy_p_values_are_none(glove, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "scipy", None)
    result = evaluate_word_pairs(glove[0], shared_data / "wordsim" / "wordsim353.tsv")
    assert result.pearson[1] is None and result.spearman[1] is None and result.pearson[0] > 0.4


def test_default_sets_from_gensim_wheel(glove, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = glove[0]
    result = evaluate_word_pairs(vectors)
    assert result.source == "gensim test data" and result.path.endswith("wordsim353.tsv")
    monkeypatch.setattr(evaluation, "gensim_test_file", lambda name: None)
    with pytest.raises(ConfigError, match="pass the path"):
        evaluate_word_analogies(vectors)
    with pytest.raises(ConfigError, match="gensim .* is not installed"):
        evaluate_word_pairs(vectors)


def test_bad_files(glove, tmp_path: Path) -> None:
    vectors = glove[0]
    path = tmp_path / "q.txt"
    path.write_text("athens greece berlin germany\n")
    with pytest.raises(DataError, match=r"q.txt:1: question before any ': section' line"):
        evaluate_word_analogies(vectors, path)
    path.write_text(": empty\n")
    with pytest.raises(DataError, match="no question found"):
        evaluate_word_analogies(vectors, path)
    path.write_bytes(b": s\nathens greece \xff germany\n")
    with pytest.raises(DataError, match=r"q.txt:2: not valid UTF-8"):
        evaluate_word_analogies(vectors, path)
    pairs = tmp_path / "p.tsv"
    pairs.write_text("# comment\nzzzqqq\tyyyxxx\t3.0\nnot a pair\n")
    with pytest.raises(DataError, match="no valid similarity judgement"):
        evaluate_word_pairs(vectors, pairs)
    with pytest.raises(ConfigError, match="restrict_vocab"):
        evaluate_word_pairs(vectors, pairs, restrict_vocab=0)
