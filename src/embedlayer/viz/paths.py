"""Check an output path before the work that produces it, so a bad path fails at once, clearly."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from embedlayer.errors import ConfigError

__all__ = ["check_writable"]


def check_writable(path: str | os.PathLike[str], *, what: str = "output", directory: bool = False) -> Path:
    """Make sure ``path`` can be written (a file, or with ``directory`` a folder to write into):
    its folder is created if missing and a temporary file is created and removed there.

    Raises:
        ConfigError: the path is a directory where a file is expected (or a file where a folder
            is expected), or its folder cannot be created or written, naming the path and the reason.
    """
    target = Path(path)
    if not directory and target.is_dir():
        raise ConfigError(f"{what} {os.fspath(path)!r} is a directory; expected a file path")
    folder = target if directory else (target.parent if str(target.parent) else Path("."))
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(f"{what} {os.fspath(path)!r} cannot be written: {os.fspath(blocker)!r} is a file, not a "
                          f"folder; expected a path in a writable folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".embedlayer-write-check.", dir=folder)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{what} {os.fspath(path)!r} cannot be written: {reason} "
                          f"({exc.filename or folder}); expected a path in a writable folder") from None
    return target
