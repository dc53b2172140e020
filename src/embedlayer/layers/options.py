"""The choices of the layers' string options, torch-free so the CLI can list them cheaply."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["MISSING_POLICIES", "MissingPolicy"]

#: How ``align_vectors`` fills the rows of words the pretrained vectors lack.
MissingPolicy = Literal["random", "zero", "mean"]
MISSING_POLICIES: tuple[str, ...] = get_args(MissingPolicy)
