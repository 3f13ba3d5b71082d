"""Every built-in profile against the real agent CLI, with no credentials.

The CLIs are the versions pinned in ``.ci/tools.sh`` (installed under
``.tools/agents/``); no model is reachable, so each run must end on the
agent's own complaint about credentials or network, quickly, as a failed
task with that complaint in its reason: never review, never a hang.  The
prompt begins with options (``-v --help``) and is 200 KB long, over the
128 KiB the kernel allows one argument: it must reach the agent as a prompt.

Selected with ``pytest -m contract``; ``.ci/run`` runs them with the rest.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from conftest import REPO, state_of

AGENTS = REPO / ".tools" / "agents" / "bin"

pytestmark = pytest.mark.contract

#: Seconds each agent may take to reach a failed state without credentials, on a
#: 2-core machine shared with the rest of the suite: a few times what each took
#: alone (docs/agents.md).  Gemini, Aider and OpenCode start slowly.
BOUND = {"claude": 60, "codex": 60, "gemini": 120, "opencode": 240, "amp": 60, "aider": 120}

#: The agent's own words (or the stuck rule that read them) in the task's reason.
OWN_REASON = {
    "claude": r"Not logged in",
    "codex": r"codex cannot reach its provider",
    "gemini": r"Please set an Auth method",
    "opencode": r"opencode cannot reach its model provider",
    "amp": r"amp: not logged in",
    "aider": r"aider: no model and no API key",
}

#: What an agent says when it took the prompt for options.
MISREAD = re.compile(r"unknown option|unrecognized|usage:|invalid option|not enough arguments|Show help", re.IGNORECASE)

LEADING_DASHES = "-v --help please fix the greeting\n"
LONG_PROMPT = LEADING_DASHES + "".join(f"line {n}: keep src/app.py returning 'hello'.\n" for n in range(5000))

#: Every variable through which some built-in profile finds credentials.
CREDENTIAL_VARIABLES = sorted(
    {
        name
        for profile in __import__("cairn.agents.builtin", fromlist=["BUILTIN_AGENTS"]).BUILTIN_AGENTS.values()
        for name in (profile.get("credentials") or {}).get("env", [])
    }
)


def _installed(agent: str) -> None:
    if not (AGENTS / agent).exists():
        pytest.skip(f"{agent} is not installed in {AGENTS} (sh .ci/tools.sh installs it)")


@pytest.fixture
def no_credentials(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The real CLIs on PATH, and not one credential in sight (HOME is the test's own)."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", f"{AGENTS}{os.pathsep}{os.environ['PATH']}")


def _run_to_end(cairn, home: Path, agent: str, prompt: str) -> tuple[int, float, dict]:
    queued = cairn("queue", "-a", agent, "--timeout", "10m", "-f", "-", input=prompt)
    assert queued.returncode == 0, queued.stderr
    task_id = int(queued.stdout)
    started = time.monotonic()
    spawned = cairn("spawn", str(task_id), "--wait", timeout=BOUND[agent] + 60)
    elapsed = time.monotonic() - started
    assert spawned.stdout.startswith(f"task {task_id}: "), spawned.stdout + spawned.stderr
    return task_id, elapsed, state_of(home, task_id)


@pytest.mark.parametrize("agent", sorted(BOUND))
def test_a_long_prompt_that_begins_with_options_reaches_the_agent_and_the_task_fails_with_its_reason(
    agent: str, cairn, home: Path, no_credentials: None
) -> None:
    _installed(agent)
    assert len(LONG_PROMPT.encode()) > 200_000
    task_id, elapsed, state = _run_to_end(cairn, home, agent, LONG_PROMPT)
    log = (home / "tasks" / str(task_id) / "agent.log").read_text(errors="replace")
    assert state["state"] == "failed", (state, log[-3000:])
    reason = state["reason"]
    assert re.search(OWN_REASON[agent], reason), (reason, log[-3000:])
    assert not MISREAD.search(reason), reason
    assert not MISREAD.search(log), log[-3000:]
    assert "Argument list too long" not in log
    assert elapsed < BOUND[agent], f"{agent} took {elapsed:.1f}s to fail"
    print(f"{agent}: failed after {elapsed:.1f}s: {reason}")


def test_aider_leaves_no_files_of_its_own_in_the_proposal(cairn, home: Path, repo: Path, no_credentials: None) -> None:
    _installed("aider")
    task_id, _, state = _run_to_end(cairn, home, "aider", "say hello")
    assert state["state"] == "failed"
    # What it wrote for itself in the workspace is not part of its work.
    files = (home / "tasks" / str(task_id) / "preview.stat").read_text() if (home / "tasks" / str(task_id) / "preview.stat").exists() else ""
    assert ".aider" not in files
    assert state["changed"]["files"] == 0, state


#: The version each pinned CLI reports (.ci/tools.sh).
VERSIONS = {
    "claude": "2.1.197", "codex": "0.171.0", "gemini": "0.61.0", "opencode": "1.18.33",
    "amp": "0.0.1790142911-g7618fb", "aider": "0.86.2",
}


def test_cairn_agents_tells_which_real_cli_is_ready_and_what_is_missing(cairn, no_credentials: None) -> None:
    present = [agent for agent in sorted(VERSIONS) if (AGENTS / agent).exists()]
    if not present:
        pytest.skip(f"no agent CLI is installed in {AGENTS}")
    rows = {row["agent"]: row for row in cairn("agents", *present, "--json", timeout=180).json()}
    for agent in present:
        row = rows[agent]
        assert row["binary"], row
        if row["version"] is not None:  # a CLI slower than the version timeout is listed without one
            assert VERSIONS[agent] in row["version"], row
        if agent == "opencode":
            assert row["ready"], "it needs no login: its free models need only the network"
        else:
            assert not row["ready"] and row["problem"].startswith(f"{agent}: not logged in — "), row


def test_a_real_agent_without_credentials_holds_its_task_in_queued(cairn, home: Path, no_credentials: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _installed("claude")
    monkeypatch.setenv("CAIRN_PREFLIGHT", "true")
    cairn("queue", "-a", "claude", "-f", "-", input=LEADING_DASHES)
    spawned = cairn("spawn", "1")
    assert spawned.returncode == 4
    assert "claude: not logged in — run `claude /login` or set ANTHROPIC_API_KEY" in spawned.stderr
    assert state_of(home, 1)["state"] == "queued"
    assert not (home / "tasks" / "1" / "agent.log").exists() or "starting" not in (home / "tasks" / "1" / "agent.log").read_text()


def test_codex_retry_continue_resumes_its_own_thread(cairn, home: Path, no_credentials: None) -> None:
    _installed("codex")
    first, _, state = _run_to_end(cairn, home, "codex", "-v add a greeting")
    assert state["state"] == "failed"
    report = json.loads((home / "tasks" / str(first) / "report.json").read_text())
    assert report["session_id"], report
    retried = cairn("retry", str(first), "--continue", "--json")
    assert retried.returncode == 0, retried.stderr
    second = retried.json()["id"]
    assert retried.json()["detail"]["task"]["resume_session"] == report["session_id"]
    spawned = cairn("spawn", str(second), "--wait", timeout=BOUND["codex"] + 60)
    assert spawned.stdout.startswith(f"task {second}: ")
    log = (home / "tasks" / str(second) / "agent.log").read_text()
    # codex picked up the same thread: it says so in its first event.
    assert f"session {report['session_id']}" in log, log[-2000:]
