"""A runner (or an accept) killed outright: nothing it started lives on to write
in the workspace, nothing it started is committed as the agent's work, and
whoever recovers says what happened."""

from __future__ import annotations

import os
import signal
import subprocess

import psutil

from conftest import BIN, git, run_task, state_of, wait_until


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def pid_in(path) -> int:
    wait_until(lambda: path.exists() and path.read_text().strip().isdigit(), what=f"{path} written")
    return int(path.read_text())


def blocked_until(go, *, started, pid, child_pid, late: str) -> str:
    """A shell that records its pid, leaves a child behind waiting for ``go``,
    says it started, then waits; the child writes ``late`` once ``go`` exists."""
    child = f"(while [ ! -e {go} ]; do sleep 0.05; done; echo late > {late}) & echo $! > {child_pid}"
    return f"echo $$ > {pid}; {child}; touch {started}; wait"


def test_checks_die_with_a_killed_runner_and_recovery_commits_nothing_of_theirs(cairn, repo, home, tmp_path):
    go, started, pid, child = tmp_path / "go", tmp_path / "started", tmp_path / "check.pid", tmp_path / "child.pid"
    script = blocked_until(go, started=started, pid=pid, child_pid=child, late="late.txt")
    (repo / "cairn.toml").write_text(f"[checks]\ncommands = [[\"sh\", \"-c\", \"echo early > early.txt; {script}\"]]\n")
    cairn("queue", "-a", "demo", "write work.txt: the agent's")
    cairn("spawn", "1")
    wait_until(started.exists, what="checks started")
    os.kill(state_of(home, 1)["runner_pid"], signal.SIGKILL)
    wait_until(lambda: gone(pid_in(pid)), 30, "the check died with its runner")
    assert cairn("wait", "1", "--timeout", "30s").returncode == 1
    # Recovery stopped what the check left running before anyone could write more.
    assert gone(pid_in(child))
    go.touch()
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert "while the checks or the reviewer ran" in state["reason"] and "committed on cairn/1" in state["reason"]
    files = git(repo, "ls-tree", "-r", "--name-only", "cairn/1").splitlines()
    assert "work.txt" in files and "early.txt" not in files and "late.txt" not in files
    assert not (home / "workspaces" / "1" / "early.txt").exists(), "the check's leftovers are dropped"


def test_setup_dies_with_a_killed_runner_and_its_files_are_not_the_work(cairn, repo, home, tmp_path):
    go, started, pid, child = tmp_path / "go", tmp_path / "started", tmp_path / "setup.pid", tmp_path / "child.pid"
    script = blocked_until(go, started=started, pid=pid, child_pid=child, late="late.txt")
    (repo / "cairn.toml").write_text(f"[bootstrap]\nsetup = [[\"sh\", \"-c\", \"echo built > built.txt; {script}\"]]\n")
    cairn("queue", "-a", "demo", "write work.txt: never")
    cairn("spawn", "1")
    wait_until(started.exists, what="setup started")
    os.kill(state_of(home, 1)["runner_pid"], signal.SIGKILL)
    wait_until(lambda: gone(pid_in(pid)), 30, "setup died with its runner")
    assert cairn("wait", "1", "--timeout", "30s").returncode == 1
    assert gone(pid_in(child))
    state = state_of(home, 1)
    assert state["state"] == "failed" and state["reason"] == "its runner died before the agent started"
    base = git(repo, "rev-parse", "main")
    assert git(repo, "rev-parse", "cairn/1") == base, "nothing of setup's was committed"


def test_an_agent_dies_with_its_runner_even_with_no_scheduler_and_recovery_says_so(cairn, repo, home):
    cairn("queue", "-a", "demo", "write half.txt: half done\nsleep 120")
    cairn("spawn", "1")
    wait_until(lambda: (home / "workspaces" / "1" / "half.txt").exists(), what="the agent wrote")
    running = state_of(home, 1)
    os.kill(running["runner_pid"], signal.SIGKILL)
    # Nobody recovers yet (no scheduler, no wait): the agent must not run on unsupervised.
    wait_until(lambda: gone(running["agent_pid"]), 30, "the agent died with its runner")
    assert cairn("wait", "1", "--timeout", "30s").returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert state["reason"].startswith("its runner died before it could record how the agent ended; the agent no longer runs")
    assert "what it left is committed on cairn/1 (1 files)" in state["reason"]
    assert git(repo, "show", "cairn/1:half.txt") == "half done"


def test_checks_of_a_killed_accept_neither_block_nor_land(cairn, repo, home, tmp_path):
    go, started = tmp_path / "go", tmp_path / "started"
    check = f"[ -e {go} ] && exit 0; echo junk > artifact.txt; touch {started}; sleep 120"
    (repo / "cairn.toml").write_text(f"[checks]\ncommands = [[\"sh\", \"-c\", \"{check}\"]]\n")
    go.touch()  # the checks after the agent pass at once
    task = run_task(cairn, "write feature.txt: f")
    go.unlink()
    accepting = subprocess.Popen([str(BIN / "cairn"), "accept", str(task)], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(started.exists, what="the accept's checks started")
    finally:
        accepting.kill()
        accepting.wait()
    go.touch()
    again = cairn("accept", str(task))
    assert again.returncode == 0, again.stderr
    assert "dropped what the checks of an interrupted accept left" in again.stdout + again.stderr
    assert (repo / "feature.txt").read_text() == "f\n"
    assert "artifact.txt" not in git(repo, "ls-tree", "-r", "--name-only", "main").splitlines()


def test_an_agent_started_but_never_recorded_keeps_its_work(cairn, repo, home, store, add_task, set_running):
    # A full disk can refuse the agent's pid once the agent runs (it may fill
    # the disk itself): the launch mark, written before it started, is what
    # tells recovery that the workspace holds its work, not setup's.
    import time

    from cairn.core.records import replace

    task = add_task("write found.txt: kept", agent="demo")
    set_running(task)
    workspace = home / "workspaces" / str(task)
    git(repo, "worktree", "add", "-b", f"cairn/{task}", str(workspace), "HEAD")
    (workspace / "found.txt").write_text("kept\n")
    store.update(task, lambda s: replace(s, agent_launched=time.time()))
    assert cairn("up", "--until-idle").returncode == 0
    state = state_of(home, task)
    assert state["state"] == "failed", state
    assert "before it could record its pid" in state["reason"] and f"committed on cairn/{task} (1 files)" in state["reason"]
    assert git(repo, "show", f"cairn/{task}:found.txt") == "kept"
