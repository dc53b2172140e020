"""numba's disk cache keyed on every source of a kernel: an edit of a module whose jitted code a
kernel compiles in is seen by the next process (numba's own ``cache=True`` is not), an unedited
kernel still loads from the cache, and every cached kernel of the package declares its sources."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from numba.core.dispatcher import Dispatcher
from numba.core.extending import _Intrinsic

import embedlayer
import embedlayer.errors
from embedlayer import _jit
from embedlayer._jit import njit_cached

USES_NUMBA = re.compile(r"^\s*(from numba\b|import numba\b)", re.MULTILINE)

DEPENDENCY = """
from numba import njit

VALUE = {value}


@njit(inline="always")
def value():
    return VALUE
"""

KERNELS = """
from numba import njit

from embedlayer._jit import njit_cached
from dependency import value


@njit_cached(sources=("dependency",), nogil=True)
def keyed():
    return value()


@njit(cache=True, nogil=True)
def plain():
    return value()
"""

RUN = """
import json, sys
sys.path.insert(0, sys.argv[1])
import kernels

out = {}
for name in ("keyed", "plain"):
    kernel = getattr(kernels, name)
    result = kernel()
    stats = kernel.stats
    out[name] = [result, sum(stats.cache_hits.values()), sum(stats.cache_misses.values())]
print(json.dumps(out))
"""


def _run(folder: Path) -> dict[str, list[int]]:
    """A fresh process imports the two kernels and calls them: {name: [result, hits, misses]}."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "NUMBA_DISABLE_JIT")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # an edit within the same second must not meet a stale .pyc
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(folder)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_an_edited_dependency_is_compiled_again_and_an_unedited_one_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "dependency.py").write_text(DEPENDENCY.format(value=1))
    (tmp_path / "kernels.py").write_text(KERNELS)

    assert _run(tmp_path) == {"keyed": [1, 0, 1], "plain": [1, 0, 1]}  # compiled, saved
    assert _run(tmp_path) == {"keyed": [1, 1, 0], "plain": [1, 1, 0]}  # loaded from the cache
    assert list((tmp_path / "__pycache__").glob("kernels.keyed-*.nbi"))

    (tmp_path / "dependency.py").write_text(DEPENDENCY.format(value=2))
    after = _run(tmp_path)
    assert after["keyed"] == [2, 0, 1]  # the edit is seen: compiled again
    # numba's own key is the kernel's file alone: it serves the code compiled before the edit
    # (the reason for njit_cached; should numba ever see the edit, this line says so)
    assert after["plain"] == [1, 1, 0]
    assert _run(tmp_path)["keyed"] == [2, 1, 0]  # and the new code is cached in turn


def test_without_numbas_cache_classes_it_compiles_without_a_disk_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jit, "_stamped_cache", lambda py_func, files: None)

    def twice(x):
        return 2 * x

    with pytest.warns(RuntimeWarning, match="without a disk cache"):
        kernel = njit_cached(sources=("embedlayer.errors",))(twice)
    assert kernel(21) == 42
    assert kernel.stats.cache_path is None  # numba's NullCache: nothing read or written


def test_bad_arguments() -> None:
    def f():
        return 1

    with pytest.raises(TypeError, match="always caches"):
        njit_cached(cache=True)
    with pytest.raises(ValueError, match="no_such_module_here"):
        njit_cached(sources=("no_such_module_here",))(f)
    with pytest.raises(ValueError, match="expected a file"):
        njit_cached(sources=(Path("missing.py"),))(f)


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _compiled_from(kernel: Dispatcher) -> set[Path]:
    """The files of every jitted function and intrinsic ``kernel`` calls, directly or through others."""
    files: set[Path] = set()
    todo, seen = [kernel.py_func], set()
    while todo:
        func = todo.pop()
        if func in seen:
            continue
        seen.add(func)
        names = _names(func.__code__)
        for name in names:
            found = func.__globals__.get(name)
            reached = [getattr(found, n, None) for n in names] if isinstance(found, types.ModuleType) else [found]
            for obj in reached:
                if isinstance(obj, Dispatcher):
                    files.add(Path(inspect.getfile(obj.py_func)).resolve())
                    todo.append(obj.py_func)
                elif isinstance(obj, _Intrinsic):
                    files.add(Path(inspect.getfile(obj._defn)).resolve())
    return files


def _package_kernels() -> list[tuple[str, Dispatcher]]:
    """Every disk-cached numba function defined in a module of embedlayer."""
    root = Path(embedlayer.__file__).parent
    found = []
    for info in pkgutil.walk_packages([str(root)], "embedlayer."):
        path = root.joinpath(*info.name.split(".")[1:])
        source = path / "__init__.py" if info.ispkg else path.with_suffix(".py")
        if not source.is_file() or not USES_NUMBA.search(source.read_text(encoding="utf-8")):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, Dispatcher) and obj.py_func.__module__ == info.name and obj.stats.cache_path is not None:
                found.append((f"{info.name}.{name}", obj))
    return found


def test_every_cached_kernel_declares_the_files_it_is_compiled_from() -> None:
    kernels = _package_kernels()
    assert any(name == "embedlayer.pretrain.kernels.train_chunk" for name, _ in kernels)
    undeclared = {}
    for name, kernel in kernels:
        own = Path(inspect.getfile(kernel.py_func)).resolve()
        declared = set(getattr(kernel._cache, "sources", ()))
        missing = _compiled_from(kernel) - declared - {own}
        if missing:
            undeclared[name] = sorted(p.name for p in missing)
    assert not undeclared, f"use embedlayer._jit.njit_cached(sources=...) for: {undeclared}"


def test_on_this_numba_the_stamp_covers_the_sources(recwarn: pytest.WarningsRecorder) -> None:
    """Not the fallback: numba's cache classes here are the ones _jit was written against."""

    def f():
        return 1

    kernel = njit_cached(sources=("embedlayer.errors", Path(_jit.__file__)))(f)
    assert not [w for w in recwarn if "disk cache" in str(w.message)]
    assert kernel._cache.sources == (Path(embedlayer.errors.__file__).resolve(), Path(_jit.__file__).resolve())
    stamp = kernel._cache._impl.locator.get_source_stamp()
    assert [name for name, _ in stamp[1]] == ["errors.py", "_jit.py"]
