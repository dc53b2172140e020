"""Tables bigger than memory: a native vectors directory memory-mapped and trained in place.

``open_table(path)`` maps the float32 matrix of a native vectors directory
(:mod:`embedlayer.vectors.native`) read-write, shared with the file: nothing is read until a
lookup touches a row, and a sparse optimizer's update writes the touched rows into the page
cache, from where the OS writes them to the file (``flush()`` forces it, ``msync``). Only the
rows a batch uses are ever paged in, so the table may be larger than RAM; the memory a process
owns stays that of the batch (tested under an ``RLIMIT_DATA`` smaller than the table).

    table = open_table("big.vectors", state_dir="big.state")   # LazyAdam moments in files too
    emb = table.embedding(padding_idx=None)                    # an Embedding over the mapping
    opt = LazyAdam(emb, lr=1e-3).bind()
    ... loss.backward() ...                                    # touched rows updated in the file
    table.flush()

The table is the ``storage`` of the modules it makes (:class:`~embedlayer.kernels.tables.TableStorage`):
it says whether they may be written and where an optimizer's state goes; a copy of such a module
(``copy.deepcopy``, ``torch.save``) is an ordinary table in memory.

``writable=False`` maps the file copy-on-write instead: the table can be read (and its modules
used for inference) but never changes the file, and an optimizer refuses it with a clear error.
Optimizer state goes to ``state_dir`` (one ``.npy`` per state, created zero-filled as sparse
files, reopened as they are so a later run resumes), or to memory when ``state_dir`` is None.
"""

from __future__ import annotations

import json
import os
import stat
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import torch
from torch import Tensor

from embedlayer.errors import ConfigError, FormatError, where
from embedlayer.layers.bag import EmbeddingBag
from embedlayer.layers.embedding import Embedding
from embedlayer.vectors.native import META, NativeTable, open_native

__all__ = ["MmapTable", "open_table"]

_NP_DTYPES = {torch.float32: np.float32, torch.int64: np.int64, torch.int32: np.int32}


class MmapTable:
    """A memory-mapped (V, D) float32 table from a native vectors directory. Build with
    :func:`open_table`.

    Attributes:
        path: the directory; ``matrix_path`` its .npy file.
        weight: (V, D) float32 tensor sharing the mapping (no copy).
        writable: whether training may write the file.
        state_dir: where optimizer state files go (None: memory).
    """

    def __init__(
        self,
        path: Path,
        matrix_path: Path,
        array: np.ndarray,
        writable: bool,
        state_dir: Path | None,
        vectors: NativeTable,
    ) -> None:
        self.path, self.matrix_path = path, matrix_path
        self.writable, self.state_dir = writable, state_dir
        self._array = array
        self._vectors = vectors
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch warns on arrays it cannot prove writable
            self.weight: Tensor = torch.from_numpy(array)
        self.closed = False

    @property
    def shape(self) -> tuple[int, int]:
        """(V, D)."""
        return tuple(self.weight.shape)  # type: ignore[return-value]

    @property
    def words(self) -> tuple[str, ...]:
        """The V words of words.txt, read on first use."""
        return self._vectors.words

    @property
    def source(self) -> str:
        """The matrix file, for messages."""
        return str(self.matrix_path)

    def embedding(self, *, padding_idx: int | None = None, max_norm: float | None = None) -> Embedding:
        """An :class:`~embedlayer.layers.embedding.Embedding` over the mapped rows (no copy), with
        this table as its ``storage`` (optimizer state in ``state_dir``); frozen when read-only."""
        return Embedding.from_weight(
            self.weight, padding_idx=padding_idx, max_norm=max_norm, freeze=not self.writable, storage=self
        )

    def bag(self, *, mode: str = "mean", padding_idx: int | None = None) -> EmbeddingBag:
        """An :class:`~embedlayer.layers.bag.EmbeddingBag` over the mapped rows (no copy), as :meth:`embedding`."""
        return EmbeddingBag.from_weight(
            self.weight, mode=mode, padding_idx=padding_idx, freeze=not self.writable, storage=self
        )

    def allocate_state(self, name: str, shape: Sequence[int], dtype: torch.dtype) -> Tensor:
        """A zero-initialised optimizer state tensor: memory-mapped from ``state_dir/<name>.npy``
        (reopened as is when the file exists with the same shape and dtype), or in memory.

        Raises:
            ConfigError: an existing state file of another shape or dtype.
        """
        shape = tuple(int(s) for s in shape)
        if self.state_dir is None:
            return torch.zeros(shape, dtype=dtype)
        np_dtype = np.dtype(_NP_DTYPES[dtype])
        file = self.state_dir / f"{name}.npy"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if file.exists():
            array = np.lib.format.open_memmap(file, mode="r+")
            if array.shape != shape or array.dtype != np_dtype:
                raise ConfigError(
                    f"{where(file)}: optimizer state {name!r} holds {array.dtype} {array.shape}; expected "
                    f"{np_dtype} {shape} for this table (delete it to start afresh)"
                )
        else:  # a sparse file: no disk blocks until rows are written
            array = np.lib.format.open_memmap(file, mode="w+", dtype=np_dtype, shape=shape)
        return torch.from_numpy(array)

    def flush(self) -> None:
        """Write the updated rows (and memory-mapped optimizer state) to disk now (``msync``)."""
        if self.writable and isinstance(self._array, np.memmap):
            self._array.flush()

    def close(self) -> None:
        """Flush; the mapping itself is released when the last tensor using it is gone."""
        self.flush()
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-write" if self.writable else "read-only"
        return f"MmapTable({str(self.path)!r}, shape={self.shape}, {mode})"


def open_table(
    path: str | os.PathLike[str], *, writable: bool = True, state_dir: str | os.PathLike[str] | None = None
) -> MmapTable:
    """Map the matrix of the native vectors directory ``path`` as a trainable table.

    Args:
        writable: map the file read-write and shared (training writes it); False maps it
            copy-on-write (the file is never changed, optimizers refuse the table).
        state_dir: directory for memory-mapped optimizer state (None: state in memory).

    Raises:
        FormatError: not a valid native directory (see ``open_native``), or an empty table.
        ConfigError: ``writable=True`` and the matrix file is read-only (no write permission bit,
            or the OS refuses to open it for writing), naming the file.
    """
    root = Path(path)
    vectors = open_native(root)  # validates meta.json, the .npy header and the file size
    meta = json.loads((root / META).read_text(encoding="utf-8"))
    matrix_path = root / meta["matrix"]
    if meta["count"] == 0:
        raise FormatError(f"{where(matrix_path)}: the table has no rows; expected at least one to train")
    if writable:
        _check_writable(matrix_path)
        try:
            array = np.lib.format.open_memmap(matrix_path, mode="r+")
        except PermissionError as exc:
            raise _read_only(matrix_path, str(exc)) from None
        except OSError as exc:  # a read-only file system
            raise _read_only(matrix_path, exc.strerror or str(exc)) from None
    else:
        array = np.lib.format.open_memmap(matrix_path, mode="c")
    return MmapTable(root, matrix_path, array, writable, None if state_dir is None else Path(state_dir), vectors)


def _check_writable(file: Path) -> None:
    mode = file.stat().st_mode
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise _read_only(file, f"permissions {stat.filemode(mode)}")
    if not os.access(file, os.W_OK):
        raise _read_only(file, "no write access for this user")


def _read_only(file: Path, why: str) -> ConfigError:
    return ConfigError(
        f"{where(file)}: the table file is read-only ({why}); expected a writable file to train it in "
        f"place (or open_table(..., writable=False) to only read it)"
    )
