"""Progress of long work — making a workspace, setup, checks, a landing, a gc
over many tasks: which phase it is in and how far it has come.

One call feeds three readers.  A person at a terminal sees a single line
that is rewritten in place (on stderr, and only while both stdout and stderr
are terminals and the command was not given ``-q``: a pipe or a log file
never receives carriage returns).  The task's log gets a ``[cairn]`` line per
phase, and the journal a ``phase`` event (docs/state-directory.md), so
`cairn logs` and `cairn events` tell the same story afterwards.  Steps within
a phase (``3/40``) only update the terminal line: the records keep the phases,
not every tick.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO


class Progress:
    def __init__(
        self,
        *,
        show: bool = False,
        journal: Callable[..., None] | None = None,
        log: Callable[[str], None] | None = None,
        task: int | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.show = show
        self.journal = journal
        self.log = log
        self.task = task
        self.stream = stream or sys.stderr
        self.text = ""
        self._lock = threading.Lock()  # gc reports steps from worker threads

    def phase(self, name: str, text: str) -> None:
        """A new phase: recorded, and shown as the line."""
        if self.log is not None:
            self.log(text)
        if self.journal is not None:
            self.journal("phase", task=self.task, phase=name, text=text)
        self.text = text
        self._draw(text)

    def step(self, done: int, total: int, detail: str = "") -> None:
        """How far the current phase has come: the line only."""
        self._draw(f"{self.text} {done}/{total}" + (f": {detail}" if detail else ""))

    def clear(self) -> None:
        """Take the line away, before the command prints its result."""
        self._draw("")

    def _draw(self, text: str) -> None:
        if not self.show:
            return
        width = _columns() - 1
        with self._lock:
            try:
                self.stream.write("\r\x1b[K" + text[:width])
                self.stream.flush()
            except (OSError, ValueError):
                self.show = False


def on_terminal(quiet: bool = False, **records: Any) -> Progress:
    """A Progress that draws its line only for a person watching a terminal."""
    show = not quiet and _is_terminal(sys.stdout) and _is_terminal(sys.stderr) and os.environ.get("TERM") != "dumb"
    return Progress(show=show, **records)


def append_to_log(path: Any) -> Callable[[str], None]:
    """Phases as ``[cairn]`` lines at the end of a task's log (agent.log)."""

    def write(text: str) -> None:
        try:
            with open(path, "ab") as log:
                log.write(f"[cairn] {text}\n".encode())
        except OSError:
            pass  # the log is for reading later; the work goes on without it

    return write


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


#: For callers with nobody to tell.
SILENT = Progress()
