"""Help and errors speak in flags (issue 13 §5, §6): no "(default: True)" on flags that switch
something off, errors name the option to change rather than a Python argument, and pretrain
reports or (with --strict-encoding) refuses bytes that are not UTF-8, without keeping a BOM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import fails

from embedlayer.cli.main import main


@pytest.mark.parametrize("command", [["classify", "train"], ["vocab", "build"], ["pretrain"], ["demo"]])
def test_help_shows_no_default_for_on_off_flags(capsys, command):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: True)" not in text and "(default: False)" not in text and "(default: None)" not in text
    assert "--force" in text


def _tsv(tmp_path: Path) -> Path:
    path = tmp_path / "t.tsv"
    path.write_text("text\tlabel\n" + "".join(f"good film {i}\tpos\nbad film {i}\tneg\n" for i in range(10)))
    return path


@pytest.mark.parametrize(
    "extra, flags",
    [
        (["--freeze"], ["--freeze", "--vectors"]),
        (["--static-channel"], ["--static-channel", "--vectors"]),
        (["--embedding-weight-decay", "0.1"], ["--embedding-weight-decay", "--sparse-optimizer"]),
        (["--sparse-optimizer", "adam", "--dense-grad"], ["--sparse-optimizer", "--dense-grad"]),
        (["--no-header"], ["--no-header", "--text-col"]),
    ],
)
def test_classify_train_errors_name_flags(tmp_path, capsys, extra, flags):
    line = fails(
        capsys,
        "classify",
        "train",
        "--train",
        str(_tsv(tmp_path)),
        "--out",
        str(tmp_path / "m"),
        "--epochs",
        "1",
        "--quiet",
        *extra,
    )
    for flag in flags:
        assert flag in line, line
    assert "=True" not in line and "=None" not in line and "header=False" not in line
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "extra, flags",
    [
        (["--oov", "hash"], ["--oov hash", "--buckets"]),
        (["--buckets", "10"], ["--buckets", "--oov"]),
        (["--unk-token", ""], ["--unk-token", "--oov"]),
    ],
)
def test_vocab_build_errors_name_flags(tmp_path, capsys, extra, flags):
    line = fails(capsys, "vocab", "build", str(_tsv(tmp_path)), "--out", str(tmp_path / "v.json"), *extra)
    for flag in flags:
        assert flag in line, line
    assert "oov='" not in line and "hash_buckets" not in line


def test_pretrain_drops_the_bom_and_reports_replaced_bytes(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(b"\xef\xbb\xbfthe cat sat\n" + b"the cat caf\xe9 sat\n" * 30)
    assert (
        main(
            [
                "pretrain",
                str(corpus),
                "--out",
                str(tmp_path / "o"),
                "--dim",
                "8",
                "--epochs",
                "1",
                "--min-count",
                "1",
                "--threads",
                "1",
                "--quiet",
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    stats = json.loads(captured.out)
    assert stats["words"] == 4
    words = (tmp_path / "o" / "words.txt").read_text(encoding="utf-8").split()
    assert "the" in words and not any(w.startswith("\ufeff") for w in words)
    assert f"{corpus}: 30 byte(s) that are not UTF-8 replaced" in captured.err
    assert "--strict-encoding" in captured.err
    line = fails(
        capsys,
        "pretrain",
        str(corpus),
        "--out",
        str(tmp_path / "s"),
        "--min-count",
        "1",
        "--quiet",
        "--strict-encoding",
    )
    assert f"{corpus} at byte 26" in line and "0xe9" in line
    assert not (tmp_path / "s").exists()
