"""The merge train: `cairn accept --all`, `cairn accept 3 5 8`, `--plan ID`."""

from __future__ import annotations

import json

from conftest import git, run_task, state_of

CHECKS = '[checks]\ncommands = [["sh", "-c", "! test -e BROKEN"]]\n'


def _five(cairn, repo, breaking: int | None = 4) -> list[int]:
    (repo / "cairn.toml").write_text(CHECKS)
    ids = []
    for n in range(1, 6):
        path = "BROKEN" if n == breaking else f"f{n}.txt"
        ids.append(run_task(cairn, f"write {path}: {n}"))
    return ids


def _branches(repo) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
    return dict(line.split() for line in out.splitlines())


def test_a_train_of_five_whose_fourth_breaks_the_checks_lands_three_and_keeps_two(cairn, repo, home):
    ids = _five(cairn, repo)
    tip = git(repo, "rev-parse", "main")
    moves = len(git(repo, "reflog", "main").splitlines())
    kept = {i: _branches(repo)[f"cairn/{i}"] for i in ids[3:]}

    result = cairn("accept", "--all", "--json")
    assert result.returncode == 1, result.stderr
    report = result.json()
    assert report["order"] == ids
    assert [t["id"] for t in report["landed"]] == ids[:3]
    assert [s["id"] for s in report["stayed"]] == ids[3:]
    assert report["stayed"][0]["reason"].startswith(f"broke the checks on top of tasks {ids[0]}, {ids[1]}, {ids[2]}")
    assert report["stayed"][1]["reason"] == f"behind task {ids[3]} in the train"
    # Checks once on the whole, then a bisection: 5 fails, 2 passes, 3 passes, 4 fails.
    assert [(r["tasks"], r["passed"]) for r in report["checks_runs"]] == [(5, False), (2, True), (3, True), (4, False)]

    # The target moved once, by fast-forward, to the third task's rebased commit.
    assert report["commit"] == git(repo, "rev-parse", "main") == report["landed"][2]["commit"]
    assert git(repo, "merge-base", "--is-ancestor", tip, "main") == ""
    assert len(git(repo, "reflog", "main").splitlines()) == moves + 1
    assert git(repo, "log", "--format=%s", f"{tip}..main").splitlines() == ["write f3.txt: 3", "write f2.txt: 2", "write f1.txt: 1"]
    for task_id in ids[:3]:
        state = state_of(home, task_id)
        assert state["state"] == "accepted" and state["strategy"] == "rebase"
        assert f"cairn/{task_id}" not in _branches(repo)
    broke = state_of(home, ids[3])
    assert broke["state"] == "review" and "broke the checks" in broke["finding"]
    assert state_of(home, ids[4])["state"] == "review"
    # Work that stayed is exactly where it was.
    assert {i: _branches(repo)[f"cairn/{i}"] for i in ids[3:]} == kept
    assert "/tmp/train-" not in git(repo, "worktree", "list"), "the scratch worktree is gone"
    shown = cairn("status", str(ids[3])).stdout
    assert "finding    broke the checks" in shown


def test_a_train_that_meets_a_conflict_stops_cleanly(cairn, repo, home):
    (repo / "src" / "app.py").write_text("one\ntwo\nthree\n")
    git(repo, "commit", "-qam", "three lines")
    first = run_task(cairn, "replace src/app.py: two => TWO")
    clash = run_task(cairn, "replace src/app.py: two => deux")
    after = run_task(cairn, "write docs/a.md: a")
    untouched = {i: _branches(repo)[f"cairn/{i}"] for i in (clash, after)}
    before = {i: state_of(home, i) for i in (clash, after)}

    result = cairn("accept", str(after), str(first), str(clash))
    assert result.returncode == 1
    assert f"landed 1 task on main: {first} (" in result.stdout
    assert f"stays in review: task {clash}: conflicts with task {first} on main in: src/app.py" in result.stdout
    assert f"stays in review: task {after}: behind task {clash} in the train" in result.stdout
    assert git(repo, "show", "main:src/app.py") == "one\nTWO\nthree"
    assert state_of(home, first)["state"] == "accepted"
    stopped = state_of(home, clash)
    assert stopped["state"] == "review" and stopped["conflict"] == ["src/app.py"] and "conflicts with" in stopped["finding"]
    assert state_of(home, after) == before[after], "the rest is untouched"
    assert {i: _branches(repo)[f"cairn/{i}"] for i in (clash, after)} == untouched
    assert git(repo, "status", "--porcelain") == ""


def test_dry_run_says_what_would_happen_and_changes_nothing(cairn, repo, home):
    ids = _five(cairn, repo, breaking=None)
    (repo / "src" / "app.py").write_text("changed on main\n")
    git(repo, "commit", "-qam", "main moves")
    tip, branches = git(repo, "rev-parse", "main"), _branches(repo)
    records = [state_of(home, i) for i in ids]
    result = cairn("accept", "--all", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"would land 5 tasks on main: {ids[0]} (" in result.stdout
    assert "checks are not run by --dry-run" in result.stdout
    assert git(repo, "rev-parse", "main") == tip and _branches(repo) == branches
    assert [state_of(home, i) for i in ids] == records


def test_the_train_orders_by_dependency_then_priority_and_lands_a_plan(cairn, repo, home):
    low = run_task(cairn, "write low.txt: l", "-p", "low")
    urgent = run_task(cairn, "write urgent.txt: u", "-p", "urgent")
    (repo / "p.toml").write_text('name = "p"\n[[tasks]]\nprompt = "write a.txt: a"\n[[tasks]]\nprompt = "write b.txt: b"\npriority = "high"\n')
    assert cairn("queue", "--from", "p.toml", "-a", "demo").returncode == 0
    for task_id in (3, 4):
        assert cairn("spawn", str(task_id), "--wait").returncode == 0
    planned = cairn("accept", "--plan", "p", "--json")
    assert planned.returncode == 0, planned.stderr
    assert planned.json()["order"] == [4, 3]
    assert state_of(home, low)["state"] == "review"
    rest = cairn("accept", "--all", "--json").json()
    assert rest["order"] == [urgent, low] and [t["id"] for t in rest["landed"]] == [urgent, low]


def test_the_train_refuses_before_changing_anything(cairn, repo, home):
    ready = run_task(cairn, "write a.txt: a")
    edited = run_task(cairn, "write b.txt: b")
    queued = int(cairn("queue", "-a", "demo", "write c.txt: c").stdout)
    tip = git(repo, "rev-parse", "main")
    wrong = cairn("accept", str(ready), str(queued))
    assert wrong.returncode == 4 and f"task {queued} is queued, not in review" in wrong.stderr
    workspace = state_of(home, edited)["work"]["workspace"]
    (repo / workspace / "stray.txt").write_text("not committed")
    dirty = cairn("accept", "--all")
    assert dirty.returncode == 1 and "has changes not committed" in dirty.stderr and "stray.txt" in dirty.stderr
    strategy = cairn("accept", str(ready), str(edited), "--squash")
    assert strategy.returncode == 2
    assert git(repo, "rev-parse", "main") == tip
    assert state_of(home, ready)["state"] == "review" and state_of(home, edited)["state"] == "review"


def test_your_uncommitted_changes_in_the_way_stop_the_train_with_nothing_landed(cairn, repo, home):
    one = run_task(cairn, "write src/app.py: theirs")
    two = run_task(cairn, "write b.txt: b")
    (repo / "src" / "app.py").write_text("mine, not committed\n")
    tip = git(repo, "rev-parse", "main")
    result = cairn("accept", "--all")
    assert result.returncode == 1 and "nothing landed, every task stays in review" in result.stderr
    assert git(repo, "rev-parse", "main") == tip
    assert (repo / "src" / "app.py").read_text() == "mine, not committed\n"
    assert state_of(home, one)["state"] == "review" and state_of(home, two)["state"] == "review"
    assert json.loads((home / "tasks" / str(one) / "state.json").read_text())["finding"] is None
