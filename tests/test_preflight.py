"""Preflight: an agent that cannot run here holds its tasks in queued, saying why.

The agent is the scripted one behind a profile that names credentials
(the real CLIs: tests/test_agent_contract.py).
"""

from __future__ import annotations

import pytest

from conftest import state_of

PROFILE = '''
[agents.mine]
command = ["cairn-demo-agent", "{prompt_file}"]
version = ["echo", "mine 1.2.3"]
credentials = { env = ["MINE_TOKEN"], files = ["~/.mine/token"], hint = "run `mine login` or set MINE_TOKEN" }
'''


@pytest.fixture
def mine(repo, monkeypatch):
    monkeypatch.setenv("CAIRN_PREFLIGHT", "true")
    monkeypatch.delenv("MINE_TOKEN", raising=False)
    (repo / "cairn.toml").write_text(PROFILE)


def test_without_credentials_the_task_waits_in_queued_with_the_fix(cairn, home, mine):
    cairn("queue", "-a", "mine", "write a.txt: a")
    spawned = cairn("spawn", "1")
    assert spawned.returncode == 4
    assert "mine: not logged in — run `mine login` or set MINE_TOKEN" in spawned.stderr
    assert state_of(home, 1)["state"] == "queued"
    up = cairn("up", "--until-idle", timeout=60)
    assert up.returncode == 0, up.stderr
    assert "mine: not logged in" in up.stdout + up.stderr
    assert state_of(home, 1)["state"] == "queued"


def test_status_says_why_while_a_scheduler_holds_the_task(cairn, home, repo, mine):
    import os
    import subprocess
    import time

    from conftest import BIN

    cairn("queue", "-a", "mine", "write a.txt: a")
    scheduler = subprocess.Popen([str(BIN / "cairn"), "up"], cwd=repo, env=dict(os.environ),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (home / "holds.json").exists():
            assert time.monotonic() < deadline and scheduler.poll() is None, "the scheduler never held the task"
            time.sleep(0.1)
        listed = cairn("status", "--json").json()
        assert listed[0]["waiting"] == "mine: not logged in — run `mine login` or set MINE_TOKEN"
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
    assert not (home / "holds.json").exists(), "a stopped scheduler holds nothing"
    assert state_of(home, 1)["state"] == "queued"


def test_credentials_in_the_environment_or_a_file_let_it_run(cairn, home, mine, env):
    cairn("queue", "-a", "mine", "write a.txt: a")
    assert cairn("spawn", "1", "--wait", extra_env={"MINE_TOKEN": "t"}).returncode == 0
    token = __import__("pathlib").Path(env["HOME"]) / ".mine" / "token"
    token.parent.mkdir()
    token.write_text("t")
    cairn("queue", "-a", "mine", "write b.txt: b")
    assert cairn("spawn", "2", "--wait").returncode == 0
    assert state_of(home, 2)["state"] == "review"


def test_a_missing_binary_holds_its_tasks_too(cairn, home, repo, monkeypatch):
    monkeypatch.setenv("CAIRN_PREFLIGHT", "true")
    (repo / "cairn.toml").write_text('[agents.ghost]\ncommand = ["no-such-agent-binary", "{prompt_file}"]\n')
    cairn("queue", "-a", "ghost", "hello")
    spawned = cairn("spawn", "1")
    assert spawned.returncode == 4
    assert "ghost: 'no-such-agent-binary' is not installed or not on PATH" in spawned.stderr


def test_preflight_off_starts_the_agent_whatever_is_missing(cairn, home, mine, monkeypatch):
    monkeypatch.setenv("CAIRN_PREFLIGHT", "false")
    cairn("queue", "-a", "mine", "write a.txt: a")
    assert cairn("spawn", "1", "--wait").returncode == 0


def test_cairn_agents_lists_readiness_and_versions(cairn, mine):
    result = cairn("agents", "mine", "demo", "--json")
    assert result.returncode == 1, "one of them is not ready"
    mine_row, demo_row = result.json()
    assert mine_row["agent"] == "mine" and mine_row["ready"] is False
    assert mine_row["version"] == "mine 1.2.3"
    assert mine_row["problem"] == "mine: not logged in — run `mine login` or set MINE_TOKEN"
    assert demo_row["ready"] is True
    text = cairn("agents", "mine", extra_env={"MINE_TOKEN": "t"})
    assert text.returncode == 0 and text.stdout.split() == ["mine", "ready", "mine", "1.2.3"]


def test_cairn_agents_refuses_an_unknown_name(cairn, mine):
    result = cairn("agents", "nobody")
    assert result.returncode == 2 and "nobody" in result.stderr
