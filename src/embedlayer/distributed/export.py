"""One table of a sharded checkpoint as one native vectors folder (what `vectors` commands read)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from embedlayer.errors import ConfigError

__all__ = ["export_native"]


def export_native(
    checkpoint_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    table: str,
    words: Sequence[str] | None = None,
    force: bool = False,
) -> Path:
    """Write the rows of ``table`` from the sharded checkpoint in ``checkpoint_dir`` (any world
    size) as a native vectors folder at ``out_dir``, row i named ``words[i]`` (default: ``"i"``).

    Raises:
        ConfigError: ``out_dir`` holds something and ``force`` is not given; ``words`` is not one
            word per row; the table is not in the checkpoint.
        FormatError: a missing or corrupt shard file, or unknown metadata.
    """
    from embedlayer.distributed.checkpoint import read_sharded_meta, read_table_rows
    from embedlayer.vectors.native import write_native

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise ConfigError(f"{out} already exists; expected a new or empty folder: pass force to replace it")
    meta = read_sharded_meta(checkpoint_dir)
    info = meta["tables"].get(table)
    if info is None:
        raise ConfigError(
            f"table {table!r}: not in checkpoint {checkpoint_dir}; expected one of {', '.join(meta['tables'])}"
        )
    names = [str(i) for i in range(info["rows"])] if words is None else list(words)
    if len(names) != info["rows"]:
        raise ConfigError(f"words: {len(names)} given for table {table!r} of {info['rows']} rows; expected one per row")
    matrix = read_table_rows(checkpoint_dir, table).float().numpy()  # (N, D)
    write_native(names, matrix, out)
    return out
