"""What a profile teaches Cairn about its agent: stuck states, false successes,
scratch files, and the agent's own reason for failing.  The agent is the
scripted one, wearing each profile's rules (the real CLIs: test_agent_contract.py).
"""

from __future__ import annotations

import time

from conftest import git, state_of


def profile(repo, name: str, extra: str) -> None:
    (repo / "cairn.toml").write_text(f'[agents.{name}]\ncommand = ["cairn-demo-agent", "{{prompt_file}}"]\n{extra}\n')


def test_a_stuck_state_fails_the_task_early_with_the_rules_reason(cairn, repo, home):
    profile(repo, "looper", 'stuck = [{ output = "waiting for network", reason = "it would wait forever", times = 2 }]')
    prompt = "say Reconnecting... waiting for network\nsay Reconnecting... waiting for network\nsleep 120"
    cairn("queue", "-a", "looper", prompt)
    started = time.monotonic()
    result = cairn("spawn", "1", "--wait", timeout=60)
    assert result.returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed" and state["reason"] == "it would wait forever"
    assert time.monotonic() - started < 30, "failed early, not at the timeout"
    exit_record = (home / "tasks" / "1" / "exit.json").read_text()
    assert '"stuck"' in exit_record


def test_a_rule_seen_fewer_times_than_it_asks_lets_the_agent_finish(cairn, repo, home):
    profile(repo, "looper", 'stuck = [{ output = "waiting for network", reason = "stuck", times = 3 }]')
    cairn("queue", "-a", "looper", "say waiting for network\nwrite done.txt: yes")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    assert state_of(home, 1)["state"] == "review"


def test_an_agent_that_exits_0_after_reporting_a_failure_fails_and_is_no_proposal(cairn, repo, home):
    profile(repo, "liar", 'failure_output = ["^litellm\\\\.\\\\w+Error"]\nsuccess_output = ["^Tokens: "]')
    cairn("queue", "-a", "liar", "write half.txt: started\nsay litellm.InternalServerError: Connection error.\nsay bye")
    result = cairn("spawn", "1", "--wait", timeout=60)
    assert result.returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert state["reason"] == "the agent reported a failure though it exited 0: litellm.InternalServerError: Connection error."
    assert git(repo, "show", "cairn/1:half.txt") == "started", "what it did is kept"


def test_a_failure_the_agent_recovered_from_does_not_count(cairn, repo, home):
    profile(repo, "liar", 'failure_output = ["^litellm\\\\.\\\\w+Error"]\nsuccess_output = ["^Tokens: "]')
    cairn("queue", "-a", "liar", "say litellm.InternalServerError: once\nsay Tokens: 2k sent\nwrite ok.txt: fine")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    assert state_of(home, 1)["state"] == "review"


def test_a_failed_exit_carries_the_agents_last_words(cairn, repo, home):
    cairn("queue", "-a", "demo", "say Please set an Auth method\nexit 41")
    cairn("spawn", "1", "--wait", timeout=60)
    state = state_of(home, 1)
    assert state["reason"] == "the agent exited with status 41: Please set an Auth method"


def test_scratch_files_of_the_agent_are_never_part_of_its_work(cairn, repo, home):
    profile(repo, "chatty", 'scratch = [".aider*", ".aider*/**"]')
    prompt = "write .aider.chat.history.md: chat\nwrite .aider.tags.cache.v4/cache.db: x\nwrite src/app.py: def hello():\\n    return 'hi'\\n"
    cairn("queue", "-a", "chatty", prompt)
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    state = state_of(home, 1)
    assert state["state"] == "review" and state["changed"]["files"] == 1
    assert git(repo, "show", "--stat", "--format=", "cairn/1").splitlines()[0].strip().startswith("src/app.py")
