"""Atomic file writes: a crash never leaves a half-written model, vocab or vectors file.

The file is written in a scratch folder beside its place (same file system, so the final rename
is atomic) and renamed over the target when complete. Whatever ends the write short of
``kill -9`` removes the scratch folder; after ``kill -9`` the next atomic write in the same folder
finds the dead run's scratch folder (its lock is free) and removes it (see ``lock.scratch_dir``).
The file gets the mode the old one had, else the umask's default (see ``modes``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from embedlayer._io.lock import scratch_dir
from embedlayer._io.modes import new_file_mode

__all__ = ["atomic_path", "atomic_write"]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it over ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    ``mode`` is ``"w"`` (text, UTF-8 by default) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    binary = "b" in mode
    with (
        atomic_path(path) as tmp,
        open(tmp, mode, encoding=None if binary else encoding, newline=None if binary else "\n") as fh,
    ):
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (in a scratch folder) for libraries that write by
    file name (safetensors, matplotlib); it is renamed over ``path`` when the block succeeds.

    The mode is set after the block, as such libraries may recreate the file (0o600)."""
    target = Path(path)
    mode = new_file_mode(target)
    with scratch_dir(target.parent) as folder:
        tmp = folder / target.name
        tmp.touch(exist_ok=False)  # an empty file, as mkstemp would give: the caller may open or replace it
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, target)
