"""Sparse training of embedding tables: fused row-wise optimizers, bags, big and compact tables.

A training step should cost what the touched rows cost, not what the table costs:

* optimizers (:mod:`.optimizers`): ``SparseSGD``, ``SparseAdagrad``, ``RowwiseAdagrad``,
  ``LazyAdam``, applied inside backward to the rows looked up, with no dense gradient;
* kernels (:mod:`.kernels`, :mod:`.coalesce`): the numba row updates, callable from other numba
  code (pretraining);
* lookups (:mod:`.lookup`, :mod:`.autograd`, :mod:`.bag`): checked parallel gathers, the fused
  lookup, pooled bags (sum/mean/max, per-id weights in every mode);
* storage (:mod:`.mmap`, :mod:`.quant`): tables memory-mapped from the native vectors format and
  trained in place; row-wise int8 quantisation for inference (float16/bfloat16 storage is a
  ``dtype=`` of the layers).

Names are imported lazily (``embedlayer.sparse.LazyAdam`` loads only what it needs), which also
keeps ``embedlayer.layers`` free to import the lookup functions from here.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SparseOptimizer": "optim",
    "TableBinding": "optim",
    "SparseSGD": "optimizers",
    "SparseAdagrad": "optimizers",
    "RowwiseAdagrad": "optimizers",
    "LazyAdam": "optimizers",
    "make_sparse_optimizer": "optimizers",
    "SPARSE_OPTIMIZERS": "optimizers",
    "gather": "lookup",
    "fused_lookup": "autograd",
    "embedding_bag": "bag",
    "BAG_MODES": "bag",
    "MmapTable": "mmap",
    "open_table": "mmap",
    "QuantizedEmbedding": "quant",
    "quantize_rows": "quant",
    "dequantize_rows": "quant",
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
    value = getattr(importlib.import_module(f"embedlayer.sparse.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
