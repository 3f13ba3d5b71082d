"""`cairn reject` and `cairn restore`: nothing the agent or the human did is
lost on the way to the trash, and a restore is all or nothing."""

from __future__ import annotations

import pytest

from conftest import git, run_task, state_of

pytestmark = pytest.mark.usefixtures("warm_config")


def test_reject_keeps_a_commit_made_on_the_branch_during_review(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: agent")
    workspace = home / "workspaces" / str(task)
    (workspace / "mine.txt").write_text("the human's touch\n")
    git(workspace, "add", "mine.txt")
    git(workspace, "commit", "-qm", "my fix-up")
    mine = git(workspace, "rev-parse", "HEAD")

    assert cairn("reject", str(task)).returncode == 0

    assert git(repo, "rev-parse", f"refs/cairn/trash/{task}") == mine
    assert state_of(home, task)["previous"]["work"]["head_commit"] == mine, "the tip is recorded"
    assert git(repo, "branch", "--list", f"cairn/{task}") == ""
    assert cairn("restore", str(task)).returncode == 0
    assert (workspace / "mine.txt").read_text() == "the human's touch\n"
    assert (workspace / "kept.txt").read_text() == "agent\n"


def test_reject_commits_edits_left_uncommitted_in_the_workspace(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: agent")
    workspace = home / "workspaces" / str(task)
    (workspace / "kept.txt").write_text("agent, edited by hand\n")
    (workspace / "new.txt").write_text("untracked\n")

    result = cairn("reject", str(task))

    assert result.returncode == 0, result.stderr
    assert not workspace.exists()
    ref = f"refs/cairn/trash/{task}"
    assert git(repo, "log", "-1", "--format=%s", ref) == f"Edits made in the workspace during review (Cairn task {task})"
    assert git(repo, "show", f"{ref}:kept.txt") == "agent, edited by hand"
    assert git(repo, "show", f"{ref}:new.txt") == "untracked"
    assert git(repo, "log", "-1", "--format=%s", f"{ref}^") == "write kept.txt: agent", "on top of the agent's commit"
    assert cairn("restore", str(task)).returncode == 0
    assert (workspace / "new.txt").read_text() == "untracked\n"


def test_reject_never_commits_what_bootstrap_copied_in(cairn, repo, home):
    (repo / "cairn.toml").write_text('[bootstrap]\ncopy = [".env"]\n')
    (repo / ".gitignore").write_text("")
    git(repo, "add", "cairn.toml", ".gitignore")
    git(repo, "commit", "-qm", "bootstrap")
    (repo / ".env").write_text("SECRET=1\n")
    task = run_task(cairn, "write kept.txt: agent")
    workspace = home / "workspaces" / str(task)
    assert (workspace / ".env").exists()
    (workspace / "kept.txt").write_text("edited\n")

    assert cairn("reject", str(task)).returncode == 0

    files = git(repo, "ls-tree", "-r", "--name-only", f"refs/cairn/trash/{task}").splitlines()
    assert "kept.txt" in files and ".env" not in files


def test_reject_refuses_a_workspace_that_is_off_its_branch_and_changes_nothing(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: agent")
    workspace = home / "workspaces" / str(task)
    git(workspace, "checkout", "-q", "--detach")
    (workspace / "kept.txt").write_text("edited while detached\n")

    result = cairn("reject", str(task))

    assert result.returncode == 1
    assert "not on the task's branch" in result.stderr and "Traceback" not in result.stderr
    assert state_of(home, task)["state"] == "review"
    assert (workspace / "kept.txt").read_text() == "edited while detached\n"
    assert git(repo, "rev-parse", "--verify", f"cairn/{task}")
    assert git(repo, "for-each-ref", "refs/cairn/trash/") == ""


def test_a_restore_whose_worktree_cannot_be_added_leaves_no_branch_behind(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: agent")
    assert cairn("reject", str(task)).returncode == 0
    in_the_way = home / "workspaces" / str(task)
    in_the_way.mkdir(parents=True)
    (in_the_way / "something.txt").write_text("not Cairn's\n")

    failed = cairn("restore", str(task))

    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert git(repo, "branch", "--list", f"cairn/{task}") == "", "the branch it made is gone again"
    assert state_of(home, task)["state"] == "rejected"
    assert (in_the_way / "something.txt").read_text() == "not Cairn's\n"

    (in_the_way / "something.txt").unlink()
    in_the_way.rmdir()
    again = cairn("restore", str(task))
    assert again.returncode == 0, again.stderr
    assert state_of(home, task)["state"] == "review"


def test_restore_takes_a_branch_left_at_the_rejected_work(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: agent")
    assert cairn("reject", str(task)).returncode == 0
    git(repo, "branch", f"cairn/{task}", f"refs/cairn/trash/{task}")

    result = cairn("restore", str(task))

    assert result.returncode == 0, result.stderr
    assert (home / "workspaces" / str(task) / "kept.txt").exists()


def test_restore_refuses_a_branch_with_other_work(cairn, repo, home):
    task = run_task(cairn, "write kept.txt: agent")
    assert cairn("reject", str(task)).returncode == 0
    git(repo, "branch", f"cairn/{task}", "main")

    result = cairn("restore", str(task))

    assert result.returncode == 1 and "exists already with other work" in result.stderr
    assert git(repo, "rev-parse", f"cairn/{task}") == git(repo, "rev-parse", "main")
    assert state_of(home, task)["state"] == "rejected"


def test_restore_refuses_a_trash_ref_that_names_other_work(cairn, repo, home):
    """Another state directory on the same repository would reuse refs/cairn/trash/<id>."""
    task = run_task(cairn, "write kept.txt: agent")
    assert cairn("reject", str(task)).returncode == 0
    git(repo, "update-ref", f"refs/cairn/trash/{task}", "main")

    result = cairn("restore", str(task))

    assert result.returncode == 1
    assert f"refs/cairn/trash/{task}" in result.stderr and "nothing was restored" in result.stderr
    assert git(repo, "branch", "--list", f"cairn/{task}") == ""
    assert not (home / "workspaces" / str(task)).exists()
    assert state_of(home, task)["state"] == "rejected"
