"""With tmux, each agent runs in its own session: watchable, attachable, logged all the same."""

from __future__ import annotations

import subprocess

from conftest import BIN, state_of
from test_supervision import wait_until


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True)


def test_an_agent_runs_in_its_own_tmux_session_and_attach_joins_it(cairn, repo, home, tmux_server):
    tmux_env = {"CAIRN_TMUX": "always"}
    cairn("queue", "-a", "demo", "say hello from the agent\nwait-for go\nwrite t.txt: tmux", extra_env=tmux_env)
    assert cairn("spawn", "1", extra_env=tmux_env).returncode == 0
    wait_until(lambda: state_of(home, 1).get("agent_pid"))
    session = state_of(home, 1)["tmux_session"]
    assert session.startswith("cairn-1-")
    assert tmux("has-session", "-t", f"={session}").returncode == 0
    wait_until(lambda: "hello from the agent" in tmux("capture-pane", "-p", "-t", f"={session}:").stdout)

    # A user attaches from another terminal: the outer session shows the agent's pane.
    outer = tmux("new-session", "-d", "-s", "user", "-x", "120", "-y", "30", "--",
                 "env", "-u", "TMUX", f"PATH={BIN}:/usr/bin:/bin", "cairn", "attach", "1")
    assert outer.returncode == 0, outer.stderr
    wait_until(lambda: "hello from the agent" in tmux("capture-pane", "-p", "-t", "=user:").stdout)

    (home / "workspaces" / "1" / "go").write_text("")
    assert cairn("wait", "1", "--timeout", "20s").returncode == 0
    wait_until(lambda: tmux("has-session", "-t", f"={session}").returncode != 0)
    log = (home / "tasks" / "1" / "agent.log").read_text()
    assert "hello from the agent" in log and "task 1 is now review" in log


def test_tmux_and_headless_runs_produce_the_same_proposal(cairn, repo, home, tmux_server):
    cairn("queue", "-a", "demo", "write same.txt: same")
    cairn("queue", "-a", "demo", "write same.txt: same")
    assert cairn("spawn", "1", "--wait", extra_env={"CAIRN_TMUX": "always"}).returncode == 0
    assert cairn("spawn", "2", "--wait", extra_env={"CAIRN_TMUX": "never"}).returncode == 0
    assert "\r\n" in (home / "tasks" / "1" / "agent.log").read_bytes().decode(), "the tmux run went through a terminal"
    one = (home / "tasks" / "1" / "preview.diff").read_text()
    two = (home / "tasks" / "2" / "preview.diff").read_text()
    assert one == two and "+same" in one
