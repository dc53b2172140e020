"""Exact ``most_similar`` top-10 over GloVe 6B 50d (400k × 50): ours against gensim.

Queries: the 1,000 most frequent words after the first 100 (rows 100..1099 of GloVe, which is
sorted by frequency). Ours runs ``most_similar_batch`` (all queries at once) and ``most_similar``
one query at a time; gensim's ``KeyedVectors.most_similar`` runs one query at a time over the same
matrix (built with ``add_vectors``). Norms are computed before timing for both. Alternating, median
of the repetitions, same threads. Results are checked against gensim's: the fraction of queries
with the identical top-10 word list (in order) and the largest score difference.
Prints a table, one RESULT line per path of ours, and writes bench/results/neighbors.json
(neighbors-quick.json with --quick).

    python bench/neighbors.py [--quick] [--repeats 3] [--queries 1000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compare(ours: list[list[tuple[str, float]]], ref: list[list[tuple[str, float]]]) -> tuple[float, float]:
    """(fraction of queries with identical word lists, max |score difference| over matching words)."""
    same, diff = 0, 0.0
    for a, b in zip(ours, ref):
        same += [w for w, _ in a] == [w for w, _ in b]
        ref_scores = dict(b)
        diff = max([diff] + [abs(s - ref_scores[w]) for w, s in a if w in ref_scores])
    return same / len(ref), diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 queries, 1 repetition")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--topn", type=int, default=10)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    nq = args.queries or (200 if args.quick else 1000)

    import gensim
    import numpy as np
    import torch
    from gensim.models import KeyedVectors

    from embedlayer.demo.data import load_glove

    torch.set_num_threads(args.threads)
    ours = load_glove()
    kv = KeyedVectors(ours.vector_size, count=len(ours))
    kv.add_vectors(list(ours.index_to_key), np.asarray(ours.matrix))
    words = list(ours.index_to_key[100 : 100 + nq])
    topn = args.topn

    # warm-up: norms (both cache them), torch's first call
    ours.most_similar_batch(words[:2], topn=topn)
    ours.most_similar(words[0], topn=topn)
    kv.most_similar(words[0], topn=topn)

    runs = {
        "batch": lambda: ours.most_similar_batch(words, topn=topn),
        "single": lambda: [ours.most_similar(w, topn=topn) for w in words],
        "gensim": lambda: [kv.most_similar(w, topn=topn) for w in words],
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    results: dict[str, list] = {}
    for rep in range(repeats):
        order = list(runs) if rep % 2 == 0 else list(reversed(runs))
        for name in order:
            t = time.perf_counter()
            results[name] = runs[name]()
            times[name].append(time.perf_counter() - t)

    med = {k: statistics.median(v) for k, v in times.items()}
    rows = []
    for name in ("batch", "single"):
        identical, max_diff = compare(results[name], results["gensim"])
        rows.append(
            {
                "case": f"{name}-top{topn}-{nq}q",
                "ours_s": med[name],
                "gensim_s": med["gensim"],
                "ours_qps": nq / med[name],
                "gensim_qps": nq / med["gensim"],
                "speedup": med["gensim"] / med[name],
                "identical_top10": identical,
                "max_score_diff": max_diff,
                "ours_all_s": times[name],
                "gensim_all_s": times["gensim"],
            }
        )
    mismatches = [
        (w, [x for x, _ in a], [x for x, _ in b])
        for w, a, b in zip(words, results["batch"], results["gensim"])
        if [x for x, _ in a] != [x for x, _ in b]
    ]

    print(
        f"{len(ours)} words x {ours.vector_size}, {nq} queries, top {topn}, {repeats} repetition(s), "
        f"threads {args.threads}, nproc {os.cpu_count()}"
    )
    print(
        f"{'path':<22} {'s':>8} {'queries/s':>10} {'gensim q/s':>11} {'speedup':>8} {'identical':>10} {'max diff':>9}"
    )
    for r in rows:
        print(
            f"{r['case']:<22} {r['ours_s']:>8.3f} {r['ours_qps']:>10.0f} {r['gensim_qps']:>11.0f} "
            f"{r['speedup']:>7.2f}x {r['identical_top10']:>10.3f} {r['max_score_diff']:>9.1e}"
        )
    for w, a, b in mismatches[:5]:
        print(f"  differs for {w!r}: ours {a} gensim {b}")
    for r in rows:
        print(
            f"RESULT bench=neighbors case={r['case']} ours={r['ours_qps']:.0f}q/s "
            f"anchor=gensim:{r['gensim_qps']:.0f}q/s "
            f"speedup={r['speedup']:.2f} quality=identical_top{topn}:{r['identical_top10']:.3f}/1.000,"
            f"max_score_diff:{r['max_score_diff']:.1e}"
        )

    out = ROOT / "bench" / "results" / ("neighbors-quick.json" if args.quick else "neighbors.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "nproc": os.cpu_count(),
        "threads": args.threads,
        "words": len(ours),
        "dim": ours.vector_size,
        "queries": nq,
        "topn": topn,
        "repeats": repeats,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gensim": gensim.__version__,
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    out.write_text(
        json.dumps(
            {"meta": meta, "rows": rows, "mismatches": [{"word": w, "ours": a, "gensim": b} for w, a, b in mismatches]},
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
