"""`classify train --encoder fasttext`: its option (--word-ngrams) and the defaults it takes where
the other encoders take theirs (--dim, --epochs, --lr, --batch-size, --subword-combine), chosen on
dev sets only (bench/classify_fasttext_dev.py; means of 3 seeds unless said):

- sst2_dev accuracy, dim/epochs/lr: 50/5/0.5 0.9265 (6 seeds 0.9270), 100/5/0.5 0.9262,
  50/10/0.5 0.9268 (6 seeds 0.9273), 50/5/0.25 0.9272, 50/5/1.0 0.9268, 100/10/0.5 0.9270: all
  within noise (sd 0.001).
- a held-out 2,000 of agnews_train: 50/5/0.5 0.8733 (6 seeds), 50/10/0.5 0.8752 (6 seeds),
  100/5/0.5 0.8732, 50/5/0.25 0.8507, 50/5/1.0 0.8725.
- sst2_dev with typos in 10% of words (5 draws), --subwords 3-6: 10 epochs lift the subword model
  (clean 0.9157 -> 0.9246, typos 0.9023 -> 0.9085); its loss under typos 1.61 points against the
  word-only model's 2.09 (1.46 against 1.62 on the dev texts of 10+ tokens, 10 draws).
  --subword-combine mean (each word one term) lost 2.05 (5 epochs: 1.93, and 1.59 against 1.48 on
  the 10+ token texts), so fastText's "sum" (every row one term) stays the default.

Hence --epochs 10 (AG News +0.2 points, SST-2 the same, the subword model +0.9), dim 50, lr 0.5."""

from __future__ import annotations

import argparse
from typing import Any

from embedlayer.errors import ConfigError

#: --encoder fasttext's defaults: SGD one text at a time, lr decaying linearly to 0.
FASTTEXT_DEFAULTS: dict[str, Any] = {"dim": 50, "epochs": 10, "lr": 0.5, "batch_size": 1}
#: --subword-combine with --encoder fasttext -> EncoderConfig.ft_combine: "sum" is fastText's (the
#: text's vector is the mean of all its rows, so a word weighs as many rows as it has), "mean" makes
#: each word one term of the text's mean (its own row and char n-grams averaged first).
FT_COMBINES: dict[str, str] = {"sum": "row", "mean": "word"}
#: --encoder fasttext --subwords without --subword-combine (chosen on sst2_dev with typos, see above).
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
