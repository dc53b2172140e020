"""One training step of a large embedding table: embedlayer's row-wise optimizers against torch.

Table 1,000,000 x 128 float32; a step looks up 1024 x 32 ids, computes a mean-square loss against
a fixed target (``F.mse_loss``), runs backward and the optimizer step. Anchors (torch 2.13, same
run, same threads, same ids, same table memory): ``nn.Embedding`` with a dense gradient + ``Adam``,
``sparse=True`` + ``SparseAdam``, ``sparse=True`` + ``SGD``, ``sparse=True`` + ``Adagrad``. Ours:
``embedlayer.layers.Embedding`` bound to ``LazyAdam``, ``SparseSGD``, ``SparseAdagrad``,
``RowwiseAdagrad`` (``bind()``: updates at the end of backward). Ids are uniform, then Zipf-distributed
(p(rank k) ~ 1/k, rank = id as in a frequency-sorted vocabulary: many duplicates).

Besides the times (median per step, variants interleaved in rounds), it prints the memory-traffic
bound of each of our steps: the bytes a step must move (rows gathered and the output written; the
loss reading output and target and writing the output's gradient; the update reading that gradient
and reading and writing each distinct row and its optimizer state) divided by the copy bandwidth
measured here (a large ``Tensor.copy_``, read + write bytes per second), and our distance to it.
It also checks the updates (3 steps, 100k-row table, repeated ids): ours against torch where the
semantics coincide, and both against a float64 reference of the same formulas. The ``optim``
column isolates each optimizer's own cost: backward + step minus the loss's backward alone.

    python bench/sparse_step.py [--quick] [--threads 2]

Our kernels run on their own blocking threads; torch's OpenMP workers spin after each op, which on a
busy 2-core machine slows every step that mixes both (the anchors too): `OMP_WAIT_POLICY=PASSIVE`
in the environment stops the spinning (the JSON records the setting).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
import torch
import torch.nn.functional as F

from embedlayer.layers import Embedding
from embedlayer.sparse import LazyAdam, RowwiseAdagrad, SparseAdagrad, SparseSGD

ROOT = Path(__file__).resolve().parents[1]
OURS = {
    "adam": (LazyAdam, {"lr": 1e-3}, 2),
    "sgd": (SparseSGD, {"lr": 0.1}, 0),
    "adagrad": (SparseAdagrad, {"lr": 0.1}, 1),
    "rowwise-adagrad": (RowwiseAdagrad, {"lr": 0.1}, 0),
}
ANCHORS = {
    "dense-Adam": (False, torch.optim.Adam, {"lr": 1e-3}),
    "SparseAdam": (True, torch.optim.SparseAdam, {"lr": 1e-3}),
    "sparse-SGD": (True, torch.optim.SGD, {"lr": 0.1}),
    "sparse-Adagrad": (True, torch.optim.Adagrad, {"lr": 0.1}),
}
COMPARE = [
    ("adam", "SparseAdam"),
    ("adam", "dense-Adam"),
    ("sgd", "sparse-SGD"),
    ("adagrad", "sparse-Adagrad"),
    ("rowwise-adagrad", "sparse-Adagrad"),
]


def copy_bandwidth(mb: int = 256, repeats: int = 7) -> float:
    """Read + write bytes per second of a large tensor copy (median), with torch's threads."""
    a = torch.randn(mb * 2**18)
    b = torch.empty_like(a)
    b.copy_(a)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        b.copy_(a)
        times.append(time.perf_counter() - t)
    return 2 * a.numel() * 4 / statistics.median(times)


def zipf_ids(rng: np.random.Generator, rows: int, shape: tuple[int, ...], s: float = 1.0) -> np.ndarray:
    """Ids with p(k) ~ 1 / (k + 1)^s over [0, rows): the most frequent id is 0."""
    cdf = np.cumsum(1.0 / np.arange(1, rows + 1) ** s)
    return np.searchsorted(cdf / cdf[-1], rng.random(shape)).clip(max=rows - 1).astype(np.int64)


def make_steps(weight: torch.Tensor) -> dict[str, Callable[[torch.Tensor, torch.Tensor], None]]:
    """One step function per variant, all over the same table memory (each with its own state)."""
    steps = {}
    for name, (sparse, cls, kw) in ANCHORS.items():
        module = torch.nn.Embedding(weight.shape[0], weight.shape[1], sparse=sparse, _weight=weight)
        steps["torch-" + name] = _step(module, cls(module.parameters(), **kw))
    for name, (cls, kw, _) in OURS.items():
        module = Embedding.from_weight(weight)
        steps[name] = _step(module, cls(module, **kw).bind())
    return steps


def _step(module, optimizer) -> Callable[[torch.Tensor, torch.Tensor], tuple[float, ...]]:
    """A step that returns the seconds of its phases: (forward, loss, backward, optimizer.step)."""

    def step(ids: torch.Tensor, target: torch.Tensor) -> tuple[float, ...]:
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        out = module(ids)
        t1 = time.perf_counter()
        loss = F.mse_loss(out, target)
        t2 = time.perf_counter()
        loss.backward()  # ours: the rows are updated here
        t3 = time.perf_counter()
        optimizer.step()
        return t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3

    return step


def loss_backward_alone(target: torch.Tensor, repeats: int) -> float:
    """Median seconds of the loss's backward on a leaf tensor: the part of every backward that is
    not the table's (subtracted to get each optimizer's own cost)."""
    times = []
    for _ in range(repeats + 2):
        leaf = torch.randn(target.shape).requires_grad_(True)
        loss = F.mse_loss(leaf, target)
        t = time.perf_counter()
        loss.backward()
        times.append(time.perf_counter() - t)
    return statistics.median(times[2:])


def time_steps(
    steps, id_batches, target, rounds: int, per_round: int, warmup: int = 2
) -> dict[str, list[tuple[float, ...]]]:
    """Per-step phase seconds of each variant; rounds alternate the order of the variants."""
    times: dict[str, list[tuple[float, ...]]] = {name: [] for name in steps}
    names = list(steps)
    for name in names:  # warm up: compile, allocate state, fault pages in
        for ids in id_batches[:warmup]:
            steps[name](ids, target)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            for k in range(per_round):
                ids = id_batches[(r * per_round + k) % len(id_batches)]
                times[name].append(steps[name](ids, target))
    return times


def summarise(phases: list[tuple[float, ...]], loss_backward: float) -> dict[str, float]:
    """Median ms of the whole step and of each phase; ``optimizer_ms``: backward + step minus the
    loss's own backward (the table's gradient and update, whoever computes them)."""
    arr = np.array(phases) * 1e3
    total = arr.sum(axis=1)
    med = np.median(arr, axis=0)
    optimizer = np.median(arr[:, 2] + arr[:, 3]) - loss_backward * 1e3
    return {
        "step_ms": float(np.median(total)),
        "forward_ms": float(med[0]),
        "loss_ms": float(med[1]),
        "backward_ms": float(med[2]),
        "optimizer_step_ms": float(med[3]),
        "optimizer_ms": float(optimizer),
    }


def traffic_bytes(name: str, n: int, unique: float, dim: int) -> dict[str, float]:
    """The bytes one step of ours must move, by part (see the module docstring)."""
    row = 4 * dim
    state_rows = OURS[name][2]
    return {
        "gather": 2 * n * row,
        "loss": 5 * n * row,
        "update": n * row
        + 2 * unique * (row * (1 + state_rows) + (8 if name == "adam" else 4 * (name == "rowwise-adagrad"))),
    }


def update_only(name: str, weight: torch.Tensor, id_batches, grads: torch.Tensor, repeats: int) -> float:
    """Median seconds of our update alone (apply_gradients on ready gradient rows)."""
    cls, kw, _ = OURS[name]
    opt = cls(weight, **kw)
    times = []
    for k in range(repeats + 2):
        ids = id_batches[k % len(id_batches)].reshape(-1)
        t = time.perf_counter()
        opt.apply_gradients(weight, ids, grads)
        times.append(time.perf_counter() - t)
    return statistics.median(times[2:])


def _float64_reference(name: str, table: torch.Tensor, batches, lr: float) -> torch.Tensor:
    """The textbook update in float64, duplicates summed (index_add), global step for Adam."""
    w = table.double()
    m, v, acc = torch.zeros_like(w), torch.zeros_like(w), torch.zeros_like(w)
    for t, (ids, target) in enumerate(batches, start=1):
        flat = ids.reshape(-1)
        g = 2 * (w[flat] - target.reshape(-1, w.shape[1]).double())  # mse_loss(reduction="sum")
        rows = torch.unique(flat)
        summed = torch.zeros_like(w).index_add_(0, flat, g)[rows]
        if name == "sgd":
            w[rows] -= lr * summed
        elif name == "adagrad":
            acc[rows] += summed**2
            w[rows] -= lr * summed / (acc[rows].sqrt() + 1e-10)
        else:
            m[rows] = 0.9 * m[rows] + 0.1 * summed
            v[rows] = 0.999 * v[rows] + 0.001 * summed**2
            w[rows] -= lr / (1 - 0.9**t) * m[rows] / (v[rows].sqrt() / (1 - 0.999**t) ** 0.5 + 1e-8)
    return w


def check_against_torch(rows: int = 100_000, dim: int = 128) -> dict[str, dict[str, float]]:
    """Max abs differences after 3 steps with repeated ids (ids from the first 20% of the rows):
    ours vs torch (where the semantics coincide), and each vs a float64 reference."""
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(rows, dim, generator=gen)
    batches = [
        (torch.randint(0, rows // 5, (1024, 32), generator=gen), torch.randn(1024, 32, dim, generator=gen))
        for _ in range(3)
    ]
    pairs = {
        "adam": (LazyAdam, {"bias_correction": "global"}, torch.optim.SparseAdam),
        "sgd": (SparseSGD, {}, torch.optim.SGD),
        "adagrad": (SparseAdagrad, {}, torch.optim.Adagrad),
    }
    out = {}
    for name, (ours_cls, ours_kw, ref_cls) in pairs.items():
        ours = Embedding.from_weight(base.clone())
        ref = torch.nn.Embedding(rows, dim, sparse=True, _weight=base.clone())
        opt, ref_opt = ours_cls(ours, lr=0.01, **ours_kw).bind(), ref_cls(ref.parameters(), lr=0.01)
        for ids, target in batches:
            for module, o in ((ours, opt), (ref, ref_opt)):
                o.zero_grad()
                F.mse_loss(module(ids), target, reduction="sum").backward()
                o.step()
        exact = _float64_reference(name, base, batches, 0.01)
        a, b = ours.weight.detach(), ref.weight.detach()
        out[name] = {
            "ours_vs_torch": float((a - b).abs().max()),
            "ours_vs_float64": float((a.double() - exact).abs().max()),
            "torch_vs_float64": float((b.double() - exact).abs().max()),
        }
    return out


def measure(args: argparse.Namespace, bandwidth: float) -> list[dict]:
    rounds, per_round = (args.rounds or 1, 2) if args.quick else (args.rounds or 4, 5)
    rng = np.random.default_rng(0)
    weight = torch.randn(args.rows, args.dim, generator=torch.Generator().manual_seed(0))
    target = torch.randn(args.batch, args.seq, args.dim, generator=torch.Generator().manual_seed(1))
    shape, n = (args.batch, args.seq), args.batch * args.seq
    loss_bwd = loss_backward_alone(target, 5 if args.quick else 15)
    rows_out = []
    for dist in ("uniform", "zipf"):
        draw = (
            (lambda: rng.integers(0, args.rows, shape))
            if dist == "uniform"
            else (lambda: zipf_ids(rng, args.rows, shape))
        )
        id_batches = [torch.from_numpy(draw()) for _ in range(8)]
        unique = statistics.mean(len(torch.unique(ids)) for ids in id_batches)
        steps = make_steps(weight)
        times = time_steps(steps, id_batches, target, rounds, per_round, warmup=1 if args.quick else 2)
        del steps
        grads = torch.randn(n, args.dim)
        for name in OURS:
            bytes_ = traffic_bytes(name, n, unique, args.dim)
            kernel = update_only(name, weight, id_batches, grads, 3 if args.quick else 9)
            rows_out.append(
                {
                    "case": f"{name}-{dist}",
                    "unique_rows": unique,
                    **summarise(times[name], loss_bwd),
                    "bound_ms": 1e3 * sum(bytes_.values()) / bandwidth,
                    "update_alone_ms": 1e3 * kernel,
                    "update_bound_ms": 1e3 * bytes_["update"] / bandwidth,
                    "bytes": bytes_,
                }
            )
        for name in ANCHORS:
            rows_out.append(
                {"case": f"torch-{name}-{dist}", "unique_rows": unique, **summarise(times["torch-" + name], loss_bwd)}
            )
    return rows_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test, under a minute: 250k rows (unless --rows), one round of 2 steps",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=None, help="table rows (default 1,000,000)")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--seq", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=None, help="rounds of interleaved variants (default 4, quick 1)")
    args = parser.parse_args()
    args.rows = args.rows or (250_000 if args.quick else 1_000_000)
    torch.set_num_threads(args.threads)  # our kernels use torch's thread count too
    bandwidth = copy_bandwidth()
    rows = measure(args, bandwidth)
    report(rows, bandwidth, check_against_torch(rows=20_000 if args.quick else 100_000), args)


def report(rows: list[dict], bandwidth: float, equal: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    by_case = {r["case"]: r for r in rows}
    print(
        f"table {args.rows} x {args.dim} float32, {args.batch} x {args.seq} lookups a step, {args.threads} threads, "
        f"copy bandwidth {bandwidth / 1e9:.1f} GB/s (read + write), OMP_WAIT_POLICY="
        f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}"
    )
    print(
        f"{'case':<28} {'unique':>7} {'ms/step':>8} {'fwd':>6} {'loss':>6} {'bwd':>7} {'step':>7} {'optim':>7} "
        f"{'bound':>7} {'xbound':>7} {'upd alone':>9} {'upd bound':>9}"
    )
    for r in rows:
        line = (
            f"{r['case']:<28} {r['unique_rows']:>7.0f} {r['step_ms']:>8.2f} "
            f"{r['forward_ms']:>6.2f} {r['loss_ms']:>6.2f} "
            f"{r['backward_ms']:>7.2f} {r['optimizer_step_ms']:>7.2f} {r['optimizer_ms']:>7.2f}"
        )
        if "bound_ms" in r:
            line += (
                f" {r['bound_ms']:>7.2f} {r['step_ms'] / r['bound_ms']:>7.2f} {r['update_alone_ms']:>9.2f} "
                f"{r['update_bound_ms']:>9.2f}"
            )
        print(line)
    print("optim = backward + step - the loss's own backward: the table's gradient and update")
    for name, diffs in equal.items():
        print(f"max abs diff after 3 steps, {name}: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    for dist in ("uniform", "zipf"):
        for ours, anchor in COMPARE:
            o, a = by_case[f"{ours}-{dist}"], by_case[f"torch-{anchor}-{dist}"]
            quality = (
                f"bound_ratio:{o['step_ms'] / o['bound_ms']:.2f},"
                f"optimizer_part_speedup:{a['optimizer_ms'] / o['optimizer_ms']:.2f}"
            )
            if ours in equal and anchor != "dense-Adam" and not ours.startswith("rowwise"):
                quality += f",max_abs_diff_vs_torch:{equal[ours]['ours_vs_torch']:.1e}"
            print(
                f"RESULT bench=sparse_step case={ours}-{dist} ours={o['step_ms']:.2f}ms anchor=torch-{anchor}:"
                f"{a['step_ms']:.2f}ms speedup={a['step_ms'] / o['step_ms']:.2f} quality={quality}"
            )
        for ours in OURS:
            o = by_case[f"{ours}-{dist}"]
            print(
                f"RESULT bench=sparse_step case={ours}-{dist}-bound ours={o['step_ms']:.2f}ms "
                f"anchor=memory-traffic-bound:{o['bound_ms']:.2f}ms speedup={o['bound_ms'] / o['step_ms']:.2f}"
            )
    save_results(
        "sparse_step",
        args,
        bandwidth,
        {"batch": args.batch, "seq": args.seq, "numba": numba.__version__},
        {"rows": rows, "max_abs_diff": equal},
    )


def save_results(name: str, args: argparse.Namespace, bandwidth: float, meta: dict, payload: dict) -> None:
    """Write ``bench/results/NAME[-quick][-omp-POLICY].json``: the machine and library versions
    (plus ``meta``) and ``payload``; shared with ``bench/lookup.py``."""
    policy = (os.environ.get("OMP_WAIT_POLICY") or "").lower()
    tag = ("-quick" if args.quick else "") + (f"-omp-{policy}" if policy else "")
    out = ROOT / "bench" / "results" / f"{name}{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "nproc": os.cpu_count(),
        "threads": args.threads,
        "rows": args.rows,
        "dim": args.dim,
        "copy_bandwidth_gbs": bandwidth / 1e9,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        **meta,
    }
    out.write_text(json.dumps({"meta": meta, **payload}, indent=2) + "\n")


if __name__ == "__main__":
    main()
