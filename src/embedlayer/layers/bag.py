"""EmbeddingBag: a table whose lookup pools each bag of ids into one vector (sum, mean, max).

The same table as :class:`~embedlayer.layers.embedding.Embedding` (init, padding row, freezing,
float16/bfloat16 storage, ``from_weight``, binding to a sparse optimizer), read through
:func:`embedlayer.kernels.bag.embedding_bag`: per-id weights in every mode (torch allows them only
with ``sum``), empty bags give zeros, the padding id takes no part. Equivalent to looking the ids
up and pooling them, without materialising the (N, D) rows.
"""

from __future__ import annotations

import torch
from torch import Tensor

from embedlayer.errors import ConfigError
from embedlayer.layers.embedding import STORAGE_DTYPES, Embedding, InitScheme

__all__ = ["EmbeddingBag"]

_MODES = ("sum", "mean", "max")


class EmbeddingBag(Embedding):
    """``num_embeddings`` rows of size ``embedding_dim``, looked up and pooled per bag.

    Args:
        mode: "sum", "mean" (weighted mean with per-id weights) or "max".
        include_last_offset: ``offsets`` also holds the end of the last bag (B + 1,), as in torch.
        other arguments: as :class:`~embedlayer.layers.embedding.Embedding` (no ``max_norm``).

    Raises:
        ConfigError: a bad mode or any Embedding setting out of range.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        mode: str = "mean",
        padding_idx: int | None = 0,
        init: InitScheme = "normal",
        std: float = 1.0,
        sparse: bool = False,
        freeze: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        include_last_offset: bool = False,
        _weight: Tensor | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ConfigError(f"EmbeddingBag mode must be one of {', '.join(_MODES)}, got {mode!r}")
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx, init=init, std=std, sparse=sparse,
                         freeze=freeze, generator=generator, dtype=dtype, _weight=_weight)
        self.mode = mode
        self.include_last_offset = bool(include_last_offset)

    @classmethod
    def from_weight(  # type: ignore[override]
        cls,
        weight: Tensor,
        *,
        mode: str = "mean",
        padding_idx: int | None = None,
        freeze: bool = False,
        sparse: bool = False,
        include_last_offset: bool = False,
    ) -> EmbeddingBag:
        """A bag layer whose table *is* ``weight`` (V, D): no copy, no initialisation.

        Raises:
            ConfigError: ``weight`` is not a 2-D float32/float16/bfloat16 tensor, or a bad setting.
        """
        if not isinstance(weight, Tensor) or weight.dim() != 2 or weight.dtype not in STORAGE_DTYPES:
            got = f"{weight.dtype} {tuple(weight.shape)}" if isinstance(weight, Tensor) else type(weight).__name__
            raise ConfigError(f"from_weight: expected a 2-D float32, float16 or bfloat16 tensor, got {got}")
        return cls(weight.shape[0], weight.shape[1], mode=mode, padding_idx=padding_idx, freeze=freeze, sparse=sparse,
                   dtype=weight.dtype, include_last_offset=include_last_offset, _weight=weight.detach())

    def forward(  # type: ignore[override]
        self, ids: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None
    ) -> Tensor:
        """Pooled rows: ids (N,) with offsets (B,) bag starts, or ids (B, L) without -> (B, D) float32.

        ``per_sample_weights``: one float per id (same shape as ``ids``), in every mode.

        Raises:
            ConfigError: non-integer ids, offsets that do not fit the ids, weights of another shape.
            IdOutOfRangeError: an id < 0 or >= V.
        """
        from embedlayer.kernels.bag import embedding_bag

        binding = self.row_optimizer
        if binding is not None and not (self.weight.requires_grad and torch.is_grad_enabled()):
            binding = None
        return embedding_bag(self.weight, ids, offsets, mode=self.mode, per_sample_weights=per_sample_weights,
                             padding_idx=self.padding_idx, include_last_offset=self.include_last_offset,
                             binding=binding, sparse=self.sparse)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mode={self.mode!r}"
