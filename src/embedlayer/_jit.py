"""numba's on-disk cache, keyed on every source file a kernel is compiled from.

``numba.njit(cache=True)`` saves a compiled function beside its file (``__pycache__/*.nbi`` index,
``*.nbc`` code) and serves it again while a stamp of *that file* is unchanged. A kernel that calls
jitted functions or intrinsics of other modules compiles their code into its own, so after an edit
of those modules the cache would go on serving the old code. ``njit_cached(sources=...)`` names
those modules: the index's stamp then covers them too, and an edit of any of them compiles the
kernel again on its next call. Everything else is numba's: where the cache lives (in-tree, else
``NUMBA_CACHE_DIR`` or the user's cache folder), the key per signature and machine, the compiled
code itself (the options are passed to ``numba.njit`` unchanged).

The stamp goes through numba's private cache classes (``numba.core.caching``). Where they are not
what this module expects, the kernel is compiled without a disk cache, with a warning: slower to
start, never stale.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import inspect
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numba

__all__ = ["njit_cached", "source_file"]

F = TypeVar("F", bound=Callable[..., Any])


def njit_cached(*, sources: Iterable[str | os.PathLike[str]] = (), **options: Any) -> Callable[[F], F]:
    """``numba.njit(cache=True, **options)`` whose cache also sees edits of ``sources``.

    ``sources`` names the modules whose jitted functions or intrinsics the kernel calls (a dotted
    module name, resolved without importing anything new when the module is already imported, or
    a path to a ``.py`` file, relative paths taken from the kernel's own folder). The kernel's own
    file is always covered. Raises ValueError for a source that is not a file and TypeError when
    ``cache`` is passed (this decorator always caches)."""
    if "cache" in options:
        raise TypeError("njit_cached: expected numba options without 'cache' (it always caches)")
    wanted = tuple(sources)

    def decorate(func: F) -> F:
        dispatcher = numba.njit(**options)(func)
        if not hasattr(dispatcher, "enable_caching"):  # NUMBA_DISABLE_JIT: a plain Python function
            return dispatcher
        here = Path(inspect.getfile(func)).parent
        files = tuple(source_file(source, here) for source in wanted)
        cache = _stamped_cache(dispatcher.py_func, files)
        if cache is None:
            warnings.warn(
                f"{func.__qualname__}: numba's cache classes are not the ones embedlayer knows "
                f"(numba {numba.__version__}); compiled without a disk cache",
                RuntimeWarning,
                stacklevel=2,
            )
        else:
            dispatcher._cache = cache
        return dispatcher

    return decorate


def source_file(source: str | os.PathLike[str], here: Path | None = None) -> Path:
    """The ``.py`` file of ``source``: a dotted module name or a path (relative to ``here``).
    Raises ValueError when it names no file."""
    if isinstance(source, str) and not source.endswith(".py") and os.sep not in source:
        try:
            spec = importlib.util.find_spec(source)
        except (ImportError, ValueError) as exc:
            raise ValueError(f"njit_cached source {source!r}: no such module ({exc})") from None
        origin = spec.origin if spec is not None else None
        if origin is None or not os.path.isfile(origin):
            raise ValueError(f"njit_cached source {source!r}: expected a module with a source file")
        return Path(origin).resolve()
    path = Path(source)
    if not path.is_absolute() and here is not None:
        path = here / path
    if not path.is_file():
        raise ValueError(f"njit_cached source {str(source)!r}: expected a file, {path} is not one")
    return path.resolve()


def _digest(path: Path) -> str:
    """sha256 of the file's bytes, computed again only when its size or mtime changed."""
    st = path.stat()
    return _digest_of(str(path), st.st_mtime_ns, st.st_size)


@functools.cache
def _digest_of(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _stamped_cache(py_func: Callable[..., Any], files: tuple[Path, ...]) -> Any | None:
    """numba's ``FunctionCache`` for ``py_func`` whose source stamp also covers ``files``, or None
    when numba's private cache API is not the expected one."""
    try:
        from numba.core.caching import CompileResultCacheImpl, FunctionCache, _CacheLocator
    except ImportError:
        return None
    if not isinstance(getattr(FunctionCache, "_impl_class", None), type):
        return None

    class StampedLocator(_CacheLocator):
        """numba's own locator for the function, with the dependencies' digests in its stamp."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner
            self._py_file = getattr(inner, "_py_file", None)  # numba's warnings name the file

        def ensure_cache_path(self) -> None:
            self._inner.ensure_cache_path()

        def get_cache_path(self) -> str:
            return str(self._inner.get_cache_path())

        def get_disambiguator(self) -> str:
            return str(self._inner.get_disambiguator())

        def get_source_stamp(self) -> object:
            # the names, not the paths: a moved checkout reuses its cache when nothing changed
            return (self._inner.get_source_stamp(), tuple((f.name, _digest(f)) for f in files))

    class StampedImpl(CompileResultCacheImpl):
        def __init__(self, func: Callable[..., Any]) -> None:
            super().__init__(func)
            self._locator = StampedLocator(self._locator)

    class StampedCache(FunctionCache):
        _impl_class = StampedImpl
        sources = files

    try:
        cache = StampedCache(py_func)
    except (AttributeError, TypeError):  # numba's classes changed shape under us
        return None
    if not isinstance(getattr(cache, "_impl", None), StampedImpl):
        return None
    return cache
