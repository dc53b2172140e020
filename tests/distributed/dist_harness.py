"""Start W gloo (or NCCL) processes on 127.0.0.1 and run a function on each (tests/distributed only).

``spawn(fn, W, *args)`` runs ``fn(group, *args)`` on ranks 0..W-1 (``group`` a ShardGroup over
gloo with a short timeout); an exception on any rank fails the test with that rank's traceback,
and a run that outlives its deadline is stopped and fails (a test never hangs).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from embedlayer.distributed import ShardGroup


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_env(rank: int, world_size: int, port: int) -> None:
    """torchrun's variables for ``rank`` of ``world_size`` on 127.0.0.1:``port``."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
    )


def _entry(
    rank: int, fn: Callable[..., Any], world_size: int, port: int, args: tuple[Any, ...], timeout_s: float
) -> None:
    torch.set_num_threads(1)
    set_env(rank, world_size, port)
    group = ShardGroup.from_env("gloo", timeout_s=timeout_s)
    try:
        fn(group, *args)
    finally:
        dist.destroy_process_group()
    _exit_quietly()


def _exit_quietly() -> None:
    """End a rank that succeeded without running the interpreter's exit: a gloo thread still being
    joined there can abort the process ("terminate called without an active exception", SIGABRT)
    after all its work passed. A failure never gets here: it raises."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def spawn(
    fn: Callable[..., Any], world_size: int, *args: Any, timeout_s: float = 20.0, deadline_s: float = 90.0
) -> None:
    """Run ``fn(group, *args)`` on ``world_size`` gloo ranks; re-raise the first rank's failure."""
    run_raw(_entry, world_size, fn, world_size, free_port(), args, timeout_s, deadline_s=deadline_s)


def run_raw(entry: Callable[..., Any], nprocs: int, *args: Any, deadline_s: float = 90.0) -> None:
    """``entry(rank, *args)`` in ``nprocs`` spawned processes, stopped after ``deadline_s``."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    context = mp.start_processes(entry, args=args, nprocs=nprocs, join=False, start_method="spawn")
    end = time.monotonic() + deadline_s
    while not context.join(timeout=0.5):
        if time.monotonic() > end:
            for process in context.processes:
                if process.is_alive():
                    process.terminate()
            raise AssertionError(f"the {nprocs} processes did not finish within {deadline_s} s (a hang)")
