"""`embedlayer` command line: one module per command group, this file only dispatches.

Errors the library raises on purpose (EmbedLayerError) and OS errors on files are printed as one
line on stderr with exit status 2; ``--debug`` shows the traceback instead. The last line of
defence: running out of memory (MemoryError) is one line naming the command, exit 2 (the input
asked for more than the machine has); any other exception is a bug, one line naming the command
and the exception, exit 1; both say to run with ``--debug`` for the traceback. Ctrl-C (SIGINT) and
SIGTERM interrupt a command the same way: cleanup runs (temporary files, locks; a checkpoint stays),
one line says so, and the exit status is 128 + the signal's number (130, 143).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from embedlayer import __version__
from embedlayer.errors import EmbedLayerError

# Command groups, imported lazily so `embedlayer --help` stays fast.
_GROUPS = (
    "classify",
    "vocab",
    "vectors",
    "pretrain",
    "explain",
    "demo",
    "plot",
    "explore",
    "tabular",
    "recommend",
    "embeddings",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every command has ``--help``)."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="embedlayer",
        description="Embedding layers from raw text to trained, inspectable vectors.",
    )
    parser.add_argument("--version", action="version", version=f"embedlayer {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _GROUPS:
        importlib.import_module(f"embedlayer.cli.{name}").register(sub)
    _add_debug(sub)
    return parser


def _add_debug(sub: argparse._SubParsersAction) -> None:
    """Accept ``--debug`` after the command too (``embedlayer classify train ... --debug``).

    SUPPRESS as default: a command that does not see the flag leaves the top-level value alone."""
    for parser in set(sub.choices.values()):
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            for action in nested:
                _add_debug(action)
        else:
            parser.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback on errors"
            )


class Terminated(KeyboardInterrupt):
    """A signal that ends the process (SIGTERM), raised where the program is, like Ctrl-C's
    KeyboardInterrupt, so ``finally`` blocks and context managers clean up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into `Terminated` while a command runs (once: a second SIGTERM during the
    cleanup ends the process at once). Only the main thread can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        signal.signal(signum, previous)
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``embedlayer`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with _terminate_as_interrupt():
            return int(args.handler(args) or 0)
    except BrokenPipeError:
        # The reader of our output went away (`embedlayer classify predict ... | head`): not an
        # error of the input. Point stdout at devnull so the interpreter's final flush stays quiet.
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe
    except (EmbedLayerError, OSError) as exc:
        if args.debug:
            raise
        print(f"embedlayer: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        if args.debug:
            raise
        detail = f" ({_one_line(exc)})" if str(exc) else ""
        print(
            f"embedlayer: error: {_command(args)} ran out of memory{detail}; expected smaller inputs or settings; "
            f"run with --debug for the traceback",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # the last line of defence: a bug, said in one line
        if args.debug:
            raise
        print(
            f"embedlayer: error: {_command(args)} failed unexpectedly ({type(exc).__name__}: {_one_line(exc)}); "
            f"run with --debug for the traceback",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        notes = " ".join(getattr(exc, "__notes__", ()))  # a command may say what was kept (add_note)
        print(
            f"embedlayer: interrupted by {signal.Signals(signum).name}{'; ' + notes if notes else ''}", file=sys.stderr
        )
        return 128 + signum


def _command(args: argparse.Namespace) -> str:
    """``embedlayer vectors info``: the command that ran, for the last line of defence."""
    words = ["embedlayer", args.command]
    words += [getattr(args, dest) for dest in vars(args) if dest.endswith("_command") and getattr(args, dest)]
    return " ".join(words)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests, embedding)
        pass


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
