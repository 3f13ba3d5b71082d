"""Telling the human: a configured command and a desktop notification when a
task is ready for review, failed, went idle or was accepted.

Invariants:
- never blocks its caller (the runner, the scheduler through recovery, an
  accept): each notifier is spawned detached (own session, stdio on
  /dev/null, no inherited descriptors, so no lock and no pipe is held) and
  never waited for by the caller: a daemon thread reaps each one when it
  exits, so no zombie lingers for a runner to mistake for the agent's
  leftovers, and a caller that exits first simply leaves it to init;
- never fails its caller: a notifier that cannot start is journalled as
  ``notify-failed`` and that is all;
- no shell ever sees a title: the command is an argv list and ``{id}``,
  ``{state}``, ``{title}`` are replaced inside each element.

A notifier spawned by a runner while its agent still works (``idle``) is a
descendant of that runner, a child subreaper: one still running when the
agent ends is stopped with whatever else the agent left behind.

Imported by the engine, so it imports nothing beyond the standard library
until there is something to send.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

#: The moments worth a human's attention; every other state passes silently.
EVENTS = frozenset({"review", "failed", "idle", "accepted", "budget"})

_HEADLINES = {
    "review": "ready for review",
    "failed": "failed",
    "idle": "is idle",
    "accepted": "accepted",
}

#: Notifiers not yet known to have exited (their reaper threads set the exit status).
_spawned: list[Any] = []


def render(argv: Sequence[str], task_id: int, state: str, title: str) -> list[str]:
    """The command with its placeholders filled in, element by element.

    Plain replacement, not ``str.format``: other braces in the command are
    the user's and stay as they are.
    """
    values = {"{id}": str(task_id), "{state}": state, "{title}": title}
    rendered = []
    for element in argv:
        for placeholder, value in values.items():
            element = element.replace(placeholder, value)
        rendered.append(element)
    return rendered


def headline(task_id: int, state: str) -> str:
    if state == "budget":  # about the crew, not one task
        return "cairn: the day's budget is spent; nothing more starts today"
    return f"cairn: task {task_id} {_HEADLINES.get(state, state)}"


def notify(settings: Any, task_id: int, state: str, title: str | None = None) -> None:
    """Run the configured notifiers for ``state`` of ``task_id``, if it is one of ``EVENTS``."""
    config = settings.section("notify")
    if state not in EVENTS or (not config.command and not config.desktop):
        return
    try:
        if title is None:
            title = _title(settings, task_id)
        reap()
        commands = []
        if config.command:
            commands.append(render(config.command, task_id, state, title))
        if config.desktop:
            import shutil

            sender = shutil.which("notify-send")
            if sender:
                commands.append([sender, "--app-name=cairn", headline(task_id, state), title])
        environment = {**os.environ, "CAIRN_TASK_ID": str(task_id), "CAIRN_TASK_STATE": state, "CAIRN_TASK_TITLE": title}
        cwd = str(settings.root) if getattr(settings, "root", None) else None
        for argv in commands:
            _spawn(settings, task_id, argv, environment, cwd)
    except Exception as error:  # a notification is never worth a failed task
        _report(settings, task_id, [], error)


def reap() -> int:
    """Forget notifiers that have exited, without waiting; how many still run."""
    _spawned[:] = [process for process in _spawned if process.poll() is None]
    return len(_spawned)


def _spawn(settings: Any, task_id: int, argv: list[str], environment: dict[str, str], cwd: str | None) -> None:
    import subprocess

    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            # Its own session: a terminal's hangup or Ctrl-C aimed at the
            # caller (a tmux pane closing with the runner) does not reach it.
            start_new_session=True,
        )
    except (OSError, ValueError) as error:
        _report(settings, task_id, argv, error)
        return
    import threading

    threading.Thread(target=process.wait, name=f"cairn-notify-{process.pid}", daemon=True).start()
    _spawned.append(process)


def _title(settings: Any, task_id: int) -> str:
    from cairn.state.store import Store

    try:
        return Store(settings.layout).read_task(task_id).title
    except Exception:
        return f"task {task_id}"


def _report(settings: Any, task_id: int, argv: list[str], error: BaseException) -> None:
    from cairn.state.store import Store

    message = getattr(error, "strerror", None) or str(error) or type(error).__name__
    try:
        Store(settings.layout).journal("notify-failed", task=task_id, command=argv[:1] or None, error=message)
    except OSError:
        pass
