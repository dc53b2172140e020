"""No hangs on special files (issue 13 §4): every reader checks the kind of file first, so a FIFO,
a device such as /dev/urandom or a pipe such as /dev/stdin is one line on stderr naming it, exit 2.

Each command runs in its own process with a timeout: before the fix a FIFO blocked the reader's
open() forever, and /dev/urandom was read without end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import embedlayer

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def _run(*argv: str, cwd: Path, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(embedlayer.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "embedlayer.cli.main", *argv],
        cwd=cwd,
        env=env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=20,
    )


def _one_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("embedlayer: error: "), proc.stderr
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """tmp_path with a FIFO, a tiny GloVe file and a tiny labelled file."""
    os.mkfifo(tmp_path / "fifo")
    rows = [f"w{i} {i % 3 * 0.5 + 0.1} {i % 5 * 0.25 - 0.3} 0.{i}" for i in range(30)]
    (tmp_path / "g.txt").write_text("\n".join(rows) + "\n")
    data = ["text\tlabel"] + [f"w{i} w{i + 1}\t{'a' if i % 2 else 'b'}" for i in range(20)]
    (tmp_path / "d.tsv").write_text("\n".join(data) + "\n")
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["vectors", "info", "fifo"],
        ["vectors", "info", "fifo", "--format", "glove"],
        ["vectors", "info", "fifo", "--format", "word2vec-binary"],
        ["vectors", "info", "fifo", "--format", "fasttext-bin"],
        ["vectors", "evaluate", "g.txt", "--pairs", "fifo"],
        ["vectors", "evaluate", "g.txt", "--analogies", "fifo"],
        ["classify", "train", "--train", "d.tsv", "--out", "m", "--vectors", "fifo", "--epochs", "1", "--quiet"],
        ["classify", "train", "--train", "fifo", "--out", "m", "--epochs", "1", "--quiet"],
        ["pretrain", "fifo", "--out", "p", "--epochs", "1", "--quiet"],
        ["explore", "g.txt", "--labels", "fifo", "--html", "x.html"],
        ["explore", "fifo", "--html", "x.html"],
        ["plot", "g.txt", "--from-file", "fifo", "--out", "x.png"],
        ["vocab", "show", "fifo"],
    ],
    ids=lambda argv: " ".join(argv[:2] + [a for a in argv if a.startswith("--") and a != "--quiet"][:2]),
)
def test_a_fifo_is_named_not_waited_for(files: Path, argv: list[str]) -> None:
    line = _one_line(_run(*argv, cwd=files))
    assert "fifo" in line and "not a regular file" in line, line
    assert not (files / "m").exists() and not (files / "p").exists() and not (files / "x.html").exists()


def test_a_device_is_not_read_without_end(files: Path) -> None:
    line = _one_line(_run("vectors", "info", "/dev/urandom", cwd=files))
    assert "/dev/urandom" in line and "character device" in line, line


def test_a_pipe_on_stdin_is_named(files: Path) -> None:
    proc = _run("vectors", "info", "/dev/stdin", cwd=files, stdin=subprocess.PIPE)
    line = _one_line(proc)
    assert "/dev/stdin" in line and "pipe" in line, line
