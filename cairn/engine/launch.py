"""Start a task's runner, detached from whoever starts it (scheduler or ``cairn spawn``).

Headless: a new session of its own, stdio away from our terminal.  With tmux:
a tmux session running the runner with ``--tty``; the environment travels in
a private file (``tmp/``, mode 0600) because a tmux server has its own.

A standby runner (scheduler only, headless only) is a runner started ahead of
need: it has paid its interpreter start and imports and waits on its stdin
for a task id, so a queued task starts without that wait.  If the scheduler
goes away, the standby reads end-of-file and exits.
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


def start_standby(settings: Any) -> subprocess.Popen[bytes] | None:
    """A headless runner waiting for a task id on its stdin; None under tmux."""
    if use_tmux(settings.config.tmux):
        return None
    layout = settings.layout
    return subprocess.Popen(
        [sys.executable, "-m", "cairn.engine.runner", "--standby", str(layout.home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=layout.home,
    )


def hand_over(standby: subprocess.Popen[bytes] | None, task_id: int) -> bool:
    """Give ``task_id`` to a waiting standby; False if there is none alive."""
    if standby is None or standby.poll() is not None or standby.stdin is None:
        return False
    try:
        standby.stdin.write(f"{task_id}\n".encode())
        standby.stdin.close()
        return True
    except (BrokenPipeError, OSError, ValueError):
        return False


def dismiss(standby: subprocess.Popen[bytes] | None) -> None:
    if standby is not None and standby.stdin is not None:
        try:
            standby.stdin.close()
        except OSError:
            pass
