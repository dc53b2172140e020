"""`classify evaluate` and `classify predict` read the columns the model was trained with unless
--text-col/--label-col say otherwise (issue 16 §4): trained on SST-2's `sentence` column, a model
reads the same file without flags."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from cli_helpers import fails, run_json

from embedlayer.cli.main import main

pytestmark = pytest.mark.slow  # trains a (tiny) model: a few seconds


def _head(src: Path, dst: Path, lines: int) -> Path:
    with open(src, encoding="utf-8") as fh:
        dst.write_text("".join(next(fh) for _ in range(lines)), encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def sst2_model(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model folder, 60 rows of sst2_dev.tsv): a bag model trained one epoch on 300 rows of
    sst2_train.tsv with --text-col sentence."""
    tmp = tmp_path_factory.mktemp("sst2cols")
    data = shared_data / "classification"
    train = _head(data / "sst2_train.tsv", tmp / "train.tsv", 301)
    dev = _head(data / "sst2_dev.tsv", tmp / "dev.tsv", 61)
    out = tmp / "model"
    argv = ["classify", "train", "--train", str(train), "--out", str(out), "--text-col", "sentence"]
    assert main([*argv, "--label-col", "label", "--encoder", "bag", "--dim", "8", "--epochs", "1", "--quiet"]) == 0
    return out, dev


def test_train_records_its_columns(sst2_model):
    model, _ = sst2_model
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    assert config["columns"] == {"text": "sentence", "label": "label"}


def test_evaluate_without_flags_reads_the_trained_columns(sst2_model, capsys):
    model, dev = sst2_model
    plain = run_json(capsys, "classify", "evaluate", "--model", str(model), "--data", str(dev))
    given = run_json(
        capsys, "classify", "evaluate", "--model", str(model), "--data", str(dev), "--text-col", "sentence",
        "--label-col", "label",
    )  # fmt: skip
    assert plain["examples"] == 60
    assert plain == given  # the same examples, the same figures
    with open(dev, encoding="utf-8", newline="") as fh:
        truth = [row["label"] for row in csv.DictReader(fh, delimiter="\t")]
    assert sum(map(sum, plain["confusion"])) == 60
    assert [sum(row) for row in plain["confusion"]] == [truth.count(label) for label in plain["labels"]]


def test_predict_without_flags_reads_the_trained_text_column(sst2_model, capsys):
    model, dev = sst2_model
    out = run_json(capsys, "classify", "predict", "--model", str(model), str(dev))
    with open(dev, encoding="utf-8", newline="") as fh:
        sentences = [row["sentence"] for row in csv.DictReader(fh, delimiter="\t")]
    assert [p["text"] for p in out["predictions"]] == sentences


def test_explicit_columns_win(sst2_model, capsys, tmp_path):
    model, dev = sst2_model
    renamed = tmp_path / "renamed.tsv"
    lines = dev.read_text(encoding="utf-8").splitlines(keepends=True)
    renamed.write_text("review\tstars\n" + "".join(lines[1:]), encoding="utf-8")
    given = run_json(
        capsys, "classify", "evaluate", "--model", str(model), "--data", str(renamed), "--text-col", "review",
        "--label-col", "stars",
    )  # fmt: skip
    plain = run_json(capsys, "classify", "evaluate", "--model", str(model), "--data", str(dev))
    assert given["accuracy"] == plain["accuracy"] and given["examples"] == 60
    out = run_json(capsys, "classify", "predict", "--model", str(model), str(renamed), "--text-col", "review")
    assert len(out["predictions"]) == 60


def test_a_wrong_explicit_column_names_the_column_and_the_file(sst2_model, capsys):
    model, dev = sst2_model
    line = fails(capsys, "classify", "evaluate", "--model", str(model), "--data", str(dev), "--text-col", "sentenc")
    assert "'sentenc'" in line and str(dev) in line and "not found" in line
    assert "trained with" not in line  # the user chose this column
    line = fails(capsys, "classify", "predict", "--model", str(model), str(dev), "--text-col", "txt")
    assert "'txt'" in line and str(dev) in line


def test_a_missing_trained_column_says_where_it_came_from(sst2_model, capsys, tmp_path):
    model, dev = sst2_model
    other = tmp_path / "other.tsv"
    other.write_text("text\tlabel\na fine film\t1\n", encoding="utf-8")
    line = fails(capsys, "classify", "evaluate", "--model", str(model), "--data", str(other))
    assert "'sentence'" in line and str(other) in line
    assert f"--text-col 'sentence': the column(s) {model} was trained with" in line


def test_a_model_without_recorded_columns_reads_text_and_label(sst2_model, capsys, tmp_path):
    import shutil

    model, _ = sst2_model
    old = tmp_path / "old"
    shutil.copytree(model, old)
    config = json.loads((old / "config.json").read_text(encoding="utf-8"))
    del config["columns"]  # as saved before the columns were recorded
    (old / "config.json").write_text(json.dumps(config), encoding="utf-8")
    data = tmp_path / "plain.tsv"
    data.write_text("text\tlabel\na fine film\t1\na dull one\t0\n", encoding="utf-8")
    assert run_json(capsys, "classify", "evaluate", "--model", str(old), "--data", str(data))["examples"] == 2
    config["columns"] = {"text": ["sentence"], "label": "label"}
    (old / "config.json").write_text(json.dumps(config), encoding="utf-8")
    line = fails(capsys, "classify", "evaluate", "--model", str(old), "--data", str(data))
    assert "config.json" in line and "columns" in line and "['sentence']" in line
