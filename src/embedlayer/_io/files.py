"""What kind of file a path names, checked before a reader opens it.

Opening a FIFO for reading waits until some process writes to it (forever, when none does), and a
device such as /dev/urandom never ends: a reader that expects a data file checks first that the
path names a regular file, so that such a path is an error naming it instead of a hang. Pipes
given by name (``/dev/stdin`` when stdin is a pipe) are FIFOs too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from embedlayer.errors import DataError, EmbedLayerError, where

__all__ = ["check_regular_file"]

_KINDS = (
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular_file(
    path: str | os.PathLike[str], *, expected: str, error: type[EmbedLayerError] = DataError
) -> Path:
    """``path`` as a Path when it names a regular file (symbolic links followed); stats, never opens.

    Args:
        expected: what the caller reads, for the message (``"a vectors file"``).
        error: the error class to raise (``DataError`` for data, ``FormatError`` for vectors...).

    Raises:
        ``error`` naming the path and ``expected``: no such file; a directory; a pipe, device or
        socket ("... is a pipe (FIFO), not a regular file; expected ..."); a path that cannot be
        looked up (permissions, a file where a folder should be).
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        raise error(f"{where(target)}: no such file; expected {expected}") from None
    except OSError as exc:
        raise error(
            f"{where(target)}: cannot be read ({exc.strerror or type(exc).__name__}); expected {expected}"
        ) from None
    if stat.S_ISREG(mode):
        return target
    if stat.S_ISDIR(mode):
        raise error(f"{where(target)}: is a directory; expected {expected}")
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise error(f"{where(target)}: is {kind}, not a regular file; expected {expected}")
