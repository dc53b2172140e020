"""Dev sweeps behind --encoder fasttext's defaults (never the test sets): accuracy on sst2_dev.tsv
and on a held-out slice of agnews_train (the last --ag-dev rows; the rest trains), mean over
--seeds training seeds, for each setting given as ``dim,epochs,lr[,combine]``; with --typos also the
accuracy on sst2_dev with seeded typos in 10% of words (--draws draws; --min-tokens N: only dev texts of N+ tokens).

    .venv/bin/python bench/classify_fasttext_dev.py --data sst2 --settings 50,5,0.5 100,5,0.5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from classify_fasttext import DATA, TYPO_DRAWS, read, tokenized, with_typos


def train_eval(train, tests, dim: int, epochs: int, lr: float, combine: str, subwords, seed: int):
    """Train --encoder fasttext; (seconds, accuracy on each test list)."""
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
    from embedlayer.train import TrainConfig

    minn, maxn = subwords or (0, 0)
    extra = {"ft_combine": combine} if combine != "row" else {}  # "row": the default, fastText's
    encoder = EncoderConfig(kind="fasttext", ft_minn=minn, ft_maxn=maxn, **extra)
    config = PipelineConfig(
        tokenizer="whitespace", lowercase=False, max_len=100_000, embedding_dim=dim, encoder=encoder
    )
    t0 = time.perf_counter()
    pipeline = TextClassificationPipeline.build(train, config)
    pipeline.fit(train, None, TrainConfig(epochs=epochs, lr=lr, batch_size=1, seed=seed))
    return time.perf_counter() - t0, [pipeline.evaluate(t).accuracy for t in tests]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", choices=["sst2", "agnews"], default="sst2")
    parser.add_argument("--settings", nargs="+", default=["50,5,0.5"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--subwords", default=None, help="e.g. 3-6")
    parser.add_argument("--typos", action="store_true")
    parser.add_argument("--ag-dev", type=int, default=2000)
    parser.add_argument("--min-tokens", type=int, default=0, help="evaluate only dev texts of at least N tokens")
    parser.add_argument("--draws", type=int, default=TYPO_DRAWS, help="--typos: seeded typo draws")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from embedlayer.text import Example, get_tokenizer, read_examples

    if args.data == "sst2":
        train, dev = read("sst2_train.tsv"), read("sst2_dev.tsv")
    else:
        word = get_tokenizer("word", lowercase=True)
        ag = tokenized(list(read_examples(DATA / "agnews_train.tsv", text_col=0, label_col=1, header=False)), word)
        train, dev = ag[: -args.ag_dev], ag[-args.ag_dev :]
    dev = [ex for ex in dev if len(ex.text.split()) >= args.min_tokens]
    tests = [dev]
    if args.typos:
        texts = [ex.text for ex in dev]
        tests += [
            [Example(t, ex.label, ex.line) for t, ex in zip(with_typos(texts, 0.1, 100 + s), dev)]
            for s in range(args.draws)
        ]
    subwords = tuple(int(x) for x in args.subwords.split("-")) if args.subwords else None
    for setting in args.settings:
        parts = setting.split(",")
        dim, epochs, lr = int(parts[0]), int(parts[1]), float(parts[2])
        combine = parts[3] if len(parts) > 3 else "row"
        runs = [train_eval(train, tests, dim, epochs, lr, combine, subwords, seed) for seed in range(args.seeds)]
        acc = np.array([r[1] for r in runs])  # (seeds, tests)
        clean = acc[:, 0]
        each = " ".join(f"{a:.4f}" for a in clean)
        line = f"{args.data}[{len(dev)}] {setting} sub={args.subwords} "
        line += f"clean {clean.mean():.4f} (sd {clean.std():.4f}; {each})"
        if args.typos:
            typos = acc[:, 1:].mean()
            line += f" typos {typos:.4f} loss {clean.mean() - typos:+.4f}"
        line += f" {np.median([r[0] for r in runs]):.1f}s"
        print(line, flush=True)


if __name__ == "__main__":
    main()
