"""`embedlayer recommend train|evaluate|top`: ratings → biased matrix factorisation (or a
factorisation machine over users, items and their side columns)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
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
    add_column_args,
    add_train_args,
    check_options,
    fit_with_checkpoint,
    spec_options,
    unseen_line,
)


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "recommend",
        help="train, evaluate and use a rating model of users and items",
        description="Matrix factorisation / factorisation machines on user-item ratings.",
    )
    cmds = group.add_subparsers(dest="recommend_command", metavar="COMMAND", required=True)
    _register_train(cmds)
    _register_evaluate(cmds)
    _register_top(cmds)


def _add_rating_cols(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user-col", default="user_id", metavar="COL")
    p.add_argument("--item-col", default="item_id", metavar="COL")
    p.add_argument("--rating-col", default="rating", metavar="COL")


# ------------------------------------------------------------------------------------ train
def _register_train(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "train",
        help="train on a ratings table (k-fold RMSE, then a model on every rating)",
        description="Train a rating model; with --folds K also report K-fold cross-validated RMSE and MAE "
        "(fold of each rating written to OUT/folds.tsv). " + output_policy(resume=True),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--ratings", required=True, metavar="FILE", help="user, item, rating (and other) columns")
    _add_rating_cols(p)
    p.add_argument("--users", metavar="FILE", help="users table (side columns for --model fm), keyed by --user-col")
    p.add_argument("--items", metavar="FILE", help="items table (side columns for --model fm), keyed by --item-col")
    p.add_argument("--model", choices=("mf", "fm"), default="mf", help="mf: user and item; fm: every column")
    p.add_argument("--factors", type=int, default=64, help="width of the user/item vectors")
    p.add_argument("--folds", type=int, default=0, help="cross-validate over this many folds first (0: none)")
    p.add_argument("--valid-fraction", type=float, default=0.05, help="ratings held out for early stopping")
    p.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    add_column_args(p)
    add_train_args(p, epochs=25, batch_size=1024, lr=1e-2, emb_lr=1e-2)
    p.set_defaults(embedding_weight_decay=3e-4, bins=0)
    add_output_args(p, resume=True)
    p.set_defaults(handler=run_train, flags=flag_table(p))


def run_train(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output

    check_options(args)
    set_threads(args.threads)
    inputs = (args.ratings, args.users, args.items)

    def claim() -> Any:
        return claim_output(args.out, kind="dir", inputs=inputs, force=args.force, resume=args.resume, can_resume=True)

    with shard_session(args, claim) as (args.shard_group, held):
        return _train(args, "new" if held is None else held.state)


def _read(args: argparse.Namespace) -> tuple[Any, int, tuple[str, ...], tuple[str, ...]]:
    """(joined ratings, duplicates dropped, user side columns, item side columns)."""
    from embedlayer.tabular import read_table
    from embedlayer.tabular.recommend import Ratings, join_side, prepare_ratings

    cols = Ratings(user=args.user_col, item=args.item_col, rating=args.rating_col)
    ratings, dropped = prepare_ratings(read_table(args.ratings), cols)
    sides: dict[str, tuple[str, ...]] = {"user": (), "item": ()}
    for part, path, key in (("user", args.users, cols.user), ("item", args.items, cols.item)):
        if path is not None:
            side = read_table(path)
            side.column(key, f"key column (--{part}-col)")
            before = set(ratings.names)
            ratings = join_side(ratings, side, key)
            sides[part] = tuple(n for n in ratings.names if n not in before and n not in args.ignore)
    for name in (*args.categorical, *args.numeric, *args.ignore, *(m.partition(":")[0] for m in args.multi)):
        ratings.column(name)  # a named column that is nowhere: DataError naming the columns there are
    return ratings, dropped, sides["user"], sides["item"]


def _train(args: argparse.Namespace, state: str) -> int:
    import numpy as np

    from embedlayer.tabular import ModelSettings, split_dev
    from embedlayer.tabular.recommend import Ratings, Recommender, fold_ids

    ratings, dropped, user_side, item_side = _read(args)
    cols = Ratings(user=args.user_col, item=args.item_col, rating=args.rating_col)
    if dropped and not args.quiet:
        note(f"{args.ratings}: {dropped} duplicate ({cols.user}, {cols.item}) pair(s): kept the last rating of each")
    options = spec_options(args, cols.rating)
    settings = ModelSettings(kind=args.model, factors=args.factors, seed=args.seed)

    def build(table: Any) -> Recommender:
        return Recommender.build(
            table, cols, user_columns=user_side, item_columns=item_side, options=options, settings=settings
        )

    summary: dict[str, Any] = {"out": args.out, "model": args.model, "ratings": len(ratings), "duplicates": dropped}
    if args.folds:
        folds = fold_ids(len(ratings), args.folds, args.seed)
        if lead(args):
            _write_folds(Path(args.out) / "folds.tsv", ratings, cols, folds)
        summary["folds"] = [_fold(build, ratings, folds, k, args) for k in range(args.folds)]
        for key in ("rmse", "mae", "seconds"):
            summary[f"cv_{key}"] = float(np.mean([f[key] for f in summary["folds"]]))
    train, dev = split_dev(ratings, args.valid_fraction, args.seed)
    rec = build(ratings)
    started = time.perf_counter()
    files = {"--ratings": args.ratings, "--users": args.users, "--items": args.items}
    result = fit_with_checkpoint(rec.pipeline, train, dev, args, run_record(args, files, skip=MAY_CHANGE), state=state)
    summary.update(epochs_run=result.epochs_run, train_seconds=round(time.perf_counter() - started, 2))
    summary["dev"] = rec.evaluate(dev)
    if not lead(args):  # --shard-tables: rank 0 alone writes and prints
        return 0
    rec.save(args.out, extra={"training": {k: summary[k] for k in ("ratings", "duplicates", "train_seconds")}})
    if args.json:
        print_json(summary)
    else:
        if args.folds:
            print(
                f"{args.folds}-fold RMSE {summary['cv_rmse']:.4f}  MAE {summary['cv_mae']:.4f}  "
                f"({summary['cv_seconds']:.1f}s a fold)"
            )
        seconds, rmse = summary["train_seconds"], summary["dev"]["rmse"]
        print(f"saved {args.out}  ({result.epochs_run} epochs, {seconds:.1f}s)  dev RMSE {rmse:.4f}")
    return 0


def _fold(build: Any, ratings: Any, folds: Any, k: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train on every fold but ``k`` (early stopping on a part of it), evaluate on fold ``k``."""
    from embedlayer.tabular import split_dev

    held, rest = ratings.select(folds == k), ratings.select(folds != k)
    train, dev = split_dev(rest, args.valid_fraction, args.seed)
    started = time.perf_counter()
    rec = build(rest)
    fit_with_checkpoint(rec.pipeline, train, dev, args, {}, prefix=f"fold {k + 1}/{args.folds}")
    seconds = time.perf_counter() - started
    metrics = rec.evaluate(held)
    if not args.quiet:
        note(f"fold {k + 1}/{args.folds}: RMSE {metrics['rmse']:.4f}  MAE {metrics['mae']:.4f}  {seconds:.1f}s")
    return {"fold": k, "rmse": metrics["rmse"], "mae": metrics["mae"], "seconds": round(seconds, 2)}


def _write_folds(path: Path, ratings: Any, cols: Any, folds: Any) -> None:
    from embedlayer._io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(f"{cols.user}\t{cols.item}\tfold\n")
        for user, item, fold in zip(ratings.column(cols.user), ratings.column(cols.item), folds.tolist()):
            fh.write(f"{user}\t{item}\t{fold}\n")


# ------------------------------------------------------------------------------------ evaluate
def _register_evaluate(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser("evaluate", help="RMSE and MAE on held-out ratings", description="Evaluate a recommender.")
    p.add_argument("--model", required=True, metavar="DIR", help="folder written by `recommend train`")
    p.add_argument(
        "--data", required=True, metavar="FILE", help="ratings with the model's user, item and rating columns"
    )
    p.add_argument("--users", metavar="FILE", help="users table (an fm model's user side columns)")
    p.add_argument("--items", metavar="FILE", help="items table (an fm model's item side columns)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from embedlayer.tabular import read_table
    from embedlayer.tabular.recommend import Recommender, join_side, prepare_ratings

    set_threads(args.threads)
    rec = Recommender.load(args.model)
    table, dropped = prepare_ratings(read_table(args.data), rec.cols)
    for path, key in ((args.users, rec.cols.user), (args.items, rec.cols.item)):
        if path is not None:
            table = join_side(table, read_table(path), key)
    metrics = rec.evaluate(table)
    if args.json:
        print_json({"model": args.model, "data": args.data, "duplicates": dropped, **metrics})
    else:
        print(
            f"{args.data}: {metrics['examples']} ratings  RMSE {metrics['rmse']:.4f}  MAE {metrics['mae']:.4f}  "
            f"{unseen_line(metrics['unseen'])}"
        )
    return 0


# ------------------------------------------------------------------------------------ top
def _register_top(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "top", help="the best items a user has not rated", description="Items with the highest predicted rating."
    )
    p.add_argument("--model", required=True, metavar="DIR", help="folder written by `recommend train`")
    p.add_argument("--user", required=True, help="the user's id (an unknown user gets the unknown row)")
    p.add_argument("--k", type=int, default=10, help="how many items")
    p.add_argument("--names", metavar="FILE", help="items table to name each item from (with --name-template)")
    p.add_argument("--name-template", metavar="TEXT", help='e.g. "{movie_title} ({release_year})"')
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(handler=run_top)


def run_top(args: argparse.Namespace) -> int:
    from embedlayer.errors import ConfigError
    from embedlayer.tabular import read_table
    from embedlayer.tabular.export import entity_names
    from embedlayer.tabular.recommend import Recommender

    if (args.names is None) != (args.name_template is None):
        raise ConfigError("--names and --name-template go together: the items table and how to name each item")
    rec = Recommender.load(args.model)
    names: dict[str, str] = {}
    if args.names is not None:
        names = entity_names(read_table(args.names), rec.cols.item, args.name_template)
    best = rec.top(args.user, args.k)
    known = args.user in rec.seen
    if args.json:
        items = [{"item": item, "name": names.get(item), "score": score} for item, score in best]
        print_json({"model": args.model, "user": args.user, "known_user": known, "items": items})
        return 0
    if not known:
        note(f"user {args.user!r} has no ratings in training: the unknown user's row is used")
    for item, score in best:
        print(f"{item}\t{score:.4f}" + (f"\t{names.get(item, '')}" if names else ""))
    return 0
