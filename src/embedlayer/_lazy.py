"""Lazy package exports (PEP 562): ``package.Name`` imports the module that defines it on first use.

A package lists its public names once, as imports under ``if TYPE_CHECKING:`` (what type checkers
and editors read), and ends with ``__getattr__, __dir__, __all__ = lazy_exports(__name__)``, which
reads that block from the package's source. Importing the package, one of its config modules or a
choice tuple (the CLI's ``--help``) then never loads torch or numba until a name needs them.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` from its ``if TYPE_CHECKING:`` imports."""
    module = sys.modules[package]
    exports = _type_checking_imports(module.__file__ or "")
    namespace = module.__dict__

    def __getattr__(name: str) -> Any:
        source = exports.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__, sorted(exports)


def _type_checking_imports(path: str) -> dict[str, str]:
    """``{name: module}`` of the absolute ``from module import name`` lines under ``if TYPE_CHECKING:``."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    exports: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for line in node.body:
                if isinstance(line, ast.ImportFrom) and line.module and not line.level:
                    exports.update({alias.asname or alias.name: line.module for alias in line.names})
    assert exports, f"{path}: no imports under `if TYPE_CHECKING:` to export"  # a packaging bug, not user input
    return exports
