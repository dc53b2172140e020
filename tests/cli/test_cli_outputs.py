"""The output policy (issue 13 §1): a command refuses an output that holds something unless
--resume or --force, never writes over one of its inputs, and deletes only what it wrote."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fails

from embedlayer.cli.main import main


def _tsv(path: Path, n: int = 40) -> Path:
    rows = ["text\tlabel"] + [
        f"{'good' if i % 2 else 'bad'} film number {i % 7}\t{'pos' if i % 2 else 'neg'}" for i in range(n)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _train(train: Path, out: Path, *extra: str) -> list[str]:
    return [
        "classify",
        "train",
        "--train",
        str(train),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--encoder",
        "bag",
        "--dim",
        "8",
        "--batch-size",
        "16",
        "--quiet",
        *extra,
    ]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("corpus") / "topics.txt"
    path.write_text(
        "\n".join(" ".join(f"t{t}w{i}" for i in rng.integers(6, size=10)) for t in rng.integers(3, size=300)) + "\n"
    )
    return path


def _pretrain(corpus: Path, out: Path, *extra: str) -> list[str]:
    return [
        "pretrain",
        str(corpus),
        "--out",
        str(out),
        "--dim",
        "8",
        "--epochs",
        "1",
        "--min-count",
        "1",
        "--threads",
        "1",
        "--quiet",
        *extra,
    ]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pretrain_never_deletes_a_checkpoint_folder_it_did_not_write(corpus, tmp_path, capsys):
    out = tmp_path / "d"
    (out / "checkpoint").mkdir(parents=True)
    (out / "checkpoint" / "notes.txt").write_text("x")
    line = fails(capsys, *_pretrain(corpus, out))
    assert "already holds 1 entry (checkpoint)" in line and "--resume" in line and "--force" in line
    line = fails(capsys, *_pretrain(corpus, out, "--force"))  # even --force does not touch a folder not ours
    assert f"{out / 'checkpoint'}" in line and "not a pretraining checkpoint" in line
    assert (out / "checkpoint" / "notes.txt").read_text() == "x"


def test_pretrain_into_a_classify_model_folder_keeps_its_checkpoint(corpus, tmp_path, capsys):
    model = tmp_path / "model"
    assert main(_train(_tsv(tmp_path / "t.tsv"), model)) == 0
    before = _snapshot(model)
    assert "checkpoint/last/checkpoint.json" in before
    fails(capsys, *_pretrain(corpus, model))
    fails(capsys, *_pretrain(corpus, model, "--force"))
    assert _snapshot(model) == before


@pytest.mark.parametrize("command", ["classify", "pretrain"])
def test_a_plain_rerun_over_an_earlier_run_is_refused(corpus, tmp_path, capsys, command):
    out = tmp_path / "out"
    argv = _train(_tsv(tmp_path / "t.tsv"), out) if command == "classify" else _pretrain(corpus, out)
    assert main(argv) == 0
    capsys.readouterr()
    before = _snapshot(out)
    line = fails(capsys, *argv)
    assert str(out) in line and "--resume" in line and "--force" in line
    assert _snapshot(out) == before
    assert main([*argv, "--force"]) == 0  # replacing is asked for explicitly


def test_classify_train_never_overwrites_an_unrelated_config_json(tmp_path, capsys):
    out = tmp_path / "project"
    out.mkdir()
    (out / "config.json").write_text('{"mine": true}')
    line = fails(capsys, *_train(_tsv(tmp_path / "t.tsv"), out))
    assert "already holds 1 entry (config.json)" in line
    assert (out / "config.json").read_text() == '{"mine": true}'


def test_an_output_that_is_an_input_is_always_an_error(corpus, tmp_path, capsys):
    data = _tsv(tmp_path / "data.tsv")
    before = data.read_bytes()
    for extra in ([], ["--force"]):
        line = fails(capsys, "vocab", "build", str(data), "--out", str(data), *extra)
        assert "is also an input" in line and str(data) in line
    link = tmp_path / "alias.tsv"
    os.link(data, link)  # the same file under another name
    assert "is also an input" in fails(capsys, "vocab", "build", str(data), "--out", str(link), "--force")
    assert data.read_bytes() == before
    # a folder output may not hold an input either (--force would write beside it, or over it)
    (tmp_path / "run").mkdir()
    inside = _tsv(tmp_path / "run" / "train.tsv")
    assert "holds the input" in fails(capsys, *_train(inside, tmp_path / "run", "--force"))
    assert "holds the input" in fails(capsys, *_pretrain(corpus, corpus.parent, "--force"))


def test_file_outputs_need_force_to_be_replaced(tmp_path, capsys):
    data = _tsv(tmp_path / "data.tsv")
    out = tmp_path / "vocab.json"
    out.write_text("precious")
    line = fails(capsys, "vocab", "build", str(data), "--out", str(out))
    assert "already holds a file of 8 bytes" in line and "--force" in line and "--resume" not in line
    assert out.read_text() == "precious"
    assert main(["vocab", "build", str(data), "--out", str(out), "--force"]) == 0
    assert '"itos"' in out.read_text() or out.read_text().startswith("{")


def test_vocab_build_out_a_directory_names_it_not_a_temporary_file(tmp_path, capsys):
    data = _tsv(tmp_path / "data.tsv")
    folder = tmp_path / "folder"
    folder.mkdir()
    line = fails(capsys, "vocab", "build", str(data), "--out", str(folder))
    assert str(folder) in line and "is a directory" in line and ".tmp" not in line
    assert list(folder.iterdir()) == []


def test_resume_and_force_together_or_resume_of_nothing(corpus, tmp_path, capsys):
    line = fails(capsys, *_pretrain(corpus, tmp_path / "x", "--resume", "--force"))
    assert "--resume and --force" in line
    line = fails(capsys, *_train(_tsv(tmp_path / "t.tsv"), tmp_path / "y", "--resume"))
    assert "holds nothing to continue" in line
    assert not (tmp_path / "y").exists()  # the folder the failed run made is gone again


def test_an_output_another_run_is_writing_is_refused_naming_its_pid(tmp_path, capsys):
    from embedlayer._io import ExclusiveLock

    out = tmp_path / "busy"
    out.mkdir()
    with ExclusiveLock(out / ".embedlayer.lock", what="test"):
        line = fails(capsys, *_train(_tsv(tmp_path / "t.tsv"), out))
    assert f"PID {os.getpid()}" in line and str(out) in line
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("command", ["plot", "explore"])
def test_plot_and_explore_files_need_force(tmp_path, capsys, shared_data, command):
    vectors = shared_data / "formats" / "test_glove.txt"
    out = tmp_path / ("p.png" if command == "plot" else "e.html")
    out.write_text("precious")
    argv = (
        ["plot", str(vectors), "--top", "10", "--out", str(out)]
        if command == "plot"
        else ["explore", str(vectors), "--points", "20", "--html", str(out)]
    )
    line = fails(capsys, *argv)
    assert str(out) in line and "--force" in line
    assert out.read_text() == "precious"
    assert main([*argv, "--force"]) == 0
    assert out.stat().st_size > 100


def test_demo_refuses_a_run_folder_that_holds_something(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.md").write_text("an earlier run")
    line = fails(capsys, "demo", "--out", str(out), "--limit", "100", "--quiet")
    assert "already holds 1 entry (report.md)" in line and "--force" in line
    assert (out / "report.md").read_text() == "an earlier run"
