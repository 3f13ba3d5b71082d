"""The other programs a runner starts — setup commands, checks, the reviewer —
each as its own process group, so a deadline or a cancel stops all of it.

``subprocess.run(timeout=...)`` kills only the direct child: a test runner's
workers or a shell's children would live on.  Here a timeout, or
``stop_all()`` from the runner's SIGTERM handler (a cancel), signals the
whole group.  Each also dies with the process that started it, and carries
the mark of the task it works for (``working_for``; processes.py says how
both are used).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cairn.core.records import record

#: Process groups running now (their leaders' pids).
_running: set[int] = set()
_stopped = False
#: The task directory the programs started now work for (``working_for``).
_owner: str | None = None

GRACE = 3.0


@record(kw_only=False)
class Finished:
    returncode: int | None  # None: it timed out or could not be stopped
    output: str
    timed_out: bool


def run(argv: list[str], *, cwd: Any, env: dict[str, str] | None, timeout: float | None,
        stdout: Any = subprocess.PIPE, input: str | None = None) -> Finished:
    """Run ``argv`` to its end, its deadline, or a cancel; FileNotFoundError if it does not exist."""
    if _stopped:
        return Finished(returncode=None, output="", timed_out=False)
    from cairn.agents.processes import tied_to_parent, works_for

    if _owner is not None:
        env = {**(os.environ if env is None else env), **works_for(_owner)}
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, start_new_session=True, preexec_fn=tied_to_parent(signal.SIGKILL),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=stdout, stderr=subprocess.STDOUT,
        encoding="utf-8" if stdout is subprocess.PIPE or input is not None else None,
        errors="replace" if stdout is subprocess.PIPE or input is not None else None,
    )
    _running.add(process.pid)
    try:
        if _stopped:  # a stop came between the check above and the add
            _stop_group(process)
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        pending = input
        while True:
            # Short waits, so a stop (which only sends SIGTERM from the signal
            # handler) is followed through here with SIGKILL if need be.
            left = None if deadline is None else deadline - time.monotonic()
            step = 0.5 if left is None else max(0.0, min(0.5, left))
            try:
                output, _ = process.communicate(input=pending, timeout=step)
                return Finished(returncode=None if _stopped else process.returncode, output=output or "", timed_out=False)
            except subprocess.TimeoutExpired:
                pending = None  # communicate() keeps feeding what it started
            if _stopped or (left is not None and left <= step):
                timed_out = not _stopped
                _stop_group(process)
                output, _ = process.communicate()
                return Finished(returncode=None, output=output or "", timed_out=timed_out)
    finally:
        _running.discard(process.pid)


@contextmanager
def working_for(task_dir: Any) -> Iterator[None]:
    """Programs started meanwhile are marked as working for that task."""
    global _owner
    previous, _owner = _owner, str(task_dir)
    try:
        yield
    finally:
        _owner = previous


def stop_all() -> None:
    """From a signal handler: stop every group running now, and refuse new ones."""
    global _stopped
    _stopped = True
    for leader in list(_running):
        try:
            os.killpg(leader, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass


def _stop_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the group, give the leader a moment, then SIGKILL whatever of the group is left."""
    for sig, wait in ((signal.SIGTERM, GRACE), (signal.SIGKILL, GRACE)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            # The leader is gone; its children may not be.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            return


def feed(pipe: Any, data: bytes) -> None:
    """Write ``data`` to a child's stdin and close it (from a thread: a child that
    never reads must not block its supervisor); a child gone meanwhile is fine."""
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError, ValueError):
        pass
