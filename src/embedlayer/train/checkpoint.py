"""Checkpoints without pickle: tensors in safetensors files, everything else in JSON.

A checkpoint is a directory::

    checkpoint.json         {"format": "embedlayer.checkpoint", "version": 1, "extra": {...},
                             "optimizers": [skeleton, ...]}
    model.safetensors       model.state_dict()
    optimizers.safetensors  every tensor of every optimizer state, named "opt{i}/..."
    tensors.safetensors     extra named tensors (RNG state, best weights, ...)

Optimizer states are nested dicts/lists of tensors and numbers; :func:`flatten_state` replaces
each tensor by ``{"__tensor__": name}`` and stores it in the safetensors file, so the JSON keeps
the structure. The directory is written beside its final place and renamed into it, so a crash
never leaves a half-written checkpoint (at worst the previous one survives as ``<dir>.old``,
which :func:`load_checkpoint` falls back to). A folder is replaced or removed only when it holds
``checkpoint.json``: a folder of the user's in the checkpoint's place is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from embedlayer._io import scratch_dir, set_default_modes
from embedlayer.errors import ConfigError, FormatError, ModelError

__all__ = [
    "Checkpoint",
    "flatten_state",
    "has_checkpoint",
    "load_checkpoint",
    "read_checkpoint_extra",
    "remove_checkpoint",
    "save_checkpoint",
    "unflatten_state",
]

FORMAT, VERSION = "embedlayer.checkpoint", 1
_JSON, _MODEL, _OPTIM, _TENSORS = (
    "checkpoint.json",
    "model.safetensors",
    "optimizers.safetensors",
    "tensors.safetensors",
)


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` read: the JSON ``extra`` dict and the extra named tensors (CPU)."""

    directory: Path
    extra: dict[str, Any]
    tensors: dict[str, Tensor] = field(default_factory=dict)


def flatten_state(obj: Any, prefix: str, tensors: dict[str, Tensor]) -> Any:
    """JSON-able skeleton of ``obj``; its tensors go into ``tensors`` under ``prefix/...`` names.

    Dicts with non-string keys (optimizer states are keyed by int) become
    ``{"__items__": [[key, value], ...]}``, tuples ``{"__tuple__": [...]}``."""
    if isinstance(obj, Tensor):
        if obj.is_sparse:
            raise TypeError(f"flatten_state: sparse tensor at {prefix!r} cannot be stored")
        tensors[prefix] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: flatten_state(v, f"{prefix}/{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[k, flatten_state(v, f"{prefix}/{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten_state(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten_state(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(
        f"flatten_state: cannot store a {type(obj).__name__} at {prefix!r} (expected tensors, numbers, str, containers)"
    )


def unflatten_state(skeleton: Any, tensors: Mapping[str, Tensor]) -> Any:
    """Inverse of :func:`flatten_state`. Raises FormatError when a named tensor is missing."""
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            name = skeleton["__tensor__"]
            if name not in tensors:
                raise FormatError(f"checkpoint: tensor {name!r} named in the JSON is missing from the safetensors file")
            return tensors[name]
        if "__items__" in skeleton:
            return {k: unflatten_state(v, tensors) for k, v in skeleton["__items__"]}
        if "__tuple__" in skeleton:
            return tuple(unflatten_state(v, tensors) for v in skeleton["__tuple__"])
        return {k: unflatten_state(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def _plain(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    # clone: safetensors refuses tensors that share storage (e.g. tied weights)
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def save_checkpoint(
    directory: str | os.PathLike[str],
    model: nn.Module,
    extra_json: Mapping[str, Any],
    *,
    optimizers: Sequence[torch.optim.Optimizer] = (),
    tensors: Mapping[str, Tensor] | None = None,
) -> Path:
    """Write ``model``'s weights, the optimizers' states, ``tensors`` and ``extra_json`` (must be
    JSON-able: TypeError otherwise) to ``directory``, replacing the checkpoint there atomically.

    Raises ConfigError (before any work) when ``directory`` exists and is not a checkpoint."""
    target = Path(directory)
    _check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    opt_tensors: dict[str, Tensor] = {}
    skeletons = [flatten_state(opt.state_dict(), f"opt{i}", opt_tensors) for i, opt in enumerate(optimizers)]
    meta = {"format": FORMAT, "version": VERSION, "extra": dict(extra_json), "optimizers": skeletons}
    text = json.dumps(meta, indent=1, allow_nan=True)  # before touching the disk: fails on non-JSON values
    # built in a scratch folder beside the target (one a kill -9 leaves is removed by a later save)
    with scratch_dir(target.parent) as scratch:
        tmp = scratch / target.name
        tmp.mkdir()
        save_file(_plain(model.state_dict()), tmp / _MODEL)
        save_file(opt_tensors, tmp / _OPTIM)
        save_file(_plain(tensors or {}), tmp / _TENSORS)
        (tmp / _JSON).write_text(text, encoding="utf-8")
        set_default_modes(tmp)  # safetensors makes 0o600
        old = target.with_name(target.name + ".old")
        if target.exists():  # else a previous crash may have left the only good copy in .old: keep it
            remove_checkpoint(old)
            os.replace(target, old)
        os.replace(tmp, target)
        remove_checkpoint(old)
    return target


def _is_checkpoint(directory: Path) -> bool:
    return directory.is_dir() and not directory.is_symlink() and (directory / _JSON).is_file()


def _check_replaceable(target: Path) -> None:
    if target.exists() and not _is_checkpoint(target):
        raise ConfigError(
            f"{target}: exists and is not a checkpoint (no {_JSON}); expected a checkpoint folder to "
            f"replace, or no folder there: move it away"
        )


def remove_checkpoint(directory: str | os.PathLike[str]) -> bool:
    """Delete the checkpoint folder ``directory`` if it is one (holds ``checkpoint.json``): the
    files a checkpoint has, then the folder if that left it empty. Returns whether it was one;
    anything else is left alone."""
    target = Path(directory)
    if not _is_checkpoint(target):
        return False
    for name in (_MODEL, _OPTIM, _TENSORS, _JSON):
        (target / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        target.rmdir()
    return True


def _resolve(directory: Path) -> Path | None:
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / _JSON).is_file():
            return candidate
    return None


def has_checkpoint(directory: str | os.PathLike[str]) -> bool:
    """True when ``directory`` (or its ``.old`` fallback) holds a complete checkpoint."""
    return _resolve(Path(directory)) is not None


def _read(path: Path) -> dict[str, Tensor]:
    try:
        return load_file(path)
    except (SafetensorError, OSError) as exc:
        raise FormatError(f"{path}: unreadable safetensors file ({exc})") from exc


def _load_model(path: Path, model: nn.Module) -> None:
    saved = _read(path)
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
    if missing or unexpected:
        raise ModelError(f"{path}: weights do not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, tensor in saved.items():
        if tensor.shape != own[name].shape:
            raise ModelError(
                f"{path}: {name} has shape {tuple(tensor.shape)}, the model expects {tuple(own[name].shape)}"
            )
    model.load_state_dict(saved)


def _read_meta(directory: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    found = _resolve(Path(directory))
    if found is None:
        raise FormatError(f"{directory}: no checkpoint here (expected {_JSON})")
    meta_path = found / _JSON
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"{meta_path}: unreadable checkpoint JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise FormatError(f"{meta_path}: expected format {FORMAT!r} version {VERSION}, got {str(meta)[:80]!r}")
    return found, meta


def read_checkpoint_extra(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON ``extra`` of a checkpoint, without reading its tensors (to check it fits first).
    Raises FormatError like :func:`load_checkpoint`."""
    return dict(_read_meta(directory)[1].get("extra") or {})


def load_checkpoint(
    directory: str | os.PathLike[str],
    model: nn.Module | None = None,
    *,
    optimizers: Sequence[torch.optim.Optimizer] = (),
) -> Checkpoint:
    """Read a checkpoint; load its weights into ``model`` and its states into ``optimizers``
    when given. Raises FormatError (missing/bad files, wrong format) or ModelError (weights or
    optimizer count that do not fit)."""
    found, meta = _read_meta(directory)
    meta_path = found / _JSON
    if model is not None:
        _load_model(found / _MODEL, model)
    if optimizers:
        skeletons = meta["optimizers"]
        if len(skeletons) != len(optimizers):
            raise ModelError(f"{meta_path}: holds {len(skeletons)} optimizer states, expected {len(optimizers)}")
        opt_tensors = _read(found / _OPTIM)
        for opt, skeleton in zip(optimizers, skeletons):
            try:
                opt.load_state_dict(unflatten_state(skeleton, opt_tensors))
            except (ValueError, KeyError) as exc:
                raise ModelError(f"{meta_path}: optimizer state does not fit ({exc})") from exc
    return Checkpoint(found, meta["extra"], _read(found / _TENSORS))
