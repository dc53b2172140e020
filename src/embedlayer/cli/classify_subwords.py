"""`classify train --subwords MIN-MAX --buckets N --subword-combine sum|mean`: the options, their one
parser (:meth:`embedlayer.subwords.SubwordSpec.parse`) and what a fastText ``.bin`` given as
``--vectors`` fixes (its n-gram lengths, buckets and dimension), each error one line naming the flag."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from embedlayer.errors import ConfigError
from embedlayer.subwords import DEFAULT_BUCKETS, SUBWORD_COMBINES, SubwordSpec

__all__ = ["DEFAULT_DIM", "add_subword_args", "embedding_dim", "subword_spec", "with_vectors"]

DEFAULT_DIM = 100  # --dim when not given (with --vectors: theirs)


def add_subword_args(g: argparse._ActionsContainer) -> None:
    """The three options, in ``g`` (the "embedding layer" group of `classify train`)."""
    g.add_argument(
        "--subwords",
        metavar="MIN-MAX",
        default=None,
        help="subword token vectors: each word's row plus its hashed character n-grams of MIN..MAX characters "
        "(fastText's, e.g. 3-6), so words unseen in training still get vectors at prediction time",
    )
    g.add_argument(
        "--buckets",
        type=int,
        default=None,
        metavar="N",
        help=f"n-gram hash rows with --subwords (default {DEFAULT_BUCKETS:,}; with a fastText .bin as "
        "--vectors: its own)",
    )
    g.add_argument(
        "--subword-combine",
        choices=SUBWORD_COMBINES,
        default=None,
        help="a word's vector is the sum or the mean of its rows (default sum; with a fastText .bin: mean, "
        "as fastText)",
    )


def embedding_dim(args: argparse.Namespace) -> int:
    """--dim, or DEFAULT_DIM when it was not given."""
    return DEFAULT_DIM if args.dim is None else args.dim


def subword_spec(args: argparse.Namespace) -> SubwordSpec | None:
    """The SubwordSpec of --subwords/--buckets/--subword-combine, or None without --subwords.

    Raises:
        ConfigError: ``--subwords 6-3``, ``--subwords x``, ``--buckets 0``, --buckets /
            --subword-combine without --subwords, --static-channel with it (one line naming the flag).
    """
    if args.subwords is None:
        for flag, value in (("--buckets", args.buckets), ("--subword-combine", args.subword_combine)):
            if value is not None:
                raise ConfigError(f"{flag} {value}: expected it with --subwords MIN-MAX (e.g. --subwords 3-6)")
        return None
    if getattr(args, "static_channel", False):
        raise ConfigError(
            f"--static-channel with --subwords {args.subwords}: expected one of the two (the static channel is a "
            f"frozen table of words, without n-grams)"
        )
    return SubwordSpec.parse(args.subwords, args.buckets, args.subword_combine or "sum")


def with_vectors(args: argparse.Namespace, config: Any, vectors: Any) -> Any:
    """The PipelineConfig once the --vectors are read: a fastText ``.bin`` must have the explicit
    --dim, and with --subwords its n-gram lengths; it gives its bucket count and the mean when
    --buckets / --subword-combine are not given.

    Raises:
        ConfigError: one line naming the flag and the .bin's value.
    """
    from embedlayer.vectors import FastTextVectors

    if not isinstance(vectors, FastTextVectors):
        return config
    if args.dim is not None and args.dim != vectors.vector_size:
        raise ConfigError(
            f"--dim {args.dim}: {args.vectors} has dimension {vectors.vector_size}; expected --dim "
            f"{vectors.vector_size} or no --dim (the vectors' dimension is used)"
        )
    spec = config.subwords
    if spec is None or not (vectors.bucket > 0 and vectors.maxn > 0):
        return config
    if (spec.min_n, spec.max_n) != (vectors.minn, vectors.maxn):
        raise ConfigError(
            f"--subwords {args.subwords}: {args.vectors} has n-grams of {vectors.minn}-{vectors.maxn} characters; "
            f"expected --subwords {vectors.minn}-{vectors.maxn} (its n-gram rows are hashed for those)"
        )
    if args.buckets is not None and args.buckets != vectors.bucket:
        raise ConfigError(
            f"--buckets {args.buckets}: {args.vectors} has {vectors.bucket} n-gram buckets; expected "
            f"--buckets {vectors.bucket} or no --buckets"
        )
    combine = args.subword_combine or "mean"
    return dataclasses.replace(config, subwords=dataclasses.replace(spec, buckets=vectors.bucket, combine=combine))
