"""Sharded tables across processes: all-to-all bytes per step against the minimum, and step time.

A 10,000,000 x 64 float32 table (2.56 GB; ``--quick``: 400,000 rows), the concatenation of 8
per-feature tables of 1.25M rows, sharded row-wise over 1, 2 and 3 processes
(``torch.multiprocessing.spawn``, gloo on 127.0.0.1, one thread each) with
``embedlayer.distributed.ShardedEmbedding`` and ``make_sharded_optimizer`` (SGD and row-wise
Adagrad, fused: the owners update their rows at the end of backward). Every rank looks up its own
recommender-like batch a step: 1024 samples x 8 features = 8192 ids, Zipf-distributed (hashed
ranks, alpha 1.05) or uniform (see ``bench/sharded_data.py``), then loss = 0.5 * sum(rows^2) / batch,
backward, and the fused update.

Reported per step:

- bytes sent by ``all_to_all_single`` to *other* ranks, summed over ranks (counted by wrapping
  the collective in each worker: counts, ids and rows forward, gradient rows backward), against
  the theoretical minimum: every distinct remote id of a rank's batch sent once to its owner as an
  int64, its float32 row once back and its gradient row once to the owner, i.e.
  ``sum_r sum_{o != r} u(r, o) * (8 + 2 * 4 * D)`` with ``u(r, o)`` the distinct ids of rank r's
  batch that rank o owns; the ratio of the two, and the collectives per step;
- step time: median over the timed steps (after warm-up) of the slowest rank's time per step.

Anchors: for 1 process, embedlayer's single-process ``Embedding`` + the same fused optimizer, in
the same process, rounds alternated with the sharded layer; for 1, 2 and 3 processes, TorchRec's
table-wise CPU sharding (``bench/sharded_torchrec.py``, run by ``--torchrec-python``, an
interpreter where torchrec and the fbgemm-gpu-cpu build of its torch import; skipped, with the
reason, where there is none). TorchRec's CPU sharder places whole tables (its row-wise sharding
needs GPUs), so with 3 processes its 8 tables split 3/3/2.

This machine has 2 cores shared with other jobs: 3 processes oversubscribe them, and every time
is noisy; the byte counts are exact. ``--model`` prints the scaling model of ``docs/scaling.md``
(``bench/sharded_model.py``) from this bench's JSON instead of running it.

    python bench/sharded.py [--quick] [--torchrec-python /path/to/python] [--model]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sharded_data import A2ACounter, make_ids, min_bytes, timed_steps, unique_fraction, zipf_cdf

ROOT = Path(__file__).resolve().parents[1]
LR = {"sgd": 0.1, "rowwise-adagrad": 0.1}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _loss(out: torch.Tensor, batch: int) -> torch.Tensor:
    return 0.5 * out.square().sum() / batch


def _ours_worker(rank: int, world: int, cfg: dict[str, Any], port: int, out: str) -> None:
    """One rank: for each optimizer a fresh sharded table (and, alone, the single-process anchor),
    then each id distribution: warm-up + timed steps, rounds alternated with the anchor."""
    from embedlayer.distributed import ShardedEmbedding, ShardGroup, make_sharded_optimizer
    from embedlayer.layers import Embedding
    from embedlayer.sparse.optimizers import make_sparse_optimizer

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    group = ShardGroup.current()
    counter = A2ACounter()
    counter.install()
    per = cfg["rows"] // cfg["features"]
    cdfs = {"zipf": zipf_cdf(per), "uniform": None}
    results: dict[str, Any] = {}
    for opt in cfg["opts"]:
        table = ShardedEmbedding(cfg["rows"], cfg["dim"], group=group, init="normal", std=0.01, seed=0)
        make_sharded_optimizer(opt, [table], lr=LR[opt])
        models: dict[str, torch.nn.Module] = {"ours": table}
        if world == 1:
            single = Embedding(
                cfg["rows"], cfg["dim"], padding_idx=None, std=0.01, generator=torch.Generator().manual_seed(0)
            )
            make_sparse_optimizer(opt, single, lr=LR[opt]).bind()
            models["single"] = single
        for dist_name in cfg["dists"]:

            def ids_of(step: int, r: int, d: str = dist_name) -> torch.Tensor:
                return make_ids(
                    step,
                    r,
                    batch=cfg["batch"],
                    features=cfg["features"],
                    rows_per_feature=per,
                    dist_name=d,
                    seed=cfg["seed"],
                    cdf=cdfs[d],
                )

            times: dict[str, list[float]] = {name: [] for name in models}
            sent = calls = 0
            for rnd in range(cfg["rounds"]):
                mine = [ids_of(rnd * 1000 + i, rank) for i in range(cfg["warmup"] + cfg["steps"])]  # untimed
                for name, model in models.items():
                    counter.sent = counter.calls = 0

                    def step(i: int, m: torch.nn.Module = model, ids: list[torch.Tensor] = mine) -> None:
                        counter.active = i >= cfg["warmup"]
                        _loss(m(ids[i]), cfg["batch"]).backward()

                    times[name] += timed_steps(step, cfg["warmup"], cfg["steps"])
                    if name == "ours":
                        sent, calls = sent + counter.sent, calls + counter.calls
                    counter.active = False
            total = torch.tensor([sent, calls], dtype=torch.float64)
            dist.all_reduce(total)
            n_steps = cfg["rounds"] * cfg["steps"]
            timed = [
                rnd * 1000 + i
                for rnd in range(cfg["rounds"])
                for i in range(cfg["warmup"], cfg["warmup"] + cfg["steps"])
            ]
            batches = [[ids_of(s, r) for r in range(world)] for s in timed]  # every timed step
            results[f"{opt}/{dist_name}"] = {
                **{f"{name}_ms": 1e3 * statistics.median(t) for name, t in times.items()},
                "bytes_per_step": total[0].item() / n_steps,
                "calls_per_step": total[1].item() / n_steps / world,
                "min_bytes_per_step": statistics.mean(min_bytes(b, table.shard.owner, cfg["dim"]) for b in batches),
                "unique_fraction": statistics.mean(unique_fraction(b) for b in batches),
            }
        del models, table
        single = step = None  # the layers, their optimizers and the step closures hold each other
        gc.collect()
    rss = torch.tensor([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20], dtype=torch.float64)  # GiB
    dist.all_reduce(rss, op=dist.ReduceOp.MAX)
    if rank == 0:
        Path(out).write_text(json.dumps({"cases": results, "max_rss_gib": rss.item()}))
    dist.barrier()
    dist.destroy_process_group()


def run_ours(world: int, cfg: dict[str, Any]) -> dict[str, Any]:
    """Spawn ``world`` ranks of the embedlayer bench; their results (rank 0's JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "ours.json")
        mp.spawn(_ours_worker, args=(world, cfg, _port(), out), nprocs=world, join=True)
        return dict(json.loads(Path(out).read_text()))


def run_torchrec(python: str | None, world: int, opt: str, dist_name: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Run the TorchRec anchor in ``python``; {"skipped": reason} when it cannot run."""
    if python is None:
        return {"skipped": "no interpreter with torchrec (pass --torchrec-python)"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "trec.json"
        argv = [
            python,
            str(ROOT / "bench" / "sharded_torchrec.py"),
            "--world",
            str(world),
            "--rows",
            str(cfg["rows"]),
            "--dim",
            str(cfg["dim"]),
            "--features",
            str(cfg["features"]),
            "--batch",
            str(cfg["batch"]),
            "--opt",
            opt,
            "--dist",
            dist_name,
            "--warmup",
            str(cfg["warmup"]),
            "--steps",
            str(cfg["steps"] * cfg["rounds"]),
            "--seed",
            str(cfg["seed"]),
            "--port",
            str(_port()),
            "--out",
            str(out),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
        if proc.returncode != 0:
            return {"skipped": f"torchrec run failed: {proc.stderr.strip().splitlines()[-1:]}"}
        return dict(json.loads(out.read_text()))


def _default_torchrec() -> str | None:
    env = os.environ.get("EMBEDLAYER_TORCHREC_PYTHON")
    if env:
        return env
    try:
        import fbgemm_gpu  # noqa: F401
        import torchrec  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure means: no anchor here
        return None
    return sys.executable


def _versions() -> dict[str, str]:
    import embedlayer

    return {"python": platform.python_version(), "torch": torch.__version__, "embedlayer": embedlayer.__version__}


def _fmt_mb(value: float) -> str:
    return f"{value / 1e6:.2f}"


def _report(results: dict[str, Any]) -> list[str]:
    """Print the table; return the RESULT lines."""
    lines = []
    print(
        f"{'case':<28} {'ms':>8} {'single':>8} {'torchrec':>9} {'MB/step':>8} {'min MB':>7} {'/min':>5} "
        f"{'trec MB':>8} {'trec/min':>8} {'uniq':>5} {'calls':>5}"
    )
    for world, per_world in results["worlds"].items():
        for key, c in per_world["cases"].items():
            opt, dist_name = key.split("/")
            case = f"w{world}-{opt}-{dist_name}"
            t = per_world.get("torchrec", {}).get(key, {})
            t_ms = 1e3 * statistics.median(t["times_s"]) if "times_s" in t else float("nan")
            ratio = c["bytes_per_step"] / c["min_bytes_per_step"] if c["min_bytes_per_step"] else float("nan")
            t_mb = t.get("bytes_per_step", float("nan"))
            t_ratio = t_mb / t["min_bytes_per_step"] if t.get("min_bytes_per_step") else float("nan")
            print(
                f"{case:<28} {c['ours_ms']:8.1f} {c.get('single_ms', float('nan')):8.1f} {t_ms:9.1f} "
                f"{_fmt_mb(c['bytes_per_step']):>8} {_fmt_mb(c['min_bytes_per_step']):>7} {ratio:5.2f} "
                f"{_fmt_mb(t_mb):>8} {t_ratio:8.2f} {c['unique_fraction']:5.3f} {c['calls_per_step']:5.1f}"
            )
            if "single_ms" in c:
                lines.append(
                    f"RESULT bench=sharded case={case} ours={c['ours_ms']:.1f}ms "
                    f"anchor=embedlayer-Embedding:{c['single_ms']:.1f}ms speedup={c['single_ms'] / c['ours_ms']:.2f}"
                )
            if "times_s" in t:
                lines.append(
                    f"RESULT bench=sharded case={case} ours={c['ours_ms']:.1f}ms "
                    f"anchor=torchrec-tablewise:{t_ms:.1f}ms "
                    f"speedup={t_ms / c['ours_ms']:.2f} quality=a2a-MB:{_fmt_mb(c['bytes_per_step'])}/{_fmt_mb(t_mb)},"
                    f"over-min:{ratio:.2f}/{t_ratio:.2f}"
                )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="400k rows, 1 and 2 processes, one optimizer, Zipf ids (under a minute)"
    )
    p.add_argument("--worlds", default=None, help="process counts, e.g. 1,2,3 (default; --quick: 1,2)")
    p.add_argument("--torchrec-python", default=None, help="an interpreter with torchrec + fbgemm-gpu-cpu")
    p.add_argument("--model", action="store_true", help="print the scaling model of docs/scaling.md and exit")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    if args.model:
        from sharded_model import main as model_main

        model_main(ROOT / "bench" / "results" / "sharded.json")
        return
    cfg: dict[str, Any] = {
        "rows": 10_000_000,
        "dim": 64,
        "features": 8,
        "batch": 1024,
        "seed": 0,
        "opts": ["sgd", "rowwise-adagrad"],
        "dists": ["zipf", "uniform"],
        "warmup": 2,
        "steps": 8,
        "rounds": 2,
    }
    if args.quick:
        cfg.update(rows=400_000, opts=["rowwise-adagrad"], dists=["zipf"], warmup=1, steps=3, rounds=1)
    python = args.torchrec_python or _default_torchrec()
    worlds = [int(w) for w in (args.worlds or ("1,2" if args.quick else "1,2,3")).split(",")]
    print(
        f"table {cfg['rows']:,} x {cfg['dim']} float32 ({cfg['rows'] * cfg['dim'] * 4 / 1e9:.2f} GB), "
        f"{cfg['batch']} x {cfg['features']} ids per rank per step; nproc={os.cpu_count()}"
        + ("; 3 processes oversubscribe the cores" if max(worlds) > (os.cpu_count() or 1) else "")
    )
    results: dict[str, Any] = {"config": cfg, "nproc": os.cpu_count(), "versions": _versions(), "worlds": {}}
    for world in worlds:
        per_world = run_ours(world, cfg)
        skip = args.quick and world != max(worlds)  # --quick: TorchRec at one size only
        per_world["torchrec"] = {
            f"{opt}/{d}": run_torchrec(python, world, opt, d, cfg)
            for opt in cfg["opts"]
            for d in cfg["dists"]
            if not skip
        }
        results["worlds"][str(world)] = per_world
        print(f"  {world} process(es) done: max RSS per rank {per_world['max_rss_gib']:.2f} GiB", flush=True)
    trec = [t for w in results["worlds"].values() for t in w["torchrec"].values()]
    results["versions"]["torchrec"] = next((t.get("torchrec") for t in trec if "torchrec" in t), None)
    results["versions"]["fbgemm_gpu"] = next((t.get("fbgemm_gpu") for t in trec if "fbgemm_gpu" in t), None)
    skipped = {t["skipped"] for t in trec if "skipped" in t}
    if skipped:
        print("TorchRec anchor skipped: " + "; ".join(sorted(skipped)))
    lines = _report(results)
    name = "sharded_quick.json" if args.quick else "sharded.json"
    out = args.out or ROOT / "bench" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
