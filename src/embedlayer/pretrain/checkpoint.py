"""Checkpoints of a pretraining run: where it stands, and both tables.

A checkpoint directory holds ``state.json`` (settings, a digest of the vocabulary and counts the
corpus gave, the epoch and chunk to continue from, the loss so far) and the tables as
``input.npy`` / ``output.npy``. It is written beside itself and swapped in, so a crash while
writing leaves the previous checkpoint intact. Resuming checks that the settings (the thread count
may change) and the corpus's vocabulary are the ones the checkpoint was made with. A folder is
replaced or removed only when its ``state.json`` says it is a pretraining checkpoint: a folder of
the user's in its place is never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embedlayer._io import describe_difference, first_difference, scratch_dir, set_default_modes
from embedlayer.errors import ConfigError, FormatError, where
from embedlayer.pretrain.config import PretrainConfig
from embedlayer.pretrain.corpus import EncodedCorpus

__all__ = [
    "Checkpoint",
    "check_replaceable",
    "is_checkpoint",
    "load_checkpoint",
    "remove_checkpoint",
    "save_checkpoint",
]

_FORMAT = "embedlayer.pretrain-checkpoint"
_VERSION = 1
_STATE = "state.json"
_TABLES = ("input.npy", "output.npy")


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """Where a run stands: continue at ``chunk`` of ``epoch`` (0-based) with these tables."""

    epoch: int
    chunk: int
    epoch_losses: tuple[float, ...]
    loss_sum: float
    examples: int
    input_matrix: np.ndarray
    output_matrix: np.ndarray


def _digest(data: EncodedCorpus) -> str:
    h = hashlib.sha256()
    h.update("\n".join(data.words).encode("utf-8"))
    h.update(np.ascontiguousarray(data.counts, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(data.starts, dtype="<i8").tobytes())
    return h.hexdigest()


def _settings(config: PretrainConfig) -> dict:
    return {k: v for k, v in config.to_dict().items() if k != "threads"}


def is_checkpoint(directory: str | os.PathLike[str]) -> bool:
    """True when ``directory`` is a folder whose ``state.json`` names our checkpoint format."""
    path = Path(directory)
    if not path.is_dir() or path.is_symlink():
        return False
    try:
        return json.loads((path / _STATE).read_text(encoding="utf-8")).get("format") == _FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def check_replaceable(directory: str | os.PathLike[str]) -> None:
    """ConfigError when ``directory`` exists and is not a pretraining checkpoint (before any work)."""
    if Path(directory).exists() and not is_checkpoint(directory):
        raise ConfigError(
            f"{where(directory)}: exists and is not a pretraining checkpoint (no {_STATE} of "
            f"{_FORMAT}); expected a checkpoint to replace, or no folder there: move it away"
        )


def remove_checkpoint(directory: str | os.PathLike[str]) -> bool:
    """Delete the checkpoint in ``directory`` if it is one: its files, then the folder if that
    left it empty. Returns whether it was one; anything else is left alone."""
    if not is_checkpoint(directory):
        return False
    path = Path(directory)
    for name in (*_TABLES, _STATE):  # state.json last: until then it still says whose folder this is
        (path / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.rmdir()
    return True


def save_checkpoint(
    directory: str | os.PathLike[str], ckpt: Checkpoint, config: PretrainConfig, data: EncodedCorpus
) -> None:
    """Write ``ckpt`` to ``directory`` (replacing an older checkpoint there atomically).

    Raises ConfigError when ``directory`` exists and is not a pretraining checkpoint."""
    target = Path(directory)
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # built in a scratch folder beside the target (one a kill -9 leaves is removed by a later save)
    with scratch_dir(target.parent) as scratch:
        tmp = scratch / target.name
        tmp.mkdir()
        np.save(tmp / "input.npy", ckpt.input_matrix, allow_pickle=False)
        np.save(tmp / "output.npy", ckpt.output_matrix, allow_pickle=False)
        state = {
            "format": _FORMAT,
            "version": _VERSION,
            "settings": _settings(config),
            "vocabulary": _digest(data),
            "epoch": ckpt.epoch,
            "chunk": ckpt.chunk,
            "epoch_losses": list(ckpt.epoch_losses),
            "loss_sum": ckpt.loss_sum,
            "examples": ckpt.examples,
        }
        (tmp / _STATE).write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        set_default_modes(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            remove_checkpoint(old)
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            remove_checkpoint(old)


def load_checkpoint(directory: str | os.PathLike[str], config: PretrainConfig, data: EncodedCorpus) -> Checkpoint:
    """Read the checkpoint in ``directory`` and check it belongs to this run.

    Raises:
        ConfigError: no checkpoint there, or one made with other settings or another corpus.
        FormatError: a damaged checkpoint (naming the file).
    """
    path = Path(directory) / _STATE
    if not path.is_file():
        raise ConfigError(
            f"{where(path)}: no checkpoint to resume from; expected a directory written by an "
            f"earlier run with a checkpoint"
        )
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("format") != _FORMAT or state.get("version") != _VERSION:
            raise ValueError(f"format {state.get('format')!r} version {state.get('version')!r}")
        epoch, chunk = int(state["epoch"]), int(state["chunk"])
        losses = tuple(float(x) for x in state["epoch_losses"])
        loss_sum, examples = float(state["loss_sum"]), int(state["examples"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FormatError(
            f"{where(path)}: not a pretraining checkpoint ({exc}); expected {_FORMAT} version {_VERSION}"
        ) from None
    diff = first_difference(state.get("settings"), _settings(config))
    if diff is not None:
        raise ConfigError(
            f"{where(path)}: the checkpoint was made with other settings ({describe_difference(diff)}); "
            f"resume with the settings of the first run"
        )
    if state.get("vocabulary") != _digest(data):
        raise ConfigError(
            f"{where(path)}: the corpus gives another vocabulary or sentence layout than the one "
            f"the checkpoint was made with; resume on the same corpus"
        )
    tables = []
    for name, shape in zip(_TABLES, ((-1, config.dim), (len(data.words), config.dim)), strict=True):
        try:
            array = np.load(Path(directory) / name, allow_pickle=False, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise FormatError(f"{where(Path(directory) / name)}: cannot read the table ({exc})") from None
        if (
            array.dtype != np.float32
            or array.ndim != 2
            or array.shape[1] != config.dim
            or (shape[0] >= 0 and array.shape[0] != shape[0])
        ):
            raise FormatError(
                f"{where(Path(directory) / name)}: table is {array.dtype} {array.shape}; expected "
                f"float32 with {config.dim} columns"
            )
        tables.append(array)
    return Checkpoint(
        epoch=epoch,
        chunk=chunk,
        epoch_losses=losses,
        loss_sum=loss_sum,
        examples=examples,
        input_matrix=tables[0],
        output_matrix=tables[1],
    )
