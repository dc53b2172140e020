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
