"""Categorical and entity embeddings: column specs, tabular models and recommenders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedlayer._lazy import lazy_exports

if TYPE_CHECKING:
    from embedlayer.tabular.columns import ColumnSpec, fastai_dim
    from embedlayer.tabular.model import TabularModel, TabularModelConfig
    from embedlayer.tabular.pipeline import ModelSettings, TabularBatch, TabularPipeline, split_dev
    from embedlayer.tabular.read import Table, TableFile, from_arrow, from_pandas, iter_table, read_table
    from embedlayer.tabular.recommend import Ratings, Recommender
    from embedlayer.tabular.spec import Encoded, SpecOptions, TableSpec

__getattr__, __dir__, __all__ = lazy_exports(__name__)
