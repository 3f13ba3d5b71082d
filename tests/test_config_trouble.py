"""A configuration that goes bad: values it must refuse, commands that only
read going on, and a running scheduler that holds starts back instead of
failing tasks that did nothing wrong."""

from __future__ import annotations

import subprocess

from conftest import BIN, state_of, wait_until


def test_a_boolean_where_a_number_belongs_is_refused(cairn, repo):
    (repo / "cairn.toml").write_text("max_agents = true\n")
    queued = cairn("queue", "-a", "demo", "x")
    assert queued.returncode == 2
    assert "max_agents: must be a number, not a boolean (got true)" in queued.stderr


def test_status_shows_the_tasks_and_the_problem_when_the_config_is_bad(cairn, repo):
    assert cairn("queue", "-a", "demo", "still listed").returncode == 0
    (repo / "cairn.toml").write_text("[agents.broken]\ncomand = [\"x\"]\n")
    status = cairn("status")
    assert status.returncode == 0, status.stderr
    assert "still listed" in status.stdout
    assert "the configuration is invalid" in status.stderr and "agents.broken" in status.stderr
    assert cairn("queue", "-a", "demo", "refused").returncode == 2


def test_a_config_typo_while_up_runs_holds_starts_back_and_fails_nothing(cairn, repo, home, tmp_path):
    release = tmp_path / "release"
    (repo / "cairn.toml").write_text("max_agents = 1\n")
    assert cairn("queue", "-a", "demo", f"wait-for {release}\nwrite one.txt: 1").returncode == 0
    assert cairn("queue", "-a", "demo", "write two.txt: 2").returncode == 0
    output = tmp_path / "up.out"
    with open(output, "w") as out:
        up = subprocess.Popen([str(BIN / "cairn"), "up"], cwd=repo, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: state_of(home, 1)["state"] == "running", what="task 1 runs")
        (repo / "cairn.toml").write_text("max_agents = 1\nmax_agent = 2\n")  # the typo
        release.touch()
        wait_until(lambda: "the configuration is invalid" in output.read_text(), what="the scheduler says so")
        wait_until(lambda: state_of(home, 1)["state"] == "review", what="task 1 finishes")
        assert state_of(home, 2)["state"] == "queued", "task 2 waits, untouched"
        (repo / "cairn.toml").write_text("max_agents = 1\n")
        wait_until(lambda: state_of(home, 2)["state"] == "review", what="task 2 runs once it is fixed")
    finally:
        up.terminate()
        up.wait(timeout=60)
    said = output.read_text()
    assert said.count("the configuration is invalid") == 1, said
    assert "max_agent" in said and str(repo / "cairn.toml") in said
    assert "configuration is valid again" in said
    assert "failed" not in said


def test_a_task_the_scheduler_fails_is_said_once(cairn, repo, home):
    assert cairn("queue", "-a", "demo", "first\nexit 3").returncode == 0
    assert cairn("spawn", "1", "--wait").returncode == 1
    assert cairn("queue", "-a", "demo", "--after", "1", "never starts").returncode == 0
    up = cairn("up", "--until-idle", timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.count("task 2 failed") == 1, up.stdout
