"""`embedlayer tabular|recommend|embeddings` in process: the documented commands on slices of the
real data, and one clear line (exit 2) for each kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cli_helpers import fails, run_json

from embedlayer.cli.main import main


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # the commands set --threads 1


def head(src: Path, dst: Path, n: int) -> Path:
    with open(src, encoding="utf-8") as fh:
        dst.write_text("".join(line for _, line in zip(range(n + 1), fh)), encoding="utf-8")
    return dst


@pytest.fixture
def adult(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    folder = shared_data / "tabular"
    return head(folder / "adult_train.csv", tmp_path / "train.csv", 2000), head(
        folder / "adult_test.csv", tmp_path / "test.csv", 500
    )


def test_tabular_train_evaluate_predict(capsys, adult, tmp_path):
    train, test = adult
    out = tmp_path / "model"
    summary = run_json(
        capsys, "tabular", "train", "--train", str(train), "--test", str(test), "--target", "income",
        "--out", str(out), "--epochs", "2", "--quiet",
    )  # fmt: skip
    assert summary["task"] == "binary" and summary["test"]["accuracy"] > 0.75
    report = run_json(capsys, "tabular", "evaluate", "--model", str(out), "--data", str(test))
    assert report["examples"] == 500 and report["accuracy"] == summary["test"]["accuracy"]
    assert "native-country" in report["unseen"]
    assert main(["tabular", "predict", "--model", str(out), str(test)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "label\t<=50K\t>50K" and len(lines) == 501
    assert "already holds" in fails(
        capsys, "tabular", "train", "--train", str(train), "--target", "income", "--out", str(out)
    )
    vec = tmp_path / "occupation.vec"
    assert (
        run_json(capsys, "embeddings", "export", str(out), "--column", "occupation", "--out", str(vec))["count"] == 14
    )
    neighbours = run_json(capsys, "vectors", "neighbors", str(vec), "Sales", "--topn", "3")["neighbors"]["Sales"]
    assert len(neighbours) == 3
    native = tmp_path / "occupation"  # a folder that does not exist yet: the writer swaps it in whole
    export = ("embeddings", "export", str(out), "--column", "occupation", "--format", "native", "--out", str(native))
    assert run_json(capsys, *export)["count"] == 14
    assert (
        run_json(capsys, "vectors", "neighbors", str(native), "Sales", "--topn", "3")["neighbors"]["Sales"]
        == neighbours
    )
    assert "already holds" in fails(capsys, *export)


def test_recommend_train_evaluate_top(capsys, shared_data, tmp_path):
    folder = shared_data / "tabular"
    ratings = head(folder / "ml100k_ratings.tsv", tmp_path / "r.tsv", 5000)
    with open(ratings, "a", encoding="utf-8") as fh:
        fh.write("196\t242\t5\t0\n")  # a duplicate pair: the last rating is kept
    out = tmp_path / "ml"
    summary = run_json(
        capsys, "recommend", "train", "--ratings", str(ratings), "--users", str(folder / "ml100k_users.tsv"),
        "--items", str(folder / "ml100k_items.tsv"), "--folds", "2", "--epochs", "3", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert summary["duplicates"] == 1 and len(summary["folds"]) == 2 and summary["cv_rmse"] < 1.3
    assert (out / "folds.tsv").read_text().count("\n") == 5001
    report = run_json(capsys, "recommend", "evaluate", "--model", str(out), "--data", str(ratings))
    assert set(report) >= {"rmse", "mae", "unseen"} and report["duplicates"] == 1
    top = run_json(capsys, "recommend", "top", "--model", str(out), "--user", "196", "--k", "5")
    assert len(top["items"]) == 5 and top["known_user"]
    named = ["--names", str(folder / "ml100k_items.tsv"), "--name-template", "{movie_title} ({release_year})"]
    top = run_json(capsys, "recommend", "top", "--model", str(out), "--user", "196", "--k", "5", *named)
    assert all(item["name"].endswith(")") for item in top["items"])


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_bad_input_one_line_each(capsys, tmp_path, adult):
    train, _ = adult
    out = str(tmp_path / "m")
    base = ["tabular", "train", "--out", out, "--quiet", "--epochs", "1"]
    assert "no target column 'label'" in fails(capsys, *base, "--train", str(train), "--target", "label")
    one = write(tmp_path / "one.csv", "a,y\nx,1\nz,1\n")
    assert "has one class ('1')" in fails(capsys, *base, "--train", one, "--target", "y")
    empty = write(tmp_path / "empty.csv", "")
    assert "the file is empty" in fails(capsys, *base, "--train", empty, "--target", "y")
    line = fails(capsys, *base, "--train", str(train), "--target", "income", "--categorical", "colour")
    assert "--categorical colour:" in line and "has no column 'colour'" in line
    text = write(tmp_path / "text.csv", "n,y\n1,a\n2,b\nthree,a\n" + "4,b\n" * 30)
    line = fails(capsys, *base, "--train", text, "--target", "y", "--numeric", "n")
    assert "text.csv:4: column 'n' is numeric but holds 'three'" in line
    ratings = write(tmp_path / "r.tsv", "user_id\titem_id\trating\n1\ta\t4\n2\tb\tfive\n")
    line = fails(capsys, "recommend", "train", "--ratings", ratings, "--out", str(tmp_path / "r"), "--quiet")
    assert "r.tsv:3: column 'rating' is numeric but holds 'five'" in line
    classifier = tmp_path / "clf"
    classifier.mkdir()
    write(classifier / "config.json", '{"format": "embedlayer.text-classifier", "version": 1}')
    line = fails(capsys, "tabular", "evaluate", "--model", str(classifier), "--data", str(train))
    assert "format is 'embedlayer.text-classifier', expected 'embedlayer.tabular'" in line


def test_column_flags_and_resume(capsys, adult, tmp_path):
    train, _ = adult
    out = str(tmp_path / "m")
    argv = ["tabular", "train", "--train", str(train), "--target", "income", "--out", out, "--quiet"]
    flags = ["--embedding-dim", "occupation=8", "--hash-buckets", "native-country=16", "--ignore", "fnlwgt"]
    first = run_json(capsys, *argv, *flags, "--epochs", "1")
    assert first["epochs_run"] == 1
    spec = json.loads((tmp_path / "m" / "spec.json").read_text())
    columns = {c["name"]: c for c in spec["columns"]}
    assert columns["occupation"]["embedding_dim"] == 8 and columns["native-country"]["hash_buckets"] == 16
    assert "fnlwgt" not in columns
    resumed = run_json(capsys, *argv, *flags, "--epochs", "2", "--resume")
    assert resumed["epochs_run"] == 2 and resumed["history"][0] == first["history"][0]
    line = fails(capsys, *argv, *flags, "--epochs", "3", "--resume", "--dropout", "0.3")
    assert "--dropout is 0.3 but the checkpoint was made with 0.1" in line


@pytest.mark.parametrize(
    ("extra", "named"),
    [(["--epochs", "0"], "--epochs 0"), (["--dropout", "1.5"], "--dropout 1.5"), (["--threads", "0"], "--threads 0")],
)
def test_numbers_out_of_range_name_the_flag(capsys, adult, tmp_path, extra, named):
    train, _ = adult
    argv = ["tabular", "train", "--train", str(train), "--target", "income", "--out", str(tmp_path / "m"), *extra]
    assert named in fails(capsys, *argv)
    assert not (tmp_path / "m").exists()
    if extra[0] != "--dropout":  # recommend train has no MLP
        ratings = ["recommend", "train", "--ratings", str(train), "--out", str(tmp_path / "r"), *extra]
        assert named in fails(capsys, *ratings)


def test_tabular_streams_in_blocks(capsys, adult, tmp_path):
    """Small --block-size: the same model, metrics and predictions as one block; a bad cell in a
    later block is named by its line in the file."""
    train, test = adult
    common = ["--target", "income", "--epochs", "1", "--quiet", "--test", str(test)]
    one = run_json(capsys, "tabular", "train", "--train", str(train), "--out", str(tmp_path / "a"), *common)
    many = run_json(
        capsys,
        "tabular",
        "train",
        "--train",
        str(train),
        "--out",
        str(tmp_path / "b"),
        "--block-size",
        "20000",
        *common,
    )
    assert {k: v for k, v in one.items() if k not in ("out", "train_seconds")} == {
        k: v for k, v in many.items() if k not in ("out", "train_seconds")
    }
    outputs = []
    for block in ("30000", "5000000"):
        assert main(["tabular", "predict", "--model", str(tmp_path / "a"), str(test), "--block-size", block]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and outputs[0].count("\n") == 501
    report = run_json(
        capsys, "tabular", "evaluate", "--model", str(tmp_path / "a"), "--data", str(test), "--block-size", "9000"
    )
    assert report["accuracy"] == one["test"]["accuracy"] and report["examples"] == 500
    assert report["unseen"] == one["test"]["unseen"] and report["unseen"]["native-country"] > 0
    lines = test.read_text().splitlines()
    lines[300] = lines[300].replace(lines[300].split(",")[0], "old", 1)  # age: the first column
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    message = fails(capsys, "tabular", "predict", "--model", str(tmp_path / "a"), str(bad), "--block-size", "9000")
    assert "bad.csv:301: column 'age'" in message
    assert "--block-size 0: expected" in fails(
        capsys, "tabular", "predict", "--model", str(tmp_path / "a"), str(test), "--block-size", "0"
    )
