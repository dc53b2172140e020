"""Tasks built on the embedding layer: text classification first."""

from embedlayer.tasks.classification import PipelineConfig, TextClassificationPipeline

__all__ = ["PipelineConfig", "TextClassificationPipeline"]
