"""Plans: a goal split into tasks that are queued together (`cairn plan`,
`cairn queue --from FILE`, the backlog directory), and their order honoured."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conftest import events, git, state_of
from test_scheduler import agent_spans

FIVE = """
goal = "Split the app"

[[tasks]]
name = "base"
prompt = "write src/base.py: base"
locks = ["src/base.py"]

[[tasks]]
name = "left"
prompt = "write src/left.py: left"
after = ["base"]
locks = ["src/shared/**"]

[[tasks]]
name = "right"
prompt = "sleep 0.3\\nwrite src/right.py: right"
after = ["base"]
locks = ["src/shared/*.py"]

[[tasks]]
name = "docs"
prompt = "write docs/app.md: app"
priority = "high"

[[tasks]]
name = "top"
prompt = "write src/top.py: top"
after = ["left", "right"]
"""


def test_a_plan_of_five_is_queued_whole_and_runs_in_its_order(cairn, repo, home):
    (repo / "five.toml").write_text(FIVE)
    queued = cairn("queue", "--from", "five.toml", "-a", "demo")
    assert queued.returncode == 0, queued.stderr
    assert "plan five: queued 5 tasks: 1 2 3 4 5" in queued.stdout
    record = json.loads((home / "plans" / "five.json").read_text())
    assert record["tasks"] == {"base": 1, "left": 2, "right": 3, "docs": 4, "top": 5}
    task = json.loads((home / "tasks" / "5" / "task.json").read_text())
    assert task["after"] == [2, 3] and task["plan"] == "five"
    shown = cairn("status", "--plan", "five", "--json").json()
    assert [t["id"] for t in shown] == [1, 2, 3, 4, 5]

    # Run until everything is in review, accepting what is ready, as a human would.
    accepted_at: dict[int, int] = {}
    for _round in range(6):
        assert cairn("up", "--until-idle", "--max-agents", "4").returncode == 0
        for task_id in range(1, 6):
            if state_of(home, task_id)["state"] == "review":
                assert cairn("accept", str(task_id)).returncode == 0
                accepted_at[task_id] = len(events(home))
        if len(accepted_at) == 5:
            break
    assert sorted(accepted_at) == [1, 2, 3, 4, 5]
    journal = events(home)

    def started(task_id: int) -> int:
        return next(i for i, e in enumerate(journal) if e["event"] == "agent-started" and e["task"] == task_id)

    def accepted(task_id: int) -> int:
        return next(i for i, e in enumerate(journal) if e["event"] == "accepted" and e["task"] == task_id)

    for waiter, waited in [(2, 1), (3, 1), (5, 2), (5, 3)]:
        assert started(waiter) > accepted(waited), f"task {waiter} started before task {waited} was accepted"
    spans = agent_spans(home)
    left, right = spans[2], spans[3]
    assert left[1] <= right[0] or right[1] <= left[0], "tasks with overlapping locks ran at the same time"
    assert git(repo, "show", "main:src/top.py") == "top"


@pytest.mark.parametrize(
    "plan, expected",
    [
        ('{"tasks": []}', ["the plan is empty"]),
        ("goal = 'nothing'", ["the plan is empty"]),
        ('[[tasks]]\nname = "a"\nprompt = "x"\nafter = ["ghost"]\n', ["task 'a': `after` names 'ghost', which is not a task of this plan"]),
        ('[[tasks]]\nname = "a"\nprompt = "x"\nafter = ["b"]\n[[tasks]]\nname = "b"\nprompt = "y"\nafter = ["a"]\n',
         ["`after` goes round in a cycle: a -> b -> a"]),
        ('[[tasks]]\nname = "a"\nprompt = "x"\nlocks = ["/etc/passwd", "src/[ab.py", "../up/**"]\n',
         ["task 1 ('a'): lock '/etc/passwd' is not a path glob", "task 1 ('a'): lock 'src/[ab.py' is not a path glob",
          "task 1 ('a'): lock '../up/**' is not a path glob"]),
        ('[[tasks]]\nname = "a"\nprompt = "x"\n[[tasks]]\nname = "a"\nprompt = "y"\n', ["two tasks are named 'a'"]),
        ('[[tasks]]\nname = "a"\nprompt = " "\nagent = "nobody"\npriority = "asap"\nsize = 3\n',
         ["task 1 ('a'): the prompt is missing or empty", "task 1 ('a'): unknown agent 'nobody'",
          "task 1 ('a'): priority 'asap'", "task 1 ('a'): unknown key 'size'"]),
        ("[[tasks]\nname=", ["not valid TOML"]),
    ],
)
def test_a_bad_plan_is_refused_naming_each_bad_entry_and_nothing_is_queued(cairn, repo, home, plan, expected):
    path = repo / ("bad.json" if plan.startswith("{") else "bad.toml")
    path.write_text(plan)
    result = cairn("queue", "--from", path.name)
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    for words in expected:
        assert words in first, first
    assert "nothing was queued" in result.stderr
    assert not (home / "tasks").exists() or not any((home / "tasks").iterdir())


def test_a_plan_in_json_and_a_plain_list_are_the_same_format(cairn, repo, home):
    (repo / "p.json").write_text(json.dumps({"name": "j", "tasks": [{"prompt": "write a.txt: a"}, {"prompt": "write b.txt: b", "after": ["1"]}]}))
    assert cairn("queue", "--from", "p.json", "-a", "demo").returncode == 0
    assert json.loads((home / "tasks" / "2" / "task.json").read_text())["after"] == [1]
    both = cairn("queue", "--from", "p.json", "do it too")
    assert both.returncode == 2 and "--from takes every task" in both.stderr


def test_the_plan_schema_in_docs_accepts_what_the_checker_accepts():
    from conftest import REPO

    schema = json.loads((REPO / "docs" / "plan.schema.json").read_text())
    from cairn.core.plan import _TASK_KEYS, _TOP_KEYS, PLAN_VERSION

    assert set(schema["properties"]) == _TOP_KEYS
    assert set(schema["$defs"]["task"]["properties"]) == _TASK_KEYS
    assert schema["properties"]["version"]["const"] == PLAN_VERSION


# -- cairn plan ----------------------------------------------------------------

SCRIPTED_PLANNER = '''
import json, os, pathlib, stat
snapshot = pathlib.Path.cwd()
report = {
    "prompt": pathlib.Path(os.environ["CAIRN_PROMPT_FILE"]).read_text(),
    "files": sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.is_file()),
    "writable": [str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.stat().st_mode & 0o222],
    "git": (snapshot / ".git").exists(),
}
try:
    (snapshot / "src" / "app.py").write_text("the planner was here")
    report["wrote"] = True
except OSError:
    report["wrote"] = False
pathlib.Path(os.environ["SEEN_FILE"]).write_text(json.dumps(report))
pathlib.Path(os.environ["CAIRN_PLAN_FILE"]).write_text(pathlib.Path(os.environ["FIXED_PLAN"]).read_text())
'''


@pytest.fixture
def planner(repo: Path, tmp_path: Path):
    script = tmp_path / "planner.py"
    script.write_text(SCRIPTED_PLANNER)
    (repo / "cairn.toml").write_text(
        f'[agents.scripted-planner]\ncommand = ["{sys.executable}", "{script}"]\nwritable = ["{tmp_path}/"]\n'
        '[planner]\nagent = "scripted-planner"\n'
    )

    def use(plan_text: str) -> dict[str, str]:
        fixed = tmp_path / "fixed-plan"
        fixed.write_text(plan_text)
        return {"FIXED_PLAN": str(fixed), "SEEN_FILE": str(tmp_path / "seen.json")}

    return use


def test_cairn_plan_runs_the_planner_on_a_read_only_copy_and_queues_its_plan(cairn, repo, home, planner):
    extra = {**planner(FIVE), "CAIRN_SANDBOX": "auto"}  # the tests' default is unconfined
    result = cairn("plan", "Split the app", "--max-tasks", "5", extra_env=extra)
    assert result.returncode == 0, result.stderr
    assert "plan split-the-app: queued 5 tasks: 1 2 3 4 5" in result.stdout
    seen = json.loads(Path(extra["SEEN_FILE"]).read_text())
    assert "src/app.py" in seen["files"] and not seen["git"] and seen["writable"] == []
    from cairn.agents.sandbox import bwrap_problem

    if bwrap_problem() is None or os.geteuid() != 0:  # root without the sandbox ignores file modes
        assert not seen["wrote"], "the planner could write into its copy"
    assert "Split the app" in seen["prompt"] and "At most 5 tasks" in seen["prompt"]
    assert "cairn planner prompt, version 1" in seen["prompt"]
    assert git(repo, "status", "--porcelain") == "?? cairn.toml"
    assert not list((home / "tmp").iterdir()), "the planner's copy is removed"
    assert cairn("status", "--plan", "split-the-app", "--json").json()[4]["title"] == "write src/top.py: top"


def test_cairn_plan_dry_run_prints_a_table_keeps_the_draft_and_queues_nothing(cairn, repo, home, planner):
    result = cairn("plan", "--dry-run", "Split the app", extra_env=planner(FIVE))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "name", "after", "locks", "agent", "prio", "title"]
    assert lines[1].split()[:2] == ["1", "base"] and "left,right" in lines[5]
    draft = Path(lines[-1].split("`cairn queue --from ")[1].rstrip("`"))
    assert draft.read_text() == FIVE
    assert not (home / "tasks").exists() or not any((home / "tasks").iterdir())
    queued = cairn("queue", "--from", str(draft), "-a", "demo")
    assert queued.returncode == 0 and "queued 5 tasks" in queued.stdout


def test_cairn_plan_refuses_a_bad_plan_and_too_many_tasks_keeping_the_draft(cairn, repo, home, planner):
    bad = cairn("plan", "Cycle", extra_env=planner('[[tasks]]\nname="a"\nprompt="x"\nafter=["a"]\n'))
    assert bad.returncode == 2 and "task 'a': it waits for itself" in bad.stderr
    too_many = cairn("plan", "Split", "--max-tasks", "3", extra_env=planner(FIVE))
    assert too_many.returncode == 2 and "5 tasks, more than --max-tasks 3" in too_many.stderr
    assert len(list((home / "plans" / "drafts").glob("*.toml"))) == 2
    assert not any((home / "tasks").iterdir()) if (home / "tasks").exists() else True


def test_the_planner_prompt_template_is_versioned():
    from cairn.engine.planner import PROMPT_VERSION, TEMPLATE, planner_prompt

    assert TEMPLATE.read_text().splitlines()[0].startswith(f"<!-- cairn planner prompt, version {PROMPT_VERSION} ")
    text = planner_prompt(goal="G", target="main", tip="0123456789abcdef", plan_file="/x/plan", max_tasks=3)
    import re

    assert not re.findall(r"\$\w+", text), "every placeholder is filled"
    assert "/x/plan" in text and "(0123456789ab)" in text and "At most 3 tasks" in text


# -- the backlog directory -------------------------------------------------------


def test_tickets_dropped_in_the_backlog_are_queued_and_moved_aside_with_their_ids(cairn, repo, home):
    backlog = repo / "backlog"
    backlog.mkdir()
    (repo / "cairn.toml").write_text('backlog_dir = "backlog"\ndefault_agent = "demo"\n')
    (backlog / "fix-readme.md").write_text("# Fix the readme\n\nwrite README.md: fixed\n")
    (backlog / "pair.toml").write_text('[[tasks]]\nname="a"\nprompt="write a.txt: a"\n[[tasks]]\nname="b"\nprompt="write b.txt: b"\nafter=["a"]\n')
    (backlog / "broken.toml").write_text('[[tasks]]\nname="a"\nprompt="x"\nafter=["zz"]\n')
    (backlog / ".half-written.md").write_text("write nope.txt: no")
    result = cairn("up", "--until-idle")
    assert result.returncode == 0, result.stderr
    assert "backlog: broken.toml not queued" in result.stdout
    queued = sorted(p.name for p in (backlog / "queued").iterdir())
    assert queued == ["1-fix-readme.md", "2-pair.toml"]
    assert json.loads((home / "tasks" / "1" / "task.json").read_text())["title"] == "Fix the readme"
    assert json.loads((home / "tasks" / "3" / "task.json").read_text())["after"] == [2]
    assert (backlog / "failed" / "broken.toml").exists()
    assert "'zz'" in (backlog / "failed" / "broken.toml.error").read_text()
    assert (backlog / ".half-written.md").exists()
    assert state_of(home, 1)["state"] == "review" and state_of(home, 2)["state"] == "review"
    assert sorted(p.name for p in backlog.iterdir()) == [".half-written.md", "failed", "queued"]
