"""A wake-up call when a task's record changes, for the views that redraw
(``cairn status --watch``, ``cairn tui``).

Disk is the truth: the notice only says "look again", the caller rescans.
inotify (watchdog) when it can be had; otherwise the caller's timeout is the
poll.  Agent output does not wake anyone: only records (``state.json``,
a new task directory) count, as for the scheduler.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from cairn.state.layout import Layout


class Wakeup:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.event = threading.Event()
        self._observer: Any = None

    def start(self) -> bool:
        """Begin watching; False when only polling is possible (no inotify, no tasks/ yet)."""
        if not self.layout.tasks.is_dir():
            return False
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers.inotify import InotifyObserver
        except ImportError:
            return False
        event = self.event

        class Handler(FileSystemEventHandler):
            def on_any_event(self, change: Any) -> None:
                name = os.path.basename(getattr(change, "dest_path", "") or change.src_path)
                if name == "state.json" or name.isdigit():
                    event.set()

        try:
            observer = InotifyObserver()
            observer.schedule(Handler(), str(self.layout.tasks), recursive=True)
            observer.start()
        except OSError:
            return False
        self._observer = observer
        return True

    def wait(self, timeout: float) -> bool:
        """Sleep until something changed or ``timeout`` passed; True if something changed."""
        woken = self.event.wait(timeout)
        self.event.clear()
        return woken

    def take(self) -> bool:
        """Whether something changed since the last look, without waiting."""
        woken = self.event.is_set()
        self.event.clear()
        return woken

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer = None
