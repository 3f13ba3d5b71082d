"""Start a task's runner, detached from whoever starts it (scheduler or ``cairn spawn``).

Headless: a new session of its own, stdio away from our terminal.  With tmux:
a tmux session running the runner with ``--tty``; the environment travels in
a private file (``tmp/``, mode 0600) because a tmux server has its own.

A standby (scheduler only, headless only; cairn/engine/standby.py) has paid
a runner's interpreter start and imports once and forks a runner for each
task id the scheduler gives it, so a queued task starts without that wait
and a crew of short tasks does not pay it for every task.  If the scheduler
goes away, the standby reads end-of-file and exits; its runners go on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from cairn.state import atomic


def use_tmux(setting: str) -> bool:
    from cairn.agents import tmux

    if setting == "never":
        return False
    if setting == "always":
        return True
    return tmux.available()


def runner_argv(home: str, task_id: int) -> list[str]:
    return [sys.executable, "-m", "cairn.engine.runner", home, str(task_id)]


def launch(settings: Any, task_id: int, *, adopt: bool = False) -> subprocess.Popen[bytes] | None:
    """Start the runner; the Popen to reap when headless, None when tmux owns it.
    ``adopt``: a watcher for a remote task's job that lost its own (recovery.py)."""
    layout = settings.layout
    argv = runner_argv(str(layout.home), task_id) + (["--adopt"] if adopt else [])
    if use_tmux(settings.config.tmux):
        from cairn.agents import tmux

        env_file = layout.tmp / f"env-{task_id}-{os.getpid()}.json"
        atomic.write_bytes(env_file, json.dumps(dict(os.environ)).encode())
        name = tmux.session_name(layout.home, task_id)
        try:
            tmux.new_session(name, [*argv, "--env-file", str(env_file), "--tty"], layout.home)
            return None
        except OSError:
            env_file.unlink(missing_ok=True)
            if settings.config.tmux == "always":
                raise
            # tmux is there but unusable (no server can start): run headless.
    with atomic.open_private(layout.agent_log(task_id), append=True) as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            cwd=layout.home,
        )


class Standby:
    """The scheduler's side of a standby (cairn/engine/standby.py): task ids
    go in on its stdin; what it says about its runners' exits comes back."""

    #: Exits kept for runners the scheduler may still look at (it looks within CLAIM_GRACE).
    KEEP = 1000

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.exits: dict[int | str, int] = {}  # task id (or "refill") -> exit status
        self._unread = b""
        if process.stdout is not None:
            os.set_blocking(process.stdout.fileno(), False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def give(self, task_id: int) -> ForkedRunner | None:
        """Have it fork the runner of ``task_id``; None if it cannot (it died)."""
        stdin = self.process.stdin
        if not self.alive() or stdin is None:
            return None
        try:
            stdin.write(f"{task_id}\n".encode())
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return None
        self.exits.pop(task_id, None)  # an earlier runner's, if the task is given again
        return ForkedRunner(self, task_id)

    def refill(self) -> ForkedRefill | None:
        """Have it fork a refill of the warm pool; None if it cannot (it died)."""
        stdin = self.process.stdin
        if not self.alive() or stdin is None:
            return None
        try:
            stdin.write(b"refill\n")
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return None
        self.exits.pop("refill", None)
        return ForkedRefill(self, "refill")

    def read_exits(self) -> None:
        """Take in what it said since the last look (never blocks)."""
        out = self.process.stdout
        if out is None:
            return
        data = b""
        while True:
            try:
                chunk = os.read(out.fileno(), 65536)
            except OSError:  # nothing more now (BlockingIOError), or it is gone
                break
            if not chunk:
                break
            data += chunk
        *lines, self._unread = (self._unread + data).split(b"\n")
        for line in lines:
            word, _, rest = line.decode(errors="replace").partition(" ")
            task, _, code = rest.partition(" ")
            if word == "exited" and (task.isdigit() or task == "refill") and code.lstrip("-").isdigit():
                self.exits[int(task) if task.isdigit() else task] = int(code)
        while len(self.exits) > self.KEEP:
            del self.exits[next(iter(self.exits))]

    def dismiss(self) -> None:
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass


class ForkedRunner:
    """A runner a standby forked, looked at as the scheduler looks at one it
    started itself: ``poll()`` is its exit status once the standby said it."""

    def __init__(self, standby: Standby, task_id: int | str) -> None:
        self.standby = standby
        self.task_id = task_id
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.standby.read_exits()
            self.returncode = self.standby.exits.pop(self.task_id, None)
        return self.returncode


class ForkedRefill(ForkedRunner):
    """A refill a standby forked.  Its end is never heard of once the standby
    is gone: then it counts as ended (failed, so the next waits its pause), as
    ``refill.lock`` keeps a second refill from running beside it anyway."""

    def poll(self) -> int | None:
        code = super().poll()
        if code is None and not self.standby.alive():
            self.returncode = code = -1
        return code


def start_standby(settings: Any) -> Standby | None:
    """A standby forking headless runners; None under tmux (a runner there needs its own pane)."""
    if use_tmux(settings.config.tmux):
        return None
    layout = settings.layout
    return Standby(subprocess.Popen(
        [sys.executable, "-m", "cairn.engine.standby", str(layout.home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=layout.home,
    ))
