"""The scheduler's watch on the task records: Linux inotify, read by one thread.

A crew of eight writes some sixty files a task (temporary records, locks,
logs, previews), each one inotify event.  Through watchdog every event went
through three threads (its reader, the move grouper's delay queue and the
dispatcher) and cost more of the scheduler's CPU than its turns did.  Here
one thread reads the kernel's events in batches and hands each one, as a
``(kind, path, dest)`` triple, to the decision of whether it matters
(``Waker.saw`` in cairn/engine/scheduler.py).

What is watched: ``tasks/`` (task directories appearing, moving, going)
and each ``tasks/<id>/`` one level down, only for renames into it, closes
after writing and deletions: that is how a record is published.  A task
directory that appears is watched as soon as its event is read, and the
scheduler is woken once more after that, so a record published before the
watch existed is still seen by a scan that follows it.  Events only wake;
the scan decides (docs/architecture.md).  Where the kernel drops events (its
queue overflowed) or a directory cannot be watched (the watch limit), the
caller is told to look, and ``complete`` turns false so that it polls.

Linux only: ``open_watch`` returns None elsewhere (or without libc's
inotify) and the caller falls back to watchdog, then to polling.
"""

from __future__ import annotations

import os
import select
import struct
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any  # ctypes.CDLL: its functions are found by name

# From <sys/inotify.h>.
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

#: ``tasks/``: a task directory made, renamed into place or away, removed.
TASKS_MASK = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR
#: ``tasks/<id>/``: a record renamed into place, written in place, removed.
TASK_MASK = IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_ONLYDIR
#: A directory every change of which counts (``signals/``).
FLAT_MASK = IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_ONLYDIR

_HEADER = struct.Struct("iIII")  # wd, mask, cookie, length of the name


def kind_of(mask: int) -> str:
    """The event's name as watchdog's, which ``Waker.saw`` takes."""
    if mask & (IN_MOVED_TO | IN_MOVED_FROM):
        return "moved"
    if mask & IN_CLOSE_WRITE:
        return "closed"
    if mask & IN_CREATE:
        return "created"
    if mask & IN_DELETE:
        return "deleted"
    return "other"


class Watch:
    """One inotify instance and the thread that reads it (see the module's header)."""

    def __init__(self, libc: Any, fd: int, saw: Callable[[str, str, str], None], wake: threading.Event) -> None:
        self._libc = libc
        self._fd = fd
        self._saw = saw
        self._wake = wake
        self._paths: dict[int, str] = {}  # watch descriptor -> its directory
        self._task_roots: set[int] = set()  # descriptors of tasks/ directories
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None
        #: False once an event was lost or a directory could not be watched: poll then.
        self.complete = True

    def add(self, path: str, mask: int) -> int | None:
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(path), mask)
        if wd < 0:
            return None
        self._paths[wd] = path
        return int(wd)

    def tasks(self, directory: Path) -> bool:
        """Watch ``directory`` (``tasks/``) and every task directory in it; False if it cannot be."""
        root = self.add(str(directory), TASKS_MASK)
        if root is None:
            return False
        self._task_roots.add(root)
        for name in os.listdir(directory):
            if name.isdigit():
                self._add_task(os.path.join(directory, name))
        return True

    def _add_task(self, path: str) -> None:
        if self.add(path, TASK_MASK) is None and os.path.isdir(path):
            self.complete = False  # the watch limit, most likely: the caller polls

    def start(self) -> None:
        self._thread = threading.Thread(target=self._read_forever, name="cairn-inotify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        for fd in (self._fd, self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _read_forever(self) -> None:
        while True:
            ready, _, _ = select.select([self._fd, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                self.complete = False
                self._wake.set()
                return
            try:
                self._dispatch(data)
            except Exception:  # noqa: BLE001 — a watch that stops reading must still wake its owner
                self.complete = False
                self._wake.set()

    def _dispatch(self, data: bytes) -> None:
        offset = 0
        woken_again = False
        while offset + _HEADER.size <= len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
            offset += _HEADER.size
            name = os.fsdecode(data[offset:offset + length].rstrip(b"\0"))
            offset += length
            if mask & IN_Q_OVERFLOW:
                self.complete = False  # events were lost: only a poll can be trusted now
                self._wake.set()
                continue
            if mask & IN_IGNORED:
                self._paths.pop(wd, None)
                continue
            directory = self._paths.get(wd)
            if directory is None:
                continue
            path = os.path.join(directory, name)
            if wd in self._task_roots and mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO) and name.isdigit():
                self._add_task(path)
                woken_again = True
            if mask & IN_MOVED_FROM:
                self._saw("moved", path, "")
            elif mask & IN_MOVED_TO:
                self._saw("moved", "", path)
            else:
                self._saw(kind_of(mask), path, "")
        if woken_again:
            # Watched only now: a record published in it before is seen by the scan this causes.
            self._wake.set()


def open_watch(saw: Callable[[str, str, str], None], wake: threading.Event) -> Watch | None:
    """An inotify instance, not yet watching anything; None where there is none."""
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    except (OSError, AttributeError):
        return None
    if fd < 0:
        return None
    return Watch(libc, fd, saw, wake)
