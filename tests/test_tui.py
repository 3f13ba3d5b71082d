"""`cairn tui`: the crew at a glance, updating from disk, single keys to act.

Driven through Textual's pilot in-process at 80x24, and once for real: the
installed `cairn tui` in a tmux pane of that size.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from conftest import git, run_task, state_of


def drive(scenario: Callable[..., Awaitable[None]], size: tuple[int, int] = (80, 24)) -> None:
    """Run the dashboard for this test's repository under the pilot, then ``scenario(app, pilot)``."""
    from cairn.config.load import resolve
    from cairn.tui.app import CairnApp

    async def main() -> None:
        app = CairnApp(resolve(), interval=0.1)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())


async def until(pilot, condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the dashboard"
        await pilot.pause(0.05)


def rows(app) -> dict[int, list[str]]:
    """The task table as plain text: id -> cells."""
    from cairn.tui.widgets import TaskTable

    table = app.query_one(TaskTable)
    return {int(cells[0].plain): [c.plain for c in cells] for cells in (table.get_row_at(r) for r in range(table.row_count))}


def detail(app) -> str:
    return "\n".join(strip.text for strip in app.query_one("#detail").lines)


def select(app, task_id: int) -> None:
    from cairn.tui.widgets import TaskTable

    app.query_one(TaskTable).select(task_id)


def test_the_table_shows_each_task_and_follows_changes_on_disk(cairn, repo, home):
    run_task(cairn, "write done.txt: done")
    cairn("queue", "-a", "demo", "wait-for go\nwrite later.txt: later")
    cairn("queue", "-a", "demo", "--title", "Never runs", "say never")

    async def scenario(app, pilot) -> None:
        table = rows(app)
        assert [table[1][1], table[2][1], table[3][1]] == ["review", "queued", "queued"]
        assert table[1][2] == "demo" and table[1][4] == "skipped" and table[1][5] == "1f +1 -0"
        assert table[3][6] == "Never runs"

        assert cairn("cancel", "3").returncode == 0
        await until(pilot, lambda: rows(app)[3][1] == "cancelled")

        assert cairn("spawn", "2").returncode == 0
        await until(pilot, lambda: rows(app)[2][1] == "running")
        # "running" is written before the workspace is made: wait for it, never guess.
        await until(pilot, lambda: (home / "workspaces" / "2").is_dir())
        (home / "workspaces" / "2" / "go").write_text("")
        await until(pilot, lambda: rows(app)[2][1] == "review")
        assert app.bells == 1, "the bell rings once, when task 2 is ready for review"
        assert "task 2 ready for review" in app.message

    drive(scenario)


def dialog_text(app) -> str:
    """What the open dialog says: its question and the preview under it."""
    from textual.widgets import Label, Static

    return "\n".join(str(w.render()) for w in app.screen.query(Static) if isinstance(w, (Label, Static)))


def test_a_asks_showing_stat_strategy_and_target_then_y_lands(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: new", "--title", "Add the feature")
    before = git(repo, "rev-parse", "main")

    async def scenario(app, pilot) -> None:
        assert app.selected().id == task, "the dashboard starts on the task waiting for review"
        await pilot.press("a")
        await pilot.pause()
        asked = dialog_text(app)
        assert f"Accept task {task}, 'Add the feature'?" in asked
        assert "onto main by rebase; no checks are configured" in asked
        assert "feature.txt" in asked and "1 file changed" in asked
        assert git(repo, "rev-parse", "main") == before, "nothing lands before the answer"
        await pilot.press("y")
        await until(pilot, lambda: app.message.startswith(f"accepted task {task}: main is now "))
        assert rows(app)[task][1] == "accepted"

    drive(scenario)
    assert git(repo, "rev-parse", "main^") == before
    assert (repo / "feature.txt").read_text() == "new\n"


def test_n_at_the_accept_question_lands_nothing(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: new")
    before = git(repo, "rev-parse", "main")

    async def scenario(app, pilot) -> None:
        await pilot.press("a")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert rows(app)[task][1] == "review"

    drive(scenario)
    assert git(repo, "rev-parse", "main") == before
    assert state_of(home, task)["state"] == "review"


def test_with_confirm_off_a_and_x_act_at_once(cairn, repo, home):
    landed = run_task(cairn, "write feature.txt: new")
    dropped = run_task(cairn, "write other.txt: other")
    (home / "config.toml").write_text("[tui]\nconfirm = false\n")

    async def scenario(app, pilot) -> None:
        select(app, landed)
        await pilot.press("a")
        await until(pilot, lambda: rows(app)[landed][1] == "accepted")
        select(app, dropped)
        await pilot.press("x")
        await until(pilot, lambda: rows(app)[dropped][1] == "rejected")

    drive(scenario)
    assert state_of(home, dropped)["reason"] is None


def test_reject_asks_why_and_keeps_the_reason(cairn, home):
    task = run_task(cairn, "write x.txt: x")

    async def scenario(app, pilot) -> None:
        await pilot.press("x")
        await pilot.pause()
        asked = dialog_text(app)
        assert f"Reject task {task}" in asked and "kept until gc" in asked and "x.txt" in asked
        await pilot.press(*"not needed")
        await pilot.press("enter")
        await until(pilot, lambda: app.message.startswith(f"rejected task {task}"))
        assert "its work is kept in refs/cairn/trash/" in app.message
        assert rows(app)[task][1] == "rejected"

    drive(scenario)
    assert state_of(home, task)["reason"] == "not needed"


def test_escape_backs_out_and_nothing_changes(cairn, home):
    task = run_task(cairn, "write x.txt: x")

    async def scenario(app, pilot) -> None:
        await pilot.press("x")
        await pilot.press("escape")
        await pilot.press("c")  # a review task cannot be cancelled: said, not asked
        await pilot.pause(0.3)
        assert app.message.startswith(f"error: task {task} is review, cannot cancel it")

    drive(scenario)
    assert state_of(home, task)["state"] == "review"


def test_retry_queues_a_new_attempt_with_the_feedback(cairn, home):
    task = run_task(cairn, "exit 1", must_reach_review=False)

    async def scenario(app, pilot) -> None:
        select(app, task)
        await pilot.press("r")
        await pilot.press(*"use the other file")
        await pilot.press("enter")
        await until(pilot, lambda: app.message == f"task 2 queued: a new attempt at task {task}")
        assert rows(app)[2][1] == "queued"

    drive(scenario)
    retry = (home / "tasks" / "2" / "task.json").read_text()
    assert '"retry_of": 1' in retry and "use the other file" in retry


def test_cancel_asks_first(cairn, home):
    cairn("queue", "-a", "demo", "say hi")

    async def scenario(app, pilot) -> None:
        await pilot.press("c")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert rows(app)[1][1] == "queued"
        await pilot.press("c")
        await pilot.press("y")
        await until(pilot, lambda: rows(app)[1][1] == "cancelled")

    drive(scenario)
    assert state_of(home, 1)["state"] == "cancelled"


def test_n_queues_a_new_task_for_the_agent_given(cairn, repo, home):
    cairn("init")

    async def scenario(app, pilot) -> None:
        assert "no tasks yet" in str(app.query_one("#heading").content)
        await pilot.press("n")
        await pilot.press(*"write n.txt: hi")
        await pilot.press("tab")
        app.screen.query_one("#agent").value = ""
        await pilot.press(*"demo")
        await pilot.press("enter")
        await until(pilot, lambda: app.message == "task 1 queued for demo")
        assert rows(app)[1][1:3] == ["queued", "demo"]

    drive(scenario)
    assert '"prompt": "write n.txt: hi"' in (home / "tasks" / "1" / "task.json").read_text()


def test_a_key_on_a_task_in_the_wrong_state_says_why_in_one_line(cairn, home):
    cairn("queue", "-a", "demo", "say hi")

    async def scenario(app, pilot) -> None:
        await pilot.press("a")
        await pilot.pause(0.2)
        assert app.message == "error: task 1 is queued, cannot accept it: it has not started yet"
        await pilot.press("t")
        await pilot.pause(0.2)
        assert app.message.startswith("error: task 1 is queued, cannot attach to it")

    drive(scenario)
    assert state_of(home, 1)["state"] == "queued"


def test_the_detail_pane_shows_the_log_tail_or_the_diff(cairn, home):
    task = run_task(cairn, "say working on it\nwrite hello.txt: hello world")

    async def scenario(app, pilot) -> None:
        await until(pilot, lambda: "working on it" in detail(app))
        assert "demo-agent: write hello.txt" in detail(app)
        await pilot.press("d")
        await until(pilot, lambda: "+hello world" in detail(app))
        assert "+++ b/hello.txt" in detail(app)
        heading = str(app.query_one("#heading").content)
        assert heading.startswith(f"task {task} review:") and heading.endswith("[diff]")
        await pilot.press("l")
        await until(pilot, lambda: "working on it" in detail(app))

    drive(scenario)


def test_the_log_pane_follows_a_running_agent(cairn, home):
    cairn("queue", "-a", "demo", "say first line\nwait-for go\nsay second line")
    assert cairn("spawn", "1").returncode == 0

    async def scenario(app, pilot) -> None:
        await until(pilot, lambda: "first line" in detail(app))
        assert "second line" not in detail(app)
        (home / "workspaces" / "1" / "go").write_text("")
        await until(pilot, lambda: "second line" in detail(app))
        await until(pilot, lambda: rows(app)[1][1] == "review")

    drive(scenario)


def test_idle_rings_the_bell_and_shows_in_the_state_column(cairn, home):
    cairn("queue", "-a", "demo", "wait-for go\nwrite x.txt: x")

    async def scenario(app, pilot) -> None:
        # Started only once the dashboard has seen the task queued: going idle
        # is then a change it sees, however slowly the machine starts either.
        await until(pilot, lambda: rows(app).get(1, [None, None])[1] == "queued")
        assert cairn("spawn", "1", extra_env={"CAIRN_IDLE_AFTER": "1s"}).returncode == 0
        await until(pilot, lambda: rows(app)[1][1] == "idle", timeout=120)
        assert app.bells == 1
        assert "task 1 is idle" in app.message
        (home / "workspaces" / "1" / "go").write_text("")
        await until(pilot, lambda: rows(app)[1][1] == "review", timeout=120)

    drive(scenario)


def test_queue_and_status_never_import_textual(cairn, repo):
    cairn("queue", "-a", "demo", "say hi")
    for verb in ("status", "queue"):
        args = [verb] if verb == "status" else [verb, "-a", "demo", "say hi"]
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "cairn.cmd.main", *args],
            cwd=repo, capture_output=True, text=True,
        )
        assert result.returncode == 0, result.stderr
        imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
        assert "textual" not in imported and "rich" not in imported, verb


# -- for real, in a terminal --------------------------------------------------


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True)


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", "=dash:").stdout


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; the screen was:\n{screen()}"
        time.sleep(0.1)


def test_in_a_real_80x24_terminal_a_key_press_lands_a_task(cairn, repo, home, tmux_server):
    task = run_task(cairn, "write landed.txt: by a key press", "--title", "Land me")
    cairn("queue", "-a", "demo", "--title", "Still queued", "say later")
    before = git(repo, "rev-parse", "main")

    started = tmux("new-session", "-d", "-s", "dash", "-x", "80", "-y", "24", "-c", str(repo), "--", "cairn", "tui")
    assert started.returncode == 0, started.stderr
    wait_for(lambda: "Land me" in screen() and "Still queued" in screen() and "q Quit" in screen())
    lines = screen().splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    assert lines[1].split()[:7] == ["ID", "STATE", "AGENT", "AGE", "CHECKS", "DIFF", "TITLE"]
    row = next(line for line in lines if "Land me" in line)
    assert row.split()[:3] == [str(task), "review", "demo"]
    assert "a Accept" in lines[-1] and "q Quit" in lines[-1]

    assert tmux("send-keys", "-t", "=dash:", "a").returncode == 0
    wait_for(lambda: "Accept task" in screen() and "onto main by rebase" in screen())
    assert git(repo, "rev-parse", "main") == before
    assert tmux("send-keys", "-t", "=dash:", "y").returncode == 0
    wait_for(lambda: git(repo, "rev-parse", "main") != before)
    assert git(repo, "rev-parse", "main^") == before
    assert (repo / "landed.txt").read_text() == "by a key press\n"
    wait_for(lambda: any("Land me" in line and "accepted" in line for line in screen().splitlines()))

    tmux("send-keys", "-t", "=dash:", "q")
    wait_for(lambda: tmux("has-session", "-t", "=dash").returncode != 0, timeout=10)
    assert state_of(home, task)["state"] == "accepted"


def test_a_plans_tasks_stand_together_under_its_name(cairn, repo):
    # Tasks 1 and 4 are loose; the plan queued in between (2, 3) and a second
    # plan's task queued last (5) each read as one group, in the table's order.
    cairn("queue", "-a", "demo", "--title", "Loose one", "say one")
    (repo / "oauth.toml").write_text('[[tasks]]\nname = "table"\nprompt = "say table"\n\n'
                                     '[[tasks]]\nname = "login"\nprompt = "say login"\nafter = ["table"]\n')
    assert cairn("queue", "--from", "oauth.toml", "-a", "demo").returncode == 0
    cairn("queue", "-a", "demo", "--title", "Loose two", "say two")
    (repo / "docs.toml").write_text('[[tasks]]\nname = "guide"\nprompt = "say guide"\n')
    assert cairn("queue", "--from", "docs.toml", "-a", "demo").returncode == 0

    async def scenario(app, pilot) -> None:
        from cairn.tui.widgets import TaskTable

        table = app.query_one(TaskTable)
        shown = [[c.plain for c in table.get_row_at(r)] for r in range(table.row_count)]
        assert [(row[0], row[6]) for row in shown] == [
            ("1", "Loose one"), ("2", "▸ oauth: say table"), ("3", "  oauth: say login"),
            ("4", "Loose two"), ("5", "▸ docs: say guide"),
        ]
        select(app, 3)
        await until(pilot, lambda: "[plan oauth]" in str(app.query_one("#heading").content))
        assert str(app.query_one("#heading").content).startswith("task 3 queued: say login [plan oauth]")

    drive(scenario)


def test_grouping_by_plan_moves_a_plans_later_tasks_up_to_its_first():
    from cairn.core.summary import Summary
    from cairn.tui.widgets import grouped_by_plan

    def summary(task_id: int, title: str) -> Summary:
        return Summary(**{**dict.fromkeys(Summary._fields), "id": task_id, "title": title})

    loose, first, other, later = summary(1, "a"), summary(2, "b"), summary(3, "c"), summary(4, "d")
    shown = grouped_by_plan([loose, first, other, later], {2: "p", 4: "p"})
    assert [(s.id, s.title) for s in shown] == [(1, "a"), (2, "▸ p: b"), (4, "  p: d"), (3, "c")]
    assert grouped_by_plan([loose, other], {}) == [loose, other]


def test_k_shows_the_conflict_radar_and_a_runs_the_merge_train(cairn, repo, home):
    (repo / "src" / "app.py").write_text("one\ntwo\nthree\n")
    git(repo, "commit", "-qam", "three lines")
    first = run_task(cairn, "replace src/app.py: two => TWO")
    second = run_task(cairn, "replace src/app.py: two => deux")

    async def scenario(app, pilot) -> None:
        await pilot.press("k")
        await until(pilot, lambda: f"task {first} and task {second} conflict in: src/app.py" in detail(app))
        await pilot.press("A")
        # The train lands the first and stops, cleanly, at the one that conflicts with it.
        await until(pilot, lambda: app.message.startswith("train landed"))
        assert app.message == f"train landed {first} on main; {second} stays: conflicts with task {first} on main in: src/app.py"
        assert state_of(home, first)["state"] == "accepted" and state_of(home, second)["state"] == "review"

    drive(scenario)
    assert git(repo, "show", "main:src/app.py") == "one\nTWO\nthree"
