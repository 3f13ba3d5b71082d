"""Progress on long work: the phases of making a workspace, setup, checks, a
landing and a gc are in the task's log and the journal; on a terminal the
command that does the work shows them as one line rewritten in place, and
nothing of that line reaches a pipe or a `-q` run.

The terminal is a real pseudo-terminal the installed command runs on.
"""

from __future__ import annotations

import os
import pty
import subprocess

from conftest import BIN, events, git, run_task

REDRAW = "\r\x1b[K"


def on_a_terminal(cwd, *args: str) -> tuple[int, str]:
    """Run the installed ``cairn`` with stdout and stderr on one pseudo-terminal; its exit status and all it wrote."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([str(BIN / "cairn"), *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
                               env={**os.environ, "TERM": "xterm", "COLUMNS": "120"})
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the command has ended and closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(timeout=60), output.decode(errors="replace")


def with_checks(repo, *commands: str) -> None:
    listed = ", ".join(f'["sh", "-c", "{c}"]' for c in commands)
    (repo / "cairn.toml").write_text(f'[bootstrap]\nsetup = [["sh", "-c", "echo ready > .setup"]]\n[checks]\ncommands = [{listed}]\n')
    git(repo, "add", "cairn.toml")
    git(repo, "commit", "-q", "-m", "checks")


def phases(home, task_id: int | None) -> list[str]:
    return [e["phase"] for e in events(home) if e["event"] == "phase" and e.get("task") == task_id]


def test_a_task_records_the_phases_of_its_preparation_in_its_log_and_the_journal(cairn, repo, home):
    with_checks(repo, "true", "test -e .setup || true")
    task = run_task(cairn, "write a.txt: a")

    assert phases(home, task) == ["workspace", "setup", "agent", "checks"]
    log = (home / "tasks" / str(task) / "agent.log").read_text()
    assert "[cairn] making the workspace" in log
    assert "[cairn] setup 1/1: sh -c echo ready > .setup" in log


def test_accept_on_a_terminal_draws_one_line_and_records_the_phases(cairn, repo, home):
    with_checks(repo, "true", "true")
    task = run_task(cairn, "write b.txt: b")
    (repo / "other.txt").write_text("moves main\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "main moves on")

    status, output = on_a_terminal(repo, "accept", str(task))

    assert status == 0, output
    assert REDRAW in output
    assert "running checks on" in output and "2/2: sh -c true" in output
    # The result is a line of its own, after the progress line was cleared.
    assert output.rstrip().splitlines()[-1].endswith(f"accepted task {task}: main is now {git(repo, 'rev-parse', 'main')[:12]} (rebase)")
    assert phases(home, task)[-3:] == ["rebase", "checks", "land"]
    log = (home / "tasks" / str(task) / "agent.log").read_text()
    assert "[cairn] running checks on" in log and "[cairn] moving main to" in log


def test_piped_the_phases_are_plain_lines_without_redraws(cairn, repo, home):
    with_checks(repo, "true")
    task = run_task(cairn, "write c.txt: c")

    accepted = cairn("accept", str(task))

    assert accepted.returncode == 0, accepted.stderr
    assert "\r" not in accepted.stdout + accepted.stderr and "\x1b" not in accepted.stdout + accepted.stderr
    assert "  running checks on" in accepted.stdout
    assert phases(home, task)[-2:] == ["checks", "land"]


def test_gc_shows_its_progress_on_a_terminal_and_nothing_with_q(cairn, repo, home):
    for name in ("d", "e"):  # failed tasks keep their workspaces until gc
        run_task(cairn, f"write {name}.txt: {name}\nexit 1", must_reach_review=False)
    assert (home / "workspaces" / "1").is_dir() and (home / "workspaces" / "2").is_dir()

    quiet_status, quiet = on_a_terminal(repo, "gc", "--max-age", "0s", "--dry-run", "-q")
    assert quiet_status == 0 and REDRAW not in quiet and "looking at" not in quiet

    status, output = on_a_terminal(repo, "gc", "--max-age", "0s")
    assert status == 0, output
    assert REDRAW in output and "looking at the tasks" in output and "removing 2 workspaces 2/2" in output
    assert phases(home, None) == ["gather", "workspaces", "branches", "trash", "files"]
