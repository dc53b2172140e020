"""Running a function on W gloo processes on 127.0.0.1 (torch.multiprocessing.spawn) for the tests
of sharded checkpoints, table-wise tables and sharded training."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, world: int, port: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    from embedlayer.distributed import ShardGroup

    group = ShardGroup.from_env("gloo", timeout_s=60)
    try:
        fn(group, *args)
    finally:
        dist.destroy_process_group()
    _exit_quietly()


def _exit_quietly() -> None:
    """End a rank that succeeded without running the interpreter's exit: a gloo thread still being
    joined there (subgroups of other ranks) can abort the process ("terminate called without an
    active exception", SIGABRT) after all its work passed. A failure never gets here: it raises."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def spawn(fn: Callable[..., Any], world: int, *args: Any) -> None:
    """Run ``fn(group, *args)`` on ``world`` processes (a failure in any raises here)."""
    mp.spawn(_worker, args=(world, free_port(), fn, args), nprocs=world, join=True)
