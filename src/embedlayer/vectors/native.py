"""The native vectors format: a directory that opens in O(1) and is queried through memory mapping.

::

    glove.vectors/
      meta.json     {"format": "embedlayer.vectors", "version": 1, "count": N, "dim": D,
                     "dtype": "float32", "matrix": "vectors.npy", "words": "words.txt"}
      vectors.npy   float32 (N, D), C order (numpy's own format: a short header, then raw rows)
      words.txt     the N words, one a line, UTF-8, each ending in "\\n" (so a word cannot hold "\\n")

Opening reads meta.json and the .npy header, checks them against the file sizes, and maps the
matrix read-only: the rows are paged in by the OS when a query touches them, so a table larger
than RAM can be queried. words.txt is read only when a word lookup first needs it. Nothing in the
directory is executed or unpickled (``allow_pickle=False``).

Saving writes a temporary directory beside the target (in a scratch folder, which the next save
there removes if this one was killed) and renames it into place; an existing native directory at
the target is swapped out and then deleted, never left half-written.

This module builds no ``Vectors`` (``Vectors.load`` / ``Vectors.save`` call it): ``open_native``
returns a ``NativeTable`` (the mapped matrix, the words read on first use), ``write_native`` takes
words and a matrix.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from embedlayer._io import scratch_dir
from embedlayer.errors import ConfigError, FormatError, where
from embedlayer.vectors.checks import check_limit

__all__ = ["NativeTable", "open_native", "write_native", "is_native", "FORMAT_NAME", "VERSION", "META"]

FORMAT_NAME = "embedlayer.vectors"
VERSION = 1
META = "meta.json"
_MATRIX = "vectors.npy"
_WORDS = "words.txt"


def is_native(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a directory holding a ``meta.json`` (a native table, perhaps a bad one)."""
    return (Path(path) / META).is_file()


class NativeTable:
    """An opened native directory: ``matrix`` is the (N, D) float32 table mapped read-only, and
    ``words`` the N words, read from words.txt on first use. ``source`` names the words file."""

    def __init__(self, matrix: np.ndarray, words_path: Path, count: int) -> None:
        self.matrix = matrix
        self.source = str(words_path)
        self._words_path = words_path
        self._count = count

    @functools.cached_property
    def words(self) -> tuple[str, ...]:
        """The N words of the (possibly limited) table, in row order; read once.

        Raises:
            FormatError (naming words.txt and the line): bad UTF-8, or a line count other than
                meta.json's ``count``.
        """
        return tuple(_read_words(self._words_path, len(self.matrix), self._count))


def open_native(path: str | os.PathLike[str], *, limit: int | None = None) -> NativeTable:
    """Open a native vectors directory: O(1) in the table size, the matrix memory-mapped read-only.

    Args:
        path: the directory.
        limit: only the first ``limit`` rows (a view: nothing is copied).

    Returns:
        a ``NativeTable``. Values are not scanned for NaN/inf on opening (``write_native`` is only
        given the checked rows of a ``Vectors``), and the words are not read.

    Raises:
        ConfigError: bad ``limit``.
        FormatError (naming the file): not a directory, missing or bad meta.json (format, version,
            count, dim, dtype, file names), a matrix file whose header, shape, order or size
            disagrees with meta.json, a missing words file.
    """
    check_limit(limit)
    root = Path(path)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        raise FormatError(f"{where(root)}: {what}; expected a native vectors directory holding {META}")
    meta = _read_meta(root / META)
    count, dim = meta["count"], meta["dim"]
    matrix = _open_matrix(root / meta["matrix"], count, dim)
    words_path = root / meta["words"]
    if not words_path.is_file():
        raise FormatError(f"{where(words_path)}: missing; {META} names it as the words file")
    if words_path.stat().st_size < count:
        raise FormatError(
            f"{where(words_path)}: {words_path.stat().st_size} bytes cannot hold {count} lines; "
            f"expected one word a line as {META} says"
        )
    rows = count if limit is None else min(limit, count)
    return NativeTable(matrix[:rows], words_path, count)


def write_native(words: Sequence[str], matrix: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write ``words`` and their (N, D) float32 rows (those of a ``Vectors``: unique words, finite
    values) as a native directory at ``path``, atomically.

    An existing native directory at ``path`` is replaced (swapped aside, then deleted); anything
    else there is refused, so a typo never deletes a user's directory.

    Raises:
        ConfigError: ``path`` exists and is a file or a directory that is not a native table.
        FormatError: a word containing "\\n" or that cannot be encoded as UTF-8.
    """
    target = Path(path)
    if target.exists() and not (target.is_dir() and (is_native(target) or not any(target.iterdir()))):
        raise ConfigError(f"{target} exists and is not a native vectors directory; refusing to replace it")
    words_bytes = _encode_words(words)
    with scratch_dir(target.parent) as scratch:  # a run killed here leaves it to the next one to remove
        tmp = scratch / target.name
        tmp.mkdir()
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        _write(tmp / _MATRIX, lambda fh: np.save(fh, matrix, allow_pickle=False))
        _write(tmp / _WORDS, lambda fh: fh.write(words_bytes))
        meta = {
            "format": FORMAT_NAME,
            "version": VERSION,
            "count": len(words),
            "dim": matrix.shape[1],
            "dtype": "float32",
            "matrix": _MATRIX,
            "words": _WORDS,
        }
        _write(tmp / META, lambda fh: fh.write((json.dumps(meta, indent=1) + "\n").encode()))
        os.chmod(tmp, 0o777 & ~_umask())
        _swap_into_place(tmp, target, aside=scratch / "replaced")


# --- reading -------------------------------------------------------------------------------------
def _read_meta(meta_path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise FormatError(f"{where(meta_path)}: missing; expected a native vectors directory") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{where(meta_path)}: not valid JSON ({exc}); expected the format's metadata") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FormatError(f"{where(meta_path)}: format is {got!r}; expected {FORMAT_NAME!r}")
    version = meta.get("version")
    if not _is_int(version) or version < 1:
        raise FormatError(f"{where(meta_path)}: version is {version!r}; expected {VERSION}")
    if version > VERSION:
        raise FormatError(
            f"{where(meta_path)}: version {version} is newer than this embedlayer reads ({VERSION}); upgrade embedlayer"
        )
    for key, low in (("count", 0), ("dim", 1)):
        if not _is_int(meta.get(key)) or meta[key] < low:
            raise FormatError(f"{where(meta_path)}: {key} is {meta.get(key)!r}; expected an int >= {low}")
    if meta.get("dtype") != "float32":
        raise FormatError(f"{where(meta_path)}: dtype is {meta.get('dtype')!r}; expected 'float32'")
    for key in ("matrix", "words"):
        name = meta.get(key)
        # A bare file name inside the directory: meta.json must not point anywhere else on disk.
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise FormatError(f"{where(meta_path)}: {key} is {name!r}; expected a file name inside the directory")
    return meta


def _open_matrix(npy: Path, count: int, dim: int) -> np.ndarray:
    """Map the .npy read-only after checking its header and size against meta.json."""
    if not npy.is_file():
        raise FormatError(f"{where(npy)}: missing; {META} names it as the matrix file")
    try:
        with open(npy, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f".npy format version {version[0]}.{version[1]}, expected 1.0 or 2.0")
            offset = fh.tell()
    except (ValueError, OSError, SyntaxError, EOFError) as exc:
        raise FormatError(f"{where(npy)}: not a valid .npy file ({exc})") from None
    if dtype != np.dtype("<f4") or fortran or shape != (count, dim):
        raise FormatError(
            f"{where(npy)}: holds {dtype} {shape} in {'Fortran' if fortran else 'C'} order; "
            f"expected little-endian float32 ({count}, {dim}) in C order as {META} says"
        )
    size, expected = npy.stat().st_size, offset + count * dim * 4
    if size != expected:
        raise FormatError(
            f"{where(npy)}: {size} bytes; expected {expected} for float32 ({count}, {dim}) "
            f"({'truncated' if size < expected else 'trailing bytes'})"
        )
    if count == 0:  # an empty file region cannot be mapped
        array = np.zeros((0, dim), dtype=np.float32)
    else:
        array = np.memmap(npy, dtype=np.float32, mode="r", offset=offset, shape=(count, dim)).view(np.ndarray)
    array.flags.writeable = False
    return array


def _read_words(path: Path, rows: int, count: int) -> list[str]:
    """The first ``rows`` words of words.txt (all of them must be there: ``count`` lines)."""
    with open(path, "rb") as fh:
        if rows == count:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                raise FormatError(f"{where(path)}: last line has no final newline; expected one word a line")
            lines = data.split(b"\n")[:-1] if data else []
            if len(lines) != count:
                raise FormatError(f"{where(path)}: {len(lines)} lines; expected {count} words as {META} says")
        else:
            lines = [line[:-1] if line.endswith(b"\n") else line for line in islice(fh, rows)]
            if len(lines) < rows:
                raise FormatError(f"{where(path)}: {len(lines)} lines; expected {count} words as {META} says")
    try:
        return [line.decode("utf-8") for line in lines]
    except UnicodeDecodeError:
        for i, line in enumerate(lines):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise FormatError(
                    f"{where(path, i + 1)}: word is not valid UTF-8 ({exc.reason} at byte {exc.start}); expected UTF-8"
                ) from None
        raise  # pragma: no cover


# --- writing -------------------------------------------------------------------------------------
def _encode_words(words: Sequence[str]) -> bytes:
    for i, word in enumerate(words):
        if "\n" in word:
            raise FormatError(f"word {word!r} (row {i}) contains a newline; the native format keeps one word a line")
    try:
        return "".join(w + "\n" for w in words).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatError(
            f"a word cannot be written as UTF-8 ({exc.reason}: {exc.object[exc.start : exc.end]!r}); "
            f"expected valid Unicode text"
        ) from None


def _write(path: Path, fill) -> None:
    with open(path, "wb") as fh:
        fill(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o666 & ~_umask())


def _swap_into_place(tmp: Path, target: Path, *, aside: Path) -> None:
    """Rename the finished ``tmp`` directory to ``target``. A directory cannot be renamed over a
    non-empty one, so an existing target is first renamed to ``aside`` (in the scratch folder,
    which deletes it with itself)."""
    if not target.exists():
        os.replace(tmp, target)
        return
    os.replace(target, aside)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(aside, target)  # put the previous table back
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
