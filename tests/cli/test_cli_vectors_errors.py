"""`embedlayer vectors` errors speak in flags (issue 13 §4, §6): a suggestion of a Python argument
(``unicode_errors='replace'``, ``format='word2vec'``) names the flag that does it, and every count
option is checked before the vectors are read, naming the flag."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import fails, run_json

from embedlayer.cli.main import main


@pytest.fixture
def latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 0.1 0.2\nthe 0.3 0.4\n")
    return path


@pytest.fixture
def header_like(tmp_path: Path) -> Path:
    """A word2vec text file: as GloVe its first line is a word '2' of dimension 1."""
    path = tmp_path / "w2v.txt"
    path.write_text("2 3\nab 0.1 0.2 0.3\ncd 0.4 0.5 0.6\n")
    return path


@pytest.mark.parametrize("command", [["info"], ["neighbors", "--topn", "1"], ["evaluate", "--pairs", "pairs.tsv"]])
def test_bad_utf8_names_the_unicode_errors_flag(latin1: Path, capsys, command: list[str]) -> None:
    (latin1.parent / "pairs.tsv").write_text("the\tcafé\t3.0\n")
    argv = ["vectors", command[0], str(latin1), *(["the"] if command[0] == "neighbors" else []), *command[1:]]
    argv = [a if a != "pairs.tsv" else str(latin1.parent / a) for a in argv]
    line = fails(capsys, *argv)
    assert "--unicode-errors replace" in line and "unicode_errors" not in line, line


def test_unicode_errors_flag_reads_the_file(latin1: Path, tmp_path: Path, capsys) -> None:
    info = run_json(capsys, "vectors", "info", str(latin1), "--unicode-errors", "replace")
    assert info["words"] == ["caf\ufffd", "the"]
    out = tmp_path / "clean.txt"
    assert main(["vectors", "convert", str(latin1), str(out), "--to", "glove", "--unicode-errors", "ignore"]) == 0
    assert out.read_text().split()[0] == "caf"


def test_a_format_hint_names_the_format_flag(header_like: Path, tmp_path: Path, capsys) -> None:
    line = fails(capsys, "vectors", "info", str(header_like), "--format", "glove")
    assert "--format word2vec" in line and "format=" not in line, line
    line = fails(
        capsys, "vectors", "convert", str(header_like), str(tmp_path / "o.txt"), "--from", "glove", "--to", "glove"
    )
    assert "--from word2vec" in line and "format=" not in line, line
    assert not (tmp_path / "o.txt").exists()


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["info", "G", "--limit", "0"], "--limit 0"),
        (["info", "G", "--words", "-1"], "--words -1"),
        (["convert", "G", "OUT", "--to", "glove", "--limit", "0"], "--limit 0"),
        (["neighbors", "G", "w1", "--topn", "0"], "--topn 0"),
        (["neighbors", "G", "w1", "--restrict-vocab", "0"], "--restrict-vocab 0"),
        (["analogy", "G", "w1", "w2", "w3", "--topn", "-1"], "--topn -1"),
        (["evaluate", "G", "--pairs", "G", "--restrict-vocab", "0"], "--restrict-vocab 0"),
    ],
)
def test_counts_are_checked_first_and_named_by_flag(tmp_path: Path, capsys, argv: list[str], flag: str) -> None:
    glove = tmp_path / "g.txt"
    glove.write_text("".join(f"w{i} {i}.5 1.0\n" for i in range(5)))
    argv = [str(glove) if a == "G" else str(tmp_path / "out.txt") if a == "OUT" else a for a in argv]
    line = fails(capsys, "vectors", *argv)
    assert flag in line and "_" not in line.split(flag)[0].split("error: ")[-1], line
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize("command", [["plot", "--top", "2", "--out", "{out}.png"], ["explore", "--html", "{out}.html"]])
def test_plot_and_explore_name_the_format_flag(header_like: Path, tmp_path: Path, capsys, command: list[str]) -> None:
    out = tmp_path / "o"
    argv = [command[0], str(header_like), *[a.format(out=out) for a in command[1:]], "--format", "glove"]
    line = fails(capsys, *argv)
    assert "--format word2vec" in line and "format=" not in line, line


def test_plot_explore_and_classify_take_the_unicode_errors_flag_too(latin1: Path, tmp_path: Path, capsys) -> None:
    """Every command that reads vectors has the flag its error suggests."""
    line = fails(capsys, "plot", str(latin1), "--top", "2", "--out", str(tmp_path / "x.png"))
    assert "--unicode-errors replace" in line and "unicode_errors" not in line, line
    html = tmp_path / "x.html"
    line = fails(capsys, "explore", str(latin1), "--html", str(html))
    assert "--unicode-errors replace" in line and "unicode_errors" not in line, line
    line = fails(capsys, "explore", str(latin1), "--html", str(html), "--unicode-errors", "replace")
    assert "UTF-8" not in line  # read past the bad word (two words are then too few to project)
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\ncafé ok\tpos\nthe bad\tneg\n")
    out = tmp_path / "model"
    argv = ["classify", "train", "--train", str(train), "--out", str(out), "--vectors", str(latin1)]
    line = fails(capsys, *argv, "--epochs", "1")
    assert "--vectors-unicode-errors replace" in line and "unicode_errors" not in line, line
    assert main([*argv, "--epochs", "1", "--quiet", "--vectors-unicode-errors", "replace"]) == 0
