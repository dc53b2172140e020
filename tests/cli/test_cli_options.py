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
