"""The output policy of every command that writes a folder or a file.

A target that exists and holds something is refused unless the caller continues it (``resume``,
where the command can resume) or replaces it (``force``); an output that is one of the inputs (or,
for a folder, holds one) is always refused; the target is locked for the run, so a second run
writing the same output fails at once naming the first one's PID. Nothing is deleted here: what a
command may remove later is only what it wrote itself.

    with claim_output(args.out, kind="dir", inputs=[args.train], force=args.force,
                      resume=args.resume, can_resume=True) as claim:
        ...  # claim.state is "new", "resume" or "replace"
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from embedlayer._io.lock import LOCK_NAME, SCRATCH_PREFIX, ExclusiveLock
from embedlayer.errors import ConfigError

__all__ = ["OutputClaim", "OutputKind", "OutputState", "claim_output", "held_entries"]

OutputKind = Literal["dir", "file"]
#: "new": nothing was there (or an empty folder/file); "resume": continue what is there;
#: "replace": write over what is there.
OutputState = Literal["new", "resume", "replace"]


@dataclass
class OutputClaim:
    """A checked, locked output. Release it (or leave the ``with`` block) when the run ends; a
    folder the claim created is removed again if the run fails before putting anything in it."""

    path: Path
    kind: OutputKind
    state: OutputState
    created: bool  # the folder did not exist before the claim
    lock: ExclusiveLock = field(repr=False)

    def release(self, *, failed: bool = False) -> None:
        """Let go of the lock; after a failure, remove the folder this claim created if still empty."""
        self.lock.release()
        if failed and self.created and self.kind == "dir":
            with contextlib.suppress(OSError):  # something was written: keep it
                self.path.rmdir()

    def __enter__(self) -> OutputClaim:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.release(failed=exc_type is not None)


def held_entries(folder: str | os.PathLike[str]) -> list[str]:
    """Names in ``folder`` that count as content (our lock file and scratch folders do not)."""
    return sorted(
        e.name for e in Path(folder).iterdir() if e.name != LOCK_NAME and not e.name.startswith(SCRATCH_PREFIX)
    )


def _blocked(target: Path, folder: Path, what: str) -> None:
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is None or blocker.is_dir():
        return
    raise ConfigError(
        f"{what} {os.fspath(target)!r} cannot be written: {os.fspath(blocker)!r} is a file, not a "
        f"folder; expected a path in a writable folder"
    )


def _check_kind(target: Path, kind: OutputKind, what: str) -> None:
    shown = repr(os.fspath(target))
    if kind == "file":
        if target.is_dir():
            raise ConfigError(f"{what} {shown} is a directory; expected a file path")
        if target.exists() and not target.is_file():
            raise ConfigError(f"{what} {shown} is not a regular file (a device, pipe or socket); expected a file path")
        _blocked(target, target.parent, what)
    else:
        if target.exists() and not target.is_dir():
            raise ConfigError(f"{what} {shown} exists and is not a directory; expected a folder to write into")
        _blocked(target, target, what)


def _check_inputs(target: Path, kind: OutputKind, inputs: Iterable[str | os.PathLike[str] | None], what: str) -> None:
    out = target.resolve()
    for item in inputs:
        if item is None or os.fspath(item) in ("", "-"):
            continue
        source = Path(item)
        path = source.resolve()
        same = path == out
        if not same and source.exists() and target.exists():
            try:
                same = os.path.samefile(source, target)
            except OSError:
                same = False
        if same:
            raise ConfigError(
                f"{what} {os.fspath(target)!r} is also an input ({os.fspath(item)!r}); expected an "
                f"output apart from the inputs"
            )
        if kind == "dir" and out in path.parents:
            raise ConfigError(
                f"{what} {os.fspath(target)!r} holds the input {os.fspath(item)!r}; expected an "
                f"output folder apart from the inputs"
            )


def _describe(target: Path, kind: OutputKind) -> str | None:
    """What the target holds, or None when it is missing or empty."""
    if kind == "file":
        size = target.stat().st_size if target.exists() else 0
        return f"a file of {size:,} bytes" if size else None
    names = held_entries(target) if target.exists() else []
    if not names:
        return None
    shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
    return f"{len(names)} entr{'y' if len(names) == 1 else 'ies'} ({shown})"


def claim_output(
    path: str | os.PathLike[str],
    *,
    kind: OutputKind = "dir",
    what: str = "--out",
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    force: bool = False,
    resume: bool = False,
    can_resume: bool = False,
    swapped: bool = False,
) -> OutputClaim:
    """Check and lock the output ``path`` of a command before any work.

    Args:
        kind: ``"dir"`` (created if missing; locked by a file inside it) or ``"file"`` (its folder
            is created if missing; locked by ``.NAME.lock`` beside it).
        what: how errors name the output (the option, e.g. ``"--out"``, ``"--html"``).
        inputs: the command's input paths (None and ``-`` are skipped): the output may not be
            one of them (same path or same file), and a folder output may not hold one.
        force: replace what the target holds.
        resume: continue what the target holds (only with ``can_resume``; the target must hold
            something).
        can_resume: the command has ``--resume``; refusals then mention it.
        swapped: with ``kind="dir"``, the writer builds the folder elsewhere and swaps it in whole
            (a native vectors table): the claim then neither creates the folder nor puts its lock
            file inside (it sits beside the folder, ``.NAME.lock``, as a file's does).

    Returns:
        An `OutputClaim` holding the lock, with ``state`` "new", "resume" or "replace".

    Raises:
        ConfigError: the target holds something and neither ``resume`` nor ``force`` is given;
            ``resume`` with nothing to continue; ``resume`` and ``force`` together; the output is
            an input; a file where a folder is expected or the other way round; another run holds
            the lock (naming its PID); the path cannot be written. Each names the path.
    """
    target = Path(path)
    shown = repr(os.fspath(target))
    if resume and force:
        raise ConfigError(
            f"--resume and --force given for {what} {shown}; expected one: continue the run there, or replace it"
        )
    if resume and not can_resume:
        raise ConfigError(f"{what} {shown}: this command cannot resume; expected --force to replace the output")
    _check_inputs(target, kind, inputs, what)
    _check_kind(target, kind, what)
    folder = target if kind == "dir" and not swapped else target.parent
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = ExclusiveLock(
            target / LOCK_NAME if folder == target else folder / f".{target.name}.lock", what=f"{what} {shown}"
        ).acquire()
    except OSError as exc:
        raise ConfigError(
            f"{what} {shown} cannot be written: {exc.strerror or type(exc).__name__} "
            f"({exc.filename or folder}); expected a path in a writable folder"
        ) from None
    claim = OutputClaim(target, kind, "new", created and folder == target, lock)
    try:
        held = _describe(target, kind)
        if held is not None and resume:
            claim.state = "resume"
        elif held is not None and force:
            claim.state = "replace"
        elif held is not None:
            options = "--resume to continue the run there or --force" if can_resume else "--force"
            raise ConfigError(
                f"{what} {shown} already holds {held}; expected a new or empty "
                f"{'folder' if kind == 'dir' else 'file'}: pass {options} to replace it"
            )
        elif resume:
            raise ConfigError(
                f"--resume: {what} {shown} holds nothing to continue; expected the {what} of an "
                f"earlier, interrupted run"
            )
    except BaseException:
        claim.release(failed=True)
        raise
    return claim
