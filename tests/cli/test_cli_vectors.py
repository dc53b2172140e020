"""`embedlayer vectors ...` in-process: JSON outputs agree with the library; errors are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_json

from embedlayer.cli.main import main
from embedlayer.vectors import FORMATS, WRITABLE_FORMATS, load_vectors
from embedlayer.vectors.evaluation import evaluate_word_analogies, evaluate_word_pairs


@pytest.fixture
def glove_small(glove_head) -> Path:
    """The first 3,000 words of GloVe 6B 50d."""
    return glove_head(3000)


def test_info_convert_round_trip(glove_small: Path, tmp_path: Path, capsys) -> None:
    info = run_json(capsys, "vectors", "info", str(glove_small), "--words", "3")
    assert info["format"] == "glove" and info["count"] == 3000 and info["dim"] == 50 and info["dtype"] == "float32"
    assert info["words"] == ["the", ",", "."] and 0 < info["norms"]["min"] <= info["norms"]["max"]
    native = tmp_path / "glove.native"
    out = run_json(capsys, "vectors", "convert", str(glove_small), str(native), "--to", "native", "--limit", "1000")
    assert out["count"] == 1000
    info = run_json(capsys, "vectors", "info", str(native))
    assert info["format"] == "native" and info["count"] == 1000
    back = tmp_path / "back.txt"
    run_json(capsys, "vectors", "convert", str(native), str(back), "--to", "word2vec")
    original, again = load_vectors(glove_small, limit=1000), load_vectors(back)
    assert again.index_to_key == original.index_to_key and (again.matrix == original.matrix).all()
    assert main(["vectors", "info", str(native)]) == 0
    assert "1000 words x 50" in capsys.readouterr().out


def test_neighbors_and_analogy(glove_small: Path, capsys) -> None:
    vectors = load_vectors(glove_small)
    out = run_json(capsys, "vectors", "neighbors", str(glove_small), "king", "france", "--topn", "3")
    expected = vectors.most_similar("king", topn=3)
    assert [w for w, _ in out["neighbors"]["king"]] == [w for w, _ in expected]
    assert [s for _, s in out["neighbors"]["king"]] == pytest.approx([s for _, s in expected], abs=1e-6)
    assert list(out["neighbors"]) == ["king", "france"]
    out = run_json(capsys, "vectors", "analogy", str(glove_small), "man", "king", "woman", "--topn", "3")
    assert out["answers"][0][0] == "queen"
    assert out["answers"] == [[w, s] for w, s in vectors.most_similar(["king", "woman"], ["man"], topn=3)]
    assert main(["vectors", "neighbors", str(glove_small), "king", "--restrict-vocab", "500"]) == 0
    assert "king:" in capsys.readouterr().out


def test_evaluate(glove_small: Path, shared_data: Path, tmp_path: Path, capsys) -> None:
    questions = tmp_path / "q.txt"
    lines = (shared_data / "wordsim" / "questions-words.txt").read_text().splitlines()
    questions.write_text("\n".join(lines[:300]) + "\n")
    pairs = [str(shared_data / "wordsim" / n) for n in ("wordsim353.tsv", "simlex999.txt")]
    out = run_json(
        capsys,
        "vectors",
        "evaluate",
        str(glove_small),
        "--analogies",
        str(questions),
        "--pairs",
        *pairs,
        "--restrict-vocab",
        "2000",
    )
    vectors = load_vectors(glove_small)
    assert out["analogies"]["score"] == evaluate_word_analogies(vectors, questions, restrict_vocab=2000).score
    assert out["pairs"][1]["spearman"][0] == evaluate_word_pairs(vectors, pairs[1], restrict_vocab=2000).spearman[0]
    assert main(["vectors", "evaluate", str(glove_small), "--pairs", pairs[0]]) == 0
    assert "spearman" in capsys.readouterr().out


@pytest.mark.interop
def test_evaluate_defaults_to_gensim_sets(glove_small: Path, capsys) -> None:
    pytest.importorskip("gensim")
    assert main(["vectors", "evaluate", str(glove_small), "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["sets"] == "gensim test data" and len(out["pairs"]) == 2 and out["analogies"]["questions"] == 19544
    assert "gensim wheel" in captured.err


@pytest.mark.parametrize("option", ["--to", "--from"])
def test_format_choices_are_the_library_formats(glove_small: Path, tmp_path: Path, capsys, option: str) -> None:
    argv = ["vectors", "convert", str(glove_small), str(tmp_path / "o"), "--to", "native"]
    with pytest.raises(SystemExit) as info:
        main([*argv, option, "pickle"])
    assert info.value.code == 2
    choices = WRITABLE_FORMATS if option == "--to" else FORMATS
    assert f"invalid choice: 'pickle' (choose from {', '.join(map(repr, choices))})" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["neighbors", "{glove}", "nosuchwordxyz"], "'nosuchwordxyz' is not in these vectors"),
        (["neighbors", "{glove}", "king", "--topn", "0"], "--topn 0: expected a positive number"),
        (["info", "{missing}"], "missing"),
        (["evaluate", "{glove}", "--analogies", "{glove}"], "question before any ': section' line"),
    ],
)
def test_errors_are_one_line(glove_small: Path, tmp_path: Path, capsys, argv, message) -> None:
    paths = {"glove": str(glove_small), "missing": str(tmp_path / "missing.txt"), "out": str(tmp_path / "o")}
    assert main(["vectors", *[a.format(**paths) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("embedlayer: error:") and message in err and err.count("\n") == 1
