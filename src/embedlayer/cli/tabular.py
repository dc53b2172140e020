"""`embedlayer tabular train|evaluate|predict`: entity embeddings of a table's categorical columns
and an MLP over them and its numbers (binary, multi-class or regression)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from embedlayer.cli.common import (
    HelpFormatter,
    add_output_args,
    flag_table,
    note,
    output_policy,
    print_json,
    run_record,
    set_threads,
)
from embedlayer.cli.sharded import lead, shard_session
from embedlayer.cli.table_args import (
    MAY_CHANGE,
    add_block_size_arg,
    add_column_args,
    add_train_args,
    check_options,
    fit_with_checkpoint,
    names,
    spec_options,
    unseen_line,
)


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

    def claim() -> Any:
        inputs = (args.train, args.dev, args.test)
        return claim_output(args.out, kind="dir", inputs=inputs, force=args.force, resume=args.resume, can_resume=True)

    with shard_session(args, claim) as (args.shard_group, held):
        return _train(args, "new" if held is None else held.state)


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
    record = run_record(args, {"--train": args.train, "--dev": args.dev}, skip=MAY_CHANGE)
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
    if not lead(args):  # --shard-tables: rank 0 alone evaluates, writes and prints
        return 0
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
