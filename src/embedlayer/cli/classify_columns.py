"""Which columns `classify evaluate` and `classify predict` read: the ones given with --text-col and
--label-col, else the ones the model was trained with (recorded by `classify train` in the model's
config.json under "columns"), else ``text`` and ``label``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embedlayer.errors import DataError, ModelError

__all__ = ["COLUMNS_KEY", "columns_record", "model_columns", "resolve_columns", "trained_columns_hint"]

#: Key of config.json that records the training columns: {"text": name or index, "label": ...}.
COLUMNS_KEY = "columns"
_FALLBACK = {"text": "text", "label": "label"}


def columns_record(args: argparse.Namespace) -> dict[str, str | int]:
    """What `classify train` stores under COLUMNS_KEY: the text and label columns it read."""
    return {"text": args.text_col, "label": args.label_col}


def _is_column(value: object) -> bool:
    return (
        isinstance(value, str)
        and bool(value)
        or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
    )


def model_columns(model: str | Path) -> dict[str, str | int]:
    """The columns the model in folder ``model`` was trained with; ``text`` and ``label`` for a model
    saved before they were recorded. ModelError when config.json records them wrongly."""
    from embedlayer.tasks.model_folder import read_config

    path = Path(model) / "config.json"
    saved = read_config(path).get(COLUMNS_KEY)
    if saved is None:
        return dict(_FALLBACK)
    if not isinstance(saved, dict) or set(saved) != set(_FALLBACK) or not all(map(_is_column, saved.values())):
        raise ModelError(
            f"{path}: {COLUMNS_KEY} {saved!r}: expected {{'text': column, 'label': column}}, each a name or a "
            f"0-based index"
        )
    return dict(saved)


def resolve_columns(args: argparse.Namespace, *, label: bool = True) -> dict[str, str | int]:
    """Fill ``args.text_col`` (and ``args.label_col`` when ``label``) left None with the model's
    (``args.model``) training columns; returns the flags filled in this way, e.g.
    ``{"--text-col": "sentence"}`` (empty when every column was given)."""
    trained = model_columns(args.model)
    filled: dict[str, str | int] = {}
    names = (("text_col", "text"), ("label_col", "label")) if label else (("text_col", "text"),)
    for attr, key in names:
        if getattr(args, attr) is None:
            setattr(args, attr, trained[key])
            filled["--" + attr.replace("_", "-")] = trained[key]
    return filled


@contextmanager
def trained_columns_hint(filled: dict[str, str | int], model: str) -> Iterator[None]:
    """A DataError about a column the model chose (``filled``, from :func:`resolve_columns`) says so and
    names the flag that reads another one."""
    try:
        yield
    except DataError as exc:
        message = str(exc)
        head, found, _ = message.partition(" not found")  # "...: column 'a', 'b' not found in row 1 (...)"
        missing = head.rpartition("column ")[2]
        named = [f"{flag} {value!r}" for flag, value in filled.items() if repr(value) in missing]
        if not found or not named:
            raise
        raise DataError(
            f"{message}; {' and '.join(named)}: the column(s) {model} was trained with, used because the flag "
            f"was not given (pass it to read another column)"
        ) from None
