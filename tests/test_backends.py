"""The same behaviour on every backend: git worktrees, git clones, jj workspaces.

Accept, reject, restore, retry, gc, diff and the reviewer, each run against
a real repository of the backend (a git repository with ``vcs = "git"`` or
``vcs = "clone"``; a jj repository colocated with git) with real git and real
jj, and the scripted demo agent.  What each backend does inside is tested in
its own file (test_accept.py, test_jj.py, the clone tests at the end here);
this file holds the promise of cairn/backends/base.py: one seam, the same
outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import events, git, run_task, state_of
from test_jj import JJ, make_jj_repo

BACKENDS = ["git", "clone", "jj"]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    if request.param == "jj" and JJ is None:
        pytest.skip("jj is not installed: .ci/tools.sh installs it")
    return str(request.param)


@pytest.fixture
def repo(backend: str, tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository the backend serves: git (vcs git or clone), or jj colocated with git."""
    if backend == "jj":
        return make_jj_repo(tmp_path, "colocated", monkeypatch)
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# demo\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    (root / "cairn.toml").write_text(f'vcs = "{backend}"\n')
    # The configuration is the user's, not the project's: kept out of the tree.
    (root / ".git" / "info" / "exclude").write_text("cairn.toml\n")
    monkeypatch.chdir(root)
    return root


def work_of(home: Path, task_id: int) -> dict:
    state = state_of(home, task_id)
    return state.get("work") or state["previous"]["work"]


def landed_text(repo: Path, path: str) -> str:
    """What the user finds in their working copy after an accept."""
    return (repo / path).read_text()


def test_work_keeps_the_backend_it_was_made_with(cairn, repo, home, backend):
    task = run_task(cairn, "write a.txt: A")
    work = work_of(home, task)
    assert work["backend"] == backend
    if backend == "clone":
        assert (Path(work["workspace"]) / ".git").is_dir(), "a repository of its own"
    elif backend == "git":
        assert (Path(work["workspace"]) / ".git").is_file(), "a worktree of the user's repository"


def test_accept_lands_the_work_in_the_users_working_copy(cairn, repo, home, backend):
    task = run_task(cairn, "write a.txt: A")
    accepted = cairn("accept", str(task))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert landed_text(repo, "a.txt") == "A\n"
    assert state_of(home, task)["state"] == "accepted"
    assert not Path(work_of(home, task)["workspace"]).exists(), "the workspace goes once the work has landed"
    assert [e["event"] for e in events(home) if e.get("task") == task][-1] == "accepted"


def test_a_conflict_is_reported_and_changes_nothing(cairn, repo, home, backend):
    task = run_task(cairn, "write README.md: theirs")
    if backend == "jj":
        (repo / "README.md").write_text("ours\n")
        subprocess.run(["jj", "commit", "-m", "ours"], cwd=repo, check=True, capture_output=True)
    else:
        (repo / "README.md").write_text("ours\n")
        git(repo, "commit", "-qam", "ours")
    accepted = cairn("accept", str(task))
    assert accepted.returncode != 0
    assert "conflicts with" in accepted.stderr and "README.md" in accepted.stderr
    state = state_of(home, task)
    assert state["state"] == "review" and state["conflict"] == ["README.md"]
    assert (repo / "README.md").read_text() == "ours\n", "the user's files are as they were"


def test_diff_shows_the_proposal_in_every_form(cairn, repo, home, backend):
    task = run_task(cairn, "write a.txt: A")
    full = cairn("diff", str(task))
    assert full.returncode == 0, full.stderr
    assert "+A" in full.stdout and "a.txt" in full.stdout
    names = cairn("diff", str(task), "--name-only")
    assert names.stdout.split() == ["a.txt"]
    assert "a.txt" in cairn("diff", str(task), "--stat").stdout


def test_reject_keeps_the_work_and_restore_brings_it_back(cairn, repo, home, backend):
    task = run_task(cairn, "write a.txt: A")
    workspace = Path(work_of(home, task)["workspace"])
    rejected = cairn("reject", str(task), "--reason", "not now")
    assert rejected.returncode == 0, rejected.stderr
    state = state_of(home, task)
    assert state["state"] == "rejected" and state["kept"]["backend"] == backend
    assert not workspace.exists()
    assert "+A" in cairn("diff", str(task)).stdout, "a rejected proposal can still be read"
    restored = cairn("restore", str(task))
    assert restored.returncode == 0, restored.stderr
    assert state_of(home, task)["state"] == "review"
    assert (Path(work_of(home, task)["workspace"]) / "a.txt").read_text() == "A\n"
    assert cairn("accept", str(task)).returncode == 0
    assert landed_text(repo, "a.txt") == "A\n"


def test_retry_continue_starts_from_the_rejected_work(cairn, repo, home, backend):
    first = run_task(cairn, "write a.txt: A")
    assert cairn("reject", str(first)).returncode == 0
    retried = cairn("retry", str(first), "--continue")
    assert retried.returncode == 0, retried.stderr
    second = int(retried.stdout)
    spawned = cairn("spawn", str(second), "--wait")
    assert spawned.returncode == 0, spawned.stdout + spawned.stderr
    assert (Path(work_of(home, second)["workspace"]) / "a.txt").read_text() == "A\n", "the previous attempt's work is there"


def test_gc_removes_an_old_rejected_workspace_and_keeps_its_work_until_the_trash_expires(cairn, repo, home, backend):
    from test_gc import set_age

    task = run_task(cairn, "write a.txt: A\nexit 1", must_reach_review=False)
    workspace = Path(work_of(home, task)["workspace"])
    assert state_of(home, task)["state"] == "failed" and workspace.is_dir()
    set_age(home, task, days=40)
    result = cairn("gc")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not workspace.exists(), result.stdout
    removed = [e for e in events(home) if e["event"] == "gc" and e["action"] == "remove-workspace"]
    assert [e["task"] for e in removed] == [task]
    kept = [e for e in events(home) if e["event"] == "gc" and e["action"] in ("archive-branch", "archive-change")]
    assert kept, "unmerged work is archived before its workspace or branch goes"


def test_the_reviewer_sends_work_back_through_the_one_reject_path(cairn, repo, home, tmp_path, backend):
    from test_reviewer import reviewer_config

    reviewer_config(repo, tmp_path, auto_retry=1)
    if backend != "jj":  # reviewer_config wrote the whole file: the backend goes first, before any table
        (repo / "cairn.toml").write_text(f'vcs = "{backend}"\n' + (repo / "cairn.toml").read_text())
    cairn("queue", "-a", "demo", "write code.txt: code")
    ran = cairn("up", "--until-idle", timeout=180)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    first, second = state_of(home, 1), state_of(home, 2)
    assert first["state"] == "rejected" and "superseded" in first["reason"]
    assert first["kept"]["backend"] == backend
    assert second["state"] == "review" and second["verdict"] == "approve"
    assert not (Path(work_of(home, 2)["workspace"]) / "reviewer-was-here.txt").exists(), "the reviewer's edits are dropped"
    assert (Path(work_of(home, 2)["workspace"]) / "code.txt").read_text() == "code\n", "the retry starts from the first round's work"
    until_runner_gone(home, 1)
    assert cairn("restore", "1").returncode == 0, "the superseded attempt stays restorable"


def until_runner_gone(home: Path, task_id: int) -> None:
    from cairn.state.lock import is_held

    deadline = time.monotonic() + 30
    while is_held(home / "tasks" / str(task_id) / "runner.lock"):
        assert time.monotonic() < deadline, "the runner never exited"
        time.sleep(0.02)


# -- the clone backend's own promises ------------------------------------------------------

AGENT_WITH_HISTORY = """\
import pathlib, subprocess
def git(*args):
    subprocess.run(["git", *args], check=True, capture_output=True)
git("switch", "-c", "feature")
pathlib.Path("one.txt").write_text("one\\n")
git("add", "one.txt"); git("commit", "-m", "one")
pathlib.Path("two.txt").write_text("two\\n")
git("add", "two.txt"); git("commit", "-m", "two")
git("reset", "--soft", "HEAD~2"); git("commit", "-m", "one and two")
git("branch", "scratch")
pathlib.Path("three.txt").write_text("three\\n")
"""


@pytest.mark.parametrize("backend", ["clone"], indirect=True)
def test_a_clone_agent_commits_branches_and_rewrites_its_history_and_all_of_it_is_proposed(cairn, repo, home, tmp_path, backend):
    script = tmp_path / "historian.py"
    script.write_text(AGENT_WITH_HISTORY)
    with open(repo / "cairn.toml", "a") as config:
        config.write(f'[agents.historian]\ncommand = ["python3", "{script}"]\n')
    before = git(repo, "for-each-ref", "--format=%(refname)")
    queued = cairn("queue", "-a", "historian", "make history")
    task = int(queued.stdout)
    spawned = cairn("spawn", str(task), "--wait")
    assert spawned.returncode == 0, spawned.stdout + spawned.stderr
    assert cairn("diff", str(task), "--name-only").stdout.split() == ["one.txt", "three.txt", "two.txt"]
    after = set(git(repo, "for-each-ref", "--format=%(refname)").split()) - set(before.split())
    assert after == {f"refs/heads/cairn/{task}"}, "the agent's own branches stay in its clone"
    assert git(repo, "log", "--format=%s", f"main..cairn/{task}").splitlines()[-1] == "one and two", "its rewritten history, as it left it"
    accepted = cairn("accept", str(task))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert [landed_text(repo, name) for name in ("one.txt", "two.txt", "three.txt")] == ["one\n", "two\n", "three\n"]


@pytest.mark.parametrize("backend", ["clone"], indirect=True)
def test_a_clone_borrows_the_repositorys_objects_instead_of_copying_them(cairn, repo, home, backend):
    blob = os.urandom(1 << 20).hex()  # 2 MiB of history the clone must not copy
    (repo / "big.txt").write_text(blob)
    git(repo, "add", "big.txt")
    git(repo, "commit", "-qm", "big")
    task = run_task(cairn, "write a.txt: A")
    workspace = Path(work_of(home, task)["workspace"])
    alternates = (workspace / ".git" / "objects" / "info" / "alternates").read_text()
    assert Path(alternates.strip()).resolve() == (repo / ".git" / "objects").resolve()
    own = sum(f.stat().st_size for f in (workspace / ".git" / "objects").rglob("*") if f.is_file())
    source = sum(f.stat().st_size for f in (repo / ".git" / "objects").rglob("*") if f.is_file())
    assert own * 20 < source, f"the clone holds {own} bytes of objects, the repository {source}"


@pytest.mark.parametrize("backend", ["clone"], indirect=True)
def test_a_clone_gets_the_users_identity_and_remotes(cairn, repo, home, backend):
    git(repo, "config", "user.email", "me@example.org")
    git(repo, "remote", "add", "origin", "https://example.org/demo.git")
    task = run_task(cairn, "write a.txt: A")
    workspace = Path(work_of(home, task)["workspace"])
    assert git(workspace, "config", "user.email") == "me@example.org"
    assert git(workspace, "remote", "get-url", "origin") == "https://example.org/demo.git"
    assert Path(git(workspace, "remote", "get-url", "cairn")).resolve() == repo.resolve()


@pytest.mark.parametrize("backend", ["clone"], indirect=True)
def test_a_clone_with_commits_only_it_holds_is_never_deleted(cairn, repo, home, backend):
    task = run_task(cairn, "write a.txt: A")
    workspace = Path(work_of(home, task)["workspace"])
    git(workspace, "switch", "-q", "-c", "side")
    (workspace / "side.txt").write_text("side\n")
    git(workspace, "add", "side.txt")
    git(workspace, "commit", "-qm", "side work")
    git(workspace, "switch", "-q", f"cairn/{task}")
    rejected = cairn("reject", str(task))
    assert rejected.returncode != 0
    assert "side" in rejected.stderr and "Cairn leaves it as it is" in rejected.stderr
    assert (workspace / ".git").is_dir() and state_of(home, task)["state"] == "review"
    git(workspace, "branch", "-q", "-D", "side")
    assert cairn("reject", str(task)).returncode == 0
    assert not workspace.exists()


@pytest.mark.parametrize("backend", ["clone"], indirect=True)
def test_commits_made_in_a_clone_during_review_land(cairn, repo, home, backend):
    task = run_task(cairn, "write a.txt: A")
    workspace = Path(work_of(home, task)["workspace"])
    (workspace / "b.txt").write_text("B\n")
    git(workspace, "add", "b.txt")
    git(workspace, "commit", "-qm", "a touch-up")
    assert cairn("accept", str(task)).returncode == 0
    assert landed_text(repo, "b.txt") == "B\n"
    assert json.loads((home / "tasks" / str(task) / "state.json").read_text())["state"] == "accepted"
