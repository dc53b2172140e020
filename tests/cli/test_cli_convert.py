"""`vectors convert` follows the output policy (issue 13 §1) and cleans up after kill -9 (§5): an
existing DST is refused unless --force, whatever the --to format; DST equal to SRC is always an
error; a convert killed mid-write leaves its temporary file where the next run removes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import fails

import embedlayer
from embedlayer.cli.main import main

_GLOVE = "".join(f"w{i} {i * 0.25:.2f} {1 - i * 0.1:.2f} 0.5\n" for i in range(12))


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "x.txt"
    path.write_text(_GLOVE)
    return path


@pytest.mark.parametrize("to", ["glove", "word2vec", "word2vec-binary", "fasttext-vec"])
def test_an_existing_file_is_refused_unless_force(src: Path, tmp_path: Path, capsys, to: str) -> None:
    precious = tmp_path / "precious.tsv"
    precious.write_text("my data\n")
    line = fails(capsys, "vectors", "convert", str(src), str(precious), "--to", to)
    assert "precious.tsv" in line and "--force" in line, line
    assert precious.read_text() == "my data\n"
    assert main(["vectors", "convert", str(src), str(precious), "--to", to, "--force"]) == 0
    capsys.readouterr()
    assert precious.read_bytes() != b"my data\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.tsv", "x.txt"]  # no lock or temp left


def test_native_follows_the_same_policy(src: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "table"
    assert main(["vectors", "convert", str(src), str(out), "--to", "native"]) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    line = fails(capsys, "vectors", "convert", str(src), str(out), "--to", "native")
    assert "table" in line and "--force" in line, line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main(["vectors", "convert", str(src), str(out), "--to", "native", "--force", "--limit", "3"]) == 0
    assert main(["vectors", "info", str(out), "--json"]) == 0 and '"count": 3' in capsys.readouterr().out
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    assert "--force" in fails(capsys, "vectors", "convert", str(src), str(user), "--to", "native")
    assert "not a native" in fails(capsys, "vectors", "convert", str(src), str(user), "--to", "native", "--force")
    assert [p.name for p in user.iterdir()] == ["notes.txt"] and (user / "notes.txt").read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("to", ["glove", "native"])
def test_an_output_that_is_the_input_is_always_an_error(src: Path, tmp_path: Path, capsys, to: str) -> None:
    os.symlink(src, tmp_path / "alias.txt")
    for dst in (src, tmp_path / "alias.txt"):
        line = fails(capsys, "vectors", "convert", str(src), str(dst), "--to", to, "--force")
        assert "is also an input" in line, line
    assert src.read_text() == _GLOVE


def _start_convert(src: Path, dst: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(embedlayer.__file__).parents[1])}
    argv = [sys.executable, "-m", "embedlayer.cli.main", "vectors", "convert", str(src), str(dst), "--to", "word2vec"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_kill_9_mid_write_leaves_a_temporary_file_the_next_run_removes(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "vectors" / "glove.6B.50d.top20k.txt"  # 8.5 MB: a write of a second or so
    out = tmp_path / "out"
    out.mkdir()
    dst = out / "v.vec"
    proc = _start_convert(src, dst)
    deadline = time.monotonic() + 60
    try:  # wait until the write has begun: a temporary entry besides the lock appears
        while not [n for n in _hidden(out) if not n.endswith(".lock")]:
            assert proc.poll() is None, f"convert ended before it was killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no temporary file after 60 s"
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=20)
    assert proc.returncode == -signal.SIGKILL
    assert not dst.exists() and [n for n in _hidden(out) if not n.endswith(".lock")]  # what the kill left
    again = _start_convert(shared_data / "formats" / "toy-model.vec", dst)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert [p.name for p in out.iterdir()] == ["v.vec"]  # the killed run's temporary file is gone too
