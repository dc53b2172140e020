"""`--shard-tables`: training commands with their embedding tables sharded over torchrun's processes.

Under ``torchrun --nproc-per-node N`` (WORLD_SIZE > 1) every process joins one group (gloo on
CPU, NCCL on GPUs); without torchrun the same sharded code runs in one process. Rank 0 alone
claims and writes the output folder and prints; the other ranks are quiet. If rank 0 cannot claim
the output, every rank stops with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

from embedlayer.errors import ConfigError


def add_shard_args(p: argparse.ArgumentParser) -> None:
    """--shard-tables, --shard-layout and --dist-timeout."""
    p.add_argument(
        "--shard-tables",
        action="store_true",
        help="shard the embedding tables over the processes of torchrun (one process without torchrun)",
    )
    p.add_argument(
        "--shard-layout",
        choices=("auto", "row", "table"),
        default="auto",
        help="with --shard-tables: rows of every table split over the ranks, or each table whole on one rank",
    )
    p.add_argument(
        "--dist-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="with --shard-tables: how long a rank waits for the others before failing",
    )


def _join(timeout_s: float) -> Any:
    """The group of torchrun's processes; without torchrun (WORLD_SIZE unset or 1) a group of one
    on a free port of 127.0.0.1 (the variables torchrun would set are set while joining only)."""
    from embedlayer.distributed import ShardGroup

    if os.environ.get("WORLD_SIZE") not in (None, "", "1"):
        return ShardGroup.from_env(timeout_s=timeout_s)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    single = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    saved = {k: os.environ.get(k) for k in single}
    os.environ.update(single)
    try:
        return ShardGroup.from_env("gloo", timeout_s=timeout_s)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def shard_session(args: argparse.Namespace, claim: Callable[[], Any]) -> Iterator[tuple[Any, Any]]:
    """(group, claim's result on rank 0 / None elsewhere) for a --shard-tables run; without
    --shard-tables (None, claim()). Ranks other than 0 get ``args.quiet = True``."""
    if not getattr(args, "shard_tables", False):
        with claim() as held:
            yield None, held
        return
    if getattr(args, "resume", False):
        raise ConfigError("--resume with --shard-tables: a sharded run keeps no training checkpoint; start it again")
    if not args.dist_timeout > 0:
        raise ConfigError(f"--dist-timeout {args.dist_timeout}: expected a positive number of seconds")
    import torch.distributed as dist

    group = _join(args.dist_timeout)
    try:
        if group.rank != 0:
            args.quiet = True
        with _claim_on_rank0(group, claim) as held:
            if not getattr(args, "quiet", False):
                from embedlayer.cli.common import note

                layout = args.shard_layout
                note(f"--shard-tables: {group.world_size} process(es) over {group.backend}, --shard-layout {layout}")
            yield group, held
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


@contextlib.contextmanager
def _claim_on_rank0(group: Any, claim: Callable[[], Any]) -> Iterator[Any]:
    from embedlayer.distributed.checkpoint import agree

    if group.rank != 0:
        agree(group, None)
        yield None
        return
    try:
        context = claim()
        held = context.__enter__()
    except ConfigError as exc:
        agree(group, exc)
        raise
    agree(group, None)
    with contextlib.ExitStack() as stack:
        stack.push(context)
        yield held


def lead(args: argparse.Namespace) -> bool:
    """Whether this process writes and prints: no group, or rank 0 of it."""
    group = getattr(args, "shard_group", None)
    return group is None or group.rank == 0


def fit_text_sharded(pipeline: Any, train: Any, dev: Any, config: Any, args: argparse.Namespace, progress: Any) -> Any:
    """`classify train --shard-tables`: the text classifier's token table sharded over the group
    (`embedlayer.tabular.sharded.fit_sharded` on the pipeline's own batches; no checkpoint).
    Raises ConfigError for the fastText encoder and subword tables, which do not shard."""
    from dataclasses import replace

    from embedlayer.tabular.sharded import fit_sharded

    if type(pipeline.model).__name__ == "FastTextClassifier":
        raise ConfigError(
            "--shard-tables with --encoder fasttext: its compiled trainer does not shard; expected another encoder"
        )
    if getattr(pipeline.config, "subwords", None) is not None:
        raise ConfigError("--shard-tables with --subwords: subword tables do not shard yet; expected word tables only")
    train_ids, train_y = pipeline.encode(ex.text for ex in train), pipeline.label_ids(train, args.train)
    dev_batches = None
    if dev:
        dev_ids, dev_y = pipeline.encode(ex.text for ex in dev), pipeline.label_ids(dev, args.dev)
        dev_batches = list(pipeline.batches(dev_ids, dev_y, max(config.batch_size, 256)))

    def train_batches(epoch: int) -> list[Any]:
        return list(
            pipeline.batches(train_ids, train_y, config.batch_size, shuffle=True, seed=config.seed, epoch=epoch)
        )

    # SparseAdam (the default "torch") has no sharded form: lazy Adam, its row-wise equal
    config = replace(config, sparse_optimizer=config.sparse_optimizer or "adam")
    return fit_sharded(
        pipeline.model,
        train_batches,
        dev_batches,
        config,
        group=args.shard_group,
        layout=args.shard_layout,
        progress=progress,
    )
