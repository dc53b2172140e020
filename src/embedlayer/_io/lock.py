"""An exclusive lock held through a file, and scratch folders that a later run can clean up.

``ExclusiveLock`` takes ``fcntl.flock`` on a small file that holds the holder's PID: the kernel
drops the lock when the process ends, however it ends (``kill -9`` included), so a lock is never
left stale. The lock is not waited for: a second taker fails at once, naming the first one's PID.
Where ``fcntl`` is missing (Windows) the file is created exclusively instead, and a crash leaves it
behind: the error then says to delete it when no such run is going on.

``scratch_dir`` makes a temporary folder holding such a lock; a run that finds a scratch folder
whose lock nobody holds knows its owner died, and removes it. The folder's name holds the PID of
the run that made it, for a folder without a lock file (its run was killed between making it and
locking it, or between unlocking and removing it): it is removed when no process has that PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from embedlayer._io.modes import default_mode
from embedlayer.errors import ConfigError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "SCRATCH_PREFIX", "ExclusiveLock", "remove_stale_scratch", "scratch_dir"]

LOCK_NAME = ".embedlayer.lock"  # the lock file of an output folder
SCRATCH_PREFIX = ".embedlayer-tmp-"  # temporary folders of a run (removed by a later run if left)


class ExclusiveLock:
    """Hold ``path`` exclusively for this process; ``what`` names the guarded output in errors.

    Use as a context manager, or call `acquire` / `release`. The lock file is removed on release.
    """

    def __init__(self, path: str | os.PathLike[str], *, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> ExclusiveLock:
        """Take the lock. Raises ConfigError naming the holder's PID when another run holds it."""
        if fcntl is None:  # pragma: no cover - Windows
            return self._acquire_exclusive_create()
        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, default_mode())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise self._busy(holder) from None
            if _same_file(self.path, fd):  # not unlinked by a holder releasing just before our flock
                self._own(fd)
                return self
            os.close(fd)
        raise self._busy("unknown")  # pragma: no cover - ten releases in a row, each between two calls

    @classmethod
    def fresh(cls, path: str | os.PathLike[str], *, what: str) -> ExclusiveLock:
        """Create ``path`` already locked (written under another name, locked, then renamed), so
        no one who finds the file can ever see it unlocked while we live."""
        lock = cls(path, what=what)
        if fcntl is None:  # pragma: no cover - Windows
            return lock._acquire_exclusive_create()
        fd, tmp = tempfile.mkstemp(prefix=".lock.", dir=lock.path.parent)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(tmp, lock.path)
        lock._own(fd)
        return lock

    def _own(self, fd: int) -> None:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _acquire_exclusive_create(self) -> ExclusiveLock:  # pragma: no cover - Windows
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, default_mode())
        except FileExistsError:
            holder = self.path.read_text(errors="replace").strip() or "unknown"
            raise ConfigError(
                f"{self.what}: another embedlayer run (PID {holder}) is writing there (lock file "
                f"{self.path}); expected one run at a time: wait for it to end, or delete "
                f"{self.path} if no such run is going on (this system cannot tell)"
            ) from None
        self._own(fd)
        return self

    def _busy(self, holder: str) -> ConfigError:
        return ConfigError(
            f"{self.what}: another embedlayer run (PID {holder}) is writing there (lock file "
            f"{self.path}); expected one run at a time: wait for it to end or choose another path"
        )

    def release(self) -> None:
        """Remove the lock file (while still holding it) and let go. Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            if _same_file(self.path, fd):
                os.unlink(self.path)
        os.close(fd)

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> ExclusiveLock:
        return self if self.held else self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
    except OSError:  # pragma: no cover
        return "unknown"


def _same_file(path: Path, fd: int) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _is_stale(folder: Path) -> bool:
    """True when ``folder``'s lock file exists and nobody holds it, or when it has no lock file and
    the process that made it is gone (its run has ended, in both cases)."""
    if fcntl is None:  # pragma: no cover - Windows: cannot tell a live run from a dead one
        return False
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:  # not locked (yet, or any more): ask whether its maker lives
        return _maker_gone(folder)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _maker_gone(folder: Path) -> bool:
    """True when the PID in ``folder``'s name (``SCRATCH_PREFIX`` PID ``-`` ...) is no process's.
    A name without one (made by an older version) is kept: nothing tells whether its run lives."""
    pid = folder.name[len(SCRATCH_PREFIX) :].partition("-")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


def remove_stale_scratch(parent: str | os.PathLike[str]) -> list[Path]:
    """Remove the scratch folders in ``parent`` whose run has ended; returns them."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in Path(parent).iterdir():
            if entry.name.startswith(SCRATCH_PREFIX) and entry.is_dir() and not entry.is_symlink() and _is_stale(entry):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


@contextlib.contextmanager
def scratch_dir(parent: str | os.PathLike[str]) -> Iterator[Path]:
    """A new temporary folder in ``parent`` (created if missing), removed with everything in it
    when the block ends, however it ends short of ``kill -9``; scratch folders that earlier runs
    left behind (killed) are removed first."""
    base = Path(parent)
    base.mkdir(parents=True, exist_ok=True)
    remove_stale_scratch(base)
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=base))
    try:
        lock = ExclusiveLock.fresh(folder / LOCK_NAME, what=str(folder))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield folder
    finally:
        lock.release()  # unlinks the lock file first: a sweeping run leaves a folder without one alone
        shutil.rmtree(folder, ignore_errors=True)
