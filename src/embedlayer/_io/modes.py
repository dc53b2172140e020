"""The permissions of the files and folders we create.

Files and folders get what a plain ``open``/``mkdir`` would give them (0o666 or 0o777 minus the
umask), not the 0o600/0o700 of ``mkstemp``/``mkdtemp`` or of libraries that recreate the file they
are given (safetensors does): every file of a saved folder has one mode.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_mode", "new_file_mode", "set_default_modes"]


def default_mode(*, directory: bool = False) -> int:
    """The mode a new file (0o666) or ``directory`` (0o777) gets under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def new_file_mode(target: str | os.PathLike[str]) -> int:
    """Permissions for a file about to be written at ``target``: the old file's (a deliberate
    chmod survives a re-save), else the umask's default."""
    try:
        return Path(target).stat().st_mode & 0o777
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
