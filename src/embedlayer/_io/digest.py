"""Fingerprints of files and settings, and the first difference between two of them.

A run that can be resumed records what it was made from (its settings, digests of its data files
and of its vocabulary); resuming compares that record with the run asked for now and names the
first thing that changed, so a resume never continues with other data or other settings.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["SAMPLE_BYTES", "describe_difference", "file_digest", "first_difference"]

#: ``file_digest`` hashes this many bytes at the start and at the end of a file by default.
SAMPLE_BYTES = 1 << 20
_READ = 1 << 20


def file_digest(path: str | os.PathLike[str], *, sample: int | None = SAMPLE_BYTES) -> dict[str, Any]:
    """``{"size": bytes, "mtime_ns": modification time, "sha256": hex}`` of the file ``path``.

    ``sample``: hash only the first and the last ``sample`` bytes (the whole file when it is no
    longer than twice that), which with the size and mtime tells two data files apart cheaply;
    None: hash the whole file (a manifest that must catch any change).
    Raises OSError (naming the file) when it cannot be read.
    """
    with open(path, "rb") as fh:
        stat = os.fstat(fh.fileno())
        h = hashlib.sha256()
        if sample is None or stat.st_size <= 2 * sample:
            while block := fh.read(_READ):
                h.update(block)
        else:
            h.update(fh.read(sample))
            fh.seek(stat.st_size - sample)
            h.update(fh.read(sample))
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": h.hexdigest()}


def first_difference(saved: Any, current: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], Any, Any] | None:
    """``(key path, saved value, current value)`` of the first difference, or None when equal.

    Mappings are compared key by key in the order of ``current`` (then keys only ``saved`` has),
    recursing into nested mappings; other values compare with ``==``. A key missing on one side
    shows as None there."""
    if isinstance(saved, Mapping) and isinstance(current, Mapping):
        for key in [*current, *(k for k in saved if k not in current)]:
            found = first_difference(saved.get(key), current.get(key), (*path, str(key)))
            if found is not None:
                return found
        return None
    return None if saved == current else (path, saved, current)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_difference(diff: tuple[tuple[str, ...], Any, Any], *, then: str = "the checkpoint was made with") -> str:
    """One phrase for a ``first_difference`` result: ``"--max-len is 64 but <then> 128"``, or for
    a nested key ``"--train differs (size 1200, <then> 1000)"``."""
    path, saved, current = diff
    if len(path) <= 1:
        name = path[0] if path else "the value"
        return f"{name} is {_short(current)} but {then} {_short(saved)}"
    return f"{path[0]} differs ({'.'.join(path[1:])} {_short(current)}, {then} {_short(saved)})"
