"""Cairn on Jujutsu: a task is a jj change in its own workspace; accept squashes
or rebases it, reject abandons it, restore brings it back.

Real jj (.ci/tools.sh installs it), real repositories — plain jj and jj
colocated with git — and the scripted demo agent.  The ``repo`` fixture here
replaces conftest's git repository, so ``cairn``, ``home`` and ``store``
serve a jj repository in these tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, events, run_task, state_of

JJ = shutil.which("jj") or (str(REPO / ".tools" / "bin" / "jj") if (REPO / ".tools" / "bin" / "jj").exists() else None)
pytestmark = pytest.mark.skipif(JJ is None, reason="jj is not installed: .ci/tools.sh installs it (npm @smthrs/jj-linux-x64)")


def jj(root: Path, *args: str, check: bool = True) -> str:
    completed = subprocess.run(["jj", "--no-pager", "--color=never", *args], cwd=root, capture_output=True, text=True)
    if check and completed.returncode != 0:
        raise AssertionError(f"jj {' '.join(args)}: {completed.stderr}")
    return completed.stdout.strip()


def log(root: Path, revset: str, template: str = 'commit_id ++ "\\n"') -> list[str]:
    return jj(root, "log", "--no-graph", "--ignore-working-copy", "-r", revset, "-T", template).splitlines()


def make_jj_repo(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "jj-config.toml"
    config.write_text('user.name = "Test Author"\nuser.email = "author@example.com"\n')
    monkeypatch.setenv("JJ_CONFIG", str(config))
    root = tmp_path / "repo"
    root.mkdir()
    if kind == "colocated":
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / "README.md").write_text("# demo\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def hello():\n    return 'hello'\n")
    if kind == "colocated":
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        subprocess.run(["git", "commit", "-qm", "initial"], cwd=root, check=True)
        jj(root, "git", "init", "--colocate")
    else:
        jj(root, "git", "init")
        jj(root, "commit", "-m", "initial")
    monkeypatch.chdir(root)
    return root


@pytest.fixture(params=["plain", "colocated"])
def repo(request, tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A jj repository (plain, and colocated with git) whose working copy @ is
    an empty change on top of the commit ``initial``."""
    return make_jj_repo(tmp_path, request.param, monkeypatch)


#: For behaviour that does not depend on git sitting beside jj: one run, plain jj.
plain_only = pytest.mark.parametrize("repo", ["plain"], indirect=True)


def until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def work_of(home: Path, task_id: int) -> dict:
    state = state_of(home, task_id)
    return state.get("work") or state["previous"]["work"]


# -- the backend ---------------------------------------------------------------------


def test_a_task_is_a_described_change_in_its_own_workspace_outside_the_tree(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: new feature", "--title", "Add a feature")
    state = state_of(home, task)
    assert state["state"] == "review" and state["changed"] == {"files": 1, "insertions": 1, "deletions": 0}
    work = state["work"]
    assert work["backend"] == "jj" and work["name"] == f"cairn-{task}" and "branch" not in work
    workspace = Path(work["workspace"])
    assert repo not in workspace.parents, "the workspace lies outside the repository's tree"
    assert (workspace / "feature.txt").read_text() == "new feature\n"
    assert f"cairn-{task}" in jj(repo, "workspace", "list", "-T", 'name ++ "\\n"').splitlines()
    (described,) = log(repo, f"change_id({work['change_id']})", 'json(description) ++ "\\n"')
    assert json.loads(described) == f"Add a feature\n\nCairn task {task}\n"
    assert log(repo, f"change_id({work['change_id']})") == [work["head_commit"]]
    assert log(repo, f"change_id({work['change_id']})-") == log(repo, "@-"), "it starts from the parent of the working copy"
    assert "+new feature" in cairn("diff", str(task)).stdout
    assert cairn("diff", str(task), "--name-only").stdout.split() == ["feature.txt"]


def test_parallel_agents_work_side_by_side_and_both_land(cairn, repo, home, tmp_path):
    go = tmp_path / "go"
    ids = []
    for name in ("one", "two", "three"):
        queued = cairn("queue", "-a", "demo", f"write {name}.txt: {name}\nwait-for {go}")
        ids.append(int(queued.stdout))
        assert cairn("spawn", queued.stdout.strip()).returncode == 0
    until(lambda: all(state_of(home, t)["state"] == "running" and state_of(home, t)["work"] for t in ids))
    workspaces = {state_of(home, t)["work"]["workspace"] for t in ids}
    assert len(workspaces) == 3, "all three run at once, each in its own workspace"
    go.write_text("")
    assert cairn("wait", *map(str, ids), "--timeout", "60s").returncode == 0
    for task, name in zip(ids, ("one", "two", "three")):
        work = work_of(home, task)
        files = jj(repo, "diff", "--ignore-working-copy", "-r", f"change_id({work['change_id']})", "--name-only").split()
        assert files == [f"{name}.txt"]
    for task in ids:
        result = cairn("accept", str(task))
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in repo.glob("*.txt")) == ["one.txt", "three.txt", "two.txt"]


@plain_only
def test_the_workspace_of_a_task_finds_the_state_directory(cairn, repo, home):
    task = run_task(cairn, "write x.txt: x")
    inside = Path(work_of(home, task)["workspace"])
    listed = cairn("status", "--json", cwd=inside)
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in listed.json()] == [task]


@plain_only
def test_files_bootstrap_copies_in_are_never_part_of_the_change(cairn, repo, home):
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "cairn.toml").write_text('[bootstrap]\ncopy = [".env"]\n')
    task = run_task(cairn, "write feature.txt: f")
    work = work_of(home, task)
    assert (Path(work["workspace"]) / ".env").read_text() == "SECRET=1\n"
    assert cairn("diff", str(task), "--name-only").stdout.split() == ["feature.txt"]
    jj(Path(work["workspace"]), "status")  # a jj command of the agent's or the user's, later
    assert jj(repo, "diff", "-r", f"change_id({work['change_id']})", "--name-only").split() == ["feature.txt"]


# -- accept -------------------------------------------------------------------------


def test_accept_squashes_into_the_working_copy_keeping_the_users_edits(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: new feature", "--title", "Add a feature")
    work = work_of(home, task)
    (repo / "notes.txt").write_text("my own edit\n")
    result = cairn("accept", str(task))
    assert result.returncode == 0, result.stderr
    assert (repo / "feature.txt").read_text() == "new feature\n", "the user finds it in their working copy"
    assert (repo / "notes.txt").read_text() == "my own edit\n"
    assert jj(repo, "diff", "-r", "@", "--name-only").split() == ["feature.txt", "notes.txt"]
    assert json.loads(log(repo, "@", 'json(description) ++ "\\n"')[0]) == f"Add a feature\n\nCairn task {task}\n"
    assert log(repo, f"change_id({work['change_id']})") == [], "the change was squashed away"
    state = state_of(home, task)
    assert state["state"] == "accepted" and state["strategy"] == "squash" and state["target"] == "@"
    assert state["commit"] == log(repo, "@")[0]
    assert state["work"]["operation"], "the operation before the accept is kept for `jj op restore`"
    assert f"cairn-{task}" not in jj(repo, "workspace", "list", "-T", 'name ++ "\\n"')
    assert not Path(work["workspace"]).exists()
    assert any(e["event"] == "accepted" and e.get("operation") for e in events(home))


def test_accept_rebase_onto_a_bookmark_lands_there_and_moves_it(cairn, repo, home):
    jj(repo, "bookmark", "set", "main", "-r", "@-")
    task = run_task(cairn, "write feature.txt: f")
    (repo / "other.txt").write_text("meanwhile\n")
    jj(repo, "commit", "-m", "meanwhile")
    jj(repo, "bookmark", "set", "main", "-r", "@-")
    result = cairn("accept", str(task), "--rebase", "--into", "main")
    assert result.returncode == 0, result.stderr
    change = work_of(home, task)["change_id"]
    assert log(repo, "main", "change_id ++ \"\\n\"") == [change], "main moved to the landed change"
    assert log(repo, "main-", 'description.first_line() ++ "\\n"') == ["meanwhile"]
    assert state_of(home, task)["strategy"] == "rebase"
    if (repo / ".git").is_dir():
        assert subprocess.run(["git", "show", "main:feature.txt"], cwd=repo, capture_output=True, text=True).stdout == "f\n"


@plain_only
def test_accept_rebase_without_a_target_goes_in_below_the_working_copy(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: f")
    (repo / "wip.txt").write_text("work in progress\n")
    result = cairn("accept", str(task), "--rebase")
    assert result.returncode == 0, result.stderr
    assert log(repo, "@-", "change_id ++ \"\\n\"") == [work_of(home, task)["change_id"]]
    assert (repo / "feature.txt").exists() and (repo / "wip.txt").exists()
    assert jj(repo, "diff", "-r", "@", "--name-only").split() == ["wip.txt"]


def test_a_conflicting_accept_is_reported_and_undone(cairn, repo, home):
    task = run_task(cairn, "replace src/app.py: 'hello' => 'agent'")
    work = work_of(home, task)
    (repo / "src" / "app.py").write_text("def hello():\n    return 'mine'\n")
    jj(repo, "util", "snapshot")
    before = log(repo, "@")
    result = cairn("accept", str(task))
    operations = jj(repo, "op", "log", "--no-graph", "-T", 'id ++ "\\n"').splitlines()
    assert result.returncode == 1
    assert f"task {task} conflicts with your working copy (@) in: src/app.py" in result.stderr
    assert (repo / "src" / "app.py").read_text() == "def hello():\n    return 'mine'\n", "the user's file was never touched"
    assert log(repo, "@") == before
    assert log(repo, "conflicts()") == []
    assert log(repo, f"change_id({work['change_id']})") == [work["head_commit"]], "the task's change is as it was"
    newest = jj(repo, "op", "log", "--no-graph", "-n", "1", "-T", 'description ++ "\\n"')
    (conflict,) = [e for e in events(home) if e["event"] == "conflict"]
    assert newest == f"restore to operation {conflict['operation']}", "undone by restoring the operation recorded before"
    assert conflict["operation"] in operations, "recorded once the user's edit was snapshotted"
    state = state_of(home, task)
    assert state["state"] == "review" and state["conflict"] == ["src/app.py"]
    assert "conflict: src/app.py" in cairn("status").stdout
    assert (Path(work["workspace"]) / "src" / "app.py").read_text().count("agent") == 1


@plain_only
def test_failing_checks_block_the_accept_and_leave_everything_as_it_was(cairn, repo, home):
    (repo / "cairn.toml").write_text('[checks]\ncommands = [["sh", "-c", "touch left-behind.txt; test ! -e broken.txt"]]\n')
    task = run_task(cairn, "write broken.txt: oops")
    state = state_of(home, task)
    assert state["checks"]["status"] == "failed"
    work = state["work"]
    assert cairn("diff", str(task), "--name-only").stdout.split() == ["broken.txt"], "what checks leave is not recorded"
    at = log(repo, "@")
    result = cairn("accept", str(task))
    assert result.returncode == 1 and "checks failed" in result.stderr
    assert log(repo, "@") == at
    assert len(log(repo, f"change_id({work['change_id']})")) == 1
    assert state_of(home, task)["state"] == "review"
    assert cairn("accept", str(task), "--no-check").returncode == 0
    assert (repo / "broken.txt").exists()


@plain_only
def test_accept_refuses_strategies_jj_does_not_have(cairn, repo):
    task = run_task(cairn, "write x.txt: x")
    result = cairn("accept", str(task), "--merge")
    assert result.returncode == 2 and "squash (the default) or --rebase" in result.stderr


# -- reject and restore ------------------------------------------------------------------


def test_reject_abandons_the_change_and_restore_brings_it_back(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: kept")
    work = work_of(home, task)
    rejected = cairn("reject", str(task), "--reason", "not now")
    assert rejected.returncode == 0, rejected.stderr
    state = state_of(home, task)
    assert state["state"] == "rejected" and state["kept"]["operation"]
    assert log(repo, f"change_id({work['change_id']})") == [], "abandoned"
    assert f"cairn-{task}" not in jj(repo, "workspace", "list", "-T", 'name ++ "\\n"')
    assert not Path(work["workspace"]).exists()
    diff = cairn("diff", str(task))
    assert "+kept" in diff.stdout, "a rejected change is still readable"

    restored = cairn("restore", str(task))
    assert restored.returncode == 0, restored.stderr
    assert state_of(home, task)["state"] == "review"
    assert log(repo, f"change_id({work['change_id']})") == [work["head_commit"]], "the same change and commit"
    assert (Path(work["workspace"]) / "kept.txt").read_text() == "kept\n"
    assert cairn("accept", str(task)).returncode == 0
    assert (repo / "kept.txt").read_text() == "kept\n"


@plain_only
def test_restore_works_from_the_hidden_commit_once_the_operation_is_gone(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: kept")
    assert cairn("reject", str(task)).returncode == 0
    # As if `jj op abandon` had trimmed the log: the abandon can no longer be reverted.
    path = home / "tasks" / str(task) / "state.json"
    state = json.loads(path.read_text())
    state["kept"]["operation"] = "0" * 128
    path.write_text(json.dumps(state))
    restored = cairn("restore", str(task))
    assert restored.returncode == 0, restored.stderr
    work = work_of(home, task)
    assert (Path(work["workspace"]) / "kept.txt").read_text() == "kept\n"
    assert jj(repo, "diff", "-r", f"change_id({work['change_id']})", "--name-only").split() == ["kept.txt"]


@plain_only
def test_retry_continue_starts_from_the_rejected_attempts_content(cairn, repo, home):
    (repo / "cairn.toml").write_text('[agents.idle]\ncommand = ["true"]\n')
    first = run_task(cairn, "write a.txt: first attempt")
    retried = cairn("retry", str(first), "--continue", "--feedback", "add b too", "-a", "idle")
    assert retried.returncode == 0, retried.stderr
    second = int(retried.stdout)
    assert state_of(home, first)["state"] == "rejected", "a retry supersedes the task in review"
    assert cairn("spawn", str(second), "--wait").returncode == 0
    assert cairn("diff", str(second), "--name-only").stdout.split() == ["a.txt"], "the first attempt's content, carried"
    assert work_of(home, second)["change_id"] != work_of(home, first)["change_id"], "in a change of its own"
    assert cairn("restore", str(first)).returncode == 0, "the two attempts stay independent"
    assert cairn("diff", str(second), "--name-only").stdout.split() == ["a.txt"]


# -- never behind a running agent's back --------------------------------------------------


@plain_only
def test_nothing_rewrites_a_change_whose_agent_is_still_running(cairn, repo, home, tmp_path):
    below = run_task(cairn, "write base.txt: base")
    go = tmp_path / "go"
    change = work_of(home, below)["change_id"]
    running = int(cairn("queue", "-a", "demo", "--base", change, f"write top.txt: top\nwait-for {go}").stdout)
    assert cairn("spawn", str(running)).returncode == 0
    until(lambda: bool(state_of(home, running).get("work")) and (Path(state_of(home, running)["work"]["workspace"]) / "top.txt").exists())
    refused = cairn("accept", str(below))
    assert refused.returncode == 1
    assert f"task {running}'s agent is still working on a change this would rewrite" in refused.stderr
    assert cairn("reject", str(below)).returncode == 1
    top = state_of(home, running)["work"]["change_id"]
    jj(repo, "describe", "--ignore-working-copy", "-r", f"change_id({top})", "-m", "")
    synced = cairn("jj-sync", "--json")
    assert synced.returncode == 0 and synced.json() == [], "a running task's change is only looked at"
    go.write_text("")
    assert cairn("wait", str(running), "--timeout", "60s").returncode == 0
    assert state_of(home, running)["state"] == "review"
    assert cairn("accept", str(below)).returncode == 0, "once the agent is done"


# -- jj-sync ----------------------------------------------------------------------------


def test_jj_sync_records_what_the_user_squashed_or_abandoned_by_hand(cairn, repo, home):
    squashed = run_task(cairn, "write s.txt: squashed by hand")
    abandoned = run_task(cairn, "write a.txt: abandoned by hand")
    undescribed = run_task(cairn, "write d.txt: described again", "--title", "Describe me")
    change = {t: work_of(home, t)["change_id"] for t in (squashed, abandoned, undescribed)}
    jj(repo, "squash", "--from", f"change_id({change[squashed]})", "--into", "@", "--use-destination-message")
    jj(repo, "abandon", f"change_id({change[abandoned]})")
    jj(repo, "describe", "-r", f"change_id({change[undescribed]})", "-m", "")

    preview = cairn("jj-sync", "--dry-run")
    assert preview.returncode == 0 and "would: accepted" in preview.stdout
    assert state_of(home, squashed)["state"] == "review", "--dry-run changes nothing"

    synced = cairn("jj-sync")
    assert synced.returncode == 0, synced.stderr
    assert f"task {squashed}: accepted: squashed by hand" in synced.stdout
    assert f"task {abandoned}: rejected: its change was abandoned by hand" in synced.stdout
    assert f"task {undescribed}: described its change" in synced.stdout
    assert state_of(home, squashed)["state"] == "accepted"
    assert state_of(home, squashed)["commit"] == log(repo, "@")[0]
    assert state_of(home, abandoned)["state"] == "rejected" and state_of(home, abandoned)["kept"]["operation"]
    (text,) = log(repo, f"change_id({change[undescribed]})", 'json(description) ++ "\\n"')
    assert json.loads(text) == f"Describe me\n\nCairn task {undescribed}\n"
    assert state_of(home, undescribed)["work"]["head_commit"] == log(repo, f"change_id({change[undescribed]})")[0]
    for task in (squashed, abandoned):
        assert not Path(work_of(home, task)["workspace"]).exists()

    again = cairn("jj-sync")
    assert again.returncode == 0 and again.stdout.strip() == "in sync: nothing to do", "idempotent"
    assert cairn("restore", str(abandoned)).returncode == 0
    assert log(repo, f"change_id({change[abandoned]})"), "the hand-abandoned change is back"


def test_jj_sync_reports_a_stale_workspace_and_a_divergent_change(cairn, repo, home):
    task = run_task(cairn, "write feature.txt: f")
    work = work_of(home, task)
    (repo / "other.txt").write_text("other\n")
    jj(repo, "commit", "-m", "other")
    # Rewriting the task's change from outside, with a new tree: its workspace is stale now.
    jj(repo, "rebase", "-r", f"change_id({work['change_id']})", "-o", "@-")
    synced = cairn("jj-sync")
    assert synced.returncode == 0, synced.stderr
    assert f"task {task}: its workspace {work['workspace']} is stale" in synced.stdout
    assert "jj workspace update-stale" in synced.stdout
    assert state_of(home, task)["work"]["head_commit"] == log(repo, f"change_id({work['change_id']})")[0]

    jj(Path(work["workspace"]), "workspace", "update-stale")
    assert cairn("jj-sync").stdout.strip() == "in sync: nothing to do"

    # Stale again, with an edit the workspace had not recorded: bringing it
    # up to date keeps that edit in a second commit of the same change.
    jj(repo, "rebase", "-r", f"change_id({work['change_id']})", "-o", "@--")
    (Path(work["workspace"]) / "unrecorded.txt").write_text("edit\n")
    jj(Path(work["workspace"]), "workspace", "update-stale")
    diverged = cairn("jj-sync")
    assert diverged.returncode == 0
    assert f"task {task}: the change {work['change_id'][:12]} of cairn-{task} is divergent" in diverged.stdout
    assert cairn("accept", str(task)).returncode == 1


@plain_only
def test_jj_sync_is_refused_in_a_git_repository(cairn, tmp_path, monkeypatch):
    root = tmp_path / "gitrepo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    result = cairn("jj-sync", cwd=root)
    assert result.returncode == 2 and "is not a jj repository" in result.stderr


# -- agents and reviewers ------------------------------------------------------------------


@plain_only
def test_an_agent_that_commits_with_jj_itself_still_leaves_one_change(cairn, repo, home):
    (repo / "cairn.toml").write_text(
        '[agents.jjer]\ncommand = ["sh", "-c", "echo one > one.txt && jj commit -m \'agent: one\' && echo two > two.txt"]\n'
    )
    queued = cairn("queue", "-a", "jjer", "two files, one commit each")
    task = int(queued.stdout)
    assert cairn("spawn", str(task), "--wait").returncode == 0
    state = state_of(home, task)
    assert state["state"] == "review", state
    work = state["work"]
    assert jj(repo, "diff", "-r", f"change_id({work['change_id']})", "--name-only").split() == ["one.txt", "two.txt"]
    (text,) = log(repo, f"change_id({work['change_id']})", 'json(description) ++ "\\n"')
    assert json.loads(text) == f"agent: one\n\nCairn task {task}\n", "the agent's words stay, the task is named"
    assert log(repo, f"{work['name']}@", 'change_id ++ "\\n"') == [work["change_id"]]


@plain_only
def test_a_reviewer_sends_jj_work_back_and_the_retry_continues_from_it(cairn, repo, home, tmp_path):
    from test_reviewer import reviewer_config

    reviewer_config(repo, tmp_path, auto_retry=1)
    cairn("queue", "-a", "demo", "write code.txt: code")
    assert cairn("up", "--until-idle").returncode == 0
    first, second = state_of(home, 1), state_of(home, 2)
    assert first["state"] == "rejected" and first["kept"]["backend"] == "jj" and first["kept"]["operation"]
    assert log(repo, f"change_id({first['previous']['work']['change_id']})") == [], "the superseded change is abandoned"
    assert second["state"] == "review" and second["verdict"] == "approve"
    files = cairn("diff", "2", "--name-only").stdout.split()
    assert "code.txt" in files and "reviewer-was-here.txt" not in files
    assert cairn("accept", "2").returncode == 0
    assert (repo / "code.txt").read_text() == "code\n"


# -- choosing the backend ----------------------------------------------------------------


@pytest.mark.parametrize("repo", ["colocated"], indirect=True)
def test_vcs_git_keeps_git_worktrees_in_a_colocated_repository(cairn, repo, home):
    (repo / "cairn.toml").write_text('vcs = "git"\n')
    queued = cairn("queue", "-a", "demo", "write x.txt: x")
    assert cairn("spawn", queued.stdout.strip(), "--wait").returncode == 0
    assert state_of(home, int(queued.stdout))["work"]["backend"] == "git"


@plain_only
def test_vcs_jj_in_a_git_only_repository_says_what_to_do(cairn, tmp_path):
    root = tmp_path / "gitrepo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / "cairn.toml").write_text('vcs = "jj"\n')
    result = cairn("queue", "-a", "demo", "--base", "HEAD", "write x.txt: x", cwd=root)
    assert result.returncode == 2
    assert 'vcs = "jj" is configured, but' in result.stderr and "jj git init --colocate" in result.stderr
