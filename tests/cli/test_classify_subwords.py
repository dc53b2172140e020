"""`classify train --subwords`: train, evaluate and predict with words unseen in training, the model
folder's record, a fastText .bin start, `vectors neighbors MODEL`, and each bad input one line, exit 2."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from cli_helpers import fails, run_json

from embedlayer.cli.main import main

FILLER = ("the", "a", "movie", "film", "was", "really", "quite", "plot", "actors", "and", "it", "very")
FAST = ["--epochs", "6", "--encoder", "bag", "--lr", "0.05", "--batch-size", "16", "--dropout", "0", "--quiet"]


@pytest.fixture(scope="module")
def train_file(tmp_path_factory) -> Path:
    """Texts whose label is their cue word, "good" (pos) or "bad" (neg), among filler words."""
    rng = random.Random(1)
    lines = ["text\tlabel"]
    for i in range(200):
        label = ("neg", "pos")[i % 2]
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 8))]
        words.insert(rng.randint(0, len(words)), "good" if label == "pos" else "bad")
        lines.append(f"{' '.join(words)}\t{label}")
    path = tmp_path_factory.mktemp("data") / "train.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(train: Path, out: Path, *extra: str) -> list[str]:
    return ["classify", "train", "--train", str(train), "--out", str(out), *FAST, *extra]


@pytest.fixture(scope="module")
def model(train_file: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m"
    assert main(_train(train_file, out, "--dim", "16", "--subwords", "3-5", "--buckets", "1000")) == 0
    return out


def test_unseen_words_predicted_and_recorded(model: Path, train_file: Path, tmp_path: Path, capsys) -> None:
    config = json.loads((model / "config.json").read_text())
    assert config["model"]["subwords"] == {"min_n": 3, "max_n": 5, "buckets": 1000, "combine": "sum", "word_rows": True}
    texts = tmp_path / "texts.txt"
    texts.write_text("the movie was goodish\nthe plot was baddest\nbadly\n")
    report = run_json(capsys, "classify", "predict", "--model", str(model), str(texts))
    assert [p["label"] for p in report["predictions"]] == ["pos", "neg", "neg"]
    evaluation = run_json(capsys, "classify", "evaluate", "--model", str(model), "--data", str(train_file))
    assert evaluation["accuracy"] == 1.0


def test_neighbors_of_a_model_folder(model: Path, capsys) -> None:
    report = run_json(capsys, "vectors", "neighbors", str(model), "good", "goodish", "--topn", "3")
    assert len(report["neighbors"]["good"]) == 3 and "good" not in {n for n, _ in report["neighbors"]["good"]}
    assert report["neighbors"]["goodish"][0][0] == "good"  # an unseen word, next to the word it contains


def test_a_word_only_model_folder(train_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "plain"
    assert main(_train(train_file, out, "--dim", "16")) == 0
    capsys.readouterr()
    assert "subwords" not in json.loads((out / "config.json").read_text())["model"]
    assert run_json(capsys, "vectors", "neighbors", str(out), "good")["neighbors"]["good"]
    line = fails(capsys, "vectors", "neighbors", str(out), "goodish")
    assert "'goodish' is not in the vocabulary of the model" in line and "without --subwords" in line


def test_fasttext_bin_start(train_file: Path, tmp_path: Path, shared_data: Path, capsys) -> None:
    fasttext = shared_data / "formats" / "lee_fasttext.bin"
    out = tmp_path / "ft"
    run_json(capsys, *_train(train_file, out, "--vectors", str(fasttext), "--subwords", "3-6"))
    subwords = json.loads((out / "config.json").read_text())["model"]["subwords"]
    assert subwords == {"min_n": 3, "max_n": 6, "buckets": 1000, "combine": "mean", "word_rows": True}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--subwords", "6-3"], "--subwords 6-3: expected 1 <= MIN <= MAX"),
        (["--subwords", "x"], "--subwords 'x': expected MIN-MAX character n-gram lengths such as 3-6"),
        (["--subwords", "3-6", "--buckets", "0"], "--buckets 0: expected a number of n-gram hash buckets >= 1"),
        (["--buckets", "100"], "--buckets 100: expected it with --subwords MIN-MAX"),
        (["--vectors", "LEE", "--static-channel", "--subwords", "3-6"], "--static-channel with --subwords 3-6"),
        (["--vectors", "LEE", "--dim", "16"], "--dim 16: LEE has dimension 10; expected --dim 10 or no --dim"),
        (["--vectors", "LEE", "--subwords", "2-5"], "--subwords 2-5: LEE has n-grams of 3-6 characters"),
        (["--vectors", "LEE", "--subwords", "3-6", "--buckets", "50"], "--buckets 50: LEE has 1000 n-gram buckets"),
    ],
)
def test_bad_input_is_one_line(train_file, tmp_path, shared_data, capsys, flags: list[str], message: str) -> None:
    lee = str(shared_data / "formats" / "lee_fasttext.bin")
    flags = [lee if f == "LEE" else f for f in flags]
    out = tmp_path / "bad"
    line = fails(capsys, *_train(train_file, out, *flags))
    assert message.replace("LEE", lee) in line
    assert not (out / "config.json").exists()
