"""Look at an embedding: 2-D/3-D projections, scatter plots, run-folder pictures, a web explorer.

- ``project`` (PCA built in; UMAP and t-SNE with the ``viz`` extra) and ``plot_scatter`` (labels
  that do not overlap, colours by label or k-means cluster) — ``embedlayer plot``;
- ``plot_run``: learning curves and neighbours before / after fine-tuning of a run folder;
- ``build_explorer`` + ``ExplorerServer`` (127.0.0.1 only, read-only) or ``write_offline_html``
  (one self-contained file) — ``embedlayer explore``.

Neighbours are always computed by cosine in the full space, never in a projection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlayer.viz.clusters import auto_clusters, kmeans_cosine
    from embedlayer.viz.explorer import ExplorerData, build_explorer
    from embedlayer.viz.labels import LabelSet, check_words, read_labels, read_word_list
    from embedlayer.viz.offline import offline_html, write_offline_html
    from embedlayer.viz.plot import ScatterResult, plot_scatter
    from embedlayer.viz.projection import METHODS, Projection, project
    from embedlayer.viz.repel import Placement, place_labels
    from embedlayer.viz.runplots import RunFolder, plot_neighbours, plot_run, read_run
    from embedlayer.viz.server import ExplorerServer

__getattr__, __dir__, __all__ = lazy_exports(__name__)
