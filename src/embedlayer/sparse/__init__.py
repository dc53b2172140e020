"""Sparse training of embedding tables: fused row-wise optimizers, big and compact tables.

A training step should cost what the touched rows cost, not what the table costs:

* optimizers (:mod:`.optimizers`, :mod:`.optim`): ``SparseSGD``, ``SparseAdagrad``,
  ``RowwiseAdagrad``, ``LazyAdam``: once bound (``opt.bind()``), applied at the end of backward to
  the rows looked up, with no dense gradient (their row updates are the drivers of
  :mod:`embedlayer.kernels.updates`);
* storage (:mod:`.mmap`, :mod:`.quant`): tables memory-mapped from the native vectors format and
  trained in place; row-wise int8 quantisation for inference (float16/bfloat16 storage is a
  ``dtype=`` of the layers).

The lookups these tables are read through (``gather``, ``fused_lookup``, ``embedding_bag``) live
in :mod:`embedlayer.kernels`, below the layers, and are re-exported here. Names are imported
lazily (:mod:`embedlayer._lazy`): ``embedlayer.sparse.LazyAdam`` loads only what it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports
from embedlayer.sparse import _moved

if TYPE_CHECKING:
    from embedlayer.kernels.bag import BAG_MODES, embedding_bag
    from embedlayer.kernels.fused_lookup import fused_lookup
    from embedlayer.kernels.lookup import gather
    from embedlayer.sparse.mmap import MmapTable, open_table
    from embedlayer.sparse.optim import SparseOptimizer, TableBinding
    from embedlayer.sparse.optimizers import (
        SPARSE_OPTIMIZERS,
        LazyAdam,
        RowwiseAdagrad,
        SparseAdagrad,
        SparseSGD,
        make_sparse_optimizer,
    )
    from embedlayer.sparse.quant import QuantizedEmbedding, dequantize_rows, quantize_rows

__getattr__, __dir__, __all__ = lazy_exports(__name__)
_moved.install()  # the modules that moved to embedlayer.kernels keep importing, with a warning
