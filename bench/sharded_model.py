"""The scaling model of ``docs/scaling.md``: memory, all-to-all bytes and step time per rank for a
Criteo-1TB-sized model sharded row-wise over W machines (one rank per machine).

    python bench/sharded.py --model     # reads bench/results/sharded.json for the measured inputs

Formulas (per rank and step; W ranks, global batch G, features f with n_f rows, dim D, float32):

- ids per rank and feature ``b = G / W``; distinct ids ``u_f = sum_k 1 - (1 - p_k)^b`` with Zipf
  ``p_k ~ k^-ALPHA`` over the feature's rows (uniform ids: ``p_k = 1 / n_f``); ``u = sum_f u_f``;
- bytes sent per rank (row-wise, embedlayer): ``(W - 1) / W * u * (8 + 4D + 4D)``: the distinct
  remote ids (int64) out, as many rows answered to the other ranks, their gradient rows out
  (the counts, ``W * 4 * 8`` bytes, are left out);
- the same for table-wise without dedup (TorchRec's CPU sharding, for comparison): every id of a
  remote table out and its pooled row back and gradient out: ``(W - 1) / W * F * b * (8 + 8D)``
  (one id per sample and feature; the table placement decides who waits on whom, see below);
- memory: shard ``N * D * 4 / W`` + optimizer state ``N * s / W`` (s = 0 for SGD, 4 for row-wise
  Adagrad, 4D for Adagrad, 8D + 8 for lazy Adam) + step buffers
  ``F*b*(8 + 2*4D) + u*(8 + 4*4D)`` (ids, output and its gradient; distinct rows and their
  gradients, both directions);
- time = local + network + latency (no overlap: the exchanges are synchronous):
  local = ``F * b * c_id * (D / 64) / T`` with ``c_id`` the measured per-id time of a local step
  at D 64 on one thread (see :func:`measured_inputs`) and T threads per machine;
  network = bytes sent / bandwidth (full-bisection network, full duplex);
  latency = collectives per step x (``LAT0 + (W - 1) * LAT_PEER``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

# MLPerf DLRM on Criteo Terabyte (max-ind-range 40M): 26 tables, 187,767,399 rows, 89.5 GiB at dim 128
CRITEO_ROWS = [
    39884406, 39043, 17289, 7420, 20263, 3, 7120, 1543, 63, 38532951, 2953546, 403346, 10,
    2208, 11938, 155, 4, 976, 14, 39979771, 25641295, 39664984, 585935, 12972, 108, 36,
]  # fmt: skip
DIM = 128
GLOBAL_BATCH = 65_536
MACHINES = (8, 16, 64, 256)  # 256: beyond the three, to show where latency takes over
BANDWIDTHS_GBIT = (100, 400)
ALPHA = 1.05  # Zipf exponent of the ids' ranks (the bench's; see sharded_data.py)
THREADS = 16  # threads per machine running the local gather / update
LAT0, LAT_PEER = 30e-6, 3e-6  # seconds per collective, and per peer of an all-to-all
STATE_BYTES = {"sgd": lambda d: 0, "rowwise-adagrad": lambda d: 4, "adagrad": lambda d: 4 * d,
               "adam": lambda d: 8 * d + 8}  # fmt: skip


@functools.cache
def _zipf_total(n: int, alpha: float) -> float:
    """sum_{k=1..n} k^-alpha, in chunks of 4M ranks (memory stays small)."""
    total = 0.0
    for lo in range(0, n, 1 << 22):
        k = np.arange(lo + 1, min(n, lo + (1 << 22)) + 1, dtype=np.float64)
        total += float(np.sum(k**-alpha))
    return total


@functools.cache
def distinct(n: int, b: float, alpha: float = ALPHA) -> float:
    """Expected distinct ids among b draws from n rows, Zipf(alpha) ranks (alpha 0: uniform)."""
    if alpha == 0:
        return float(n * -np.expm1(b * np.log1p(-1.0 / n))) if n > 1 else min(1.0, b)
    total = _zipf_total(n, alpha)
    out = 0.0
    for lo in range(0, n, 1 << 22):
        k = np.arange(lo + 1, min(n, lo + (1 << 22)) + 1, dtype=np.float64)
        p = k**-alpha / total
        out += float(np.sum(-np.expm1(b * np.log1p(-p))))
    return out


def measured_inputs(path: Path) -> dict[str, Any]:
    """The bench's figures the model uses: ``c_id``, the per-id time of a local step on one thread
    at D 64 (the least contended of the 1-process row-wise Adagrad cases: the minimum over them of
    the median step time / ids per step), for the single-process ``Embedding`` + fused optimizer (the owner's own
    gather / update work) and for the sharded layer on 1 process (that work plus deduplication,
    routing and gloo's exchanges with itself); collectives per step; the dedup check."""
    data = json.loads(path.read_text())
    cfg = data["config"]
    ids = cfg["batch"] * cfg["features"]
    w1 = {k: v for k, v in data["worlds"]["1"]["cases"].items() if k.startswith("rowwise-adagrad/")}
    w2 = data["worlds"].get("2", data["worlds"]["1"])["cases"]["rowwise-adagrad/zipf"]
    best = min(w1, key=lambda k: w1[k].get("single_ms", w1[k]["ours_ms"]))
    best_sharded = min(w1, key=lambda k: w1[k]["ours_ms"])
    return {
        "source": f"{path.name}",
        "c_id_s": w1[best].get("single_ms", w1[best]["ours_ms"]) / 1e3 / ids,
        "c_id_case": f"w1-{best.replace('/', '-')} (embedlayer-Embedding)",
        "c_id_sharded_s": w1[best_sharded]["ours_ms"] / 1e3 / ids,
        "c_id_sharded_case": f"w1-{best_sharded.replace('/', '-')} (ours)",
        "calls_per_step": w2["calls_per_step"],
        "bench_unique_fraction": w1["rowwise-adagrad/zipf"]["unique_fraction"],
        "bench_model_unique_fraction": distinct(cfg["rows"] // cfg["features"], cfg["batch"]) / cfg["batch"],
        "bench_ids": ids,
    }


def row(
    w: int, gbit: float, inputs: dict[str, Any], alpha: float = ALPHA, opt: str = "rowwise-adagrad"
) -> dict[str, float]:
    """The model's figures for W machines at ``gbit`` Gb/s each."""
    n, f, d = sum(CRITEO_ROWS), len(CRITEO_ROWS), DIM
    b = GLOBAL_BATCH / w
    u = sum(distinct(nf, b, alpha) for nf in CRITEO_ROWS)
    remote = (w - 1) / w
    sent = remote * u * (8 + 8 * d)
    sent_tw = remote * f * b * (8 + 8 * d)
    bw = gbit * 1e9 / 8
    local = f * b * inputs["c_id_s"] * (d / 64) / THREADS
    local1 = f * b * inputs["c_id_sharded_s"] * (d / 64) / THREADS
    net = sent / bw
    lat = inputs["calls_per_step"] * (LAT0 + (w - 1) * LAT_PEER)
    mem = (n * d * 4 + n * STATE_BYTES[opt](d)) / w + f * b * (8 + 8 * d) + u * (8 + 16 * d)
    return {"W": w, "gbit": gbit, "ids": f * b, "unique": u, "mb_sent": sent / 1e6, "mb_sent_tablewise": sent_tw / 1e6,
            "local_ms": 1e3 * local, "net_ms": 1e3 * net, "lat_ms": 1e3 * lat, "step_ms": 1e3 * (local + net + lat),
            "local1_ms": 1e3 * local1, "step1_ms": 1e3 * (local1 + net + lat),
            "mem_gib": mem / 2**30, "mem_adam_gib": ((n * d * 4 + n * STATE_BYTES["adam"](d)) / w) / 2**30}  # fmt: skip


def bottleneck(r: dict[str, float], local: str = "local_ms") -> str:
    """The largest of the three terms of the step time."""
    parts = {"local": r[local], "network": r["net_ms"], "latency": r["lat_ms"]}
    return max(parts, key=lambda k: parts[k])


def main(path: Path) -> None:
    """Print the model's inputs and its table (``docs/scaling.md``)."""
    if not path.exists():
        quick = path.with_name("sharded_quick.json")
        path = quick if quick.exists() else path
    inputs = measured_inputs(path)
    n = sum(CRITEO_ROWS)
    print(f"Criteo-1TB model: {len(CRITEO_ROWS)} tables, {n:,} rows, dim {DIM}: {n * DIM * 4 / 2**30:.1f} GiB; "
          f"global batch {GLOBAL_BATCH:,}; Zipf alpha {ALPHA}; {THREADS} threads/machine; "
          f"latency {LAT0 * 1e6:.0f} us + {LAT_PEER * 1e6:.0f} us/peer per collective")  # fmt: skip
    print(
        f"inputs from bench/results/{inputs['source']}: c_id {inputs['c_id_s'] * 1e6:.3f} us/id "
        f"(1 thread, D 64, bench line {inputs['c_id_case']}); sharded layer on 1 process "
        f"{inputs['c_id_sharded_s'] * 1e6:.3f} us/id ({inputs['c_id_sharded_case']}: columns local1, step1); "
        f"{inputs['calls_per_step']:.0f} collectives/step; dedup check: unique fraction "
        f"{inputs['bench_unique_fraction']:.3f} measured vs {inputs['bench_model_unique_fraction']:.3f} "
        f"from the Zipf formula"
    )
    head = (f"{'W':>3} {'Gb/s':>5} {'ids/rank':>9} {'uniq':>5} {'MB sent':>8} {'MB tw':>7} {'local':>7} "
            f"{'net':>7} {'lat':>6} {'step ms':>8} {'GiB rwAda':>9} {'GiB Adam':>9} {'bottleneck':>10}  "
            f"{'local1':>7} {'step1':>7} {'then':>8}")  # fmt: skip
    print(head)
    for w in MACHINES:
        for gbit in BANDWIDTHS_GBIT:
            print(_line(row(w, gbit, inputs)))
    print("uniform ids (alpha 0: fewer duplicates to remove, more bytes):")
    for w in MACHINES:
        print(_line(row(w, 100, inputs, alpha=0.0)))


def _line(r: dict[str, float]) -> str:
    return (f"{r['W']:>3} {r['gbit']:>5} {r['ids']:>9,.0f} {r['unique'] / r['ids']:>5.2f} {r['mb_sent']:>8.1f} "
            f"{r['mb_sent_tablewise']:>7.1f} {r['local_ms']:>7.2f} {r['net_ms']:>7.2f} {r['lat_ms']:>6.2f} "
            f"{r['step_ms']:>8.2f} {r['mem_gib']:>9.1f} {r['mem_adam_gib']:>9.1f} {bottleneck(r):>10}  "
            f"{r['local1_ms']:>7.2f} {r['step1_ms']:>7.2f} {bottleneck(r, 'local1_ms'):>8}")  # fmt: skip
