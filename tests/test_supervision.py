"""A running agent is watched: timeouts, cancel, missing commands, leftover children, idleness."""

from __future__ import annotations

import shutil
import time

import psutil

from conftest import events, git, state_of


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_timeout_stops_the_whole_tree_and_keeps_the_work(cairn, repo, home, tmp_path):
    pidfile = tmp_path / "sleeper.pid"
    cairn("queue", "-a", "demo", "--timeout", "1s", f"write partial.txt: half done\nspawn-sleeper 60 {pidfile}\nsleep 60")
    result = cairn("spawn", "1", "--wait", timeout=40)
    assert result.returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed" and state["reason"] == "timed out after 1s"
    assert git(repo, "show", "cairn/1:partial.txt") == "half done", "the work is committed"
    sleeper = int(pidfile.read_text())
    assert not psutil.pid_exists(sleeper) or psutil.Process(sleeper).status() == psutil.STATUS_ZOMBIE


def test_cancel_a_running_agent_keeps_its_work(cairn, repo, home):
    cairn("queue", "-a", "demo", "write wip.txt: work in progress\nsleep 60")
    cairn("spawn", "1")
    wait_until(lambda: (home / "workspaces" / "1" / "wip.txt").exists())
    pid = state_of(home, 1)["agent_pid"]
    result = cairn("cancel", "1", "--reason", "changed my mind")
    assert result.returncode == 0 and "task 1: cancelled" in result.stdout
    state = state_of(home, 1)
    assert state["state"] == "cancelled" and state["reason"] == "changed my mind"
    assert git(repo, "show", "cairn/1:wip.txt") == "work in progress"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert cairn("cancel", "1").returncode == 4


def test_an_agent_command_that_does_not_exist_fails_clearly(cairn, repo, home):
    (repo / "cairn.toml").write_text('[agents.ghost]\ncommand = ["no-such-agent-binary", "{prompt}"]\n')
    cairn("queue", "-a", "ghost", "do things")
    assert cairn("up", "--until-idle").returncode == 0
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert "agent command not found: 'no-such-agent-binary'" in state["reason"]


def test_children_left_behind_by_an_agent_are_stopped(cairn, home, tmp_path):
    pidfile = tmp_path / "child.pid"
    cairn("queue", "-a", "demo", f"spawn-sleeper 120 {pidfile}\nwrite done.txt: yes")
    assert cairn("spawn", "1", "--wait").returncode == 0
    child = int(pidfile.read_text())
    wait_until(lambda: not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE, 10)
    assert "stopped processes the agent left behind" in (home / "tasks" / "1" / "agent.log").read_text()


def test_a_workspace_deleted_under_a_running_agent_fails_the_task_clearly(cairn, home, tmp_path):
    go = tmp_path / "go"
    cairn("queue", "-a", "demo", "wait-for /nonexistent-never\n")
    # The agent runs until the test says so: the deletion lands while it runs, however loaded the machine.
    cairn("queue", "-a", "demo", f"write started.txt: yes\nwait-for {go}")
    cairn("spawn", "2")
    wait_until(lambda: (home / "workspaces" / "2" / "started.txt").exists())
    shutil.rmtree(home / "workspaces" / "2")
    go.touch()
    assert cairn("wait", "2", "--timeout", "20s").returncode == 1
    state = state_of(home, 2)
    assert state["state"] == "failed"
    assert "workspace" in state["reason"] and "gone" in state["reason"]
    # The scheduler side is unaffected: another task still runs fine.
    cairn("queue", "-a", "demo", "write ok.txt: ok")
    assert cairn("spawn", "3", "--wait").returncode == 0


def test_a_silent_agent_is_flagged_idle_and_unflagged_when_it_speaks(cairn, repo, home):
    (repo / "cairn.toml").write_text('idle_after = "1s"\n')
    cairn("queue", "-a", "demo", "sleep 2.5\nsay awake\nsleep 1.5")
    assert cairn("spawn", "1", "--wait", timeout=30).returncode == 0
    kinds = [e["event"] for e in events(home) if e.get("task") == 1]
    assert "idle" in kinds
    assert kinds.index("idle") < kinds.index("active")


def test_idle_shows_in_status(cairn, repo, home):
    (repo / "cairn.toml").write_text('idle_after = "0.5s"\n')
    cairn("queue", "-a", "demo", "sleep 30")
    cairn("spawn", "1")
    wait_until(lambda: state_of(home, 1).get("idle_since") is not None)
    assert "idle" in cairn("status").stdout
    cairn("cancel", "1")


def test_an_agent_that_exits_nonzero_fails_with_its_status_and_work_kept(cairn, repo, home):
    cairn("queue", "-a", "demo", "write half.txt: half\nexit 5")
    assert cairn("spawn", "1", "--wait").returncode == 1
    state = state_of(home, 1)
    # The agent's last line says what it was doing.
    assert state["reason"].startswith("the agent exited with status 5: ") and state["exit_code"] == 5
    assert git(repo, "show", "cairn/1:half.txt") == "half"
    assert "exited with status 5" in cairn("status").stdout


def test_cancel_stops_running_checks_and_their_children(cairn, repo, home, tmp_path):
    pidfile = tmp_path / "check.pid"
    (repo / "cairn.toml").write_text(
        f'[checks]\ncommands = [["sh", "-c", "sleep 60 & echo $! > {pidfile}; wait"]]\ntimeout = "5m"\n'
    )
    cairn("queue", "-a", "demo", "write c.txt: c")
    cairn("spawn", "1")
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
    result = cairn("cancel", "1", timeout=60)
    assert result.returncode == 0, result.stderr
    assert state_of(home, 1)["state"] == "cancelled"
    sleeper = int(pidfile.read_text())
    wait_until(lambda: not psutil.pid_exists(sleeper) or psutil.Process(sleeper).status() == psutil.STATUS_ZOMBIE, 10)


def test_a_check_past_its_timeout_is_stopped_with_its_children(cairn, repo, home, tmp_path):
    pidfile = tmp_path / "check.pid"
    (repo / "cairn.toml").write_text(
        f'[checks]\ncommands = [["sh", "-c", "sleep 60 & echo $! > {pidfile}; wait"]]\ntimeout = "1s"\n'
    )
    cairn("queue", "-a", "demo", "write c.txt: c")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    state = state_of(home, 1)
    assert state["checks"]["status"] == "failed" and state["checks"]["results"][0]["timed_out"]
    sleeper = int(pidfile.read_text())
    wait_until(lambda: not psutil.pid_exists(sleeper) or psutil.Process(sleeper).status() == psutil.STATUS_ZOMBIE, 10)


def test_a_long_prompt_on_stdin_never_blocks_the_timeout(cairn, repo, home, tmp_path):
    (repo / "cairn.toml").write_text('[agents.deaf]\ncommand = ["sleep", "60"]\nstdin = true\n')
    prompt = tmp_path / "long.md"
    prompt.write_text("x" * 300_000)  # far beyond a pipe's buffer, and the agent never reads it
    cairn("queue", "-a", "deaf", "--timeout", "1s", "-f", str(prompt))
    result = cairn("spawn", "1", "--wait", timeout=60)
    assert result.returncode == 1
    assert state_of(home, 1)["reason"] == "timed out after 1s"


def test_cancel_stops_a_check_that_ignores_sigterm(cairn, repo, home, tmp_path):
    import time

    started = tmp_path / "checking"
    (repo / "cairn.toml").write_text(
        f'[checks]\ncommands = [["sh", "-c", "touch {started}; trap \\"\\" TERM; sleep 120"]]\ntimeout = "10m"\n'
    )
    cairn("queue", "-a", "demo", "write c.txt: c")
    cairn("spawn", "1")
    wait_until(started.exists)
    begun = time.monotonic()
    assert cairn("cancel", "1", timeout=60).returncode == 0
    assert time.monotonic() - begun < 30
    assert state_of(home, 1)["state"] == "cancelled"


def test_a_relative_cairn_home_works_for_runners(cairn, repo):
    relative = {"CAIRN_HOME": "state"}
    cairn("queue", "-a", "demo", "write r.txt: r", extra_env=relative)
    assert cairn("spawn", "1", "--wait", extra_env=relative, timeout=60).returncode == 0
    assert (repo / "state" / "tasks" / "1" / "preview.diff").exists()


def test_a_runner_terminated_during_checks_fails_the_task_saying_so(cairn, repo, home, tmp_path):
    import os
    import signal

    started = tmp_path / "checking"
    (repo / "cairn.toml").write_text(f'[checks]\ncommands = [["sh", "-c", "touch {started}; sleep 60"]]\n')
    cairn("queue", "-a", "demo", "write c.txt: c")
    cairn("spawn", "1")
    wait_until(started.exists)
    os.kill(state_of(home, 1)["runner_pid"], signal.SIGTERM)
    assert cairn("wait", "1", "--timeout", "30s").returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed" and "SIGTERM" in state["reason"]
    assert git(repo, "show", "cairn/1:c.txt") == "c", "the work is committed all the same"
