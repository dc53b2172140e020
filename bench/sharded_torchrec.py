"""The TorchRec anchor of ``bench/sharded.py``: table-wise sharding on CPU (gloo), fused optimizer.

Runs under any interpreter where ``torchrec`` and ``fbgemm_gpu`` (the ``fbgemm-gpu-cpu`` build
matching its torch) import; it does not import embedlayer. ``bench/sharded.py`` starts it as a
subprocess (``--torchrec-python``) and reads the JSON it prints last:

    python bench/sharded_torchrec.py --world 2 --rows 10000000 --opt rowwise-adagrad --dist zipf

The model: one ``EmbeddingBagCollection`` with one table per feature (rows / features rows each,
dim D, sum pooling of the single id per sample and feature), each table placed whole on one rank
(``ShardingType.TABLE_WISE``, round robin), the optimizer fused into fbgemm's CPU kernels
(``EXACT_SGD`` / ``EXACT_ROWWISE_ADAGRAD``), wrapped in ``DistributedModelParallel``. Every rank
feeds its own batch (data parallel), as in embedlayer's run: the same ids, the same loss
(0.5 * sum of squares of the looked-up rows / batch).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sharded_data import A2ACounter, make_ids, min_bytes, timed_steps, zipf_cdf

OPTS = {"sgd": ("EXACT_SGD", 0.1), "rowwise-adagrad": ("EXACT_ROWWISE_ADAGRAD", 0.1)}


def _model(args: argparse.Namespace, world: int) -> torch.nn.Module:
    from fbgemm_gpu.split_embedding_configs import EmbOptimType
    from torchrec import EmbeddingBagCollection, EmbeddingBagConfig
    from torchrec.distributed.embeddingbag import EmbeddingBagCollectionSharder
    from torchrec.distributed.model_parallel import DistributedModelParallel
    from torchrec.distributed.sharding_plan import construct_module_sharding_plan, table_wise
    from torchrec.distributed.types import ShardingEnv, ShardingPlan

    per = args.rows // args.features
    tables = [
        EmbeddingBagConfig(name=f"t{f}", embedding_dim=args.dim, num_embeddings=per, feature_names=[f"f{f}"])
        for f in range(args.features)
    ]
    ebc = EmbeddingBagCollection(tables=tables, device=torch.device("meta"))
    opt_name, lr = OPTS[args.opt]
    sharder = EmbeddingBagCollectionSharder(
        fused_params={"optimizer": getattr(EmbOptimType, opt_name), "learning_rate": lr}
    )
    module_plan = construct_module_sharding_plan(
        ebc,
        per_param_sharding={f"t{f}": table_wise(rank=f % world, compute_kernel="fused") for f in range(args.features)},
        local_size=world,
        world_size=world,
        device_type="cpu",
        sharder=sharder,
    )
    plan = ShardingPlan({"": module_plan})
    return DistributedModelParallel(
        ebc,
        env=ShardingEnv.from_process_group(dist.group.WORLD),
        device=torch.device("cpu"),
        plan=plan,
        sharders=[sharder],  # type: ignore[list-item]
    )


def _probe(model: torch.nn.Module) -> float:
    """The sum of |weights| of this rank's tables (to check the fused optimizer trains them)."""
    total = 0.0
    for value in model.state_dict().values():
        shards = value.local_shards() if hasattr(value, "local_shards") else []
        total += sum(float(s.tensor.abs().sum()) for s in shards)
    return total


def _worker(rank: int, world: int, args: argparse.Namespace, port: int, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from torchrec import KeyedJaggedTensor

    model = _model(args, world)
    per = args.rows // args.features
    cdf = zipf_cdf(per) if args.dist == "zipf" else None
    keys = [f"f{f}" for f in range(args.features)]
    lengths = torch.ones(args.features * args.batch, dtype=torch.int64)
    counter = A2ACounter()
    counter.install()

    def batch(step: int, r: int) -> torch.Tensor:
        return make_ids(
            step,
            r,
            batch=args.batch,
            features=args.features,
            rows_per_feature=per,
            dist_name=args.dist,
            seed=args.seed,
            cdf=cdf,
        )

    def kjt_of(i: int) -> KeyedJaggedTensor:
        ids = batch(i, rank) - torch.arange(args.features) * per  # (B, F) rows of each feature's table
        return KeyedJaggedTensor.from_lengths_sync(keys=keys, values=ids.t().reshape(-1), lengths=lengths)

    kjts = [kjt_of(i) for i in range(args.warmup + args.steps)]  # built before the timing

    def step(i: int) -> None:
        counter.active = i >= args.warmup
        kjt = kjts[i]
        out = model(kjt).values()  # (B, F * D): the fused optimizer updates in backward
        loss = 0.5 * out.square().sum() / args.batch
        loss.backward()

    before = _probe(model)
    times = timed_steps(step, args.warmup, args.steps)
    moved = _probe(model) - before
    sent = torch.tensor([counter.sent, counter.calls], dtype=torch.float64)
    dist.all_reduce(sent)
    if rank == 0:
        owner = lambda ids: torch.div(ids, per, rounding_mode="floor") % world  # noqa: E731
        mins = [
            min_bytes([batch(s, r) for r in range(world)], owner, args.dim)
            for s in range(args.warmup, args.warmup + args.steps)
        ]
        Path(out).write_text(
            json.dumps(
                {
                    "times_s": times,
                    "bytes_per_step": sent[0].item() / args.steps,
                    "calls_per_step": sent[1].item() / args.steps / world,
                    "rank0_weight_change": moved,
                    "min_bytes_per_step": sum(mins) / len(mins),
                }
            )
        )
    dist.barrier()
    dist.destroy_process_group()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", type=int, default=2)
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--opt", choices=sorted(OPTS), default="rowwise-adagrad")
    p.add_argument("--dist", choices=["uniform", "zipf"], default="zipf")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--port", type=int, default=29611)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    mp.spawn(_worker, args=(args.world, args, args.port, args.out), nprocs=args.world, join=True)
    import fbgemm_gpu
    import torchrec

    result = json.loads(Path(args.out).read_text())
    result.update(torchrec=torchrec.__version__, fbgemm_gpu=fbgemm_gpu.__version__, torch=torch.__version__)
    Path(args.out).write_text(json.dumps(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
