"""Kill anything at any moment: no task is lost, none runs twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import psutil
import pytest

from conftest import BIN, events, git, state_of
from test_supervision import wait_until


def start_scheduler(repo, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "cairn"), "up", *args], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_sigkill_of_the_scheduler_at_many_points_loses_nothing_and_runs_nothing_twice(cairn, repo, home):
    sleeps = [0.05, 0.3, 0.1, 0.6, 0.2, 0.4, 0.0, 0.5]
    for n, pause in enumerate(sleeps, start=1):
        cairn("queue", "-a", "demo", f"sleep {pause}\nwrite out{n}.txt: {n}")
    for delay in (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8):
        scheduler = start_scheduler(repo, "--max-agents", "3")
        time.sleep(delay)
        scheduler.send_signal(signal.SIGKILL)
        scheduler.wait()
    final = cairn("up", "--until-idle", "--max-agents", "3", timeout=60)
    assert final.returncode == 0, final.stderr
    started = Counter(e["task"] for e in events(home) if e["event"] == "agent-started")
    assert started == {n: 1 for n in range(1, len(sleeps) + 1)}, "each agent ran exactly once"
    for n in range(1, len(sleeps) + 1):
        assert state_of(home, n)["state"] == "review", n
        assert git(repo, "show", f"cairn/{n}:out{n}.txt") == str(n)


def test_a_new_scheduler_adopts_agents_that_outlived_the_old_one(cairn, repo, home):
    cairn("queue", "-a", "demo", "wait-for go\nwrite adopted.txt: yes")
    cairn("queue", "-a", "demo", "write second.txt: yes")
    first = start_scheduler(repo, "--max-agents", "1")
    wait_until(lambda: state_of(home, 1)["state"] == "running" and state_of(home, 1).get("agent_pid"))
    agent = state_of(home, 1)["agent_pid"]
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert psutil.pid_exists(agent), "the agent outlives its scheduler"
    second = start_scheduler(repo, "--max-agents", "1")
    try:
        time.sleep(0.5)
        assert state_of(home, 2)["state"] == "queued", "the adopted agent still counts against the limit"
        (home / "workspaces" / "1" / "go").write_text("")
        assert cairn("wait", "1", "2", "--timeout", "30s").returncode == 0
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)
    assert git(repo, "show", "cairn/1:adopted.txt") == "yes"


def test_a_runner_killed_without_an_exit_record_fails_its_task_and_stops_the_agent(cairn, repo, home):
    cairn("queue", "-a", "demo", "write early.txt: saved\nsleep 60")
    cairn("spawn", "1")
    wait_until(lambda: (home / "workspaces" / "1" / "early.txt").exists() and state_of(home, 1).get("agent_pid"))
    record = state_of(home, 1)
    os.kill(record["runner_pid"], signal.SIGKILL)
    wait_until(lambda: not psutil.pid_exists(record["runner_pid"]) or psutil.Process(record["runner_pid"]).status() == psutil.STATUS_ZOMBIE)
    result = cairn("up", "--until-idle", timeout=30)
    assert result.returncode == 0
    state = state_of(home, 1)
    assert state["state"] == "failed"
    # The agent died with its runner (tied to it), before anyone recovered the task.
    assert state["reason"].startswith("its runner died before it could record how the agent ended; the agent no longer runs")
    assert state["reason"].endswith("what it left is committed on cairn/1 (1 files)")
    assert git(repo, "show", "cairn/1:early.txt") == "saved", "what the agent did is committed"
    agent = record["agent_pid"]
    assert not psutil.pid_exists(agent) or psutil.Process(agent).status() == psutil.STATUS_ZOMBIE


def test_a_finished_agent_whose_runner_died_before_finishing_is_processed(cairn, repo, home):
    """The runner recorded exit.json, then died: the next look finishes the task as review."""
    cairn("queue", "-a", "demo", "write done.txt: done")
    assert cairn("spawn", "1", "--wait").returncode == 0
    # Rewind the record to "running" as if the runner had died right after exit.json.
    state = state_of(home, 1)
    running = {"state": "running", "format": 1, "since": state["started"], "work": {**state["work"], "head_commit": None},
               "runner_pid": 999999, "agent_pid": None}
    import json

    (home / "tasks" / "1" / "state.json").write_text(json.dumps(running))
    assert (home / "tasks" / "1" / "exit.json").exists()
    assert cairn("wait", "1", "--timeout", "10s").returncode == 0
    assert state_of(home, 1)["state"] == "review"
    assert [e["event"] for e in events(home)].count("recovered") == 1


def test_a_task_that_cannot_be_recovered_fails_and_the_scheduler_goes_on(cairn, repo, home):
    import json

    cairn("queue", "-a", "demo", "write a.txt: a")
    cairn("queue", "-a", "demo", "write b.txt: b")
    # Task 1 looks like it ran, but its record names a commit that does not exist.
    workspace = home / "workspaces" / "1"
    git(repo, "worktree", "add", "-q", "-b", "cairn/1", str(workspace))
    (home / "tasks" / "1" / "state.json").write_text(json.dumps({
        "state": "running", "format": 1, "since": "2026-01-01T00:00:00.000Z", "runner_pid": 999999,
        "work": {"backend": "git", "workspace": str(workspace), "branch": "cairn/1", "base_commit": "0" * 40},
    }))
    result = cairn("up", "--until-idle", timeout=60)
    assert result.returncode == 0, result.stderr
    state = state_of(home, 1)
    assert state["state"] == "failed" and "runner died" in state["reason"]
    assert state_of(home, 2)["state"] == "review", "the rest of the crew carries on"


def test_an_error_handling_one_task_is_contained_and_fails_that_task(cairn, repo, home):
    from cairn.config.load import resolve
    from cairn.engine.scheduler import MAX_LAUNCHES, Scheduler

    cairn("queue", "-a", "demo", "write a.txt: a")
    said: list[str] = []
    scheduler = Scheduler(resolve(repo), max_agents=1, until_idle=True, say=said.append)

    def explode(task_id: int) -> None:
        raise RuntimeError("disk on fire")

    for _ in range(MAX_LAUNCHES):
        scheduler._contained(1, "starting it", explode, 1)
    assert said.count("task 1: error while starting it: disk on fire") == MAX_LAUNCHES
    state = state_of(home, 1)
    assert state["state"] == "failed" and "disk on fire" in state["reason"]
