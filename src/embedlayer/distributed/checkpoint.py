"""Sharded checkpoints: each rank writes its rows, one metadata file says where every row is.

A checkpoint directory holds::

    shard-RRRRR-of-WWWWW.safetensors   rank R's rows of every table ("table/NAME") and the
                                       per-row optimizer state of those rows ("state/NAME/KEY")
    sharded.json                       format version, world size, per table its global shape,
                                       dtype and the row range [start, stop) each rank held, the
                                       optimizer's name, hyper-parameters and scalar state

Every file is written atomically; rank 0 writes ``sharded.json`` last, after a barrier, so a
directory with it holds a complete checkpoint. `load_sharded` works at any world size: each rank
reads the rows it now owns from whichever shard files hold them (safetensors slices, never a whole
file), so a checkpoint written by 2 ranks loads on 3 or on 1 bit for bit (resharding).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from embedlayer._io import atomic_path, atomic_write
from embedlayer.errors import ConfigError, DistributedError, FormatError

__all__ = ["FORMAT", "META", "VERSION", "agree", "load_sharded", "read_sharded_meta", "read_table_rows", "save_sharded"]

FORMAT, VERSION = "embedlayer.sharded", 1
META = "sharded.json"


def shard_file(rank: int, world_size: int) -> str:
    return f"shard-{rank:05d}-of-{world_size:05d}.safetensors"


# ------------------------------------------------------------------------------------ collectives
def _rank_world(group: Any) -> tuple[int, int]:
    return (0, 1) if group is None else (int(group.rank), int(group.world_size))


def _gather_objects(group: Any, obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (one process: ``[obj]``)."""
    _, world = _rank_world(group)
    if world == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world
    try:
        dist.all_gather_object(out, obj, group=getattr(group, "process_group", None))
    except RuntimeError as exc:
        raise DistributedError(
            f"rank {group.rank} of {world}: all_gather_object failed: {str(exc).strip()[:300]}; expected every "
            f"rank to reach the same step (another rank died, left, or timed out)"
        ) from exc
    return out


def agree(group: Any, error: BaseException | None) -> None:
    """Every rank raises when any rank failed: its own error, or one naming the rank that failed
    (so no rank waits at the next collective for one that gave up)."""
    messages = _gather_objects(group, None if error is None else str(error))
    if error is not None:
        raise error
    for rank, message in enumerate(messages):
        if message is not None:
            raise DistributedError(f"rank {rank} failed, so this rank stops too: {message}")


# ------------------------------------------------------------------------------------ tables
def _table_info(name: str, module: Any) -> dict[str, Any]:
    weight = module.weight.detach()
    return {
        "rows": int(module.num_embeddings),
        "dim": int(weight.shape[1]),
        "dtype": str(weight.dtype).removeprefix("torch."),
        "padding_idx": getattr(module, "padding_idx", None),
        "kind": "bag" if "Bag" in type(module).__name__ else "embedding",
        "range": [int(module.row_start), int(module.row_stop)],
    }


def _optimizer_name(optimizer: Any) -> str:
    return str(getattr(getattr(optimizer, "sparse", optimizer), "name", type(optimizer).__name__))


def _optimizer_info(optimizer: Any) -> dict[str, Any] | None:
    """The optimizer's name and hyper-parameters (JSON), or None."""
    if optimizer is None:
        return None
    hyper = {k: v for k, v in optimizer.param_groups[0].items() if k not in ("params", "initial_lr")}
    return {"name": _optimizer_name(optimizer), "hyper": json.loads(json.dumps(hyper, default=str))}


# ------------------------------------------------------------------------------------ save
def save_sharded(
    directory: str | os.PathLike[str],
    modules: Mapping[str, Any],
    optimizer: Any = None,
    group: Any = None,
    *,
    force: bool = False,
) -> Path:
    """Write the shards of ``modules`` (name -> ShardedEmbedding / ShardedEmbeddingBag) and the
    per-row state of ``optimizer`` (a ShardedOptimizer over them, or None) to ``directory``.

    Collective: every rank of ``group`` calls it with the same names. A directory that holds
    anything is refused (ConfigError) unless ``force``; then its old checkpoint is replaced
    (the old metadata removed first, so a half-replaced checkpoint never reads as whole)."""
    rank, world = _rank_world(group)
    folder = Path(directory)
    error: BaseException | None = None
    try:
        if rank == 0:
            _prepare_folder(folder, force=force)
    except ConfigError as exc:
        error = exc
    agree(group, error)
    tensors: dict[str, Tensor] = {}
    tables: dict[str, Any] = {}
    scalars: dict[str, dict[str, Any]] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, module in modules.items():
            info = _table_info(name, module)
            tables[name] = info
            tensors[f"table/{name}"] = module.weight.detach().cpu().contiguous()
            if optimizer is not None:
                for key, value in optimizer.state_for(module).items():
                    tensors[f"state/{name}/{key}"] = value.detach().cpu().contiguous()
                scalars[name] = {"step": optimizer.step_count(module)}
        from safetensors.torch import save_file

        with atomic_path(folder / shard_file(rank, world)) as tmp:
            save_file(tensors, str(tmp))
    except (OSError, ConfigError) as exc:
        error = (
            exc
            if isinstance(exc, ConfigError)
            else ConfigError(f"{folder}: cannot write the shard of rank {rank} ({exc})")
        )
    agree(group, error)
    every = _gather_objects(group, {"tables": tables, "scalars": scalars})
    try:
        if rank == 0:
            _write_meta(folder, every, world, optimizer)
    except (OSError, ConfigError) as exc:
        error = exc if isinstance(exc, ConfigError) else ConfigError(f"{folder / META}: cannot be written ({exc})")
    agree(group, error)  # also a barrier: the checkpoint is whole on every rank's return
    return folder


def _prepare_folder(folder: Path, *, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"checkpoint {folder}: a file is there; expected a folder")
    held = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if held and not force:
        raise ConfigError(
            f"checkpoint {folder} already holds {len(held)} entr{'y' if len(held) == 1 else 'ies'} "
            f"({', '.join(held[:4])}); expected a new or empty folder: pass force to replace it"
        )
    if not held:
        return
    if held and not (folder / META).is_file() and any(not n.startswith("shard-") for n in held):
        raise ConfigError(
            f"checkpoint {folder} holds files that are not a sharded checkpoint; refusing to replace them"
        )
    (folder / META).unlink(missing_ok=True)
    for name in held:
        if name.startswith("shard-") and name.endswith(".safetensors"):
            (folder / name).unlink()


def _write_meta(folder: Path, every: list[dict[str, Any]], world: int, optimizer: Any) -> None:
    names = list(every[0]["tables"])
    for rank, part in enumerate(every):
        if list(part["tables"]) != names:
            raise ConfigError(
                f"save_sharded: rank {rank} has tables {list(part['tables'])}, rank 0 {names}; expected the same"
            )
    tables = {}
    for name in names:
        first = every[0]["tables"][name]
        tables[name] = {k: first[k] for k in ("rows", "dim", "dtype", "padding_idx", "kind")}
        tables[name]["ranges"] = [part["tables"][name]["range"] for part in every]
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "world_size": world,
        "files": [shard_file(r, world) for r in range(world)],
        "tables": tables,
        "optimizer": _optimizer_info(optimizer),
        "optimizer_scalars": [part["scalars"] for part in every] if optimizer is not None else None,
    }
    with atomic_write(folder / META) as fh:
        json.dump(meta, fh, indent=1)


# ------------------------------------------------------------------------------------ read
def read_sharded_meta(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata of a sharded checkpoint, checked (FormatError naming the file otherwise)."""
    path = Path(directory) / META
    if not path.is_file():
        raise FormatError(f"{path}: missing; expected the metadata of a checkpoint written by save_sharded")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path}: unreadable ({exc}); expected the JSON save_sharded writes") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FormatError(
            f"{path}: format {meta.get('format') if isinstance(meta, dict) else None!r}; expected {FORMAT!r}"
        )
    if meta.get("version") != VERSION:
        raise FormatError(
            f"{path}: version {meta.get('version')!r}; this embedlayer reads version {VERSION} (a newer one wrote it?)"
        )
    world = meta.get("world_size")
    tables = meta.get("tables")
    if not isinstance(world, int) or world < 1 or not isinstance(tables, dict) or len(meta.get("files", ())) != world:
        raise FormatError(f"{path}: world_size {world!r}, files {meta.get('files')!r}: expected one file per rank")
    for name, info in tables.items():
        ranges = info.get("ranges")
        if not isinstance(ranges, list) or len(ranges) != world or not isinstance(info.get("rows"), int):
            raise FormatError(f"{path}: table {name!r}: expected 'rows' and one row range per rank ({world})")
    return meta


def _read_into(folder: Path, meta: dict[str, Any], key: str, table: str, start: int, out: Tensor) -> int:
    """Copy rows [start, start + len(out)) of tensor ``key`` (``table/NAME`` or
    ``state/NAME/KEY``) from the shard files that hold them into ``out``; returns how many rows
    were found (state a rank never allocated is in no file: those rows keep ``out``'s values)."""
    from safetensors import SafetensorError, safe_open

    stop, found = start + out.shape[0], 0
    for rank, (lo, hi) in enumerate(meta["tables"][table]["ranges"]):
        a, b = max(start, lo), min(stop, hi)
        if a >= b:
            continue
        path = folder / meta["files"][rank]
        if not path.is_file():
            raise FormatError(
                f"{path}: missing; {folder / META} says rank {rank} wrote rows {lo}..{hi} of {table!r} there"
            )
        try:
            with safe_open(str(path), framework="pt") as fh:
                if key not in fh.keys():  # noqa: SIM118 - safe_open has no __contains__
                    continue
                part = fh.get_slice(key)
                if part.get_shape()[0] != hi - lo or list(part.get_shape()[1:]) != list(out.shape[1:]):
                    raise FormatError(
                        f"{path}: {key!r} has shape {part.get_shape()}; expected {hi - lo} rows ({lo}..{hi}) "
                        f"of shape {list(out.shape[1:])} as {META} says"
                    )
                out[a - start : b - start] = part[a - lo : b - lo]
                found += b - a
        except SafetensorError as exc:
            raise FormatError(
                f"{path}: not a readable safetensors file ({exc}); expected the shard of rank {rank}"
            ) from exc
    return found


def read_table_rows(directory: str | os.PathLike[str], table: str, start: int = 0, stop: int | None = None) -> Tensor:
    """(stop - start, D) rows of ``table`` from a sharded checkpoint (all rows by default)."""
    folder = Path(directory)
    meta = read_sharded_meta(folder)
    if table not in meta["tables"]:
        raise ConfigError(f"table {table!r}: not in {folder / META}; expected one of {', '.join(meta['tables'])}")
    info = meta["tables"][table]
    stop = info["rows"] if stop is None else stop
    out = torch.empty(stop - start, info["dim"], dtype=getattr(torch, info["dtype"]))
    if _read_into(folder, meta, f"table/{table}", table, start, out) != len(out):
        raise FormatError(f"{folder / META}: rows {start}..{stop} of {table!r} are not all in the shard files")
    return out


# ------------------------------------------------------------------------------------ load
def load_sharded(
    directory: str | os.PathLike[str], modules: Mapping[str, Any], optimizer: Any = None, group: Any = None
) -> dict[str, Any]:
    """Fill ``modules`` (and ``optimizer``'s per-row state) from a checkpoint written by
    `save_sharded` at any world size: each rank reads the rows it owns now. Collective.

    Raises FormatError (missing or corrupt shard, unknown version) and ConfigError (a table
    missing, a global shape or dtype different from the module's, another optimizer), each naming
    the file and what was expected, on every rank. Returns the metadata."""
    folder = Path(directory)
    error: BaseException | None = None
    meta: dict[str, Any] = {}
    try:
        meta = read_sharded_meta(folder)
        _check_compatible(folder, meta, modules, optimizer)
        for name, module in modules.items():
            _load_table(folder, meta, name, module, optimizer)
    except (FormatError, ConfigError) as exc:
        error = exc
    agree(group, error)
    return meta


def _check_compatible(folder: Path, meta: dict[str, Any], modules: Mapping[str, Any], optimizer: Any) -> None:
    where = folder / META
    for name, module in modules.items():
        info = meta["tables"].get(name)
        if info is None:
            raise ConfigError(f"table {name!r}: not in {where}; it holds {', '.join(meta['tables']) or 'no table'}")
        have = (int(module.num_embeddings), int(module.weight.shape[1]))
        if (info["rows"], info["dim"]) != have:
            raise ConfigError(
                f"table {name!r}: {where} has shape {info['rows']} x {info['dim']}; the module is {have[0]} x {have[1]}"
            )
        dtype = str(module.weight.dtype).removeprefix("torch.")
        if info["dtype"] != dtype:
            raise ConfigError(f"table {name!r}: {where} holds {info['dtype']}; the module is {dtype}")
    saved = meta.get("optimizer")
    if optimizer is not None:
        name = _optimizer_name(optimizer)
        if saved is None:
            raise ConfigError(f"{where}: no optimizer state; expected the state of a {name!r} optimizer")
        if saved["name"] != name:
            raise ConfigError(f"{where}: optimizer {saved['name']!r}; expected {name!r} (the optimizer given)")


def _load_table(folder: Path, meta: dict[str, Any], name: str, module: Any, optimizer: Any) -> None:
    start, stop = int(module.row_start), int(module.row_stop)
    with torch.no_grad():
        if _read_into(folder, meta, f"table/{name}", name, start, module.weight.data) != stop - start:
            raise FormatError(f"{folder / META}: rows {start}..{stop} of {name!r} are not all in the shard files")
    if optimizer is None:
        return
    owner = next((r for r, (lo, hi) in enumerate(meta["tables"][name]["ranges"]) if lo <= start < hi), 0)
    step = int(((meta.get("optimizer_scalars") or [{}])[owner].get(name) or {}).get("step", 0))
    _fresh_state(optimizer, module, step)  # the optimizer's initial state, then the saved rows over it
    for key, live in optimizer.state_for(module).items():
        _read_into(folder, meta, f"state/{name}/{key}", name, start, live)


def _fresh_state(optimizer: Any, module: Any, step: int) -> None:
    """Give ``module``'s shard in ``optimizer`` its initial state with step count ``step`` (the
    sparse optimizer's `load_state_dict` allocates it)."""
    index = next(i for i, m in enumerate(optimizer.modules) if m is module)
    current = optimizer.state_dict()
    current["state"] = {k: v for k, v in current["state"].items() if k != index}
    current["state"][index] = {"step": step}
    optimizer.load_state_dict(current)
