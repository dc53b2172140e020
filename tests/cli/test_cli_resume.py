"""`classify train --resume` continues only the run it can continue (issue 13 §2): the settings, the
vocabulary and the training data must be those the checkpoint was made with; the first difference is named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_helpers import fails

from embedlayer.cli.main import main

WORDS = ("the", "a", "movie", "film", "was", "plot", "actors", "and", "it", "very", "Good", "Bad")


def _tsv(path: Path, n: int = 60, *, extra: str = "") -> Path:
    rows = ["text\tlabel"]
    for i in range(n):
        words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(3 + i % 5)]
        rows.append(f"{' '.join(words)} {'good' if i % 2 else 'bad'}{extra}\t{'pos' if i % 2 else 'neg'}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


BASE = ["--encoder", "rnn", "--hidden", "4", "--dim", "8", "--batch-size", "16", "--max-vocab", "20", "--quiet"]


@pytest.fixture
def first_run(tmp_path) -> tuple[Path, Path]:
    """A run stopped after 1 of 2 epochs: (training file, --out)."""
    train, out = _tsv(tmp_path / "train.tsv"), tmp_path / "out"
    assert main(["classify", "train", "--train", str(train), "--out", str(out), "--epochs", "1", *BASE]) == 0
    return train, out


def _resume(train: Path, out: Path, *extra: str) -> list[str]:
    return ["classify", "train", "--train", str(train), "--out", str(out), "--epochs", "2", *BASE, "--resume", *extra]


def test_resume_with_the_same_run_continues(first_run, capsys):
    train, out = first_run
    capsys.readouterr()
    assert main([*_resume(train, out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_run"] == 2 and [h["epoch"] for h in summary["history"]] == [0, 1]


@pytest.mark.parametrize(
    "change, named",
    [
        (["--tokenizer", "char"], "--tokenizer"),
        (["--no-lowercase"], "--no-lowercase"),
        (["--max-len", "5"], "--max-len"),
        (["--dropout", "0.1"], "--dropout"),
        (["--pooling", "mean"], "--pooling"),
        (["--max-vocab", "10"], "--max-vocab"),
        (["--seed", "3"], "--seed"),
        (["--lr", "0.5"], "--lr"),
    ],
)
def test_resume_with_other_settings_is_refused_naming_the_first_difference(first_run, capsys, change, named):
    train, out = first_run
    before = (out / "checkpoint" / "last" / "checkpoint.json").read_bytes()
    line = fails(capsys, *_resume(train, out, *change))
    assert named in line and "checkpoint" in line and "Config." not in line  # the flag, not a Python name
    assert (out / "checkpoint" / "last" / "checkpoint.json").read_bytes() == before


def test_resume_on_other_training_data_is_refused(first_run, tmp_path, capsys):
    train, out = first_run
    other = _tsv(tmp_path / "other.tsv", extra=" again")  # same labels, other text
    line = fails(capsys, *_resume(other, out))
    assert "--train" in line and "differs" in line
    # the same content under another name is the same data
    copy = tmp_path / "copy.tsv"
    copy.write_bytes(train.read_bytes())
    stat = train.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert main(_resume(copy, out)) == 0


def test_resume_after_editing_the_training_file_in_place_is_refused(first_run, capsys):
    train, out = first_run
    text = train.read_text().replace("movie", "mOvie", 1)  # same size, new content
    train.write_text(text)
    line = fails(capsys, *_resume(train, out))
    assert "--train" in line


def test_resume_where_the_checkpoint_is_gone_is_refused(first_run, capsys):
    train, out = first_run
    for path in sorted((out / "checkpoint").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    line = fails(capsys, *_resume(train, out))
    assert "no checkpoint" in line and str(out) in line
