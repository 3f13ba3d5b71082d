"""Processes of an agent: who they are, and stopping all of them.

A pid alone never identifies a process: pids are recycled.  (pid, start time)
does, so every "is it still that agent?" question asks both.

Everything a runner (or an accept) starts for a task — the agent, setup
commands, checks, the reviewer — dies with it, however it dies:
- the leader of each is tied to its parent's death (``PR_SET_PDEATHSIG``),
  so a runner killed with SIGKILL never leaves an unsupervised agent or a
  check writing on in the workspace;
- each carries ``CAIRN_WORKS_FOR=<task directory>`` in its environment, which
  its descendants inherit through forks, ``setsid`` and reparenting; whoever
  cleans up after a dead runner or accept stops every process still carrying
  it (``stop_working_for``), the grandchildren the death signal cannot reach.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil

_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_PDEATHSIG = 1

#: The environment variable naming the task a process works for (see the header).
WORKS_FOR = "CAIRN_WORKS_FOR"


def works_for(task_dir: Path | str) -> dict[str, str]:
    """The environment entry that marks a process as working for a task."""
    return {WORKS_FOR: os.path.realpath(task_dir)}


def tied_to_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``sig`` when the process starting it
    dies (and exits at once if that happened before the tie was made)."""
    parent = os.getpid()
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return lambda: None

    def tie() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return tie


def stop_working_for(task_dir: Path | str, grace: float = 3.0) -> int:
    """Stop every process of ours still marked as working for this task (not
    this process, nor its ancestors); how many there were."""
    wanted = os.path.realpath(task_dir)
    spared = {os.getpid(), *(p.pid for p in _ancestors())}
    uid = os.getuid()
    found = []
    for process in psutil.process_iter(["uids"]):
        if process.pid in spared:
            continue
        try:
            if process.info["uids"] is not None and process.info["uids"].real != uid:
                continue
            if process.environ().get(WORKS_FOR) == wanted:
                found.append(process)
        except psutil.Error:
            continue
    return _terminate(found, grace)


def _ancestors() -> list[psutil.Process]:
    try:
        return psutil.Process().parents()
    except psutil.Error:
        return []


def become_subreaper() -> bool:
    """Orphans of the agent (daemons it forked) become our children, so we can
    find and reap them when the agent exits.  Linux only; harmless elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def is_same_process(pid: int | None, started: float | None) -> bool:
    if not pid or started is None:
        return False
    try:
        process = psutil.Process(pid)
        return abs(process.create_time() - started) < 0.01 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_tree(pid: int, started: float | None = None, grace: float = 3.0) -> int:
    """SIGTERM the agent, its process group and every descendant; SIGKILL what
    is left after ``grace`` seconds.  Returns how many processes were signalled."""
    targets: list[psutil.Process] = []
    try:
        leader = psutil.Process(pid)
        if started is None or abs(leader.create_time() - started) < 0.01:
            targets = [leader, *leader.children(recursive=True)]
    except psutil.Error:
        pass
    targets.extend(_group_members(pid, targets))
    return _terminate(targets, grace)


def stop_descendants(grace: float = 3.0) -> int:
    """Stop every process below this one (the runner, a subreaper)."""
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return 0
    count = _terminate(children, grace)
    reap_children()
    return count


def reap_children() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _group_members(pgid: int, known: list[psutil.Process]) -> list[psutil.Process]:
    seen = {p.pid for p in known}
    members = []
    for process in psutil.process_iter(["pid"]):
        if process.pid in seen:
            continue
        try:
            if os.getpgid(process.pid) == pgid:
                members.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def _terminate(processes: list[psutil.Process], grace: float) -> int:
    alive = []
    for process in processes:
        try:
            process.send_signal(signal.SIGTERM)
            alive.append(process)
        except psutil.Error:
            continue
    if not alive:
        return 0
    deadline = time.monotonic() + grace
    _, alive = psutil.wait_procs(alive, timeout=max(0.0, deadline - time.monotonic()))
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(alive, timeout=grace)
    return len(processes)
