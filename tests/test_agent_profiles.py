"""What a profile teaches Cairn about its agent: stuck states, false successes,
scratch files, and the agent's own reason for failing.  The agent is the
scripted one, wearing each profile's rules (the real CLIs: test_agent_contract.py).
"""

from __future__ import annotations

import subprocess
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


CLAUDE_LIKE = '[agents.talker]\ncommand = ["cairn-demo-agent", "{prompt_file}"]\nreport = "claude"\n'
INIT = '{"type":"system","subtype":"init","session_id":"s-42","model":"m"}'


def test_a_reporting_agent_has_its_report_kept_and_its_log_readable(cairn, repo, home):
    (repo / "cairn.toml").write_text(CLAUDE_LIKE)
    result_line = ('{"type":"result","subtype":"success","is_error":false,"num_turns":4,"result":"Wrote a.txt.",'
                   '"session_id":"s-42","total_cost_usd":0.25,"usage":{"input_tokens":1200,"output_tokens":300}}')
    cairn("queue", "-a", "talker", f"say {INIT}\nwrite a.txt: a\nsay plain words\nsay {result_line}")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    report = __import__("json").loads((home / "tasks" / "1" / "report.json").read_text())
    assert report["session_id"] == "s-42" and report["cost_usd"] == 0.25 and report["turns"] == 4
    assert (report["input_tokens"], report["output_tokens"], report["final_message"]) == (1200, 300, "Wrote a.txt.")
    events = (home / "tasks" / "1" / "agent.jsonl").read_text().splitlines()
    assert len(events) == 2 and all(line.startswith("{") for line in events)
    log = cairn("logs", "1").stdout
    assert "session s-42 (model m)" in log and "result: success, 4 turns, $0.25" in log and "plain words" in log
    agent_lines = [line for line in log.splitlines() if not line.startswith("[cairn]")]
    assert not any('"type"' in line for line in agent_lines), "no raw JSON in the readable log"
    shown = cairn("status", "1")
    assert "s-42" in shown.stdout and "$0.25" in shown.stdout
    assert cairn("status", "1", "--json").json()["report"]["session_id"] == "s-42"


def test_an_error_the_agent_reports_fails_the_task_though_it_exits_0(cairn, repo, home):
    (repo / "cairn.toml").write_text(CLAUDE_LIKE)
    failed = '{"type":"result","subtype":"success","is_error":true,"num_turns":1,"result":"Not logged in · Please run /login"}'
    cairn("queue", "-a", "talker", f"say {INIT}\nwrite a.txt: a\nsay {failed}")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert state["reason"] == "the agent reported a failure though it exited 0: Not logged in · Please run /login"


def test_retry_continue_resumes_the_agents_own_session(cairn, repo, home):
    resume = '["sh", "-c", "echo $0 > resumed.txt; exec cairn-demo-agent \\"$1\\"", "{session}", "{prompt_file}"]'
    (repo / "cairn.toml").write_text(CLAUDE_LIKE + f"resume = {resume}\n")
    cairn("queue", "-a", "talker", f"say {INIT}\nwrite a.txt: a")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    retried = cairn("retry", "1", "--continue", "--feedback", "also b", "--json")
    assert retried.returncode == 0, retried.stderr
    assert retried.json()["detail"]["task"]["resume_session"] == "s-42"
    cairn("spawn", "2", "--wait", timeout=60)
    assert (home / "workspaces" / "2" / "resumed.txt").read_text().strip() == "s-42"
    assert "resuming the agent's session s-42" in (home / "tasks" / "2" / "agent.log").read_text()


def test_retry_continue_with_another_agent_starts_a_new_session(cairn, repo, home):
    (repo / "cairn.toml").write_text(CLAUDE_LIKE + 'resume = ["false"]\n')
    cairn("queue", "-a", "talker", f"say {INIT}\nwrite a.txt: a")
    cairn("spawn", "1", "--wait", timeout=60)
    retried = cairn("retry", "1", "--continue", "-a", "demo", "--json")
    assert retried.json()["detail"]["task"]["resume_session"] is None


def test_a_rate_limit_pauses_the_agent_and_retries_the_task_once_when_it_ends(cairn, repo, home):
    import json

    (repo / "cairn.toml").write_text(CLAUDE_LIKE)
    resets = int(time.time()) + 4
    limit = ('{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":%d}}' % resets)
    result = '{"type":"result","subtype":"success","is_error":true,"num_turns":1,"result":"5-hour limit reached"}'
    cairn("queue", "-a", "talker", f"say {INIT}\nwrite half.txt: half done\nsay {limit}\nsay {result}")
    up = cairn("up", "--until-idle", timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    first = state_of(home, 1)
    # Not failed: superseded by the attempt that carries on, its work kept (and restorable).
    assert first["state"] == "rejected", first
    assert first["reason"] == "superseded by task 2, which carries on when the rate limit ends"
    assert git(repo, "show", f"{first['kept']['ref']}:half.txt") == "half done"
    retry = json.loads((home / "tasks" / "2" / "task.json").read_text())
    assert retry["retry_of"] == 1 and retry["after_rate_limit"] is True
    assert retry["continue_from"] == first["kept"]["ref"]
    assert subprocess.run(["git", "merge-base", "--is-ancestor", first["previous"]["work"]["head_commit"], "cairn/2"], cwd=repo).returncode == 0
    started = [e for e in __import__("conftest").events(home) if e.get("task") == 2 and e["event"] == "running"]
    from cairn.core.codec import text_to_instant

    assert started and text_to_instant(started[0]["ts"]) >= resets - 1, ("the retry waited for the pause to end", [e for e in __import__("conftest").events(home) if e.get("task") == 2], up.stdout)
    assert not (home / "tasks" / "3").exists(), "retried once, no more"
    limited = [e for e in __import__("conftest").events(home) if e["event"] == "rate-limited"]
    assert [e["task"] for e in limited] == [1, 2]


def test_a_task_over_its_token_budget_is_stopped_and_failed(cairn, repo, home):
    (repo / "cairn.toml").write_text(
        '[agents.counter]\ncommand = ["cairn-demo-agent", "{prompt_file}"]\nreport = "codex"\n'
        '[budget]\nper_task_tokens = 1000\n'
    )
    turn = '{"type":"turn.completed","usage":{"input_tokens":4000,"output_tokens":900}}'
    cairn("queue", "-a", "counter", f"say {turn}\nsleep 120")
    started = time.monotonic()
    assert cairn("spawn", "1", "--wait", timeout=90).returncode == 1
    state = state_of(home, 1)
    assert state["reason"] == "over its budget: the agent reported 4900 tokens, budget.per_task_tokens is 1000"
    assert time.monotonic() - started < 60


def test_once_the_days_budget_is_spent_nothing_more_starts(cairn, repo, home):
    (repo / "cairn.toml").write_text(CLAUDE_LIKE + '[budget]\nper_day = 0.10\n')
    spend = '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"ok","total_cost_usd":0.25}'
    cairn("queue", "-a", "talker", f"write a.txt: a\nsay {spend}")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    cairn("queue", "-a", "talker", "write b.txt: b")
    up = cairn("up", "--until-idle", timeout=60)
    assert "the day's budget is spent ($0.25 of $0.10)" in up.stdout + up.stderr
    assert state_of(home, 2)["state"] == "queued"


def test_metrics_add_up_what_the_agents_reported_per_task_agent_and_day(cairn, repo, home):
    (repo / "cairn.toml").write_text(CLAUDE_LIKE)
    spend = ('{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"ok","total_cost_usd":0.25,'
             '"usage":{"input_tokens":1000,"output_tokens":100}}')
    for name in ("a", "b"):
        cairn("queue", "-a", "talker", f"write {name}.txt: {name}\nsay {spend}")
    assert cairn("spawn", "1", "--wait", timeout=60).returncode == 0
    assert cairn("spawn", "2", "--wait", timeout=60).returncode == 0
    shown = cairn("metrics", "--json").json()
    assert [t["cost_usd"] for t in shown["tasks"]] == [0.25, 0.25]
    (agent,) = shown["summary"]["spend"]["agents"]
    assert (agent["key"], agent["tasks"], agent["cost_usd"], agent["input_tokens"], agent["output_tokens"]) == ("talker", 2, 0.5, 2000, 200)
    (day,) = shown["summary"]["spend"]["days"]
    assert day["cost_usd"] == 0.5
    assert "talker       2      $0.50" in cairn("metrics").stdout
