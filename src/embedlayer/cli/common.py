"""Pieces several commands share: column arguments, reading examples, the output policy's
options, help that shows only useful defaults, checks and errors in flags, JSON output."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from embedlayer.errors import ConfigError, EmbedLayerError
from embedlayer.text import DecodeReport, Example, read_examples
from embedlayer.text.readers import TABLE_FORMATS, detect_table_format
from embedlayer.vectors.formats import UNICODE_ERRORS


def output_policy(*, resume: bool) -> str:
    """The output policy in one sentence, as the README states it, for a writing command's --help."""
    keep = "--resume (continue the run there) or " if resume else ""
    return (
        f"An output that exists and holds something is refused unless {keep}--force (write over it: the files "
        f"the command writes are replaced, nothing else is deleted); an output that is one of the inputs is "
        f"always an error."
    )


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with "(default: X)" where X tells something: not on on/off flags (whose default
    is the opposite of what they do) and not for None (the help says what happens then)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.nargs == 0 or action.default is None:
            return action.help or ""
        return super()._get_help_string(action) or ""


def add_output_args(parser: argparse.ArgumentParser, *, resume: bool, what: str = "--out") -> None:
    """--force, and --resume where the command can continue an interrupted run."""
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"write over what {what} holds (the files this command writes are replaced; nothing "
        f"else there is deleted)",
    )
    if resume:
        parser.add_argument(
            "--resume",
            action="store_true",
            help=f"continue the interrupted run in {what} (its settings and data must be the same)",
        )


def prepare_checkpoint(args: argparse.Namespace, state: str, checkpoint: Path) -> None:
    """The checkpoint folder of a training command for its output claim's ``state``: --resume needs
    a checkpoint; --force drops the old run's checkpoint (only if it is one)."""
    from embedlayer.train.checkpoint import has_checkpoint, remove_checkpoint
    from embedlayer.train.loop import LAST

    if state == "resume" and not has_checkpoint(checkpoint / LAST):
        raise ConfigError(
            f"--resume: {args.out} holds no checkpoint to continue (expected {checkpoint / LAST}, "
            f"written after each epoch); run without --resume and with --force to start again"
        )
    if state == "replace":
        for folder in (checkpoint / LAST, checkpoint / f"{LAST}.old"):
            if folder.exists() and not remove_checkpoint(folder):
                raise ConfigError(
                    f"--force: {folder} is not a checkpoint this command wrote; expected to replace only "
                    f"its own files: move it away"
                )
        if checkpoint.is_dir() and not any(checkpoint.iterdir()):
            checkpoint.rmdir()


def flag_table(parser: argparse.ArgumentParser) -> dict[str, list[tuple[str, Any]]]:
    """``dest -> [(flag, const), ...]`` of the parser's options (const: the value an on/off flag
    sets, None for options that take a value); what `run_options` names the options by."""
    table: dict[str, list[tuple[str, Any]]] = {}
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            flag = max(action.option_strings, key=len)
            table.setdefault(action.dest, []).append((flag, action.const if action.nargs == 0 else None))
    return table


def run_options(
    args: argparse.Namespace, flags: Mapping[str, list[tuple[str, Any]]], *, skip: Collection[str]
) -> dict[str, Any]:
    """The options of this run keyed by flag (``{"--max-len": 128, "--no-lowercase": False}``),
    leaving out the dests in ``skip``: what a resumed run must repeat. An on/off flag records
    whether it was given; two flags of one dest (``--header/--no-header``) record its value."""
    out: dict[str, Any] = {}
    for dest, actions in flags.items():
        if dest in skip or not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if len(actions) == 1 and actions[0][1] is not None:
            out[actions[0][0]] = value == actions[0][1]
        else:
            out["/".join(flag for flag, _ in actions)] = value
    return out


def run_record(args: argparse.Namespace, files: Mapping[str, str | None], *, skip: Collection[str]) -> dict[str, Any]:
    """What a resumed run must repeat: its options by flag (leaving out the dests in ``skip``:
    what a resumed run may change), then digests of the input ``files`` (flag -> path, None when
    not given; a folder, such as native vectors, by each of its files)."""
    from embedlayer._io import file_digest

    def digest(path: str | None) -> object:
        if path is None:
            return None
        if Path(path).is_dir():
            return {p.name: file_digest(p) for p in sorted(Path(path).iterdir()) if p.is_file()}
        return file_digest(path)

    return {**run_options(args, args.flags, skip=skip), **{flag: digest(path) for flag, path in files.items()}}


def column(value: str) -> str | int:
    """A column given on the command line: a 0-based index when it is all digits, else a name."""
    return int(value) if value.isdigit() else value


def add_data_args(parser: argparse.ArgumentParser, *, label: bool = True, from_model: bool = False) -> None:
    """--text-col, --label-col, --format, --header/--no-header, --strict-encoding. ``from_model``: the
    columns default to None, for the command to fill in with those its --model was trained with."""
    fallback = "the column the --model was trained with, else {}" if from_model else "{}"
    parser.add_argument(
        "--text-col",
        type=column,
        default=None if from_model else "text",
        metavar="C",
        help=f"column (name or 0-based index) or JSON key holding the text (default: {fallback.format('text')})",
    )
    if label:
        parser.add_argument(
            "--label-col",
            type=column,
            default=None if from_model else "label",
            metavar="C",
            help=f"column (name or 0-based index) or JSON key holding the label (default: {fallback.format('label')})",
        )
    parser.add_argument(
        "--format",
        choices=TABLE_FORMATS,
        default=None,
        help="input format (default: from the extension, then the content)",
    )
    parser.add_argument(
        "--header",
        dest="header",
        action="store_true",
        default=None,
        help="the first row is a header (default: detected)",
    )
    parser.add_argument("--no-header", dest="header", action="store_false", help="the first row is data")
    add_encoding_arg(parser)


def add_encoding_arg(parser: argparse.ArgumentParser) -> None:
    """--strict-encoding."""
    parser.add_argument(
        "--strict-encoding",
        action="store_true",
        help="fail on bytes that are not UTF-8 (default: replace them and report how many)",
    )


def _check_columns(path: str, args: argparse.Namespace, label: bool) -> None:
    """--no-header with named columns: say so with the flags (the reader would speak of header=False)."""
    if args.header is not False or not Path(path).is_file():
        return
    named = [
        f"--{name.replace('_', '-')} {value!r}"
        for name, value in (("text_col", args.text_col), ("label_col", args.label_col if label else None))
        if isinstance(value, str)
    ]
    if named and (args.format or detect_table_format(path)) in ("tsv", "csv"):
        raise ConfigError(
            f"{path}: --no-header, but {' and '.join(named)} name columns, and a file without a header "
            f"row has no names; expected 0-based column indices (e.g. --text-col 0 --label-col 1)"
        )


def load_examples(path: str, args: argparse.Namespace, *, label: bool = True) -> list[Example]:
    """Read all examples of ``path`` with the data arguments; report replaced bytes on stderr."""
    _check_columns(path, args, label)
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
        note(
            f"{path}: {report.bytes_replaced} byte(s) that are not UTF-8 replaced on "
            f"{report.lines_replaced} line(s) (first: {lines}); --strict-encoding makes this an error"
        )
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
    """Limit torch's intra-op threads (the CLI owns the process; the library never does this).

    Raises ConfigError naming ``--threads`` for a number below 1 (call it before any work)."""
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"--threads {threads}: expected a number of threads >= 1")
        import torch

        torch.set_num_threads(threads)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def check_counts(args: argparse.Namespace, smallest: Mapping[str, int]) -> None:
    """Each count option of ``smallest`` (flag -> smallest value, ``{"--topn": 1, "--words": 0}``)
    is unset (None) or at least that value; else ConfigError naming the flag. Called before any
    work, so a bad count never costs a read of the data."""
    for flag, least in smallest.items():
        value = getattr(args, _dest(flag))
        if value is not None and value < least:
            expected = "a positive number" if least == 1 else f"a number >= {least}"
            raise ConfigError(f"{flag} {value}: expected {expected}")


def setting_flags(owner: str, *names: str) -> dict[str, str]:
    """``{"Owner.name": "--name"}`` for settings whose option has their name (``max_len``:
    ``--max-len``), for `errors_in_flags`."""
    return {f"{owner}.{name}": "--" + name.replace("_", "-") for name in names}


def add_unicode_errors(p: argparse._ActionsContainer, flag: str = "--unicode-errors") -> None:
    """``flag``: how a vectors file's words that are not valid UTF-8 are read (default strict)."""
    p.add_argument(
        flag,
        choices=UNICODE_ERRORS,
        default="strict",
        help="vectors words that are not valid UTF-8: strict fails naming the line; replace, ignore or "
        "backslashreplace decode them as Python does",
    )


# "TrainConfig.epochs: expected an integer >= 1, got 0": how the library's configs name a bad setting
_SETTING = re.compile(r"(?P<setting>[A-Z]\w*\.\w+): expected (?P<expected>.+), got (?P<value>.+)", re.DOTALL)


@contextlib.contextmanager
def errors_in_flags(args: argparse.Namespace, names: Mapping[str, str]) -> Iterator[None]:
    """Re-raise the library's errors that speak of its own settings in the command's flags.

    ``names`` maps what the library says to a flag: a config field (``"TrainConfig.epochs":
    "--epochs"``), whose error ``TrainConfig.epochs: expected an integer >= 1, got 0`` becomes
    ``--epochs 0: expected an integer >= 1`` (the value as given on the command line); or a keyword
    argument (``"unicode_errors": "--unicode-errors"``), whose suggestion ``pass
    unicode_errors='replace'`` becomes ``pass --unicode-errors replace``. Other errors pass as they are.
    """
    try:
        yield
    except EmbedLayerError as exc:
        message = _in_flags(str(exc), args, names)
        if message is None:
            raise
        raise type(exc)(message) from exc


def _in_flags(text: str, args: argparse.Namespace, names: Mapping[str, str]) -> str | None:
    """``text`` with the library's names of ``names`` replaced by flags; None when it has none."""
    found = _SETTING.fullmatch(text)
    if found is not None and found["setting"] in names:
        flag = names[found["setting"]]
        given = getattr(args, _dest(flag), None)
        return f"{flag} {found['value'] if given is None else given}: expected {found['expected']}"
    out = text
    for name, flag in names.items():
        if "." not in name:  # a keyword argument in a suggestion: name='value' or name=value
            out = re.sub(rf"\b{re.escape(name)}=(['\"]?)([^'\"\s,;)]+)\1", rf"{flag} \2", out)
    return None if out == text else out
