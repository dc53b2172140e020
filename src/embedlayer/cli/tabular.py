"""`embedlayer tabular train|evaluate|predict`: entity embeddings of a table's categorical columns
and an MLP over them and its numbers (binary, multi-class or regression)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from embedlayer.cli.common import (
    HelpFormatter,
    add_output_args,
    flag_table,
    note,
    output_policy,
    prepare_checkpoint,
    print_json,
    run_options,
    set_threads,
)
from embedlayer.errors import ConfigError
from embedlayer.train.config import SPARSE_OPTIMIZER_NAMES


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "tabular",
        help="train, evaluate and use a model of a table's columns (entity embeddings)",
        description="Entity embeddings of categorical columns + numeric columns -> MLP (CSV, TSV, Parquet).",
    )
    cmds = group.add_subparsers(dest="tabular_command", metavar="COMMAND", required=True)
    _register_train(cmds)
    _register_evaluate(cmds)
    _register_predict(cmds)


# ------------------------------------------------------------------------------------ shared options
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


def run_record(args: argparse.Namespace, files: dict[str, str | None]) -> dict[str, Any]:
    """What a resumed run must repeat: the options by flag and digests of the input files."""
    from embedlayer._io import file_digest

    record = run_options(args, args.flags, skip=("epochs", "json", "quiet", "threads", "force", "resume", "flags"))
    return {**record, **{flag: None if p is None else file_digest(p) for flag, p in files.items()}}


def fit_with_checkpoint(
    pipeline: Any, train: Any, dev: Any, args: argparse.Namespace, record: dict, *, state: str = "new", prefix: str = ""
):
    """``pipeline.fit`` with progress, a checkpoint in --out (prepared for the output claim's
    ``state``; none for a ``prefix``-named run such as a fold), and the note a Ctrl-C leaves."""
    from embedlayer.cli.progress import TrainProgress

    checkpoint = Path(args.out) / "checkpoint"
    if not prefix:
        prepare_checkpoint(args, state, checkpoint)
    progress = TrainProgress(prefix=prefix, enabled=not args.quiet)
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
def _register_train(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "train",
        help="train a model on a table",
        description="Train entity embeddings + MLP on a CSV/TSV/Parquet table. " + output_policy(resume=True),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--train", required=True, metavar="FILE", help="training table (header row)")
    p.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    p.add_argument("--dev", metavar="FILE", help="validation table (default: --valid-fraction of --train)")
    p.add_argument("--valid-fraction", type=float, default=0.1, help="rows of --train held out without --dev")
    p.add_argument("--test", metavar="FILE", help="evaluated after training and reported (never used to train)")
    p.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    p.add_argument("--task", choices=("binary", "multiclass", "regression"), help="default: from the target")
    add_column_args(p)
    p.add_argument("--hidden", type=lambda v: tuple(int(x) for x in names(v)), default=(256, 128), metavar="W,W")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--embedding-dropout", type=float, default=0.0)
    p.add_argument("--no-batch-norm", dest="batch_norm", action="store_false", help="no batch norm in the MLP")
    p.add_argument(
        "--unknown-rate",
        type=float,
        default=0.05,
        help="training: treat this fraction of categorical values as unseen, so the unknown rows learn",
    )
    add_train_args(p, epochs=8, batch_size=512, lr=2e-3, emb_lr=1e-2)
    add_block_size_arg(p)
    add_output_args(p, resume=True)
    p.set_defaults(handler=run_train, flags=flag_table(p))


def run_train(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output

    check_options(args)
    set_threads(args.threads)
    with claim_output(
        args.out,
        kind="dir",
        inputs=(args.train, args.dev, args.test),
        force=args.force,
        resume=args.resume,
        can_resume=True,
    ) as claim:
        return _train(args, claim.state)


def _train(args: argparse.Namespace, state: str) -> int:
    from dataclasses import replace

    from embedlayer.tabular import ModelSettings, TableFile, TabularPipeline, split_dev

    table = TableFile(args.train, block_size=args.block_size)
    options = replace(spec_options(args, args.target), task=args.task)
    settings = ModelSettings(
        hidden=args.hidden,
        dropout=args.dropout,
        embedding_dropout=args.embedding_dropout,
        batch_norm=args.batch_norm,
        unknown_rate=args.unknown_rate,
        seed=args.seed,
    )
    pipeline = TabularPipeline.build(table, options, settings)  # first pass: the spec
    spec = pipeline.spec
    data = spec.encode_chunks(table)  # second pass: int32 ids and float32 numbers
    if args.dev:
        train, dev = data, spec.encode_chunks(TableFile(args.dev, block_size=args.block_size))
    else:
        train, dev = split_dev(data, args.valid_fraction, args.seed, args.train)
    if not args.quiet:
        kinds = ", ".join(
            f"{c.name}:{c.kind[:3]}" + (f"/{c.embedding_dim}" if c.has_table else "") for c in spec.columns
        )
        note(f"{len(train)} training rows, {len(dev)} dev; task {spec.task}; columns {kinds}")
    started = time.perf_counter()
    record = run_record(args, {"--train": args.train, "--dev": args.dev})
    result = fit_with_checkpoint(pipeline, train, dev, args, record, state=state)
    seconds = time.perf_counter() - started
    summary: dict[str, Any] = {
        "out": args.out,
        "task": spec.task,
        "train_rows": len(train),
        "dev_rows": len(dev),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "train_seconds": round(seconds, 2),
        "dev": pipeline.evaluate(dev),
    }
    if args.test:
        summary["test"] = pipeline.evaluate(TableFile(args.test, block_size=args.block_size))
    pipeline.save(args.out, extra={"training": {k: summary[k] for k in ("train_rows", "best_epoch", "train_seconds")}})
    if args.json:
        print_json({**summary, "history": result.history})
    else:
        line = f"saved {args.out}  ({result.epochs_run} epochs, {seconds:.1f}s)  dev {_metrics(summary['dev'])}"
        print(line + (f"  test {_metrics(summary['test'])}" if args.test else ""))
    return 0


def _metrics(m: dict[str, Any]) -> str:
    if "accuracy" in m:
        return f"accuracy {m['accuracy']:.4f} macro-F1 {m['macro_f1']:.4f}"
    return f"RMSE {m['rmse']:.4f} MAE {m['mae']:.4f}"


def unseen_line(unseen: dict[str, int]) -> str:
    """``unseen values: col 3, other 1`` (columns with none left out)."""
    parts = [f"{k} {v}" for k, v in unseen.items() if v]
    return "unseen values: " + (", ".join(parts) if parts else "none")


# ------------------------------------------------------------------------------------ evaluate
def _register_evaluate(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser("evaluate", help="metrics on a labelled table", description="Evaluate a saved tabular model.")
    p.add_argument("--model", required=True, metavar="DIR", help="folder written by `tabular train`")
    p.add_argument("--data", required=True, metavar="FILE", help="table with the target column")
    add_block_size_arg(p)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from embedlayer.tabular import TableFile, TabularPipeline

    check_options(args)
    set_threads(args.threads)
    pipeline = TabularPipeline.load(args.model)
    metrics = pipeline.evaluate(TableFile(args.data, block_size=args.block_size))
    if args.json:
        print_json({"model": args.model, "data": args.data, **metrics})
    else:
        print(f"{args.data}: {metrics['examples']} rows  {_metrics(metrics)}  {unseen_line(metrics['unseen'])}")
    return 0


# ------------------------------------------------------------------------------------ predict
def _register_predict(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "predict",
        help="probabilities or values for new rows",
        description="Predict for each row of a table: the most probable class and the probability of each "
        "class, or the value (regression); tab-separated, one line a row, or one JSON object with --json.",
    )
    p.add_argument("--model", required=True, metavar="DIR", help="folder written by `tabular train`")
    p.add_argument("input", metavar="FILE", help="table with the model's input columns")
    add_block_size_arg(p)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object with every prediction")
    p.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from embedlayer.tabular import TableFile, TabularPipeline

    check_options(args)
    set_threads(args.threads)
    pipeline = TabularPipeline.load(args.model)
    labels = pipeline.spec.labels
    chunks = pipeline.predict_chunks(TableFile(args.input, block_size=args.block_size))
    if args.json:
        rows: list[Any] = []
        for out in chunks:
            if labels:
                rows += [
                    {"label": labels[int(p.argmax())], "probabilities": dict(zip(labels, map(float, p)))} for p in out
                ]
            else:
                rows += [float(v) for v in out]
        print_json({"model": args.model, "task": pipeline.spec.task, "predictions": rows})
        return 0
    print("\t".join(["label", *labels]) if labels else pipeline.spec.target)
    for out in chunks:  # written a batch at a time: a big file's predictions are never all held
        if labels:
            lines = ["\t".join([labels[int(p.argmax())], *(f"{x:.6f}" for x in p)]) for p in out]
        else:
            lines = [f"{v:.6f}" for v in out]
        sys.stdout.write("\n".join(lines) + "\n")
    return 0
