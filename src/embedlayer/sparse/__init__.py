"""Sparse training of embedding tables: fused row-wise optimizers, big and compact tables.

A training step should cost what the touched rows cost, not what the table costs:

* optimizers (:mod:`.optimizers`, :mod:`.optim`): ``SparseSGD``, ``SparseAdagrad``,
  ``RowwiseAdagrad``, ``LazyAdam``, applied inside backward to the rows looked up, with no dense
  gradient (their row updates are the drivers of :mod:`embedlayer.kernels.updates`);
* storage (:mod:`.mmap`, :mod:`.quant`): tables memory-mapped from the native vectors format and
  trained in place; row-wise int8 quantisation for inference (float16/bfloat16 storage is a
  ``dtype=`` of the layers).

The lookups these tables are read through (``gather``, ``fused_lookup``, ``embedding_bag``) live
in :mod:`embedlayer.kernels`, below the layers, and are re-exported here. Names are imported
lazily: ``embedlayer.sparse.LazyAdam`` loads only what it needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SparseOptimizer": "embedlayer.sparse.optim",
    "TableBinding": "embedlayer.sparse.optim",
    "SparseSGD": "embedlayer.sparse.optimizers",
    "SparseAdagrad": "embedlayer.sparse.optimizers",
    "RowwiseAdagrad": "embedlayer.sparse.optimizers",
    "LazyAdam": "embedlayer.sparse.optimizers",
    "make_sparse_optimizer": "embedlayer.sparse.optimizers",
    "SPARSE_OPTIMIZERS": "embedlayer.sparse.optimizers",
    "gather": "embedlayer.kernels.lookup",
    "fused_lookup": "embedlayer.kernels.fused_lookup",
    "embedding_bag": "embedlayer.kernels.bag",
    "BAG_MODES": "embedlayer.kernels.bag",
    "MmapTable": "embedlayer.sparse.mmap",
    "open_table": "embedlayer.sparse.mmap",
    "QuantizedEmbedding": "embedlayer.sparse.quant",
    "quantize_rows": "embedlayer.sparse.quant",
    "dequantize_rows": "embedlayer.sparse.quant",
}

__all__ = [
    "BAG_MODES",
    "SPARSE_OPTIMIZERS",
    "LazyAdam",
    "MmapTable",
    "QuantizedEmbedding",
    "RowwiseAdagrad",
    "SparseAdagrad",
    "SparseOptimizer",
    "SparseSGD",
    "TableBinding",
    "dequantize_rows",
    "embedding_bag",
    "fused_lookup",
    "gather",
    "make_sparse_optimizer",
    "open_table",
    "quantize_rows",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'embedlayer.sparse' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
