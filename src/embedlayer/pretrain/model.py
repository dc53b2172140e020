"""WordVectorModel: what pretraining produces, its vectors, and how it is saved.

A run directory written by ``save`` holds:

- the word vectors in our native format (``vectors.npy``, ``words.txt``, ``meta.json``), so every
  ``embedlayer vectors`` command and ``load_vectors`` read the directory itself;
- ``pretrain.json``: the settings, the corpus statistics and the loss of every epoch;
- with subwords, ``model.bin``: the whole model in fastText's format (word and n-gram rows, output
  rows), which ``load_vectors`` (as ``FastTextVectors``, with vectors for unseen words) and
  fastText's own ``load_model`` read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, prange

from embedlayer._io import atomic_write, scratch_dir
from embedlayer.pretrain.config import PretrainConfig
from embedlayer.vectors.fasttext_bin import FastTextArgs
from embedlayer.vectors.store import FastTextVectors, Vectors

__all__ = ["WordVectorModel", "fasttext_args"]


@njit(parallel=True, cache=True)
def _mean_rows(matrix, offsets, rows, out):
    for i in prange(len(offsets) - 1):
        lo, hi = offsets[i], offsets[i + 1]
        for d in range(matrix.shape[1]):
            out[i, d] = 0.0
        for j in range(lo, hi):
            for d in range(matrix.shape[1]):
                out[i, d] += matrix[rows[j], d]
        scale = np.float32(1.0 / (hi - lo))
        for d in range(matrix.shape[1]):
            out[i, d] *= scale


def fasttext_args(config: PretrainConfig) -> FastTextArgs:
    """The settings fastText would have stored for this run."""
    minn, maxn = config.subwords or (0, 0)
    return FastTextArgs(
        dim=config.dim,
        ws=config.window,
        epoch=config.epochs,
        min_count=config.min_count,
        neg=config.negative,
        word_ngrams=1,
        loss=2,
        model=1 if config.model == "cbow" else 2,
        bucket=config.buckets if config.subwords else 0,
        minn=minn,
        maxn=maxn,
        lr_update_rate=100,
        t=config.sample,
        version=12,
    )


@dataclass(eq=False)
class WordVectorModel:
    """Trained tables and what produced them.

    ``input_matrix`` is (V, D), or (V + buckets, D) with subwords (word rows, then n-gram rows);
    ``output_matrix`` (V, D) holds the vectors the loss scores against; ``counts`` (V,) the word
    counts; ``subword_offsets`` / ``subword_rows`` each word's input rows (CSR, with subwords).
    """

    config: PretrainConfig
    words: tuple[str, ...]
    counts: np.ndarray
    input_matrix: np.ndarray
    output_matrix: np.ndarray
    subword_offsets: np.ndarray | None = None
    subword_rows: np.ndarray | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def word_matrix(self) -> np.ndarray:
        """(V, D) float32: each word's vector (the mean of its rows with subwords)."""
        if self.subword_offsets is None:
            return self.input_matrix[: len(self.words)]
        out = np.empty((len(self.words), self.input_matrix.shape[1]), dtype=np.float32)
        _mean_rows(self.input_matrix, self.subword_offsets, self.subword_rows, out)
        return out

    @property
    def wv(self) -> Vectors:
        """The word vectors; with subwords a ``FastTextVectors`` that also answers unseen words."""
        if self.subword_offsets is None:
            return Vectors(self.words, self.word_matrix())
        return FastTextVectors(
            self.words,
            self.word_matrix(),
            input_matrix=self.input_matrix,
            args=fasttext_args(self.config),
            counts=self.counts,
            nwords=len(self.words),
            subwords=True,
        )

    def save_fasttext(self, path: str | os.PathLike[str]) -> None:
        """The model as a fastText ``.bin`` (readable by fastText's ``load_model``)."""
        from embedlayer.vectors.fasttext_writer import save_fasttext_bin

        save_fasttext_bin(
            path, self.words, self.counts, self.input_matrix, self.output_matrix, fasttext_args(self.config)
        )

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the run directory (see the module docstring); returns its path. Other files in
        the directory (a checkpoint) are left alone; each of ours is replaced atomically."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        with scratch_dir(out) as scratch:  # one a kill -9 leaves is removed by a later run here
            staging = scratch / "vectors"
            Vectors(self.words, self.word_matrix(), copy=False).save(staging, format="native")
            for name in ("vectors.npy", "words.txt", "meta.json"):  # meta.json last: it vouches for the rest
                os.replace(staging / name, out / name)
        if self.subword_offsets is not None:
            self.save_fasttext(out / "model.bin")
        with atomic_write(out / "pretrain.json") as fh:
            json.dump(
                {
                    "format": "embedlayer.pretrain",
                    "version": 1,
                    "config": self.config.to_dict(),
                    "words": len(self.words),
                    "stats": self.stats,
                },
                fh,
                indent=2,
            )
            fh.write("\n")
        return out
