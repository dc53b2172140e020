"""EmbeddingBag: a table whose lookup pools each bag of ids into one vector (sum, mean, max).

The same table as :class:`~embedlayer.layers.embedding.Embedding` (init, padding row, freezing,
float16/bfloat16 storage, ``from_pretrained``/``from_weight``, binding to a row-wise optimizer),
read through :func:`embedlayer.kernels.bag.embedding_bag`: per-id weights in every mode (torch
allows them only with ``sum``), empty bags give zeros, the padding id takes no part. Equivalent to
looking the ids up and pooling them, without materialising the (N, D) rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from embedlayer.errors import ConfigError
from embedlayer.layers.embedding import Embedding, InitScheme, checked_table

if TYPE_CHECKING:
    from typing import Self

    from embedlayer.kernels.tables import TableStorage

__all__ = ["EmbeddingBag"]

_MODES = ("sum", "mean", "max")


class EmbeddingBag(Embedding):
    """``num_embeddings`` rows of size ``embedding_dim``, looked up and pooled per bag.

    Where it differs from ``torch.nn.EmbeddingBag``: ``padding_idx=0`` by default in the
    constructor (``<pad>`` is id 0 of a ``Vocab``; ``from_pretrained`` keeps torch's None);
    ``per_sample_weights`` in every mode (torch: ``sum`` only); no ``max_norm`` and no
    ``scale_grad_by_freq`` (ConfigError); float32 output whatever the storage ``dtype``; and the
    other differences of :class:`~embedlayer.layers.embedding.Embedding`.

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
        super().__init__(
            num_embeddings,
            embedding_dim,
            padding_idx=padding_idx,
            init=init,
            std=std,
            sparse=sparse,
            freeze=freeze,
            generator=generator,
            dtype=dtype,
            _weight=_weight,
        )
        self.mode = mode
        self.include_last_offset = bool(include_last_offset)

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> Self:
        """A bag layer whose table *is* ``embeddings`` (V, D), as ``torch.nn.EmbeddingBag.from_pretrained``
        (same arguments and order): no copy, no initialisation.

        Raises:
            ConfigError: ``embeddings`` is not a 2-D float32/float16/bfloat16 tensor, ``max_norm``
                set or ``scale_grad_by_freq=True`` (not supported by bags), or a bad setting.
        """
        weight = checked_table(embeddings, f"{cls.__name__}.from_pretrained")
        for name, value, expected in (("max_norm", max_norm, None), ("scale_grad_by_freq", scale_grad_by_freq, False)):
            if value != expected:
                raise ConfigError(
                    f"{cls.__name__}.from_pretrained: {name}={value!r} is not supported by bags; expected {expected}"
                )
        return cls(
            weight.shape[0],
            weight.shape[1],
            mode=mode,
            padding_idx=padding_idx,
            freeze=freeze,
            sparse=sparse,
            dtype=weight.dtype,
            include_last_offset=include_last_offset,
            _weight=weight,
        )

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
        storage: TableStorage | None = None,
    ) -> Self:
        """``from_pretrained`` for a table trained in place (``freeze=False`` by default, and
        ``storage``), as :meth:`Embedding.from_weight <embedlayer.layers.embedding.Embedding.from_weight>`.

        Raises:
            ConfigError: as :meth:`from_pretrained`.
        """
        layer = cls.from_pretrained(
            weight,
            freeze=freeze,
            mode=mode,
            sparse=sparse,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        layer.storage = storage
        return layer

    def forward(self, ids: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None) -> Tensor:
        """Pooled rows: ids (N,) with offsets (B,) bag starts, or ids (B, L) without -> (B, D) float32.

        ``per_sample_weights``: one float per id (same shape as ``ids``), in every mode.

        Raises:
            ConfigError: non-integer ids, offsets that do not fit the ids, weights of another shape.
            IdOutOfRangeError: an id < 0 or >= V.
        """
        from embedlayer.kernels.bag import embedding_bag

        return embedding_bag(
            self.weight,
            ids,
            offsets,
            mode=self.mode,
            per_sample_weights=per_sample_weights,
            padding_idx=self.padding_idx,
            include_last_offset=self.include_last_offset,
            sink=self._active_sink(),
            sparse=self.sparse,
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mode={self.mode!r}"
