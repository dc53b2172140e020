"""Interrupted runs (issue 13 §3, §5). A real `embedlayer pretrain` process: while it runs, a second
run on the same --out fails at once naming its PID; SIGTERM ends it like an interruption (exit 143,
one line on stderr, the checkpoint kept, no temporary files left); after kill -9 the next run removes
its temporary files. Ctrl-C in `classify train` keeps the checkpoint and says how to resume."""

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


def _start(corpus: Path, out: Path, workdir: Path) -> subprocess.Popen:
    workdir.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(Path(embedlayer.__file__).parents[1])}
    argv = [
        sys.executable,
        "-m",
        "embedlayer.cli.main",
        "pretrain",
        str(corpus),
        "--out",
        str(out),
        "--dim",
        "16",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--checkpoint-every",
        "0.001",
        "--workdir",
        str(workdir),
        "--quiet",
    ]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"pretrain ended early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"no {path} after {seconds} s")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigterm_keeps_the_checkpoint_and_a_second_run_names_the_first(shared_data, tmp_path, capsys):
    corpus = shared_data / "corpus" / "english8.txt"
    out, workdir = tmp_path / "run", tmp_path / "work"
    proc = _start(corpus, out, workdir)
    try:
        _wait_for(out / "checkpoint" / "state.json", proc)
        tiny = tmp_path / "tiny.txt"
        tiny.write_text("a b c a b c d e\n" * 50)
        line = fails(capsys, "pretrain", str(tiny), "--out", str(out), "--min-count", "1", "--resume", "--quiet")
        assert f"PID {proc.pid}" in line and str(out) in line
        assert list(workdir.iterdir()), "the run's temporary id file lives in --workdir"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("embedlayer: interrupted") and "SIGTERM" in lines[0], err
    assert "--resume" in lines[0]
    assert (out / "checkpoint" / "state.json").is_file()
    assert list(workdir.iterdir()) == []  # the id files are gone
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint"]  # no lock, no scratch folder left


@pytest.mark.slow
def test_kill_9_leaves_a_scratch_folder_that_the_next_run_removes(shared_data, tmp_path):
    out, workdir = tmp_path / "run", tmp_path / "work"
    proc = _start(shared_data / "corpus" / "english8.txt", out, workdir)
    try:
        _wait_for(out / "checkpoint" / "state.json", proc)
    finally:
        proc.kill()  # SIGKILL: nothing of ours runs
        proc.communicate()
    left = list(workdir.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".embedlayer-tmp-") and any(left[0].glob("ids-*.i32"))
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("a b c a b c d e\n" * 50)
    assert (
        main(
            [
                "pretrain",
                str(tiny),
                "--out",
                str(tmp_path / "other"),
                "--min-count",
                "1",
                "--dim",
                "8",
                "--epochs",
                "1",
                "--threads",
                "1",
                "--workdir",
                str(workdir),
                "--quiet",
            ]
        )
        == 0
    )
    assert list(workdir.iterdir()) == []


def test_an_interrupted_classify_run_keeps_its_checkpoint_and_says_so(tmp_path, capsys, monkeypatch):
    from embedlayer.cli.progress import TrainProgress

    train = tmp_path / "t.tsv"
    train.write_text("text\tlabel\n" + "".join(f"good film {i}\tpos\nbad film {i}\tneg\n" for i in range(20)))
    out = tmp_path / "m"
    calls = []

    def interrupt(self, event):
        calls.append(event)
        if type(event).__name__ == "EpochEvent":  # Ctrl-C after the first epoch's checkpoint
            raise KeyboardInterrupt

    monkeypatch.setattr(TrainProgress, "__call__", interrupt)
    argv = [
        "classify",
        "train",
        "--train",
        str(train),
        "--out",
        str(out),
        "--epochs",
        "3",
        "--encoder",
        "bag",
        "--dim",
        "8",
        "--quiet",
    ]
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("embedlayer: interrupted by SIGINT") and "--resume" in err[0], err
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint"]  # no lock left, no half model
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    assert (out / "config.json").is_file()
