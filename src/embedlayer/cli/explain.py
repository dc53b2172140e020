"""`embedlayer explain`: what an embedding layer is, demonstrated live.

1. A lookup equals a dense layer applied to one-hot inputs: same outputs, same weight gradients.
2. It costs a row copy instead of V·D multiply-adds per id: time and memory for a few vocabulary sizes.
3. A training step with sparse gradients moves exactly the rows the batch used.
"""

from __future__ import annotations

import argparse

from embedlayer.cli.common import check_counts, print_json, set_threads


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="show that an embedding layer is a one-hot dense layer, only cheaper",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--vocab-sizes", default="1000,10000,100000", help="comma-separated V for the cost table")
    p.add_argument("--dim", type=int, default=128, help="embedding dimension D")
    p.add_argument("--batch", type=int, default=4096, help="ids per batch in the cost table")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from embedlayer.errors import ConfigError
    from embedlayer.explain import cost_comparison, onehot_equivalence, sparse_step_rows

    set_threads(args.threads)
    check_counts(args, {"--dim": 1, "--batch": 1})
    try:
        sizes = tuple(int(v) for v in args.vocab_sizes.split(","))
    except ValueError:
        raise ConfigError(f"--vocab-sizes {args.vocab_sizes!r}: expected comma-separated integers") from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"--vocab-sizes {args.vocab_sizes!r}: expected comma-separated positive integers")
    equivalence = onehot_equivalence(V=1000, D=args.dim, n_ids=512, seed=args.seed)
    costs = cost_comparison(vocab_sizes=sizes, D=args.dim, batch=args.batch, seed=args.seed)
    step = sparse_step_rows(V=10, D=4, ids=[3, 7, 3, 1], seed=args.seed)
    if args.json:
        print_json({"equivalence": equivalence, "cost": costs, "sparse_step": step})
        return 0
    print("1. An embedding lookup is a dense layer on one-hot inputs")
    print(f"   W: {equivalence['V']} x {equivalence['D']}, {equivalence['n_ids']} random ids")
    print(f"   max |lookup(ids) - one_hot(ids) @ W|         = {equivalence['max_abs_diff_output']:.3g}")
    print(f"   max |grad W (lookup) - grad W (one-hot)|      = {equivalence['max_abs_diff_grad']:.3g}")
    print()
    print(f"2. ...at a fraction of the cost (forward + backward, D={args.dim}, median of repeats)")
    print(
        f"   {'V':>8} {'ids':>6} {'lookup':>10} {'(sparse)':>10} {'one-hot':>10} {'ratio':>7} {'one-hot input':>14} "
        f"{'dense grad':>11} {'sparse grad':>12}"
    )
    for row in costs:
        note = "  (batch reduced to keep the one-hot input under 256 MiB)" if row["batch_reduced"] else ""
        print(
            f"   {row['vocab_size']:>8} {row['batch']:>6} {_ms(row['lookup_seconds']):>10} "
            f"{_ms(row['lookup_sparse_seconds']):>10} {_ms(row['onehot_seconds']):>10} {row['speedup']:>6.0f}x "
            f"{_mb(row['onehot_input_bytes']):>14} "
            f"{_mb(row['dense_grad_bytes']):>11} {_mb(row['sparse_grad_bytes']):>12}{note}"
        )
    print("   lookup: dense weight gradient (V x D zeros to fill); (sparse): gradient of the used rows only.")
    print("   The one-hot product grows with V; the lookup copies D numbers per id whatever V is.")
    print()
    print("3. One SGD step with sparse gradients updates only the rows the batch used")
    print(f"   table {step['V']} x {step['D']}, batch ids {step['ids']}")
    print(
        f"   rows in the batch: {step['rows_in_batch']}   rows changed: {step['rows_changed']}   "
        f"{'identical' if step['equal'] else 'DIFFERENT'}"
    )
    return 0


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def _mb(nbytes: int) -> str:
    return f"{nbytes / 2**20:.2f} MiB"
