"""``cairn status --watch``: the plain status table, redrawn when a task changes.

On a terminal: the table fills the alternate screen like watch(1), newest
and unfinished tasks kept when it does not fit, ages ticking each second.
Piped: a new frame (a ``-- time --`` line, then the table) only when a
task's record or the reason it waits changed, so a log of it stays short.
Disk is the truth: inotify only wakes the loop early; each frame is a fresh
scan.
"""

from __future__ import annotations

import shutil
import sys
import time
from datetime import datetime
from typing import Any

from cairn.errors import UsageError

#: Ages on screen tick this often even when nothing else changes.
TICK = 1.0

_FINISHED = ("accepted", "rejected", "cancelled", "failed")


def watch_status(store: Any, current: Any, states: set[str], *, ids: tuple[int, ...], scheduler: bool, as_json: bool) -> int:
    if ids or scheduler or as_json:
        raise UsageError(
            "--watch redraws the task list; it does not combine with task ids, --scheduler or --json",
            hint="`cairn events -f --json` follows every change as JSON",
        )
    from cairn.state.watch import Wakeup

    tty = sys.stdout.isatty()
    out = sys.stdout
    wakeup = Wakeup(current.layout)
    watching = wakeup.start()
    last: Any = None
    if tty:
        out.write("\x1b[?1049h\x1b[?25l")  # the alternate screen, no cursor: the user's scrollback stays theirs
    try:
        while True:
            summaries, reasons = _look(store, current, states)
            if tty:
                frame = _screen(summaries, reasons, shutil.get_terminal_size())
                if frame != last:
                    out.write("\x1b[H" + frame.replace("\n", "\x1b[K\n") + "\x1b[J")
                    out.flush()
                    last = frame
            elif (summaries, reasons) != last:
                out.write(f"-- {datetime.now().strftime('%Y-%m-%d %H:%M:%S')} --\n{_table(summaries, reasons, None)}")
                out.flush()
                last = (summaries, reasons)
            if not watching:
                watching = wakeup.start()  # the state directory may have appeared meanwhile
            wakeup.wait(TICK)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how one stops watching
    finally:
        wakeup.stop()
        if tty:
            out.write("\x1b[?25h\x1b[?1049l")
            out.flush()


def _look(store: Any, current: Any, states: set[str]) -> tuple[list[Any], dict[int, str]]:
    from cairn.core.schedule import plan

    scan = store.scan()
    from cairn.state.scheduler_info import current_holds

    decided = plan(scan.summaries, current.config.max_agents, held=current_holds(current.layout), limits=current.executor_limits)
    reasons = {**decided.waiting, **{i: f"cannot start: {why}" for i, why in decided.fail.items()}}
    shown = [s for s in scan.summaries if not states or s.state in states]
    return shown, {i: r for i, r in reasons.items() if any(s.id == i for s in shown)}


def _table(summaries: list[Any], reasons: dict[int, str], width: int | None) -> str:
    from cairn.cmd.views import status_table

    return status_table(summaries, reasons, time.time(), width) or "no tasks yet\n"


def _screen(summaries: list[Any], reasons: dict[int, str], size: Any) -> str:
    """A header line and as much of the table as fits, dropping finished tasks, oldest first."""
    room = max(size.lines - 3, 1)  # header, blank line, table header
    shown = list(summaries)
    hidden = 0
    if len(shown) > room:
        order = sorted(shown, key=lambda s: (s.state not in _FINISHED, s.id))
        dropped = {s.id for s in order[: len(shown) - room + 1]}  # one line for the "more" note
        shown = [s for s in shown if s.id not in dropped]
        hidden = len(dropped)
    header = f"cairn status --watch    {datetime.now().strftime('%H:%M:%S')}    Ctrl-C stops"
    body = _table(shown, reasons, size.columns)
    if hidden:
        body += f"({hidden} more not shown: `cairn status` lists them all)\n"
    return f"{header[: size.columns]}\n\n{body}"
