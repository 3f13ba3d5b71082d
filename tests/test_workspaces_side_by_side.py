"""Workspaces are made side by side: the repository's worktree lock is held
while git registers a worktree, never while its files are written, and a
workspace whose files were never all written is never anyone's work.

Real git throughout.  A checkout is held up for as long as a test needs by a
smudge filter (``filter.gate`` in the repository's config) that waits for a
file: the first checkout to take ``gate/hold`` says so in ``gate/blocked``
and waits for ``gate/release``; every other checkout passes straight through.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from conftest import git, state_of, wait_until

from cairn.backends.git.workspaces import GitWorkspaces
from cairn.core.model import Task
from cairn.errors import OperationFailed
from cairn.state.lock import is_held

GATED = "gated.txt"


@pytest.fixture
def gate(repo: Path, tmp_path: Path) -> Path:
    """A repository whose ``gated.txt`` goes through the waiting filter on checkout."""
    gate = tmp_path / "gate"
    gate.mkdir()
    script = gate / "filter.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"if mv {gate}/hold {gate}/held 2>/dev/null; then\n"
        f"  touch {gate}/blocked\n"
        f"  while [ ! -e {gate}/release ]; do sleep 0.01; done\n"
        "fi\n"
        "cat\n"
        f"touch {gate}/passed-$$\n"
    )
    script.chmod(0o755)
    git(repo, "config", "filter.gate.smudge", str(script))
    git(repo, "config", "filter.gate.clean", "cat")
    (repo / ".gitattributes").write_text(f"{GATED} filter=gate\n")
    (repo / GATED).write_text("every byte of it\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "a file checked out through the gate")
    (gate / "hold").touch()
    yield gate
    (gate / "release").touch()


def task(task_id: int) -> Task:
    return Task(id=task_id, title=f"task {task_id}", prompt="p", agent="demo", created=time.time(), target="main")  # type: ignore[arg-type]


def in_thread(action) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(action())
        except Exception as error:  # noqa: BLE001 — handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def complete(repo: Path, path: Path, branch: str) -> None:
    assert git(path, "symbolic-ref", "--short", "HEAD") == branch
    assert git(path, "rev-parse", "HEAD") == git(repo, "rev-parse", "main")
    assert git(path, "status", "--porcelain", "--untracked-files=all") == ""
    assert (path / GATED).read_text() == "every byte of it\n"
    assert (path / "src" / "app.py").is_file()


def test_a_workspace_is_checked_out_outside_the_worktree_lock_and_another_is_made_meanwhile(repo, tmp_path, gate):
    workspaces = GitWorkspaces(repo)
    first, second = tmp_path / "ws" / "1", tmp_path / "ws" / "2"
    blocked_thread, blocked = in_thread(lambda: workspaces.create(task(1), first))
    try:
        wait_until((gate / "blocked").exists, 60, "the first checkout to reach the gate")
        # Its worktree is registered, its files are being written: the lock is free.
        assert not is_held(repo / ".git" / "cairn-worktrees.lock")
        meanwhile_thread, meanwhile = in_thread(lambda: workspaces.create(task(2), second))
        meanwhile_thread.join(60)
        assert meanwhile and not isinstance(meanwhile[0], Exception), meanwhile
        complete(repo, second, "cairn/2")
        assert not blocked, "the first workspace cannot be done before its checkout is"
    finally:
        (gate / "release").touch()
        blocked_thread.join(60)
    assert blocked and not isinstance(blocked[0], Exception), blocked
    complete(repo, first, "cairn/1")


def test_a_checkout_that_fails_leaves_no_worktree_and_no_branch(repo, tmp_path, gate):
    git(repo, "config", "filter.gate.smudge", "false")
    git(repo, "config", "filter.gate.required", "true")
    path = tmp_path / "ws" / "1"
    with pytest.raises(OperationFailed):
        GitWorkspaces(repo).create(task(1), path)
    assert not path.exists()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "branch", "--list", "cairn/1") == ""
    # The task can be given its workspace again once the checkout works.
    git(repo, "config", "--unset", "filter.gate.required")
    git(repo, "config", "filter.gate.smudge", "cat")
    GitWorkspaces(repo).create(task(1), path)
    complete(repo, path, "cairn/1")


def test_a_runner_killed_during_the_checkout_is_recovered_with_nothing_committed(cairn, repo, home, gate):
    base = git(repo, "rev-parse", "main")
    cairn("queue", "-a", "demo", "write work.txt: never written")
    cairn("spawn", "1")
    wait_until((gate / "blocked").exists, 60, "the workspace's checkout to reach the gate")
    runner = state_of(home, 1)["runner_pid"]
    os.kill(runner, signal.SIGKILL)
    wait_until(lambda: not psutil.pid_exists(runner) or psutil.Process(runner).status() == psutil.STATUS_ZOMBIE, 30, "the runner to die")
    assert cairn("wait", "1", "--timeout", "30s").returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed" and state["reason"] == "its runner died before the agent started"
    # The half-written workspace was never recorded, so nothing of it is the task's work.
    assert "work" not in state or state["work"] is None
    assert git(repo, "rev-parse", "cairn/1") == base
    (gate / "release").touch()
    # The orphaned checkout runs to its end (so no process of the test outlives it).
    wait_until(lambda: any(p.name.startswith("passed-") for p in gate.iterdir()), 60, "the held checkout to end")
    workspace = home / "workspaces" / "1"
    wait_until(lambda: not (Path(git(workspace, "rev-parse", "--git-dir")) / "index.lock").exists(), 60, "git to finish")
