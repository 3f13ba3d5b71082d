"""``cairn status``: what runs, what waits and why, one task in full, and the
scheduler probe."""

from __future__ import annotations

import fcntl
import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("warm_config")

#: The ``--json`` fields of a listed task (docs/cli.md, "cairn status").
DOCUMENTED_FIELDS = {
    "id", "title", "state", "priority", "agent", "created", "since", "after", "locks", "target",
    "retry_of", "checks", "files", "insertions", "deletions", "conflict", "reason", "idle_since",
    "tmux_session", "waiting", "conflicts_with", "executor", "job_id", "format", "detail",
}


def row(result, task_id: int) -> str:
    """The table line of one task."""
    lines = [line for line in result.stdout.splitlines() if line.split()[:1] == [str(task_id)]]
    assert len(lines) == 1, result.stdout
    return lines[0]


def listing(cairn, *args: str) -> list[dict]:
    result = cairn("status", "--json", *args)
    assert result.returncode == 0, result.stderr
    return result.json()


def test_the_table_shows_id_state_priority_agent_and_title(cairn, add_task) -> None:
    add_task("Add type hints", priority="high")
    add_task("Fix the flaky test", agent="codex")

    result = cairn("status")

    assert result.returncode == 0
    assert result.stdout.splitlines()[0].split() == ["ID", "STATE", "PRIORITY", "AGENT", "AGE", "TITLE"]
    assert row(result, 1).split()[:4] == ["1", "queued", "high", "claude"]
    assert "Add type hints" in row(result, 1)
    assert row(result, 2).split()[:4] == ["2", "queued", "normal", "codex"]
    assert "Fix the flaky test" in row(result, 2)


def test_status_with_no_tasks_says_how_to_add_one(cairn, home: Path) -> None:
    result = cairn("status")

    assert result.returncode == 0
    assert "no tasks yet" in result.stdout and "cairn queue" in result.stdout
    assert not home.exists()  # looking creates nothing


def test_a_task_waiting_for_another_says_after_which(cairn, add_task) -> None:
    add_task("build the API")
    add_task("document the API", after=[1])

    result = cairn("status")

    assert "starts next" in row(result, 1)
    assert "waits: after task 1 (queued)" in row(result, 2)
    assert listing(cairn)[1]["waiting"] == "after task 1 (queued)"


def test_a_task_whose_locks_overlap_a_running_task_waits(cairn, add_task, set_running) -> None:
    add_task("rework src", locks=["src/**"])
    set_running(1)
    add_task("touch the app", locks=["src/app.py"])
    add_task("write docs", locks=["docs/**"])

    result = cairn("status")

    assert row(result, 1).split()[1] == "running"
    assert "waits: lock overlap with task 1 (src/app.py ~ src/**)" in row(result, 2)
    assert "starts next" in row(result, 3)


def test_a_task_whose_locks_overlap_one_starting_first_waits(cairn, add_task) -> None:
    add_task("first on src", locks=["src/**"], priority="low")
    add_task("urgent on src", locks=["src/**"], priority="urgent")

    waiting = {t["id"]: t["waiting"] for t in listing(cairn)}

    assert waiting == {1: "lock overlap with task 2 (src/**)", 2: None}


def test_tasks_beyond_the_concurrency_limit_wait(cairn, add_task) -> None:
    for n in range(3):
        add_task(f"task {n}")

    waiting = [t["waiting"] for t in listing(cairn)]
    limited = [t["waiting"] for t in cairn("status", "--json", extra_env={"CAIRN_MAX_AGENTS": "1"}).json()]

    assert waiting == [None, None, None]
    assert limited[0] is None
    assert limited[1] == limited[2] and limited[1].startswith("concurrency limit")


def test_a_task_after_a_cancelled_one_can_never_start(cairn, add_task) -> None:
    add_task("the base")
    add_task("built on it", after=[1])
    cairn("cancel", "1")

    result = cairn("status")

    assert "cancelled by the user" in row(result, 1)
    assert "cannot start: it waits for task 1, which was cancelled" in row(result, 2)


def test_a_running_task_says_how_long_it_runs(cairn, add_task, set_running, home) -> None:
    import fcntl

    add_task("long job")
    set_running(1)
    with open(home / "tasks" / "1" / "runner.lock", "w") as runner:  # stands in for a live runner
        fcntl.flock(runner, fcntl.LOCK_EX)
        assert re.search(r"\(running \d+s\)$", row(cairn("status"), 1))


def test_a_running_task_whose_runner_is_gone_says_so(cairn, add_task, set_running) -> None:
    add_task("long job")
    set_running(1)

    assert "its runner is gone: `cairn wait 1`" in row(cairn("status"), 1)


def test_status_id_shows_the_task_in_full(cairn) -> None:
    cairn("queue", "base")
    cairn(
        "queue", "Refactor the parser\nkeep the API\n\tand the tests", "--lock", "src/**",
        "--after", "1", "--timeout", "2h", "--priority", "high", "--agent", "aider",
    )

    result = cairn("status", "2")

    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "task 2: Refactor the parser"
    fields = dict(line.split(None, 1) for line in lines[1 : lines.index("  prompt:")])
    assert fields["state"].startswith("queued since ")
    assert fields["priority"] == "high"
    assert fields["agent"] == "aider"
    assert fields["target"] == "main"
    assert fields["after"] == "1"
    assert fields["locks"] == "src/**"
    assert fields["timeout"] == "2h"
    assert lines[-4:] == ["  prompt:", "    Refactor the parser", "    keep the API", "    \tand the tests"]


def test_status_of_several_ids_shows_each(cairn, add_task) -> None:
    add_task("one")
    add_task("two")

    text = cairn("status", "2", "1").stdout
    records = cairn("status", "--json", "1", "2").json()

    assert text.index("task 2: two") < text.index("task 1: one")
    assert [r["title"] for r in records] == ["one", "two"]


def test_status_id_json_is_the_records_on_disk(cairn, add_task, home: Path) -> None:
    add_task("one")

    record = cairn("status", "1", "--json").json()

    assert record["detail"]["task"] == json.loads((home / "tasks" / "1" / "task.json").read_text())
    assert record["detail"]["state"] == json.loads((home / "tasks" / "1" / "state.json").read_text())


def test_status_of_an_unknown_id_exits_3(cairn, add_task) -> None:
    add_task("one")

    result = cairn("status", "9")

    assert result.returncode == 3
    assert "no task 9" in result.stderr
    assert result.stdout == ""


def test_status_of_a_bad_id_exits_2(cairn) -> None:
    result = cairn("status", "latest")

    assert result.returncode == 2
    assert "'latest' is not a task id" in result.stderr


def test_state_filter_shows_only_those_states(cairn, add_task) -> None:
    for title in ("one", "two", "three"):
        add_task(title)
    cairn("cancel", "2")

    assert [t["id"] for t in listing(cairn, "--state", "queued")] == [1, 3]
    assert [t["id"] for t in listing(cairn, "--state", "cancelled")] == [2]
    assert [t["id"] for t in listing(cairn, "--state", "cancelled", "--state", "queued")] == [1, 2, 3]
    table = cairn("status", "--state", "cancelled").stdout
    assert "two" in table and "one" not in table
    assert "no tasks in that state" in cairn("status", "--state", "review").stdout


def test_an_unknown_state_filter_exits_2(cairn) -> None:
    result = cairn("status", "--state", "done")

    assert result.returncode == 2
    assert "'done' is not one of" in result.stderr


def test_status_json_has_the_documented_fields(cairn, add_task) -> None:
    add_task("one", locks=["src/**"])
    add_task("two", after=[1], priority="low", agent="codex")

    first, second = listing(cairn)

    assert set(first) == DOCUMENTED_FIELDS
    assert second["id"] == 2 and second["title"] == "two" and second["state"] == "queued"
    assert second["priority"] == "low" and second["agent"] == "codex" and second["target"] == "main"
    assert second["after"] == [1] and first["locks"] == ["src/**"]
    assert second["waiting"] == "after task 1 (queued)" and first["waiting"] is None
    for task in (first, second):
        datetime.fromisoformat(task["created"].replace("Z", "+00:00"))
        assert task["since"] == task["created"]


def test_status_lists_by_id_whatever_the_priority(cairn, add_task) -> None:
    priorities = ["low", "urgent", "normal", "high"] * 3
    for n, priority in enumerate(priorities, start=1):
        add_task(f"task {n}", priority=priority)

    ids = [t["id"] for t in listing(cairn)]
    table_ids = [int(line.split()[0]) for line in cairn("status").stdout.splitlines()[1:]]

    assert ids == list(range(1, 13))
    assert table_ids == ids


def test_scheduler_probe_exits_1_when_none_runs(cairn) -> None:
    result = cairn("status", "--scheduler")
    as_json = cairn("status", "--scheduler", "--json")

    assert result.returncode == 1
    assert "no scheduler running" in result.stdout
    assert as_json.returncode == 1
    assert as_json.json() == {"running": False, "pid": None}


def test_scheduler_probe_exits_0_while_the_scheduler_lock_is_held(cairn, home: Path) -> None:
    cairn("init")
    (home / "scheduler.json").write_text(json.dumps({"pid": 4242}))
    fd = os.open(home / "locks" / "scheduler.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held = cairn("status", "--scheduler", "--json")
    finally:
        os.close(fd)
    released = cairn("status", "--scheduler")

    assert held.returncode == 0
    assert held.json() == {"running": True, "pid": 4242}
    assert released.returncode == 1  # the lock is the truth, not scheduler.json


def test_a_long_title_is_shortened_in_the_table(cairn, add_task) -> None:
    add_task("x" * 300)

    line = row(cairn("status"), 1)

    assert "x" * 72 not in line  # the title is shortened, not the line cut
    assert line.endswith("(starts next)")


def test_status_says_when_no_scheduler_would_start_the_queue(cairn):
    cairn("queue", "-a", "demo", "write a.txt: a")
    assert "no scheduler is running: `cairn up` starts queued tasks" in cairn("status").stderr
    assert "no scheduler" not in cairn("status", "--json").stderr
