"""One exception family for everything embedlayer raises on bad input.

Every message names the bad value, where it came from (``file:line`` for files) and what was
expected, so the CLI can print it as one line. Subclasses also derive from the matching builtin
(``ValueError``, ``LookupError``, ``IndexError``) so generic handlers keep working.
"""

from __future__ import annotations

import os

__all__ = [
    "EmbedLayerError",
    "ConfigError",
    "DataError",
    "VocabError",
    "FormatError",
    "ModelError",
    "IdOutOfRangeError",
    "KernelError",
    "DistributedError",
    "where",
]


class EmbedLayerError(Exception):
    """Base class of every error embedlayer raises on purpose."""


class ConfigError(EmbedLayerError, ValueError):
    """A parameter has a value outside what it accepts (e.g. ``dim=0``)."""


class DataError(EmbedLayerError, ValueError):
    """An input data file is unusable: empty, missing a column, a row without a label, bad bytes."""


class VocabError(EmbedLayerError, LookupError):
    """A token is not in the vocabulary under the ``error`` OOV policy, or a vocab file is bad."""


class FormatError(EmbedLayerError, ValueError):
    """A vectors or model file does not follow its format (wrong dimension, truncated, ...)."""


class ModelError(EmbedLayerError):
    """A saved model is inconsistent (e.g. its vocabulary and weights disagree)."""


class IdOutOfRangeError(EmbedLayerError, IndexError):
    """An id given to an embedding table is negative or not below its number of rows."""


class KernelError(EmbedLayerError, RuntimeError):
    """A compiled kernel raised on a thread its exception cannot be brought back from (an OpenMP team)."""


class DistributedError(EmbedLayerError, RuntimeError):
    """A collective over a process group failed: a rank died, never joined, or timed out."""


def where(path: str | os.PathLike[str], line: int | None = None, *, offset: int | None = None) -> str:
    """Format a location for error messages: ``path:line`` or ``path@byte offset``.

    >>> where("data.tsv", 12)
    'data.tsv:12'
    """
    text = os.fspath(path)
    if line is not None:
        return f"{text}:{line}"
    if offset is not None:
        return f"{text} at byte {offset}"
    return text
