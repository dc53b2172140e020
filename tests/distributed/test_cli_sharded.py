"""`recommend train --shard-tables` under torchrun (2 gloo processes) and without it (one process):
rank 0 alone writes and prints, the folder is an ordinary recommender (`recommend evaluate`
reads it) and its tables equal those of the single-process run; on MovieLens-100k (2 epochs) the
sharded dev RMSE is the single-process one within 0.002 (issue 15 §2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from spawned import free_port

from embedlayer.cli.main import main

RATINGS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tabular" / "ml100k_ratings.tsv"


@pytest.fixture(scope="module")
def ratings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 3000 ratings of MovieLens-100k."""
    path = tmp_path_factory.mktemp("ml") / "r3k.tsv"
    with RATINGS.open(encoding="utf-8") as fh:
        path.write_text("".join(next(fh) for _ in range(3001)), encoding="utf-8")
    return path


def _train(capsys, ratings: Path, out: Path, *extra: str) -> dict:
    argv = ["recommend", "train", "--ratings", str(ratings), "--out", str(out), "--epochs", "2", "--json", "--quiet"]
    assert main([*argv, *extra]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _tables(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


@pytest.mark.slow
def test_torchrun_two_processes_movielens(capsys, tmp_path: Path) -> None:
    ratings = RATINGS  # all 100,000 ratings
    single = _train(capsys, ratings, tmp_path / "single")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
        "--master-port", str(free_port()), "-m", "embedlayer.cli.main", "recommend", "train", "--ratings",
        str(ratings), "--out", str(tmp_path / "sharded"), "--epochs", "2", "--json", "--shard-tables",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # rank 0 alone prints
    sharded = json.loads(lines[0])
    assert abs(sharded["dev"]["rmse"] - single["dev"]["rmse"]) < 0.002
    assert sharded["dev"]["rmse"] < 1.0  # it learned (the ratings' standard deviation is 1.13)
    a, b = _tables(tmp_path / "single"), _tables(tmp_path / "sharded")
    assert sorted(a) == sorted(b)
    for key in a:  # the same up to summation order (lazy Adam's m / sqrt(v) magnifies it for a few rows)
        diff = (a[key] - b[key]).abs()
        assert diff.numel() == 0 or (diff.max() < 1e-3 and (diff > 1e-6).float().mean() < 1e-3), key
    assert main(["recommend", "evaluate", "--model", str(tmp_path / "sharded"), "--data", str(ratings), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["examples"] == 100_000


@pytest.mark.slow
def test_one_process_without_torchrun_equals_the_plain_run(capsys, ratings: Path, tmp_path: Path) -> None:
    plain = _train(capsys, ratings, tmp_path / "plain")
    sharded = _train(capsys, ratings, tmp_path / "sharded", "--shard-tables", "--dist-timeout", "30")
    assert sharded["dev"] == plain["dev"]
    a, b = _tables(tmp_path / "plain"), _tables(tmp_path / "sharded")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert "RANK" not in os.environ and "MASTER_PORT" not in os.environ  # set while joining only
    # rank 0 cannot claim the folder: one line, exit 2, and the group is gone
    assert (
        main(["recommend", "train", "--ratings", str(ratings), "--out", str(tmp_path / "plain"), "--shard-tables"]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds" in err[0] and "--force" in err[0], err
    assert not torch.distributed.is_initialized()


def test_shard_tables_refuses_resume(capsys, ratings: Path, tmp_path: Path) -> None:
    argv = ["recommend", "train", "--ratings", str(ratings), "--out", str(tmp_path / "m"), "--shard-tables"]
    assert main([*argv, "--resume"]) == 2
    assert "--resume with --shard-tables" in capsys.readouterr().err
    assert main([*argv, "--dist-timeout", "0"]) == 2
    assert "--dist-timeout 0.0: expected a positive number of seconds" in capsys.readouterr().err


def _texts(path: Path) -> Path:
    rng = torch.Generator().manual_seed(0)
    pos, neg, rest = ["good", "great", "fine"], ["bad", "awful", "poor"], ["film", "movie", "plot", "actor"]
    lines = ["text\tlabel"]
    for i in range(120):
        cue = (pos if i % 2 else neg)[int(torch.randint(3, (1,), generator=rng))]
        words = [rest[int(j)] for j in torch.randint(4, (3,), generator=rng)]
        lines.append(f"{' '.join([*words[:2], cue, words[2]])}\t{'pos' if i % 2 else 'neg'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_classify_one_process_equals_the_plain_run(capsys, tmp_path: Path) -> None:
    data = _texts(tmp_path / "t.tsv")
    argv = ["classify", "train", "--train", str(data), "--dev", str(data), "--encoder", "cnn", "--epochs", "2"]
    argv += ["--sparse-optimizer", "adam", "--json", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "plain")]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*argv, "--out", str(tmp_path / "sharded"), "--shard-tables"]) == 0
    sharded = json.loads(capsys.readouterr().out)
    assert sharded["history"] == plain["history"] and sharded["dev"] == plain["dev"]
    a, b = _tables(tmp_path / "plain"), _tables(tmp_path / "sharded")
    assert sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert main(["classify", "evaluate", "--model", str(tmp_path / "sharded"), "--data", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == plain["dev"]["accuracy"]
    fasttext = [*argv[:6], "--encoder", "fasttext", "--out", str(tmp_path / "ft"), "--shard-tables"]
    assert main(fasttext) == 2
    assert "--shard-tables with --encoder fasttext" in capsys.readouterr().err
