"""Row kernels: the compiled, table-agnostic work under the layers and the sparse optimizers.

* checks (:mod:`.checks`): ids, offsets and tables validated once, with errors naming the bad id;
* gathers (:mod:`.lookup`, :mod:`.fused_lookup`): parallel row copies with the range check in the
  copy, and the lookup whose backward hands row gradients to a row-wise optimizer;
* bags (:mod:`.bag`, :mod:`.bag_kernels`): pooled lookups (sum/mean/max, per-id weights);
* updates (:mod:`.updates`, :mod:`.coalesce`): the numba row-update drivers of the sparse
  optimizers, callable from other numba code (pretraining);
* plumbing (:mod:`.threads`, :mod:`.prefetch`, :mod:`.memory`): running chunks on torch's thread
  team, software prefetch, huge-page allocations;
* tables (:mod:`.tables`): the Protocols of a trainable table and of where its row gradients go.

Nothing here knows a layer, a vocabulary or an optimizer class: ``embedlayer.layers`` and
``embedlayer.sparse`` build on these modules, never the other way round.
"""
