"""Every option is checked before any work, and errors name the flag (issue 13 §4): a bad value is
one line on stderr and exit 2, and nothing is read, trained or written first."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import fails


@pytest.fixture
def tsv(tmp_path: Path) -> Path:
    path = tmp_path / "d.tsv"
    rows = ["text\tlabel"] + [
        f"{'good' if i % 2 else 'bad'} film {i % 5}\t{'pos' if i % 2 else 'neg'}" for i in range(20)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def _train(tsv: Path, out: Path, *extra: str) -> list[str]:
    return ["classify", "train", "--train", str(tsv), "--out", str(out), "--epochs", "1", "--encoder", "bag",
            "--dim", "8", "--quiet", *extra]  # fmt: skip


@pytest.mark.parametrize("threads", ["0", "-4"])
@pytest.mark.parametrize(
    "command",
    [
        ["classify", "train", "--train", "{tsv}", "--out", "{out}"],
        ["classify", "evaluate", "--model", "{out}", "--data", "{tsv}"],
        ["classify", "predict", "--model", "{out}", "{tsv}"],
        ["pretrain", "{tsv}", "--out", "{out}"],
        ["explain"],
        ["demo", "--out", "{out}"],
    ],
    ids=lambda c: " ".join(c[:2]) if isinstance(c, list) else c,
)
def test_threads_below_one_is_an_error(tsv: Path, tmp_path: Path, capsys, command: list[str], threads: str) -> None:
    out = tmp_path / "out"
    line = fails(capsys, *[a.format(tsv=tsv, out=out) for a in command], "--threads", threads)
    assert f"--threads {threads}" in line and "expected" in line, line
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--max-len", "0"], "--max-len 0"),
        (["--epochs", "0"], "--epochs 0"),
        (["--batch-size", "0"], "--batch-size 0"),
        (["--lr", "0"], "--lr 0"),
        (["--embedding-lr", "-1"], "--embedding-lr -1"),
        (["--weight-decay", "-1"], "--weight-decay -1"),
        (["--clip-norm", "-1"], "--clip-norm -1"),
        (["--patience", "0"], "--patience 0"),
        (["--dropout", "1.5"], "--dropout 1.5"),
        (["--embedding-dropout", "-0.1"], "--embedding-dropout -0.1"),
        (["--min-count", "0"], "--min-count 0"),
        (["--max-vocab", "0"], "--max-vocab 0"),
        (["--vectors-vocab", "-1"], "--vectors-vocab -1"),
        (["--vectors", "v.txt", "--vectors-limit", "0"], "--vectors-limit 0"),
        (["--dim", "0"], "--dim 0"),
        (["--encoder", "cnn", "--cnn-widths", "0"], "--cnn-widths 0"),
        (["--encoder", "cnn", "--cnn-channels", "0"], "--cnn-channels 0"),
        (["--encoder", "rnn", "--hidden", "0"], "--hidden 0"),
        (["--encoder", "rnn", "--layers", "0"], "--layers 0"),
        (["--encoder", "transformer", "--heads", "3"], "--heads 3"),
        (["--encoder", "bag", "--pooling", "last"], "--pooling last"),
    ],
)
def test_classify_train_checks_every_option_first(tmp_path: Path, capsys, extra: list[str], named: str) -> None:
    """The training file does not exist: an option checked before any work is the error, not it."""
    out = tmp_path / "m"
    line = fails(capsys, *_train(tmp_path / "missing.tsv", out, *extra))
    assert named in line and "Config" not in line and "missing.tsv" not in line, line
    assert not out.exists()


def test_classify_train_out_an_existing_file_fails_before_training(tsv: Path, tmp_path: Path, capsys) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("mine\n")
    line = fails(capsys, *_train(tsv, precious, "--epochs", "50"))
    assert "precious.txt" in line and "not a directory" in line, line
    assert precious.read_text() == "mine\n" and sorted(p.name for p in tmp_path.iterdir()) == ["d.tsv", "precious.txt"]


@pytest.mark.parametrize("extra", [["--dim", "0"], ["--window", "0"], ["--epochs", "0"], ["--min-lr", "-1"]])
def test_pretrain_errors_name_the_flag(tmp_path: Path, capsys, extra: list[str]) -> None:
    out = tmp_path / "p"
    line = fails(capsys, "pretrain", str(tmp_path / "missing.txt"), "--out", str(out), *extra)
    assert f"{extra[0]} {extra[1]}" in line and "Config" not in line, line
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, named",
    [
        (["vocab", "build", "{tsv}", "--out", "{out}", "--min-count", "0"], "--min-count 0"),
        (["vocab", "build", "{tsv}", "--out", "{out}", "--max-size", "0"], "--max-size 0"),
        (["vocab", "build", "{tsv}", "--out", "{out}", "--max-size", "-1"], "--max-size -1"),
        (["demo", "--out", "{out}", "--epochs", "0"], "--epochs 0"),
        (["demo", "--out", "{out}", "--batch-size", "0"], "--batch-size 0"),
        (["demo", "--out", "{out}", "--limit", "0"], "--limit 0"),
        (["explain", "--dim", "0"], "--dim 0"),
        (["explain", "--batch", "0"], "--batch 0"),
        (["explain", "--vocab-sizes", "0,10"], "--vocab-sizes '0,10'"),
    ],
)
def test_other_commands_name_the_flag(tsv: Path, tmp_path: Path, capsys, argv: list[str], named: str) -> None:
    out = tmp_path / "out"
    line = fails(capsys, *[a.format(tsv=tsv, out=out) for a in argv])
    assert named in line and "_" not in line.split("error: ")[1].split(":")[0], line
    assert not out.exists()
