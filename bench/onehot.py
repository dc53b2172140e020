"""An embedding lookup against the same layer written as one-hot × dense matrix.

Forward + backward for V ∈ {1k, 10k, 100k}, D 128, batch 4096 ids (the one-hot input is capped at
256 MiB, so the 100k case uses fewer ids; the row says so). Prints a table, one RESULT line per V
(anchor: the one-hot matmul, same ids, same threads) and writes bench/results/onehot.json.

    python bench/onehot.py [--quick] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

from embedlayer.explain import cost_comparison

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4096)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = cost_comparison(
        vocab_sizes=(1_000, 10_000, 100_000), D=args.dim, batch=args.batch, repeats=3 if args.quick else 7
    )
    print(f"{'V':>8} {'ids':>6} {'lookup ms':>10} {'sparse ms':>10} {'one-hot ms':>11} {'ratio':>7}")
    for r in rows:
        print(
            f"{r['vocab_size']:>8} {r['batch']:>6} {r['lookup_seconds'] * 1e3:>10.3f} "
            f"{r['lookup_sparse_seconds'] * 1e3:>10.3f} {r['onehot_seconds'] * 1e3:>11.3f} {r['speedup']:>6.1f}x"
        )
    for r in rows:
        base = f"V{r['vocab_size']}-D{r['embedding_dim']}-B{r['batch']}"
        anchor = r["onehot_seconds"] * 1e3
        for path, key in (("dense-grad", "lookup_seconds"), ("sparse-grad", "lookup_sparse_seconds")):
            ours = r[key] * 1e3
            print(
                f"RESULT bench=onehot case={base}-{path} ours={ours:.3f}ms anchor=onehot-matmul:{anchor:.3f}ms "
                f"speedup={anchor / ours:.1f}"
            )
    out = ROOT / "bench" / "results" / ("onehot-quick.json" if args.quick else "onehot.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "nproc": os.cpu_count(),
        "threads": args.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
