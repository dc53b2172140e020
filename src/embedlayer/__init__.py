"""embedlayer: embedding layers from raw text to trained, inspectable vectors."""

from embedlayer.errors import (
    ConfigError,
    DataError,
    EmbedLayerError,
    FormatError,
    IdOutOfRangeError,
    ModelError,
    VocabError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "EmbedLayerError",
    "FormatError",
    "IdOutOfRangeError",
    "ModelError",
    "VocabError",
    "__version__",
]
