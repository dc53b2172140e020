"""No tracebacks (issue 13 §4): inputs that used to end in a traceback (exit 1) are one line on
stderr and exit 2 — a plot too large to draw, vectors of another dimension than a model's, a
config.json that disagrees with its weights, a pretraining run that cannot fit in memory — and the
CLI's last line of defence turns MemoryError and any unexpected exception into one line naming
the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import fails

import embedlayer
from embedlayer.cli.main import main
from embedlayer.vectors import Vectors

_WORDS = ["apple", "berry", "cherry", "grape", "lemon", "mango", "olive", "peach"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small `classify train` model folder (cnn encoder, dimension 8) and its data beside it."""
    root = tmp_path_factory.mktemp("model")
    rows = ["text\tlabel"] + [
        f"{_WORDS[i % 8]} {_WORDS[(i * 3) % 8]} {_WORDS[(i * 5 + 1) % 8]}\t{'a' if i % 2 else 'b'}" for i in range(48)
    ]
    (root / "d.tsv").write_text("\n".join(rows) + "\n")
    argv = ["classify", "train", "--train", str(root / "d.tsv"), "--out", str(root / "m"), "--epochs", "1"]
    argv += ["--encoder", "cnn", "--cnn-widths", "2", "--cnn-channels", "4", "--dim", "8", "--quiet"]
    assert main(argv) == 0
    return root / "m"


def _subprocess(*argv: str, memory_gb: int = 12) -> subprocess.CompletedProcess:
    """Run the CLI in a process whose address space is capped: a regression then fails the test
    with MemoryError instead of taking the machine's memory."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_gb << 30, memory_gb << 30))

    env = {**os.environ, "PYTHONPATH": str(Path(embedlayer.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "embedlayer.cli.main", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
    )


def _one_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("embedlayer: error: "), proc.stderr
    return lines[0]


@pytest.fixture
def glove(tmp_path: Path) -> Path:
    path = tmp_path / "g.txt"
    path.write_text("".join(f"{w} {i * 0.1:.1f} {1 - i * 0.1:.1f} 0.5\n" for i, w in enumerate(_WORDS)))
    return path


def test_memory_error_is_one_line_naming_the_command(glove: Path, capsys, monkeypatch) -> None:
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(Vectors, "load", exhausted)
    line = fails(capsys, "vectors", "info", str(glove))
    assert "embedlayer vectors info" in line and "memory" in line and "run with --debug for the traceback" in line


def test_an_unexpected_exception_is_one_line_and_debug_shows_it(glove: Path, capsys, monkeypatch) -> None:
    def bug(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Vectors, "load", bug)
    assert main(["vectors", "neighbors", str(glove), "apple"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "embedlayer vectors neighbors" in lines[0] and "RuntimeError: a bug" in lines[0]
    assert "run with --debug for the traceback" in lines[0]
    with pytest.raises(RuntimeError, match="a bug"):
        main(["vectors", "neighbors", str(glove), "apple", "--debug"])


@pytest.mark.parametrize("size, dpi", [("100x100", "1200"), ("40x40", "1000")])
def test_plot_bounds_the_pixel_count(glove: Path, tmp_path: Path, capsys, size: str, dpi: str) -> None:
    out = tmp_path / "p.png"
    line = fails(capsys, "plot", str(glove), "--top", "5", "--out", str(out), "--size", size, "--dpi", dpi)
    assert f"--size {size}" in line and f"--dpi {dpi}" in line and "pixels" in line, line
    assert not out.exists()


def test_a_default_size_at_a_high_dpi_is_bounded_too(glove: Path, tmp_path: Path, monkeypatch) -> None:
    from embedlayer.errors import ConfigError
    from embedlayer.viz import plot

    monkeypatch.setattr(plot, "MAX_PIXELS", 1000)  # the default size of a few labels, at 150 dpi
    with pytest.raises(ConfigError, match=r"pixels.*expected at most 1,000"):
        main(["plot", str(glove), "--top", "5", "--out", str(tmp_path / "p.png"), "--debug"])
    assert not (tmp_path / "p.png").exists()


def test_plot_run_folder_with_vectors_of_another_dimension(model: Path, glove: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "plots"
    line = fails(capsys, "plot", str(model), "--vectors", str(glove), "--out", str(out))
    assert "dimension" in line and "3" in line and "8" in line, line
    assert not out.exists()


def test_a_config_json_that_disagrees_with_the_weights_is_refused_before_building(model: Path, tmp_path: Path) -> None:
    edited = tmp_path / "m"
    edited.mkdir()
    for p in model.iterdir():
        if p.is_file():
            (edited / p.name).write_bytes(p.read_bytes())
    config = json.loads((edited / "config.json").read_text())
    config["model"]["encoder"]["cnn_channels"] = 1_000_000_000  # 96 GB of filters
    (edited / "config.json").write_text(json.dumps(config))
    data = str(model.parent / "d.tsv")
    for argv in (
        ["classify", "evaluate", "--model", str(edited), "--data", data],
        ["classify", "predict", "--model", str(edited), data],
    ):
        line = _one_line(_subprocess(*argv))
        assert "config.json" in line and "1000000000" in line and "has shape" in line, line


def test_a_good_model_folder_loads_without_a_word_on_stderr(model: Path) -> None:
    proc = _subprocess("classify", "evaluate", "--model", str(model), "--data", str(model.parent / "d.tsv"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # the check on the meta device is silent


def test_pretrain_refuses_what_cannot_fit_naming_the_estimate(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(f"w{(i * 7 + j) % 500}" for j in range(20)) for i in range(200)) + "\n")
    out = tmp_path / "p"
    line = _one_line(
        _subprocess(
            "pretrain",
            str(corpus),
            "--out",
            str(out),
            "--dim",
            "100000000",
            "--min-count",
            "1",
            "--threads",
            "1",
            "--quiet",
        )
    )
    assert "--dim 100000000" in line and "GB" in line and "memory" in line, line
    assert not out.exists()
