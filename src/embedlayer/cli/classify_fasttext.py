"""`classify train --encoder fasttext`: its option (--word-ngrams) and the defaults it takes where
the other encoders take theirs (--dim, --epochs, --lr, --batch-size), chosen on sst2_dev.tsv
(bench/classify.py --fasttext: fastText's recommended supervised settings; dim 20-50, 5-10 epochs
and lr 0.25-1.0 were within 0.3 points of each other there)."""

from __future__ import annotations

import argparse
from typing import Any

from embedlayer.errors import ConfigError

#: --encoder fasttext's defaults: SGD one text at a time, lr decaying linearly to 0.
FASTTEXT_DEFAULTS: dict[str, Any] = {"dim": 50, "epochs": 5, "lr": 0.5, "batch_size": 1}
#: --subword-combine with --encoder fasttext -> EncoderConfig.ft_combine: "sum" is fastText's (the
#: text's vector is the mean of all its rows, so a word weighs as many rows as it has), "mean" makes
#: each word one term of the text's mean (its own row and char n-grams averaged first).
FT_COMBINES: dict[str, str] = {"sum": "row", "mean": "word"}
#: --encoder fasttext --subwords without --subword-combine (chosen on sst2_dev with typos).
FT_DEFAULT_COMBINE = "sum"
#: The other encoders' defaults of the flags whose default depends on the encoder.
OTHER_DEFAULTS: dict[str, Any] = {"lr": 1e-3, "batch_size": 64}


def add_fasttext_args(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--word-ngrams",
        type=int,
        default=2,
        metavar="N",
        help="--encoder fasttext: hashed word n-grams up to N words (2: words and bigrams, fastText's "
        "wordNgrams; 1: words only), in --buckets rows after the words (default 2,000,000)",
    )


def apply_encoder_defaults(args: argparse.Namespace) -> None:
    """Fill the flags left at None with the defaults of ``--encoder``; for fasttext, ``--buckets``
    without ``--subwords`` sizes its word n-gram buckets (``args.ft_buckets``)."""
    fasttext = args.encoder == "fasttext"
    for name, value in (FASTTEXT_DEFAULTS if fasttext else OTHER_DEFAULTS).items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    args.ft_buckets = None
    if fasttext and getattr(args, "subwords", None) is None and getattr(args, "buckets", None) is not None:
        args.ft_buckets, args.buckets = args.buckets, None
    if fasttext and args.vectors is not None:
        raise ConfigError(
            f"--vectors {args.vectors}: --encoder fasttext trains its own word and n-gram rows from "
            "fastText's random start; expected no --vectors (or another --encoder)"
        )


def fasttext_encoder_args(args: argparse.Namespace) -> dict[str, Any]:
    """The EncoderConfig settings of --word-ngrams, --buckets and --subword-combine for --encoder
    fasttext (else none)."""
    if args.encoder != "fasttext":
        return {}
    out: dict[str, Any] = {"ft_word_ngrams": args.word_ngrams}
    if getattr(args, "subwords", None) is not None:
        out["ft_combine"] = FT_COMBINES[getattr(args, "subword_combine", None) or FT_DEFAULT_COMBINE]
    if getattr(args, "ft_buckets", None) is not None:
        out["ft_buckets"] = args.ft_buckets
    return out
