"""The fastText half of bench/classify.py: --fasttext (our --encoder fasttext against fastText's
train_supervised on SST-2 and AG News) and --typos (accuracy on sst2_test with seeded typos for the
word-only, subword and fastText-subword models). Run it through bench/classify.py."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "classification"


def read(name: str, limit: int | None = None):
    from embedlayer.text import read_examples

    examples = list(read_examples(DATA / name, text_col="sentence", label_col="label"))
    return examples[:limit] if limit else examples


TYPO_DRAWS = 5
#: fastText's train_supervised settings (the anchor): bigrams, 5 epochs, lr 0.5, dim 50, 2M buckets.
FT_SETTINGS = dict(dim=50, epochs=5, lr=0.5, word_ngrams=2, buckets=2_000_000)


def our_settings(args) -> dict:
    """classify train --encoder fasttext's defaults (chosen on dev: bench/classify_fasttext_dev.py);
    --our-epochs overrides the epochs."""
    from embedlayer.cli.classify_fasttext import FASTTEXT_DEFAULTS

    epochs = getattr(args, "our_epochs", None) or FASTTEXT_DEFAULTS["epochs"]
    return {**FT_SETTINGS, "dim": FASTTEXT_DEFAULTS["dim"], "lr": FASTTEXT_DEFAULTS["lr"], "epochs": epochs}


def typo(word: str, rng) -> str:
    """One seeded character typo: swap two adjacent characters, drop one, or repeat one."""
    kind, i = rng.randrange(3), rng.randrange(len(word))
    if kind == 0 and len(word) >= 2:
        i = min(i, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1 and len(word) >= 2:
        return word[:i] + word[i + 1 :]
    return word[: i + 1] + word[i:]


def with_typos(texts: list[str], rate: float, seed: int) -> list[str]:
    """``texts`` with a typo in each word with probability ``rate`` (seeded)."""
    import random

    rng = random.Random(seed)
    return [" ".join(typo(w, rng) if rng.random() < rate else w for w in t.split()) for t in texts]


def ours_fasttext(train, tests, args, subwords: tuple[int, int] | None = None, combine: str | None = None) -> dict:
    """Train --encoder fasttext on ``train`` (tokenized Examples); accuracy on each test list.
    ``combine``: EncoderConfig.ft_combine (None: classify train's default with --subwords)."""
    from embedlayer.cli.classify_fasttext import FT_COMBINES, FT_DEFAULT_COMBINE
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
    from embedlayer.train import TrainConfig

    minn, maxn = subwords or (0, 0)
    ours = our_settings(args)
    encoder = EncoderConfig(kind="fasttext", ft_word_ngrams=ours["word_ngrams"], ft_buckets=ours["buckets"])
    combine = combine or FT_COMBINES[FT_DEFAULT_COMBINE]
    encoder = EncoderConfig(**{**encoder.to_dict(), "ft_minn": minn, "ft_maxn": maxn, "ft_combine": combine})
    config = PipelineConfig(
        tokenizer="whitespace", lowercase=False, max_len=100_000, embedding_dim=ours["dim"], encoder=encoder
    )
    t0 = time.perf_counter()
    pipeline = TextClassificationPipeline.build(train, config)
    pipeline.fit(train, None, TrainConfig(epochs=ours["epochs"], lr=ours["lr"], batch_size=1, seed=args.seed))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "accuracy": [pipeline.evaluate(t).accuracy for t in tests]}


def anchor_fasttext(train, tests, args, subwords: tuple[int, int] | None = None) -> dict:
    """fastText's train_supervised on the same tokens and settings; accuracy on each test list."""
    import fasttext

    minn, maxn = subwords or (0, 0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("".join(f"__label__{ex.label} {ex.text}\n" for ex in train), encoding="utf-8")
        t0 = time.perf_counter()
        model = fasttext.train_supervised(
            str(path),
            epoch=args.ft_epochs,
            lr=FT_SETTINGS["lr"],
            dim=FT_SETTINGS["dim"],
            wordNgrams=FT_SETTINGS["word_ngrams"],
            bucket=FT_SETTINGS["buckets"],
            minn=minn,
            maxn=maxn,
            thread=args.threads,
            seed=args.seed,
            verbose=0,
        )
        seconds = time.perf_counter() - t0
    accuracy = []
    for test in tests:
        predicted, _ = model.predict([ex.text for ex in test])
        accuracy.append(sum(p[0] == f"__label__{ex.label}" for p, ex in zip(predicted, test)) / len(test))
    return {"seconds": seconds, "accuracy": accuracy}


def tokenized(examples, tokenizer):
    from embedlayer.text import Example

    return [Example(" ".join(tokenizer.tokenize(ex.text)), ex.label, ex.line) for ex in examples]


def fasttext_datasets(args) -> dict:
    """name -> (train, test), both as whitespace-tokenized Examples (AG News through our word tokenizer)."""
    from embedlayer.text import get_tokenizer, read_examples

    limit = 5000 if args.quick else None
    sst2 = (read("sst2_train.tsv", limit), read("sst2_test.tsv"))
    word = get_tokenizer("word", lowercase=True)
    ag = [
        tokenized(list(read_examples(DATA / name, text_col=0, label_col=1, header=False)), word)
        for name in ("agnews_train.tsv", "agnews_test.tsv")
    ]
    return {"sst2": sst2, "agnews": (ag[0][:limit] if limit else ag[0], ag[1])}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def run_fasttext_speed(args) -> list[dict]:
    """Ours vs fastText per dataset, alternating, median of --reps; returns one row per dataset."""
    rows = []
    for name, (train, test) in fasttext_datasets(args).items():
        ours_warm = ours_fasttext(train[:200], [test[:50]], args)  # compiles/loads the kernels
        del ours_warm
        ours, anchor = [], []
        for _ in range(args.reps):
            ours.append(ours_fasttext(train, [test], args))
            anchor.append(anchor_fasttext(train, [test], args))
        row = {
            "case": f"fasttext-{name}",
            "ours_seconds": median([r["seconds"] for r in ours]),
            "anchor_seconds": median([r["seconds"] for r in anchor]),
            "ours_accuracy": median([r["accuracy"][0] for r in ours]),
            "anchor_accuracy": median([r["accuracy"][0] for r in anchor]),
            "runs": {"ours": ours, "anchor": anchor},
        }
        rows.append(row)
        print(
            f"{name:>8}  ours {row['ours_seconds']:.2f}s acc {row['ours_accuracy']:.4f}   "
            f"fastText {row['anchor_seconds']:.2f}s acc {row['anchor_accuracy']:.4f}",
            flush=True,
        )
    return rows


def run_typos(args) -> list[dict]:
    """Clean and typo'd sst2_test accuracy: word-only, subword (3-6; also with --subword-combine
    mean: ft_combine "word") and fastText with subwords."""
    limit = 5000 if args.quick else None
    train, test = read("sst2_train.tsv", limit), read("sst2_test.tsv")
    from embedlayer.text import Example

    noisy = [  # --typo-draws seeded draws of typos; the figure is the mean accuracy over them
        [Example(t, ex.label, ex.line) for t, ex in zip(with_typos([ex.text for ex in test], 0.1, seed), test)]
        for seed in range(getattr(args, "typo_draws", TYPO_DRAWS))
    ]
    makers = {
        "typos-word": lambda a: ours_fasttext(train, [test, *noisy], a),
        "typos-subword": lambda a: ours_fasttext(train, [test, *noisy], a, subwords=(3, 6)),
        "typos-subword-wordmean": lambda a: ours_fasttext(train, [test, *noisy], a, subwords=(3, 6), combine="word"),
        "typos-fasttext-subword": lambda a: anchor_fasttext(train, [test, *noisy], a, subwords=(3, 6)),
    }
    seeds = [argparse.Namespace(**{**vars(args), "seed": args.seed + s}) for s in range(args.typo_seeds)]
    runs = {case: [make(a) for a in seeds] for case, make in makers.items()}  # mean over training seeds
    rows = []
    for case, rs in runs.items():
        r = {"seconds": median([x["seconds"] for x in rs]), "accuracy": np.mean([x["accuracy"] for x in rs], axis=0)}
        clean, typos = float(r["accuracy"][0]), float(np.mean(r["accuracy"][1:]))
        rows.append({"case": case, "seconds": r["seconds"], "clean": clean, "typos": typos, "loss": clean - typos})
        print(f"{case:>24}  clean {clean:.4f}  typos {typos:.4f}  loss {clean - typos:+.4f}  {r['seconds']:.1f}s")
    return rows


def fasttext_main(args) -> None:
    """--fasttext and/or --typos: print the RESULT lines and write bench/results/classify-fasttext*.json."""
    if args.quick:
        args.reps = args.typo_seeds = 1
    speed = run_fasttext_speed(args) if args.fasttext else []
    typos = run_typos(args) if args.typos else []
    quick = "-quick" if args.quick else ""
    for row in speed:
        print(
            f"RESULT bench=classify case={row['case']}{quick} ours={row['ours_seconds']:.2f}s "
            f"anchor=fasttext-supervised:{row['anchor_seconds']:.2f}s "
            f"speedup={row['anchor_seconds'] / row['ours_seconds']:.2f} "
            f"quality=accuracy:{row['ours_accuracy']:.4f}/{row['anchor_accuracy']:.4f}"
        )
    anchor = next((r for r in typos if r["case"] == "typos-fasttext-subword"), None)
    for row in typos:
        if row is anchor:
            continue
        print(
            f"RESULT bench=classify case={row['case']}{quick} ours={row['seconds']:.2f}s "
            f"anchor=fasttext-subword:{anchor['seconds']:.2f}s speedup={anchor['seconds'] / row['seconds']:.2f} "
            f"quality=clean:{row['clean']:.4f}/{anchor['clean']:.4f},typos:{row['typos']:.4f}/{anchor['typos']:.4f}"
        )
    from importlib.metadata import version

    meta = {
        "nproc": os.cpu_count(),
        "threads": args.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "fasttext-wheel": version("fasttext-wheel"),
        "settings": {**FT_SETTINGS, "epochs": args.ft_epochs},
        "ours": our_settings(args),
        "args": vars(args),
    }
    name = "classify-fasttext" + ("-speed" if speed else "") + ("-typos" if typos else "") + quick
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{name}.json"
    out.write_text(json.dumps({"meta": meta, "speed": speed, "typos": typos}, indent=2) + "\n")
