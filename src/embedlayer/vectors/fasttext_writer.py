"""Write a fastText ``.bin`` model (version 12), the layout ``fasttext_bin`` reads.

What we write is what fastText 0.9's ``saveModel`` writes for an unsupervised model trained with
negative sampling: the settings, the dictionary (words with counts; no ``</s>`` entry unless the
words contain it, no labels, no pruning), ``quant_input = false``, the input matrix (word rows,
then the n-gram bucket rows), ``qout = false`` and the output matrix (one row per word). fastText's
``load_model`` and our ``read_fasttext_bin`` both read it, and both compute a word's vector as the
mean of its row and its n-gram rows, so the vectors agree.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

import numpy as np

from embedlayer._io import atomic_write
from embedlayer.errors import ConfigError
from embedlayer.vectors.fasttext_bin import (
    _ARGS,
    _DICT,
    _ENTRY,
    _MATRIX,
    FASTTEXT_MAGIC,
    FastTextArgs,
)

__all__ = ["save_fasttext_bin"]

_VERSION = 12
_ROWS_PER_WRITE = 1 << 16


def save_fasttext_bin(
    path: str | os.PathLike[str],
    words: Sequence[str],
    counts: np.ndarray,
    input_matrix: np.ndarray,
    output_matrix: np.ndarray,
    args: FastTextArgs,
) -> None:
    """Write a fastText model file atomically.

    Args:
        words: the V dictionary words, in row order (UTF-8, no NUL, no whitespace).
        counts: (V,) occurrence counts.
        input_matrix: (V + args.bucket, args.dim) float32: word rows, then n-gram rows.
        output_matrix: (V, args.dim) float32.
        args: the settings to store (``args.bucket`` must match the input matrix).

    Raises:
        ConfigError: shapes that disagree with ``words`` and ``args``, or a word fastText cannot
            store (empty, or containing NUL or whitespace).
    """
    nwords, dim = len(words), args.dim
    if input_matrix.shape != (nwords + args.bucket, dim):
        raise ConfigError(
            f"input matrix is {input_matrix.shape}; expected (words + bucket, dim) = {(nwords + args.bucket, dim)}"
        )
    if output_matrix.shape != (nwords, dim):
        raise ConfigError(f"output matrix is {output_matrix.shape}; expected (words, dim) = {(nwords, dim)}")
    if len(counts) != nwords:
        raise ConfigError(f"{len(counts)} counts for {nwords} words; expected one count per word")
    encoded = [w.encode("utf-8") for w in words]
    for i, raw in enumerate(encoded):
        if not raw or any(c in raw for c in b"\0 \t\n\r\x0b\x0c"):
            raise ConfigError(
                f"word {i} ({words[i]!r}) cannot be stored in a fastText .bin; expected a "
                f"non-empty word without NUL or whitespace"
            )
    with atomic_write(path, "wb") as fh:
        fh.write(struct.pack("<ii", FASTTEXT_MAGIC, _VERSION))
        fh.write(
            _ARGS.pack(
                args.dim,
                args.ws,
                args.epoch,
                args.min_count,
                args.neg,
                args.word_ngrams,
                args.loss,
                args.model,
                args.bucket,
                args.minn,
                args.maxn,
                args.lr_update_rate,
                args.t,
            )
        )
        fh.write(_DICT.pack(nwords, nwords, 0, int(np.sum(counts)), -1))
        fh.write(b"".join(raw + b"\0" + _ENTRY.pack(int(c), 0) for raw, c in zip(encoded, counts)))
        fh.write(b"\0")  # quant_input
        _write_matrix(fh, input_matrix)
        fh.write(b"\0")  # qout
        _write_matrix(fh, output_matrix)


def _write_matrix(fh, matrix: np.ndarray) -> None:
    fh.write(_MATRIX.pack(*matrix.shape))
    for lo in range(0, matrix.shape[0], _ROWS_PER_WRITE):
        fh.write(np.ascontiguousarray(matrix[lo : lo + _ROWS_PER_WRITE], dtype="<f4").tobytes())
