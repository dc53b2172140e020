"""`embedlayer pretrain` in-process: a run directory the vectors commands read; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlayer.cli.main import main
from embedlayer.vectors import load_vectors


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("corpus") / "topics.txt"
    lines = [" ".join(f"t{t}w{i}" for i in rng.integers(6, size=10)) for t in rng.integers(3, size=800)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _pretrain(corpus: Path, out: Path, *extra: str) -> list[str]:
    return [
        "pretrain",
        str(corpus),
        "--out",
        str(out),
        "--dim",
        "12",
        "--epochs",
        "2",
        "--min-count",
        "1",
        "--threads",
        "1",
        "--quiet",
        *extra,
    ]


@pytest.mark.slow
def test_pretrain_writes_vectors_the_vectors_commands_read(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_pretrain(corpus, out, "--json")) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["words"] == 18 and stats["dim"] == 12 and stats["raw_tokens"] == 8000
    assert len(stats["epoch_loss"]) == 2 and stats["epoch_loss"][1] < stats["epoch_loss"][0]
    assert not (out / "checkpoint").exists()
    vectors = load_vectors(out)
    assert len(vectors) == 18 and vectors.vector_size == 12
    assert json.loads((out / "pretrain.json").read_text())["config"]["dim"] == 12
    assert main(["vectors", "neighbors", str(out), "t1w0", "--topn", "3", "--json"]) == 0
    neighbours = json.loads(capsys.readouterr().out)
    assert len(json.dumps(neighbours)) > 0 and "t1w" in json.dumps(neighbours)


def test_pretrain_subwords_text_summary_and_model_bin(corpus, tmp_path, capsys):
    out = tmp_path / "sub"
    assert main(_pretrain(corpus, out, "--subwords", "2-3", "--buckets", "1000", "--model", "cbow")) == 0
    text = capsys.readouterr().out
    assert "trained 18 words x 12 (cbow, subwords 2-3)" in text and "model.bin" in text
    assert main(["vectors", "neighbors", str(out / "model.bin"), "t2w77", "--topn", "2", "--json"]) == 0
    assert "t2w" in capsys.readouterr().out  # an unseen word answered from its n-grams


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--window", "0"], "window"),
        (["--negative", "-1"], "negative"),
        (["--dim", "0"], "dim"),
        (["--subwords", "6-3"], "MIN <= MAX"),
        (["--subwords", "three"], "MIN-MAX"),
        (["--min-count", "1000"], "distinct word"),
    ],
)
def test_bad_settings_give_one_line_and_exit_2(corpus, tmp_path, capsys, extra, message):
    argv = _pretrain(corpus, tmp_path / "x", *extra)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("embedlayer: error:") and message in err and "\n" not in err


@pytest.mark.parametrize("content, message", [(b"", "no words"), (b"\x00\x01garbage" * 100, "NUL byte")])
def test_bad_corpora_give_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert main(_pretrain(path, tmp_path / "x")) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(path) in err and "\n" not in err


def test_missing_corpus_and_out_being_a_file(corpus, tmp_path, capsys):
    assert main(_pretrain(tmp_path / "missing.txt", tmp_path / "x")) == 2
    assert "no such corpus file" in capsys.readouterr().err
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(_pretrain(corpus, afile)) == 2
    assert "not a directory" in capsys.readouterr().err
