"""Scratch folders of a run killed before it locked them (issue 13 §5): the folder's name holds the
PID of the run that made it, so the next run removes one whose maker is gone instead of keeping it
forever (kill -9 between mkdtemp and the lock left such a folder behind for good)."""

from __future__ import annotations

import os
import subprocess
import sys

from embedlayer._io import scratch_dir
from embedlayer._io.lock import SCRATCH_PREFIX


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lockless_folder_of_a_dead_run_is_swept_and_a_live_ones_kept(tmp_path):
    dead = tmp_path / f"{SCRATCH_PREFIX}{_dead_pid()}-killed"
    dead.mkdir()
    (dead / "half.tmp").write_bytes(b"x" * 100)
    alive = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-starting"  # a live run between mkdtemp and its lock
    alive.mkdir()
    with scratch_dir(tmp_path) as mine:
        assert mine.name.startswith(f"{SCRATCH_PREFIX}{os.getpid()}-")
        assert not dead.exists() and alive.exists()
    assert sorted(os.listdir(tmp_path)) == [alive.name]


def test_checkpoint_and_vector_saves_build_in_scratch_folders_a_later_save_sweeps(tmp_path):
    """A kill -9 in the middle of a checkpoint save (classify or pretrain) or of pretrain's vectors
    save leaves its half-written folder in a scratch folder; the next save there removes it."""
    import numpy as np
    import torch

    from embedlayer.pretrain.config import PretrainConfig
    from embedlayer.pretrain.model import WordVectorModel
    from embedlayer.train.checkpoint import save_checkpoint

    def killed_save() -> None:
        dead = tmp_path / f"{SCRATCH_PREFIX}{_dead_pid()}-killed"
        (dead / "checkpoint").mkdir(parents=True)
        (dead / "checkpoint" / "model.safetensors").write_bytes(b"x" * 100)

    killed_save()
    save_checkpoint(tmp_path / "checkpoint", torch.nn.Linear(2, 2), {"epoch": 1})
    assert sorted(os.listdir(tmp_path)) == ["checkpoint"]
    killed_save()
    words = ("a", "b")
    model = WordVectorModel(
        config=PretrainConfig(dim=3, min_count=1),
        words=words,
        counts=np.ones(2, np.int64),
        input_matrix=np.ones((2, 3), np.float32),
        output_matrix=np.zeros((2, 3), np.float32),
    )
    model.save(tmp_path)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(SCRATCH_PREFIX)]
