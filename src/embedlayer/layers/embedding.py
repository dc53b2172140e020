"""The embedding layer: a (V, D) table whose forward pass copies rows.

``Embedding(V, D)(ids)`` equals ``one_hot(ids, V).float() @ weight`` (same output, same weight
gradient; tests/layers/test_embedding.py proves it) but costs a row copy per id instead of V·D
multiply-adds, and its gradient is non-zero only on the rows that occurred (``sparse=True`` hands
the optimizer exactly those rows).

Guarantees beyond ``torch.nn.Embedding``:

* the padding row is zero at init (also after ``from_vectors``; ``from_pretrained`` leaves the
  given row as it is, as torch does) and no optimizer step moves it:
  its gradient is masked to zero, and SGD (momentum, weight decay), Adam, AdamW, Adagrad,
  RMSprop and SparseAdam all leave a row exactly zero when its value, gradient and state are
  zero (tested for each);
* ``max_norm`` renormalises the *looked-up rows*, out of place: the weight is never modified
  by a forward pass and autograd differentiates the renormalisation (torch's in-place renorm
  edits the weight, breaks autograd when the weight is used twice: pytorch issue #26596);
* ids out of range raise ``IdOutOfRangeError`` naming the id and the table size, and
  non-integer ids raise ``ConfigError`` instead of a C++ message;
* ``dtype=torch.float16`` or ``torch.bfloat16`` stores the table in 2 bytes a value while the
  rows it returns are float32 (float32 compute);
* a row-wise optimizer of :mod:`embedlayer.sparse`, once bound (``LazyAdam(layer).bind()``),
  receives the gradient of the rows a lookup used (``layer.row_sink``) and updates them at the
  end of ``backward()``, without a (V, D) gradient (see :mod:`embedlayer.sparse.optim`); the
  binding is never saved with the layer (``__getstate__`` drops it, as it drops ``storage``);
* ``Embedding.from_pretrained`` wraps an existing tensor without copying it, as torch's does;
  ``from_weight`` is the same for a table trained in place (e.g. memory-mapped,
  :mod:`embedlayer.sparse.mmap`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from embedlayer.errors import ConfigError, FormatError
from embedlayer.kernels.checks import TABLE_DTYPES, check_ids

if TYPE_CHECKING:
    from typing import Self

    from embedlayer.kernels.tables import RowSink, TableStorage
    from embedlayer.layers.pretrained import CoverageReport
    from embedlayer.vectors import Vectors
    from embedlayer.vocab import Vocab

__all__ = ["INIT_SCHEMES", "STORAGE_DTYPES", "Embedding"]

InitScheme = Literal["normal", "uniform", "xavier"]
INIT_SCHEMES: tuple[str, ...] = ("normal", "uniform", "xavier")
#: Storage dtypes of a table; rows are returned as float32 whatever the storage.
STORAGE_DTYPES = TABLE_DTYPES


class Embedding(nn.Module):
    """A lookup table of ``num_embeddings`` rows of size ``embedding_dim``.

    Where it differs from ``torch.nn.Embedding`` (and why):

    * ``padding_idx=0`` by default in the constructor (torch: None), because a ``Vocab`` puts
      ``<pad>`` at id 0; ``from_pretrained`` keeps torch's None;
    * arguments after the two sizes are keyword-only, and ``freeze`` / ``generator`` / ``dtype``
      / ``init`` / ``std`` are constructor arguments (torch has ``_freeze`` and no init choice);
      the default init, N(0, 1), is torch's;
    * ``dtype`` is the *storage* (float32, float16 or bfloat16, not float64): lookups return
      float32 rows whatever it is, so half storage never means half-precision compute;
    * ``max_norm`` renormalises the looked-up rows out of place and differentiates through it
      (torch edits the weight in place, under no_grad);
    * ``scale_grad_by_freq`` is not supported (``from_pretrained`` raises ConfigError for True);
    * ids are checked: out-of-range ids raise ``IdOutOfRangeError``, float/bool ids ConfigError.

    Args:
        num_embeddings: V, the number of rows (``vocab.num_embeddings``, buckets included).
        embedding_dim: D, the size of each row.
        padding_idx: the row that pads sequences: zero at init, zero gradient, never moved by an
            optimizer. ``None`` for no padding row; a negative value counts from the end.
        init: ``"normal"``: N(0, std²), std 1.0 by default like ``torch.nn.Embedding``;
            ``"uniform"``: U(-√3·std, √3·std), the same variance as ``"normal"``;
            ``"xavier"``: Glorot uniform U(-a, a), a = √(6 / (V + D)), ``std`` ignored.
        std: the standard deviation of the initial values for ``"normal"`` and ``"uniform"``.
        max_norm: if set, each looked-up row whose ``norm_type``-norm exceeds it is scaled to
            ``max_norm / (norm + 1e-7)`` of itself (torch's formula), out of place.
        norm_type: p of the p-norm used with ``max_norm``.
        sparse: the weight gradient is a sparse COO tensor holding only the looked-up rows (use
            ``torch.optim.SparseAdam`` or plain SGD).
        freeze: create the weight with ``requires_grad=False``.
        generator: the random source of the initial table; ``None`` uses torch's default
            generator (so ``torch.manual_seed`` governs it), as every torch module does. The same
            seeded generator always gives the same table.
        dtype: storage of the table: float32, float16 or bfloat16 (values drawn in float32, then
            rounded). Lookups return float32 rows either way.

    Raises:
        ConfigError: a size, index, scheme, norm or dtype setting out of range.
    """

    weight: nn.Parameter  # (V, D)
    row_sink: RowSink | None  # a bound row-wise optimizer (its bind() sets it); never saved
    storage: TableStorage | None  # where the rows live when not in memory (from_weight); never saved

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        *,
        padding_idx: int | None = 0,
        init: InitScheme = "normal",
        std: float = 1.0,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        sparse: bool = False,
        freeze: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        _weight: Tensor | None = None,
    ) -> None:
        super().__init__()
        _check_positive_int("num_embeddings", num_embeddings)
        _check_positive_int("embedding_dim", embedding_dim)
        if dtype not in STORAGE_DTYPES:
            raise ConfigError(f"dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype!r}")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _normalise_padding(padding_idx, num_embeddings)
        if init not in INIT_SCHEMES:
            raise ConfigError(f"init must be one of {INIT_SCHEMES}, got {init!r}")
        if not _positive_finite(std):
            raise ConfigError(f"std must be a positive finite number, got {std!r}")
        if max_norm is not None and not _positive_finite(max_norm):
            raise ConfigError(f"max_norm must be a positive number or None, got {max_norm!r}")
        if not (isinstance(norm_type, (int, float)) and not isinstance(norm_type, bool) and norm_type > 0):
            raise ConfigError(f"norm_type must be a positive number (p of the p-norm), got {norm_type!r}")
        self.init, self.std = init, float(std)
        self.max_norm = None if max_norm is None else float(max_norm)
        self.norm_type = float(norm_type)
        self.sparse = bool(sparse)
        self.coverage: CoverageReport | None = None  # set by from_vectors
        self.row_sink = None
        self.storage = None
        if _weight is not None:  # from_pretrained: the tensor is used as is, not initialised
            self.weight = nn.Parameter(_weight, requires_grad=not freeze)
            return
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim, dtype=dtype), requires_grad=not freeze)
        self.reset_parameters(generator)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Self:
        """A layer whose table *is* ``embeddings`` (V, D), as ``torch.nn.Embedding.from_pretrained``:
        no copy (the parameter shares its memory), no initialisation, the padding row left as it is.

        Raises:
            ConfigError: ``embeddings`` is not a 2-D float32/float16/bfloat16 tensor,
                ``scale_grad_by_freq=True`` (not supported), or a bad setting.
        """
        weight = checked_table(embeddings, f"{cls.__name__}.from_pretrained")
        if scale_grad_by_freq:
            raise ConfigError(
                f"{cls.__name__}.from_pretrained: scale_grad_by_freq=True is not supported; expected "
                f"False (scale the loss per id instead)"
            )
        return cls(
            weight.shape[0],
            weight.shape[1],
            padding_idx=padding_idx,
            freeze=freeze,
            max_norm=max_norm,
            norm_type=norm_type,
            sparse=sparse,
            dtype=weight.dtype,
            _weight=weight,
        )

    @classmethod
    def from_weight(
        cls,
        weight: Tensor,
        *,
        padding_idx: int | None = None,
        freeze: bool = False,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        sparse: bool = False,
        storage: TableStorage | None = None,
    ) -> Self:
        """``from_pretrained`` for a table trained in place: ``freeze=False`` by default, and
        ``storage`` says where the rows live when not in memory (a memory-mapped file: whether it
        may be written, where optimizer state goes; see :mod:`embedlayer.kernels.tables`).

        Raises:
            ConfigError: as :meth:`from_pretrained`.
        """
        layer = cls.from_pretrained(
            weight, freeze=freeze, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type, sparse=sparse
        )
        layer.storage = storage
        return layer

    # --- initialisation ---------------------------------------------------------------------------
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Redraw the table with the layer's ``init`` scheme and zero the padding row."""
        V, D = self.num_embeddings, self.embedding_dim
        with torch.no_grad():
            # drawn in float32 whatever the storage, so a seed gives the same values rounded
            values = self.weight if self.weight.dtype == torch.float32 else torch.empty(V, D)
            if self.init == "normal":
                values.normal_(0.0, self.std, generator=generator)
            else:
                bound = math.sqrt(3.0) * self.std if self.init == "uniform" else math.sqrt(6.0 / (V + D))
                values.uniform_(-bound, bound, generator=generator)
            if values is not self.weight:
                self.weight.copy_(values)
        self.zero_padding_row()

    def zero_padding_row(self) -> None:
        """Set the padding row to zero (a no-op without ``padding_idx``)."""
        if self.padding_idx is not None:
            with torch.no_grad():
                self.weight[self.padding_idx].zero_()

    def load_weight(self, weight: Tensor) -> None:
        """Copy a (V, D) table into the layer (the padding row is then zeroed).

        Raises:
            FormatError: ``weight`` does not have shape (V, D).
        """
        if tuple(weight.shape) != (self.num_embeddings, self.embedding_dim):
            raise FormatError(
                f"weight has shape {tuple(weight.shape)}; expected ({self.num_embeddings}, {self.embedding_dim})"
            )
        with torch.no_grad():
            self.weight.copy_(weight)
        self.zero_padding_row()

    def __getstate__(self) -> dict[str, Any]:
        """The module's state for pickling and ``copy.deepcopy``, without the optimizer binding and
        the external storage: a copy or a saved model is a plain table in memory."""
        state = super().__getstate__()
        state["row_sink"] = None
        state["storage"] = None
        return state

    # --- freezing ---------------------------------------------------------------------------------
    def freeze(self) -> Self:
        """Stop training the table (``weight.requires_grad = False``); returns self."""
        self.weight.requires_grad_(False)
        return self

    def unfreeze(self) -> Self:
        """Train the table again (``weight.requires_grad = True``); returns self."""
        self.weight.requires_grad_(True)
        return self

    @property
    def frozen(self) -> bool:
        """True when the table receives no gradient."""
        return not self.weight.requires_grad

    # --- lookup -----------------------------------------------------------------------------------
    def forward(self, ids: Tensor) -> Tensor:
        """Look up rows: ids (...,) integer -> (..., D) float32.

        Raises:
            ConfigError: ``ids`` is not an integer tensor (floats or bools are refused rather than
                silently truncated).
            IdOutOfRangeError: an id is negative or not below V (naming the id, where it is, and V).
        """
        sink = self._active_sink()
        if sink is not None:
            from embedlayer.kernels.fused_lookup import fused_lookup

            # (..., D); the gather checks the ids' range as it copies; the backward hands the rows' gradient to sink
            rows = fused_lookup(self.weight, check_ids(ids, None), sink)
        else:
            ids = check_ids(ids, self.num_embeddings)
            rows = F.embedding(ids, self.weight, self.padding_idx, None, 2.0, False, self.sparse)  # (..., D)
            if rows.dtype != torch.float32:
                rows = rows.float()
        if self.max_norm is None:
            return rows
        # Out of place, autograd-safe max_norm (pytorch#26596): scale only the rows above it.
        norms = torch.linalg.vector_norm(rows, ord=self.norm_type, dim=-1, keepdim=True)  # (..., 1)
        scale = torch.where(norms > self.max_norm, self.max_norm / (norms + 1e-7), torch.ones_like(norms))
        return rows * scale

    def _active_sink(self) -> RowSink | None:
        """The bound optimizer when this lookup is to train the table through it (bound, the weight
        requires grad and grad mode is on), else None (plain autograd, or no gradient)."""
        if self.row_sink is not None and self.weight.requires_grad and torch.is_grad_enabled():
            return self.row_sink
        return None

    def extra_repr(self) -> str:
        parts = [
            f"{self.num_embeddings}, {self.embedding_dim}",
            f"padding_idx={self.padding_idx}",
            f"init={self.init!r}",
        ]
        if self.max_norm is not None:
            parts.append(f"max_norm={self.max_norm}, norm_type={self.norm_type}")
        if self.sparse:
            parts.append("sparse=True")
        if self.weight.dtype != torch.float32:
            parts.append(f"dtype={self.weight.dtype}")
        if self.frozen:
            parts.append("frozen=True")
        return ", ".join(parts)

    # --- pretrained -------------------------------------------------------------------------------
    @classmethod
    def from_vectors(
        cls,
        vectors: Vectors,
        vocab: Vocab,
        *,
        missing: Literal["random", "zero", "mean"] = "random",
        lowercase_fallback: bool = True,
        freeze: bool = False,
        seed: int = 0,
        **layer_kwargs: Any,
    ) -> Embedding:
        """A layer of ``vocab.num_embeddings`` rows initialised from pretrained ``vectors``.

        Rows are aligned by ``align_vectors`` (exact match, then lowercase; missing rows, specials
        and hash buckets drawn per ``missing`` with ``seed``); the padding row (``vocab.pad_id``
        unless ``padding_idx`` is passed) is zero. ``layer.coverage`` holds the CoverageReport.

        Raises:
            FormatError: ``embedding_dim`` passed and different from the vectors' dimension.
            ConfigError: a bad ``missing`` or layer setting.
        """
        from embedlayer.layers.pretrained import align_vectors

        dim = layer_kwargs.pop("embedding_dim", None)
        weight, report = align_vectors(
            vectors, vocab, missing=missing, lowercase_fallback=lowercase_fallback, seed=seed, embedding_dim=dim
        )
        layer_kwargs.setdefault("padding_idx", vocab.pad_id)
        # the random init is overwritten; a private generator keeps torch's global RNG untouched
        layer_kwargs.setdefault("generator", torch.Generator().manual_seed(seed))
        layer = cls(weight.shape[0], weight.shape[1], freeze=freeze, **layer_kwargs)
        layer.load_weight(weight)
        layer.coverage = report
        return layer


def checked_table(weight: object, where: str) -> Tensor:
    """``weight`` detached, after checking it is a 2-D float32/float16/bfloat16 tensor.

    Raises:
        ConfigError: naming ``where``, the dtype and shape found, and what was expected.
    """
    if not isinstance(weight, Tensor) or weight.dim() != 2 or weight.dtype not in STORAGE_DTYPES:
        got = f"{weight.dtype} {tuple(weight.shape)}" if isinstance(weight, Tensor) else type(weight).__name__
        raise ConfigError(f"{where}: expected a 2-D float32, float16 or bfloat16 tensor, got {got}")
    return weight.detach()


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")


def _positive_finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _normalise_padding(padding_idx: int | None, num_embeddings: int) -> int | None:
    if padding_idx is None:
        return None
    valid = isinstance(padding_idx, int) and not isinstance(padding_idx, bool)
    if not valid or not -num_embeddings <= padding_idx < num_embeddings:
        raise ConfigError(
            f"padding_idx must be None or an int in [{-num_embeddings}, {num_embeddings}), got {padding_idx!r}"
        )
    return padding_idx % num_embeddings
