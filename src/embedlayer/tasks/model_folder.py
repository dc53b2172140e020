"""A saved model folder (the text classifier's, and the table models'): written as one unit, with
config.json removed first and written last, vouching for the weights and the other files beside it
by size and hash; and the checks that they are the files it was written with."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch

from embedlayer._io import atomic_path, atomic_write, file_digest
from embedlayer.errors import ModelError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "UNIT",
    "build_for_state",
    "check_files",
    "check_labels",
    "file_records",
    "finish_unit",
    "read_config",
    "read_manifest",
    "start_unit",
]

FORMAT = "embedlayer.text-classifier"
FORMAT_VERSION = 1


UNIT = ("vocab.json", "model.safetensors")  # the files config.json vouches for

M = TypeVar("M", bound=torch.nn.Module)


def start_unit(directory: str | os.PathLike[str], model: torch.nn.Module) -> Path:
    """Begin saving a model folder: create ``directory``, remove its config.json (until it is back,
    the folder is no model) and write ``model``'s weights as model.safetensors, atomically."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").unlink(missing_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(out / "model.safetensors") as tmp:
        save_file(state, str(tmp))
    return out


def finish_unit(out: Path, config: dict[str, Any], unit: tuple[str, ...] = UNIT) -> Path:
    """End saving: config.json, written last, with the size and hash of each file of ``unit``."""
    with atomic_write(out / "config.json") as fh:
        json.dump({**config, "files": file_records(out, unit)}, fh, indent=2)
        fh.write("\n")
    return out


def file_records(folder: Path, unit: tuple[str, ...] = UNIT) -> dict[str, dict[str, Any]]:
    """``{name: {"size", "sha256"}}`` of the files of ``unit`` in ``folder``, for config.json."""
    records = {}
    for name in unit:
        digest = file_digest(folder / name, sample=None)
        records[name] = {"size": digest["size"], "sha256": digest["sha256"]}
    return records


def check_files(
    folder: Path, config: dict[str, Any], unit: tuple[str, ...] = UNIT, writer: str = "classify train"
) -> None:
    """The files of ``unit`` (weights, vocabulary) must be the ones config.json was written with. A
    folder saved before config.json recorded them (no "files") is taken as it is."""
    files = config.get("files")
    if files is None:
        return
    if not isinstance(files, dict):
        raise ModelError(f"{folder / 'config.json'}: files {files!r}: expected the size and sha256 of {list(unit)}")
    for name in unit:
        want = files.get(name)
        if not isinstance(want, dict):
            raise ModelError(
                f"{folder / 'config.json'}: no size and sha256 recorded for {name}; expected both of {list(unit)}"
            )
        size = (folder / name).stat().st_size
        if size != want.get("size"):
            how = f"{size:,} bytes, config.json recorded {want.get('size')!r}"
        elif file_digest(folder / name, sample=None)["sha256"] != want.get("sha256"):
            how = "same size, other content"
        else:
            continue
        raise ModelError(
            f"{folder / name}: does not match config.json ({how}): the folder mixes files of two saves "
            f"or models; expected the files `{writer}` wrote together"
        )


def read_manifest(path: Path, format: str, version: int, required: tuple[str, ...]) -> dict[str, Any]:
    """config.json of a model folder of kind ``format``, checked for its format, version and
    ``required`` keys (a folder of another kind of model is named as such)."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != format:
        found = config.get("format") if isinstance(config, dict) else None
        raise ModelError(f"{path}: format is {found!r}, expected {format!r}")
    if config.get("version") != version:
        raise ModelError(f"{path}: format version {config.get('version')!r} is not supported (expected {version})")
    missing = [k for k in required if k not in config]
    if missing:
        raise ModelError(f"{path}: missing keys {missing}")
    return config


def read_config(path: Path) -> dict[str, Any]:
    """config.json of a text classifier's folder, checked for its format, version and required keys."""
    config = read_manifest(path, FORMAT, FORMAT_VERSION, ("model", "tokenizer", "labels", "max_len"))
    if isinstance(config["model"], dict) and "encoder" not in config["model"]:
        # the defaults would build some encoder, maybe one the weights even fit: not this model's
        raise ModelError(f"{path}: model.encoder is missing; expected the encoder settings `classify train` wrote")
    return config


def check_labels(config: dict[str, Any], num_classes: int, path: Path) -> None:
    """The label names must be distinct strings, one per output of the model; max_len a positive int."""
    labels = config["labels"]
    if (
        not isinstance(labels, list)
        or not all(isinstance(x, str) for x in labels)
        or len(set(labels)) != len(labels)
        or len(labels) != num_classes
    ):
        raise ModelError(
            f"{path}: labels {labels!r}: expected {num_classes} distinct label names, one per output of the model"
        )
    max_len = config["max_len"]
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ModelError(f"{path}: max_len {max_len!r}: expected a positive integer")


def build_for_state(build: Callable[[], M], state: dict[str, torch.Tensor], folder: Path) -> M:
    """``build()`` loaded with ``state``, once a model built on torch's meta device (shapes only, no
    memory) showed that it takes ``state``: a config.json edited to ask for a huge layer is a
    ModelError naming the first weight that differs, not an allocation of what it asks for."""
    with torch.device("meta"):
        _check_state(build().state_dict(), state, folder)
    model = build()
    model.load_state_dict(state)
    return model


def _check_state(expected: Mapping[str, torch.Tensor], state: dict[str, torch.Tensor], folder: Path) -> None:
    if set(state) != set(expected):
        extra, lacking = sorted(set(state) - set(expected)), sorted(set(expected) - set(state))
        raise ModelError(f"{folder}: weights do not match config.json (unexpected {extra[:3]}, missing {lacking[:3]})")
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise ModelError(
                f"{folder}: weight {name} has shape {tuple(tensor.shape)} but config.json and vocab.json "
                f"expect {tuple(expected[name].shape)}"
            )
