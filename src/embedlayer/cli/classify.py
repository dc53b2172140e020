"""`embedlayer classify train|evaluate|predict`: a text classifier whose first layer is an embedding layer."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from embedlayer.cli.classify_columns import COLUMNS_KEY, columns_record, resolve_columns, trained_columns_hint
from embedlayer.cli.classify_config import (
    DEFAULT_EMBEDDING_DROPOUT,
    DEFAULT_EPOCHS,
    DEFAULT_VECTORS_VOCAB,
    EMBEDDING_LR_FACTOR,
    FLAGS,
    MAY_CHANGE,
    RNN_DEFAULTS,
    check_options,
    configs,
)
from embedlayer.cli.classify_fasttext import add_fasttext_args, apply_encoder_defaults
from embedlayer.cli.classify_subwords import add_subword_args, with_vectors
from embedlayer.cli.common import (
    HelpFormatter,
    add_data_args,
    add_output_args,
    add_unicode_errors,
    check_counts,
    errors_in_flags,
    flag_table,
    load_examples,
    note,
    output_policy,
    prepare_checkpoint,
    print_json,
    run_record,
    set_threads,
)
from embedlayer.cli.sharded import add_shard_args, fit_text_sharded, lead, shard_session
from embedlayer.errors import ConfigError, DataError
from embedlayer.layers.options import MISSING_POLICIES
from embedlayer.models.config import ENCODER_KINDS, RNN_CELLS, RNN_POOLINGS
from embedlayer.text.tokenizers import TOKENIZER_NAMES, TRAINED_TOKENIZER_NAMES
from embedlayer.train.config import DENSE_OPTIMIZERS, SCHEDULES, SPARSE_OPTIMIZER_NAMES
from embedlayer.vectors.formats import FORMATS as VECTOR_FORMATS


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "classify",
        help="train, evaluate and use a text classifier",
        description="Train, evaluate and use a text classifier built on an embedding layer.",
    )
    cmds = group.add_subparsers(dest="classify_command", metavar="COMMAND", required=True)
    _register_train(cmds)
    _register_evaluate(cmds)
    _register_predict(cmds)


# ------------------------------------------------------------------------------------ train
def _register_train(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "train",
        help="train a classifier on a labelled file",
        description="Train a text classifier: tokenize, build a vocabulary, initialise the embedding layer "
        "(random or from pretrained vectors, frozen or fine-tuned), train an encoder and a classifier head, "
        "early-stop on --dev, and save everything needed to predict into --out. " + output_policy(resume=True),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--train", required=True, metavar="FILE", help="labelled training data (tsv, csv, jsonl)")
    p.add_argument("--dev", metavar="FILE", help="labelled dev data for early stopping and model selection")
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder for the model (created; new or empty unless --resume or --force)",
    )
    add_data_args(p)
    g = p.add_argument_group("text and vocabulary")
    g.add_argument(
        "--tokenizer",
        choices=(*TOKENIZER_NAMES, *TRAINED_TOKENIZER_NAMES),
        default=None,
        help="how texts become tokens (default word); social keeps URLs, @mentions, #hashtags, emoticons and "
        "emoji whole; bpe (byte-level), wordpiece and unigram are trained on --train (the `tokenizers` extra) "
        "and saved as tokenizer.json in --out",
    )
    g.add_argument(
        "--tokenizer-vocab",
        type=int,
        default=None,
        metavar="N",
        help="entries of a trained bpe, wordpiece or unigram tokenizer (default 16000)",
    )
    g.add_argument(
        "--tokenizer-file",
        metavar="FILE",
        help="read texts with this Hugging Face tokenizer.json (e.g. a BERT WordPiece or GPT-2 byte-level BPE "
        "one; its own normaliser decides the case); copied into --out",
    )
    g.add_argument("--no-lowercase", dest="lowercase", action="store_false", help="keep case")
    g.add_argument("--min-count", type=int, default=1, help="drop tokens seen fewer times (they become <unk>)")
    g.add_argument("--max-vocab", type=int, default=None, help="keep only the N most frequent tokens")
    g.add_argument("--max-len", type=int, default=128, help="truncate texts to this many tokens")
    g = p.add_argument_group("embedding layer")
    g.add_argument(
        "--dim", type=int, default=None, help="embedding dimension (default 100, fasttext 50; with --vectors: theirs)"
    )
    g.add_argument(
        "--vectors",
        metavar="FILE",
        help="pretrained vectors, format detected from content: " + ", ".join(VECTOR_FORMATS),
    )
    g.add_argument("--vectors-limit", type=int, default=None, metavar="N", help="read only the first N vectors")
    add_unicode_errors(g, "--vectors-unicode-errors")
    g.add_argument("--freeze", action="store_true", help="keep the pretrained rows fixed")
    g.add_argument(
        "--static-channel",
        action="store_true",
        help="with --vectors: add a frozen copy of the pretrained table beside the trained one "
        "(two channels concatenated, Kim 2014)",
    )
    g.add_argument(
        "--vectors-vocab",
        type=int,
        default=None,
        metavar="N",
        help="also add the N most frequent words of --vectors to the vocabulary, so words unseen in "
        "training keep their pretrained vector at prediction time (0: training words only; "
        f"default: {DEFAULT_VECTORS_VOCAB} with --vectors)",
    )
    g.add_argument(
        "--missing",
        choices=MISSING_POLICIES,
        default="random",
        help="initialisation of vocabulary words the vectors lack",
    )
    g.add_argument(
        "--dense-grad",
        dest="sparse",
        action="store_false",
        help="dense embedding gradients (default: sparse, only rows in the batch move)",
    )
    add_subword_args(g)
    g = p.add_argument_group("encoder")
    g.add_argument("--encoder", choices=ENCODER_KINDS, default="cnn")
    g.add_argument(
        "--pooling",
        choices=RNN_POOLINGS,
        default=None,
        help="pooling over time: bag mean or max (default mean), rnn last, max or mean (default max)",
    )
    g.add_argument(
        "--hidden", type=int, default=None, help=f"rnn hidden size per direction (default {RNN_DEFAULTS['hidden']})"
    )
    g.add_argument("--rnn-cell", choices=RNN_CELLS, default="lstm")
    g.add_argument(
        "--layers",
        type=int,
        default=None,
        help=f"rnn or transformer layers (default: rnn {RNN_DEFAULTS['layers']}, transformer 2)",
    )
    g.add_argument("--heads", type=int, default=None, help="transformer attention heads")
    add_fasttext_args(g)
    g.add_argument("--cnn-widths", default="3,4,5", help="comma-separated filter widths")
    g.add_argument("--cnn-channels", type=int, default=100, help="filters per width")
    g.add_argument("--dropout", type=float, default=0.5, help="dropout before the output layer")
    g.add_argument(
        "--embedding-dropout",
        type=float,
        default=None,
        help=f"dropout on the token vectors (default {DEFAULT_EMBEDDING_DROPOUT})",
    )
    g = p.add_argument_group("training")
    g.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"passes over --train (default: rnn {RNN_DEFAULTS['epochs']}, fasttext 5, others {DEFAULT_EPOCHS})",
    )
    g.add_argument("--batch-size", type=int, default=None, help="texts per step (default 64; fasttext 1)")
    g.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3; fasttext 0.5, SGD)")
    g.add_argument(
        "--embedding-lr",
        type=float,
        default=None,
        help=f"learning rate of the embedding (default: {EMBEDDING_LR_FACTOR:g} x --lr with Adam, SparseAdam or "
        "--sparse-optimizer adam; --lr with the other --sparse-optimizer choices)",
    )
    g.add_argument("--optimizer", choices=DENSE_OPTIMIZERS, default="adam")
    g.add_argument("--weight-decay", type=float, default=0.0, help="for dense parameters only")
    g.add_argument(
        "--sparse-optimizer",
        choices=("torch", *SPARSE_OPTIMIZER_NAMES),
        default="torch",
        help="optimizer of the (sparse) embedding rows: torch's SparseAdam, or a row-wise optimizer of "
        "embedlayer.sparse applied inside backward to the rows each batch uses (adam: lazy Adam with a "
        "step count per row; rowwise-adagrad: one accumulator per row)",
    )
    g.add_argument(
        "--embedding-weight-decay",
        type=float,
        default=0.0,
        help="L2 decay of the embedding rows a batch uses (needs a row-wise --sparse-optimizer)",
    )
    g.add_argument("--schedule", choices=SCHEDULES, default="linear")
    g.add_argument("--clip-norm", type=float, default=5.0, help="gradient norm clipping (0 disables)")
    g.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results on stdout")
    add_output_args(p, resume=True)
    add_shard_args(p)
    p.set_defaults(handler=run_train, flags=flag_table(p))


def run_train(args: argparse.Namespace) -> int:
    from embedlayer._io import claim_output

    apply_encoder_defaults(args)  # --lr, --batch-size, --epochs, --dim left at None: the encoder's
    check_options(args)
    check_counts(args, {"--vectors-limit": 1})
    set_threads(args.threads)
    config, train_config = configs(args)  # every option is checked before any work

    def claim() -> Any:
        inputs = (args.train, args.dev, args.vectors, args.tokenizer_file)
        return claim_output(args.out, kind="dir", inputs=inputs, force=args.force, resume=args.resume, can_resume=True)

    with shard_session(args, claim) as (args.shard_group, held):
        if args.shard_group is None:  # --shard-tables keeps no checkpoint
            prepare_checkpoint(args, held.state, Path(args.out) / "checkpoint")
        return _train(args, config, train_config)


def _train(args: argparse.Namespace, config: Any, train_config: Any) -> int:
    from embedlayer.cli.progress import TrainProgress
    from embedlayer.tasks import TextClassificationPipeline
    from embedlayer.vectors import load_vectors

    out = Path(args.out)
    train = load_examples(args.train, args)
    dev = load_examples(args.dev, args) if args.dev else None
    with errors_in_flags(args, {"unicode_errors": "--vectors-unicode-errors"}):
        vectors = (
            load_vectors(args.vectors, limit=args.vectors_limit, unicode_errors=args.vectors_unicode_errors)
            if args.vectors
            else None
        )
    config = with_vectors(args, config, vectors)  # a fastText .bin: its --dim, --subwords, --buckets
    with errors_in_flags(args, FLAGS):  # what depends on the vectors' dimension (--heads)
        pipeline = TextClassificationPipeline.build(train, config, vectors=vectors)
    if not args.quiet:
        note(
            f"{len(train)} training examples, {len(dev) if dev else 0} dev, labels {list(pipeline.labels)}, "
            f"vocabulary {len(pipeline.vocab)}"
        )
        if pipeline.coverage is not None:
            note(f"pretrained coverage: {pipeline.coverage.summary()}")
    started = time.perf_counter()
    progress = TrainProgress(enabled=not args.quiet)
    try:
        sharded = args.shard_group is not None
        result = (
            fit_text_sharded(pipeline, train, dev, train_config, args, progress) if sharded else None
        ) or pipeline.fit(
            train,
            dev,
            train_config,
            progress=progress,
            checkpoint_dir=out / "checkpoint",
            resume=args.resume,
            sources=(args.train, args.dev or "dev"),
            run_info=run_record(
                args,
                {
                    "--train": args.train,
                    "--dev": args.dev,
                    "--vectors": args.vectors,
                    "--tokenizer-file": args.tokenizer_file,
                },
                skip=MAY_CHANGE,
            ),
        )
    except KeyboardInterrupt as exc:
        if (out / "checkpoint").is_dir():
            exc.add_note(
                f"the checkpoint in {out / 'checkpoint'} is kept: run the same command with --resume to continue"
            )
        raise
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    summary: dict[str, Any] = {
        "out": str(out),
        "train_examples": len(train),
        "dev_examples": len(dev) if dev else 0,
        "labels": list(pipeline.labels),
        "vocab_size": len(pipeline.vocab),
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,  # 0-based, like the "epoch" of each history entry
        "train_seconds": round(seconds, 2),
        "history": result.history,
    }
    if pipeline.coverage is not None:
        summary["coverage"] = pipeline.coverage.to_dict()
    if dev:
        summary["dev"] = pipeline.evaluate(dev, source=args.dev).to_dict()
    if not lead(args):  # --shard-tables: rank 0 alone writes and prints
        return 0
    training = {k: summary[k] for k in ("train_examples", "best_epoch", "train_seconds")}
    pipeline.save(out, extra={"training": training, COLUMNS_KEY: columns_record(args)})
    if args.json:
        print_json(summary)
    else:
        line = f"saved {out}  ({summary['epochs_run']} epochs, {seconds:.1f}s)"
        if dev:
            line += f"  dev accuracy {summary['dev']['accuracy']:.4f}  macro-F1 {summary['dev']['macro_f1']:.4f}"
        print(line)
    return 0


# ------------------------------------------------------------------------------------ evaluate
def _register_evaluate(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "evaluate",
        help="accuracy, macro-F1 and confusion matrix on a labelled file",
        description="Evaluate a saved classifier on a labelled file.",
    )
    p.add_argument("--model", required=True, metavar="DIR", help="folder written by `classify train`")
    p.add_argument("--data", required=True, metavar="FILE", help="labelled data (tsv, csv, jsonl)")
    add_data_args(p, from_model=True)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from embedlayer.tasks import TextClassificationPipeline

    set_threads(args.threads)
    pipeline = TextClassificationPipeline.load(args.model)
    with trained_columns_hint(resolve_columns(args), args.model):
        examples = load_examples(args.data, args)
    result = pipeline.evaluate(examples, source=args.data)
    report = {
        "model": args.model,
        "data": args.data,
        "examples": len(examples),
        "labels": list(pipeline.labels),
        **result.to_dict(),
    }
    if args.json:
        print_json(report)
        return 0
    print(
        f"{args.data}: {len(examples)} examples  accuracy {result.accuracy:.4f}  macro-F1 {result.macro_f1:.4f}  "
        f"loss {result.loss:.4f}"
    )
    width = max(len(label) for label in pipeline.labels)
    cell = max(8, width)  # full label names: truncating could make two columns look alike
    print("confusion matrix (rows: true, columns: predicted)")
    print(" " * (width + 2) + " ".join(f"{label:>{cell}}" for label in pipeline.labels))
    for label, row in zip(pipeline.labels, result.confusion):
        print(f"{label:>{width}}  " + " ".join(f"{int(v):>{cell}}" for v in row))
    return 0


# ------------------------------------------------------------------------------------ predict
def _register_predict(cmds: argparse._SubParsersAction) -> None:
    p = cmds.add_parser(
        "predict",
        help="labels with probabilities for new texts",
        description="Predict labels for texts: one text per line (txt or '-' for stdin), or the --text-col "
        "of a tsv/csv/jsonl file. Prints label, probability and text, tab-separated, or one JSON object with --json.",
    )
    p.add_argument("--model", required=True, metavar="DIR", help="folder written by `classify train`")
    p.add_argument("input", nargs="?", default="-", metavar="FILE|-", help="texts to classify (default: stdin)")
    add_data_args(p, label=False, from_model=True)
    p.add_argument("--all", action="store_true", help="print the probability of every label")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object with every prediction")
    p.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from embedlayer.tasks import TextClassificationPipeline

    set_threads(args.threads)
    if args.input == "-" and args.format not in (None, "txt"):
        raise ConfigError(f"--format {args.format}: stdin is read as one text per line, expected --format txt")
    pipeline = TextClassificationPipeline.load(args.model)
    if args.input == "-":
        texts = _stdin_texts(strict=args.strict_encoding)
    else:
        with trained_columns_hint(resolve_columns(args, label=False), args.model):
            texts = [ex.text for ex in load_examples(args.input, args, label=False)]
    if not texts:
        source = "<stdin>" if args.input == "-" else args.input
        raise DataError(f"{source}: no texts to classify (expected one or more lines of text)")
    probs = pipeline.predict_proba(texts)
    if args.json:
        predictions = []
        for text, row in zip(texts, probs):
            best = int(row.argmax())
            obj = {"text": text, "label": pipeline.labels[best], "probability": round(float(row[best]), 6)}
            if args.all:
                obj["probabilities"] = {label: round(float(p), 6) for label, p in zip(pipeline.labels, row)}
            predictions.append(obj)
        print_json({"model": args.model, "labels": list(pipeline.labels), "predictions": predictions})
        return 0
    for text, row in zip(texts, probs):
        best = int(row.argmax())
        extra = "\t" + " ".join(f"{label}={p:.4f}" for label, p in zip(pipeline.labels, row)) if args.all else ""
        print(f"{pipeline.labels[best]}\t{row[best]:.4f}{extra}\t{text}")
    return 0


def _stdin_texts(*, strict: bool) -> list[str]:
    """One text per line of stdin, read like a txt file: blank lines skipped, a line of only
    spaces is a DataError, bytes that are not UTF-8 replaced (and noted) or, with ``strict``,
    a DataError naming ``<stdin>:line``."""
    buffer = getattr(sys.stdin, "buffer", None)  # bytes when stdin is a real stream
    raw_lines = buffer if buffer is not None else (line.encode("utf-8", "surrogateescape") for line in sys.stdin)
    texts, replaced = [], []
    for lineno, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if strict:
                raise DataError(
                    f"<stdin>:{lineno}: invalid UTF-8 byte 0x{raw[exc.start]:02x} at byte "
                    f"{exc.start + 1} of the line (expected UTF-8 text)"
                ) from None
            text = raw.decode("utf-8", "replace")
            replaced.append(lineno)
        text = text.rstrip("\r\n")
        if not text:
            continue
        if not text.strip():
            raise DataError(f"<stdin>:{lineno}: empty text (expected one non-empty text per line)")
        texts.append(text)
    if replaced:
        note(
            f"<stdin>: bytes that are not UTF-8 replaced on {len(replaced)} line(s) (first: "
            f"{', '.join(map(str, replaced[:5]))}); --strict-encoding makes this an error"
        )
    return texts
