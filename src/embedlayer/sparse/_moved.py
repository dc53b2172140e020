"""Modules that moved from ``embedlayer.sparse`` to ``embedlayer.kernels`` keep importing.

``import embedlayer.sparse.kernels`` (the old home of the row updates, named in earlier READMEs)
gives the module at its new home, ``embedlayer.kernels.updates``, with a ``DeprecationWarning``
naming it. The finder answers for these names only and is installed once, by ``embedlayer.sparse``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old module name -> new module name
MOVED = {
    f"embedlayer.sparse.{old}": f"embedlayer.kernels.{new}"
    for old, new in {
        "checks": "checks",
        "coalesce": "coalesce",
        "lookup": "lookup",
        "bag_kernels": "bag_kernels",
        "prefetch": "prefetch",
        "memory": "memory",
        "threads": "threads",
        "kernels": "updates",
        "autograd": "fused_lookup",
        "bag": "bag",
    }.items()
}


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(fullname, self) if fullname in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=4)
        module = importlib.import_module(new)
        self._specs[new] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # the module is the new one, already executed; the import system has just pointed its
        # __spec__ at the old name: point it back
        module.__spec__ = self._specs[module.__name__]


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
