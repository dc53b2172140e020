"""Pieces several commands share: column arguments, reading examples, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from embedlayer.text import DecodeReport, Example, read_examples
from embedlayer.text.readers import TABLE_FORMATS


def column(value: str) -> str | int:
    """A column given on the command line: a 0-based index when it is all digits, else a name."""
    return int(value) if value.isdigit() else value


def add_data_args(parser: argparse.ArgumentParser, *, label: bool = True) -> None:
    """--text-col, --label-col, --format, --header/--no-header, --strict-encoding."""
    parser.add_argument("--text-col", type=column, default="text", metavar="C",
                        help="column (name or 0-based index) or JSON key holding the text (default: text)")
    if label:
        parser.add_argument("--label-col", type=column, default="label", metavar="C",
                            help="column (name or 0-based index) or JSON key holding the label (default: label)")
    parser.add_argument("--format", choices=TABLE_FORMATS, default=None,
                        help="input format (default: from the extension, then the content)")
    parser.add_argument("--header", dest="header", action="store_true", default=None,
                        help="the first row is a header (default: detected)")
    parser.add_argument("--no-header", dest="header", action="store_false", help="the first row is data")
    parser.add_argument("--strict-encoding", action="store_true",
                        help="fail on bytes that are not UTF-8 (default: replace them and report how many)")


def load_examples(path: str, args: argparse.Namespace, *, label: bool = True) -> list[Example]:
    """Read all examples of ``path`` with the data arguments; report replaced bytes on stderr."""
    report = DecodeReport()
    examples = list(
        read_examples(
            path,
            text_col=args.text_col,
            label_col=args.label_col if label else None,
            format=args.format,
            header=args.header,
            errors="strict" if args.strict_encoding else "replace",
            report=report,
        )
    )
    if report.lines_replaced:
        lines = ", ".join(map(str, report.first_lines))
        note(f"{path}: {report.bytes_replaced} byte(s) that are not UTF-8 replaced on "
             f"{report.lines_replaced} line(s) (first: {lines}); --strict-encoding makes this an error")
    return examples


def note(message: str) -> None:
    """A message for the user that is not the command's result: stderr, one line."""
    print(message, file=sys.stderr)


def print_json(obj: dict[str, Any]) -> None:
    """The one JSON object a `--json` command prints on stdout."""
    json.dump(obj, sys.stdout, indent=None, default=_json_default)
    sys.stdout.write("\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def set_threads(threads: int | None) -> None:
    """Limit torch's intra-op threads (the CLI owns the process; the library never does this)."""
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
