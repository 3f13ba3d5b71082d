"""`cairn gc` in a jj repository: finished tasks' jj workspaces go, their
changes stay under ``cairn/archive/`` bookmarks; rejected work expires.

The plan tests at the top need no jj.  The rest use real jj repositories,
plain and colocated with git (the ``repo`` fixture of tests/test_jj.py),
real runs of the scripted agent and real processes; age is simulated by
moving a record's ``since`` back, as in tests/test_gc.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.core.gc import (
    ArchiveChange, Commit, ExpireJjTrash, Facts, JjTrash, Policy, RemoveWorkspace, Stray, TaskFacts, Workspace, describe,
    plan,
)
from conftest import events, git, state_of
from test_gc import set_age, wait_for_runners
from test_jj import JJ, jj, log, make_jj_repo, plain_only, run_task, until, work_of

needs_jj = pytest.mark.skipif(JJ is None, reason="jj is not installed: .ci/tools.sh installs it (npm @smthrs/jj-linux-x64)")

DAY = 86400.0
NOW = 1_800_000_000.0
AGES = {"accepted": 7 * DAY, "rejected": 14 * DAY, "failed": 14 * DAY, "cancelled": 7 * DAY}


# -- the plan, without jj ---------------------------------------------------------------


def jj_task(task_id: int, state: str = "failed", days: float = 20, *, only_here: tuple[Commit, ...] = (Commit("kkk", "c1"),), **workspace: object) -> TaskFacts:
    return TaskFacts(task_id, state, NOW - days * DAY, None, Workspace(f"/xdg/{task_id}", jj=f"cairn-{task_id}", only_here=only_here, **workspace))  # type: ignore[arg-type]


def test_plan_bookmarks_what_only_the_workspace_holds_before_it_goes():
    facts = Facts(tasks=(jj_task(3),), known_ids=frozenset({3}), bookmarks={"cairn/archive/3": "other"})
    actions = plan(facts, Policy(max_age=AGES), NOW).actions
    assert [type(a) for a in actions] == [ArchiveChange, RemoveWorkspace], "the bookmark first"
    archive, removal = actions
    assert archive.bookmark == "cairn/archive/3-2", "a name holding other commits is never moved"
    assert (removal.jj_workspace, removal.path) == ("cairn-3", "/xdg/3")
    assert describe(archive, done=True) == "archived change kkk (c1) of task 3 to bookmark cairn/archive/3-2: only jj workspace cairn-3 holds it"
    assert describe(removal, done=False).startswith("remove jj workspace cairn-3 of task 3 (/xdg/3): failed 20d ago")


def test_plan_purge_blocked_and_landed_workspaces_get_no_bookmark():
    policy = Policy(max_age=AGES)
    assert not [a for a in plan(Facts(tasks=(jj_task(1),), known_ids=frozenset({1})), Policy(max_age=AGES, purge=True), NOW).actions if isinstance(a, ArchiveChange)]
    assert plan(Facts(tasks=(jj_task(1, blocked="busy"),), known_ids=frozenset({1})), policy, NOW).actions == ()
    landed = plan(Facts(tasks=(jj_task(1, only_here=()),), known_ids=frozenset({1})), policy, NOW).actions
    assert [type(a) for a in landed] == [RemoveWorkspace]
    young = plan(Facts(tasks=(jj_task(1, days=2),), known_ids=frozenset({1})), policy, NOW)
    assert young.actions == ()


def test_plan_orphan_jj_workspaces_are_noted_unless_orphans_and_a_tasks_name_is_never_one():
    strays = (Stray(Workspace("/xdg/99", jj="cairn-99", only_here=(Commit("zzz", "c9"),))), Stray(Workspace("/elsewhere", jj="cairn-5")))
    facts = Facts(known_ids=frozenset({5}), strays=strays)
    noted = plan(facts, Policy(max_age=AGES), NOW)
    assert noted.actions == ()
    assert [(n.kind, n.what) for n in noted.notes] == [("orphan", "jj workspace cairn-99 (/xdg/99)")]
    removed = plan(facts, Policy(max_age=AGES, orphans=True), NOW).actions
    assert [(type(a), getattr(a, "bookmark", None)) for a in removed] == [(ArchiveChange, "cairn/archive/orphans/cairn-99"), (RemoveWorkspace, None)]


def test_plan_jj_trash_expires_at_the_rejected_max_age():
    def rejected(days: float) -> TaskFacts:
        return TaskFacts(4, "rejected", NOW - days * DAY, trash=JjTrash("abc123", "op1"))

    assert plan(Facts(tasks=(rejected(13),), known_ids=frozenset({4})), Policy(max_age=AGES), NOW).actions == ()
    (action,) = plan(Facts(tasks=(rejected(15),), known_ids=frozenset({4})), Policy(max_age=AGES), NOW).actions
    assert action == ExpireJjTrash(4, "abc123", "op1", "rejected 15d ago, past max age 14d")
    assert describe(action, done=True) == "expired trash of task 4 (jj commit abc123): rejected 15d ago, past max age 14d"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["queued", "running", "review", "failed", "cancelled", "accepted", "rejected"]),
            st.floats(0, 60), st.integers(0, 2), st.booleans(),
        ),
        max_size=8,
    ),
    st.sets(st.integers(1, 8), max_size=4), st.booleans(), st.integers(0, 3),
)
def test_plan_never_forgets_a_jj_workspace_before_its_work_is_bookmarked(rows, taken, purge, keep):
    tasks = tuple(
        jj_task(i, state, days, only_here=tuple(Commit(f"k{i}{n}", f"c{i}{n}") for n in range(held)), blocked="busy" if blocked else None)
        for i, (state, days, held, blocked) in enumerate(rows, start=1)
    )
    bookmarks = {f"cairn/archive/{i}": "someone else's" for i in taken}
    facts = Facts(tasks=tasks, known_ids=frozenset(t.id for t in tasks), bookmarks=bookmarks)
    actions = plan(facts, Policy(max_age=AGES, keep=keep, purge=purge), NOW).actions
    by_id = {t.id: t for t in tasks}
    archived: dict[str, str] = {}
    for action in actions:
        assert by_id[action.task].state not in ("queued", "running", "review")
        if isinstance(action, ArchiveChange):
            assert not purge
            assert action.bookmark not in bookmarks and action.bookmark not in archived, "never a name already taken"
            archived[action.bookmark] = action.commit
        elif isinstance(action, RemoveWorkspace):
            workspace = by_id[action.task].workspace
            assert workspace is not None and workspace.blocked is None
            if not purge:
                assert {c.commit for c in workspace.only_here} <= set(archived.values()), "bookmarked first"


# -- real jj repositories ------------------------------------------------------------------


@pytest.fixture(params=["plain", "colocated"])
def repo(request, tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """tests/test_jj.py's jj repository (plain, and colocated with git) in place of conftest's git one."""
    return make_jj_repo(tmp_path, request.param, monkeypatch)


def fail_task(cairn, home: Path, prompt: str) -> int:
    """A task whose agent wrote its work and then failed: its jj workspace stays."""
    queued = cairn("queue", "-a", "demo", f"{prompt}\nexit 1")
    assert queued.returncode == 0, queued.stderr
    task = int(queued.stdout)
    assert cairn("spawn", str(task), "--wait").returncode == 1
    wait_for_runners(home, [task])
    assert state_of(home, task)["state"] == "failed"
    return task


def workspace_names(repo: Path) -> list[str]:
    return jj(repo, "workspace", "list", "--ignore-working-copy", "-T", 'name ++ "\\n"').splitlines()


def show(repo: Path, revision: str, path: str) -> str:
    return jj(repo, "file", "show", "--ignore-working-copy", "-r", revision, path)


@needs_jj
def test_an_old_failed_jj_tasks_workspace_goes_and_its_change_stays_recoverable(cairn, repo, home):
    old = fail_task(cairn, home, "write precious.txt: precious work")
    recent = fail_task(cairn, home, "write recent.txt: recent")
    work = work_of(home, old)
    path = Path(work["workspace"])
    (path / "by-hand.txt").write_text("a human's fix\n")  # never recorded by jj: gc records it, never loses it
    set_age(home, old, days=20)

    result = cairn("gc")
    assert result.returncode == 0, result.stderr
    bookmark = f"cairn/archive/{old}"
    assert f"archived change {work['change_id'][:12]} (" in result.stdout
    assert f"of task {old} to bookmark {bookmark}: only jj workspace cairn-{old} holds it" in result.stdout
    assert f"removed jj workspace cairn-{old} of task {old} ({path}" in result.stdout
    assert "failed 20d ago, past max age 14d" in result.stdout
    assert "orphan" not in result.stdout, "the archive bookmark is gc's own, in git too"
    assert not path.exists()
    assert f"cairn-{old}" not in workspace_names(repo) and f"cairn-{recent}" in workspace_names(repo)
    assert log(repo, bookmark, 'change_id ++ "\\n"') == [work["change_id"]], "the task's own change, under a name"
    assert show(repo, bookmark, "precious.txt") == "precious work"
    assert show(repo, bookmark, "by-hand.txt") == "a human's fix"
    if (repo / ".git").is_dir():
        assert git(repo, "rev-parse", f"refs/heads/{bookmark}") == log(repo, bookmark)[0], "git keeps it too"

    record = json.loads((home / "tasks" / str(old) / "gc.json").read_text())
    assert record["workspace"]["path"] == str(path)
    assert [(a["bookmark"], a["change"]) for a in record["archived"]] == [(bookmark, work["change_id"])]
    actions = [e["action"] for e in events(home) if e["event"] == "gc"]
    assert actions == ["archive-change", "remove-workspace", "compress"]
    again = cairn("gc")
    assert again.returncode == 0 and again.stdout.strip() == "gc: nothing to collect", again.stdout


@needs_jj
@plain_only
def test_a_running_jj_task_is_never_touched(cairn, repo, home, tmp_path):
    go = tmp_path / "go"
    running = int(cairn("queue", "-a", "demo", f"write wip.txt: work in progress\nwait-for {go}").stdout)
    assert cairn("spawn", str(running)).returncode == 0
    until(lambda: bool(state_of(home, running).get("work")) and (Path(state_of(home, running)["work"]["workspace"]) / "wip.txt").exists())
    path = Path(state_of(home, running)["work"]["workspace"])
    result = cairn("gc", "--max-age", "0s", "--max-size", "0", "--purge", "--force", "--orphans")
    assert result.returncode == 0, result.stderr
    assert f"task {running}" not in result.stdout and f"cairn-{running}" not in result.stdout
    assert (path / "wip.txt").exists() and f"cairn-{running}" in workspace_names(repo)
    assert state_of(home, running)["state"] == "running"
    go.write_text("")
    assert cairn("wait", str(running), "--timeout", "60s").returncode == 0
    assert state_of(home, running)["state"] == "review"


@needs_jj
@plain_only
def test_dry_run_changes_nothing_in_a_jj_repository(cairn, repo, home, tmp_path):
    old = fail_task(cairn, home, "write old.txt: old")
    rejected = run_task(cairn, "write no.txt: no")
    assert cairn("reject", str(rejected)).returncode == 0
    set_age(home, old, days=30)
    set_age(home, rejected, days=30)
    stray = tmp_path / "stray"
    jj(repo, "workspace", "add", "--name", "cairn-99", str(stray))
    (stray / "lost.txt").write_text("work nobody queued\n")
    jj(stray, "util", "snapshot")  # what a dry run sees: it records nothing itself
    cairn("status")  # the summary cache is a cache: let it settle first

    def snapshot() -> tuple:
        files = sorted(
            (str(p), p.stat().st_size, p.stat().st_mtime_ns)
            for p in [*home.rglob("*"), *Path(work_of(home, old)["workspace"]).rglob("*"), *stray.rglob("*")]
            if p.is_file() and "cache" not in p.parts
        )
        operation = jj(repo, "op", "log", "--ignore-working-copy", "--no-graph", "-n", "1", "-T", "id")
        return files, operation, workspace_names(repo), jj(repo, "bookmark", "list", "--ignore-working-copy")

    before = snapshot()
    result = cairn("gc", "--dry-run")
    assert result.returncode == 0, result.stderr
    for line in (
        f"would archive change {work_of(home, old)['change_id'][:12]}",
        f"of task {old} to bookmark cairn/archive/{old}",
        f"would remove jj workspace cairn-{old} of task {old} ({work_of(home, old)['workspace']}",
        f"would expire trash of task {rejected} (jj commit {work_of(home, rejected)['head_commit'][:12]}): rejected 30d ago, past max age 14d",
        f"orphan jj workspace cairn-99 ({os.path.realpath(stray)}): no task behind it",
        "nothing was changed",
    ):
        assert line in result.stdout, (line, result.stdout)
    loud = cairn("gc", "--dry-run", "--json", "--orphans", "--force", "--max-age", "0s", "--max-size", "0")
    counts = loud.json()
    assert (counts["dry_run"], counts["workspaces"], counts["archived"], counts["trash"]) == (True, 2, 2, 1), counts
    assert snapshot() == before
    assert cairn("restore", str(rejected)).returncode == 0, "a dry run expires nothing"


@needs_jj
def test_orphan_jj_workspaces_are_reported_and_removed_only_with_orphans(cairn, repo, home, tmp_path):
    assert cairn("init").returncode == 0
    stray = tmp_path / "stray"
    jj(repo, "workspace", "add", "--name", "cairn-99", str(stray))
    (stray / "lost.txt").write_text("work nobody queued\n")
    jj(repo, "workspace", "add", "--name", "mine", str(tmp_path / "mine"))  # not Cairn's name: never its business
    result = cairn("gc")
    assert result.returncode == 0, result.stderr
    assert f"orphan jj workspace cairn-99 ({os.path.realpath(stray)}): no task behind it; `cairn gc --orphans` removes it" in result.stdout
    assert "mine" not in result.stdout
    assert stray.is_dir() and "cairn-99" in workspace_names(repo)

    removed = cairn("gc", "--orphans", "--json")
    counts = removed.json()
    assert (counts["workspaces"], counts["archived"]) == (1, 1), counts
    assert not stray.exists() and "cairn-99" not in workspace_names(repo) and "mine" in workspace_names(repo)
    assert show(repo, "cairn/archive/orphans/cairn-99", "lost.txt") == "work nobody queued"


@needs_jj
@plain_only
def test_restore_of_an_expired_rejected_jj_task_says_the_work_expired(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: kept")
    assert cairn("reject", str(task)).returncode == 0
    head = work_of(home, task)["head_commit"]
    set_age(home, task, days=13)
    assert cairn("gc", "--json").json()["trash"] == 0, "still restorable before its age"
    set_age(home, task, days=15)
    result = cairn("gc")
    assert f"expired trash of task {task} (jj commit {head[:12]}): rejected 15d ago, past max age 14d" in result.stdout
    record = json.loads((home / "tasks" / str(task) / "gc.json").read_text())
    assert record["trash"]["commit"] == head and record["trash"]["ref"] is None and record["trash"]["operation"]
    restore = cairn("restore", str(task))
    assert restore.returncode == 1
    assert f"the work of task {task} expired: gc expired its trash on " in restore.stderr
    assert f"jj new {head[:12]}" in restore.stderr
    assert state_of(home, task)["state"] == "rejected"
    assert cairn("gc", "--json").json()["trash"] == 0, "expired once"
    jj(repo, "new", head[:12])  # the hint holds while jj keeps the hidden commit
    assert (repo / "kept.txt").read_text() == "kept\n"


@needs_jj
@plain_only
def test_a_process_inside_a_jj_workspace_blocks_it_and_purge_sets_no_bookmark(cairn, repo, home):
    task = fail_task(cairn, home, "write busy.txt: busy")
    work = work_of(home, task)
    path = Path(work["workspace"])
    set_age(home, task, days=30)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=path)
    try:
        result = cairn("gc")
        assert result.returncode == 0, result.stderr
        assert f"skipped jj workspace cairn-{task} of task {task} ({path}): process {sleeper.pid} (" in result.stdout
        assert "archived" not in result.stdout, "nothing is bookmarked for a workspace that stays"
        assert path.is_dir() and f"cairn-{task}" in workspace_names(repo)
        forced = cairn("gc", "--force", "--purge", "--json").json()
        assert (forced["workspaces"], forced["archived"]) == (1, 0), forced
        assert sleeper.wait(timeout=10) is not None
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not path.exists() and f"cairn-{task}" not in workspace_names(repo)
    assert jj(repo, "bookmark", "list", "--ignore-working-copy") == "", "--purge keeps no bookmark"
    assert log(repo, f"change_id({work['change_id']})"), "jj itself leaves a forgotten workspace's non-empty change visible"


@needs_jj
@plain_only
def test_a_landed_tasks_leftover_workspace_goes_without_a_bookmark(cairn, repo, home):
    task = run_task(cairn, "write landed.txt: landed")
    assert cairn("accept", str(task)).returncode == 0
    path = Path(work_of(home, task)["workspace"])
    # As if the accept had been cut short before it removed the workspace.
    jj(repo, "workspace", "add", "--name", f"cairn-{task}", "-r", "@", str(path))
    set_age(home, task, days=8)
    counts = cairn("gc", "--json").json()
    assert (counts["workspaces"], counts["archived"]) == (1, 0), counts
    assert not path.exists() and f"cairn-{task}" not in workspace_names(repo)
    assert (repo / "landed.txt").read_text() == "landed\n"
