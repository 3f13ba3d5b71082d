"""flock(2) locks: for mutual exclusion and for liveness.

A lock is held by an open file description; the kernel releases it when the
holder exits, however it exits.  So "is the lock free?" is a truthful
liveness test for whoever is meant to hold it (the runner of a task, the
scheduler), where a pid in a file is only a hint.

Why fcntl and not the filelock package: filelock's Unix lock is this same
flock call, and its import costs three times the interpreter's start, which
the commands people type cannot afford (docs/performance.md).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager

from cairn.errors import OperationFailed

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class LockTimeout(OperationFailed):
    """Another Cairn command held a lock for too long: a clear error, never a hang."""

    def __init__(self, path: Path, seconds: float) -> None:
        what = f"task {path.parent.name}" if path.name == "lock" and path.parent.name.isdigit() else str(path)
        super().__init__(
            f"{what} is busy: another Cairn command has held {path} for {seconds:g}s",
            hint="it may be an accept running checks or a gc; try again when it is done (nothing was changed)",
        )
        self.path = path


def open_lock(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


@contextmanager
def held(path: Path, timeout: float | None = 30.0) -> Iterator[int]:
    """Hold an exclusive lock on ``path`` for the ``with`` block.

    Waits up to ``timeout`` seconds (None: forever), polling with a short
    back-off so a stuck holder turns into a clear error instead of a hang.
    """
    fd = open_lock(path)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            delay = 0.001
            while not try_lock(fd):
                if time.monotonic() >= deadline:
                    raise LockTimeout(path, timeout)
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        yield fd
    finally:
        os.close(fd)


def is_held(path: Path) -> bool:
    """True if another open file description holds ``path`` locked right now."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        if try_lock(fd):
            return False
        return True
    finally:
        os.close(fd)
