"""Options and steps shared by `embedlayer tabular` and `embedlayer recommend`: columns, training
settings and their checks, the resume record, training with checkpoints, the unseen-values line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedlayer.cli.common import prepare_checkpoint
from embedlayer.cli.sharded import add_shard_args
from embedlayer.errors import ConfigError
from embedlayer.train.config import SPARSE_OPTIMIZER_NAMES


def names(value: str) -> tuple[str, ...]:
    """``a,b,c`` -> ("a", "b", "c")."""
    return tuple(x.strip() for x in value.split(",") if x.strip())


def column_ints(flag: str) -> Callable[[str], tuple[str | None, int]]:
    """``col=N`` (or plain ``N``: every categorical column) for --hash-buckets / --embedding-dim."""

    def parse(value: str) -> tuple[str | None, int]:
        name, _, number = value.rpartition("=")
        try:
            return (name or None), int(number)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {value!r}: expected COLUMN=N or N") from None

    return parse


def add_column_args(p: argparse.ArgumentParser) -> None:
    """How the columns are read: kinds, vocabularies, sizes (shared by tabular and recommend)."""
    p.add_argument("--categorical", type=names, default=(), metavar="A,B", help="columns to treat as categorical")
    p.add_argument("--numeric", type=names, default=(), metavar="A,B", help="columns to treat as numeric")
    p.add_argument("--ignore", type=names, default=(), metavar="A,B", help="columns to leave out")
    p.add_argument(
        "--multi",
        action="append",
        default=[],
        metavar="COL[:SEP]",
        help="a multi-valued column (values split on SEP, default whitespace) read as a bag; repeatable",
    )
    p.add_argument("--min-count", type=int, default=1, help="categories seen fewer times share a 'rare' row")
    p.add_argument(
        "--hash-buckets",
        type=column_ints("--hash-buckets"),
        action="append",
        default=[],
        metavar="[COL=]N",
        help="hash values training never saw into N rows (COL= for one column; repeatable)",
    )
    p.add_argument(
        "--embedding-dim",
        type=column_ints("--embedding-dim"),
        action="append",
        default=[],
        metavar="COL=N",
        help="embedding width of one column (default: fastai's min(600, round(1.6 n^0.56))); repeatable",
    )
    p.add_argument("--max-embedding-dim", type=int, default=600, help="cap of the default widths")
    p.add_argument(
        "--max-int-categories", type=int, default=20, help="integer columns with fewer values are categorical"
    )
    p.add_argument("--bins", type=int, default=128, help="numeric columns also get a bin embedding (0: off)")


def spec_options(args: argparse.Namespace, target: str, categorical_columns: tuple[str, ...] = ()) -> Any:
    """SpecOptions from the column flags; ``COL=`` and plain ``N`` forms resolved."""
    from embedlayer.tabular import SpecOptions

    multi = {}
    for item in args.multi:
        name, _, sep = item.partition(":")
        multi[name] = sep or None
    per_column = {name: n for name, n in args.hash_buckets if name is not None}
    every = [n for name, n in args.hash_buckets if name is None]
    dims = {}
    for name, n in args.embedding_dim:
        if name is None:
            raise ConfigError(f"--embedding-dim {n}: expected COLUMN=N (the default width suits each column)")
        dims[name] = n
    return SpecOptions(
        target=target,
        categorical=(*categorical_columns, *args.categorical),
        numeric=args.numeric,
        ignore=args.ignore,
        multi=multi,
        min_count=args.min_count,
        hash_buckets={"*": every[-1], **per_column} if every else per_column,
        embedding_dims=dims,
        max_embedding_dim=args.max_embedding_dim,
        max_int_categories=args.max_int_categories,
        bins=args.bins,
    )


def add_block_size_arg(p: argparse.ArgumentParser) -> None:
    """--block-size: CSV/TSV files are read, and encoded, this many bytes at a time."""
    from embedlayer.tabular.read import BLOCK_SIZE

    p.add_argument(
        "--block-size",
        type=int,
        default=BLOCK_SIZE,
        metavar="BYTES",
        help="CSV/TSV text parsed at a time: files stream in blocks, so memory is the encoded rows, not the text",
    )


def add_train_args(p: argparse.ArgumentParser, *, epochs: int, batch_size: int, lr: float, emb_lr: float) -> None:
    """The training loop's options (shared by tabular and recommend)."""
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help="learning rate of the dense layers")
    p.add_argument("--embedding-lr", type=float, default=emb_lr, help="learning rate of the embedding rows")
    p.add_argument("--sparse-optimizer", choices=SPARSE_OPTIMIZER_NAMES, default="adam", help="row-wise optimizer")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 of the dense layers")
    p.add_argument("--embedding-weight-decay", type=float, default=0.0, help="L2 of the rows a batch uses")
    p.add_argument("--patience", type=int, default=3, help="stop after this many epochs without a better dev score")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (small matrices: 1 is often fastest)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_shard_args(p)


#: (dest, flag, lowest allowed, highest allowed (excluded) or None, lowest allowed itself)
_RANGES = (
    ("epochs", "--epochs", 1, None, True),
    ("batch_size", "--batch-size", 1, None, True),
    ("lr", "--lr", 0, None, False),
    ("embedding_lr", "--embedding-lr", 0, None, False),
    ("weight_decay", "--weight-decay", 0, None, True),
    ("embedding_weight_decay", "--embedding-weight-decay", 0, None, True),
    ("patience", "--patience", 1, None, True),
    ("threads", "--threads", 1, None, True),
    ("min_count", "--min-count", 1, None, True),
    ("max_embedding_dim", "--max-embedding-dim", 1, None, True),
    ("max_int_categories", "--max-int-categories", 0, None, True),
    ("bins", "--bins", 0, None, True),
    ("block_size", "--block-size", 1, None, True),
    ("dropout", "--dropout", 0, 1, True),
    ("embedding_dropout", "--embedding-dropout", 0, 1, True),
    ("unknown_rate", "--unknown-rate", 0, 1, True),
    ("valid_fraction", "--valid-fraction", 0, 1, False),
    ("factors", "--factors", 1, None, True),
    ("folds", "--folds", 0, None, True),
)


def check_options(args: argparse.Namespace) -> None:
    """ConfigError naming the flag of the first number out of its range (before any work)."""
    for dest, flag, low, high, inclusive in _RANGES:
        value = getattr(args, dest, None)
        if value is None:
            continue
        too_low = value < low if inclusive else value <= low
        if too_low or (high is not None and value >= high):
            expected = f"{'>=' if inclusive else '>'} {low}" + (f" and < {high}" if high is not None else "")
            raise ConfigError(f"{flag} {value}: expected a number {expected}")
    if any(w < 1 for w in getattr(args, "hidden", ())):
        raise ConfigError(f"--hidden {','.join(map(str, args.hidden))}: expected positive layer widths")


def train_config(args: argparse.Namespace) -> Any:
    from embedlayer.train import TrainConfig

    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        embedding_lr=args.embedding_lr,
        sparse_optimizer=args.sparse_optimizer,
        weight_decay=args.weight_decay,
        embedding_weight_decay=args.embedding_weight_decay,
        patience=args.patience,
        seed=args.seed,
    )


#: Options a resumed `tabular train` or `recommend train` may change.
MAY_CHANGE = ("epochs", "json", "quiet", "threads", "force", "resume")


def fit_with_checkpoint(
    pipeline: Any, train: Any, dev: Any, args: argparse.Namespace, record: dict, *, state: str = "new", prefix: str = ""
):
    """``pipeline.fit`` with progress, a checkpoint in --out (prepared for the output claim's
    ``state``; none for a ``prefix``-named run such as a fold), and the note a Ctrl-C leaves."""
    from embedlayer.cli.progress import TrainProgress

    checkpoint = Path(args.out) / "checkpoint"
    group = getattr(args, "shard_group", None)
    progress = TrainProgress(prefix=prefix, enabled=not args.quiet)
    if group is not None:  # --shard-tables: no training checkpoint
        try:
            return pipeline.fit(
                train, dev, train_config(args), progress=progress, group=group, shard_layout=args.shard_layout
            )
        finally:
            progress.close()
    if not prefix:
        prepare_checkpoint(args, state, checkpoint)
    try:
        return pipeline.fit(
            train,
            dev,
            train_config(args),
            progress=progress,
            checkpoint_dir=None if prefix else checkpoint,
            resume=args.resume,
            run_info=record,
        )
    except KeyboardInterrupt as exc:
        if checkpoint.is_dir() and not prefix:
            exc.add_note(f"the checkpoint in {checkpoint} is kept: run the same command with --resume to continue")
        raise
    finally:
        progress.close()


# ------------------------------------------------------------------------------------ train
def unseen_line(unseen: dict[str, int]) -> str:
    """``unseen values: col 3, other 1`` (columns with none left out)."""
    parts = [f"{k} {v}" for k, v in unseen.items() if v]
    return "unseen values: " + (", ".join(parts) if parts else "none")


# ------------------------------------------------------------------------------------ evaluate
