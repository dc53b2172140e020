"""Atomic file writes: a crash never leaves a half-written model, vocab or vectors file.

Files and folders we create get the permissions a plain ``open``/``mkdir`` would give them (0o666
or 0o777 minus the umask), not the 0o600/0o700 of ``mkstemp``/``mkdtemp`` or of libraries that
recreate the file they are given (safetensors does): every file of a saved folder has one mode.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_write", "default_mode", "set_default_modes"]


def default_mode(*, directory: bool = False) -> int:
    """The mode a new file (0o666) or ``directory`` (0o777) gets under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def _new_file_mode(target: Path) -> int:
    """Permissions for the file we are about to create: the old file's (a deliberate chmod
    survives a re-save), else the umask's default."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        return default_mode()


def set_default_modes(root: str | os.PathLike[str]) -> None:
    """Give ``root`` and everything under it the umask's default modes (a tree we just made with
    ``mkdtemp`` or filled through libraries that create 0o600 files)."""
    top = Path(root)
    file_mode, dir_mode = default_mode(), default_mode(directory=True)
    os.chmod(top, dir_mode)
    for folder, dirs, files in os.walk(top):
        for name in dirs:
            os.chmod(os.path.join(folder, name), dir_mode)
        for name in files:
            os.chmod(os.path.join(folder, name), file_mode)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it over ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    ``mode`` is ``"w"`` (text, UTF-8 by default) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.chmod(tmp, _new_file_mode(target))
    try:
        with os.fdopen(
            fd, mode, encoding=None if "b" in mode else encoding, newline=None if "b" in mode else "\n"
        ) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for libraries that write by file name
    (safetensors, matplotlib); it is renamed over ``path`` when the block succeeds.

    The mode is set after the block, as such libraries may recreate the file (0o600)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    mode = _new_file_mode(target)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
