"""What bootstrap puts in a workspace (`.env`, `node_modules`) never becomes the work,
whether git ignores it, tracks it, or neither; and the agent's work still lands."""

from __future__ import annotations

from conftest import git, run_task, state_of


def committed_files(repo, branch: str) -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", branch).splitlines())


def test_an_ignored_env_file_copied_in_stays_out_and_the_work_is_committed(cairn, repo, home):
    # The documentation's own example: .env copied in, and ignored by git.
    (repo / ".gitignore").write_text(".env\nnode_modules/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore")
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "lib.js").write_text("x")
    (repo / "cairn.toml").write_text('[bootstrap]\ncopy = [".env", "node_modules"]\n')
    task = run_task(cairn, "write feature.txt: done")
    assert state_of(home, task)["state"] == "review"
    files = committed_files(repo, f"cairn/{task}")
    assert "feature.txt" in files
    assert ".env" not in files and not any(f.startswith("node_modules") for f in files)
    assert cairn("accept", str(task)).returncode == 0
    assert (repo / "feature.txt").read_text() == "done\n"


def test_a_symlinked_directory_that_gitignore_cannot_match_stays_out(cairn, repo, home):
    # `node_modules/` in .gitignore matches a directory, not the symlink bootstrap makes.
    (repo / ".gitignore").write_text("node_modules/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore")
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "lib.js").write_text("x")
    (repo / "cairn.toml").write_text('[bootstrap]\nsymlink = ["node_modules"]\n')
    task = run_task(cairn, "write feature.txt: done")
    assert "node_modules" not in committed_files(repo, f"cairn/{task}")
    assert "feature.txt" in committed_files(repo, f"cairn/{task}")


def test_a_tracked_file_bootstrap_overwrites_keeps_its_committed_content(cairn, repo, home):
    (repo / "settings.ini").write_text("committed\n")
    git(repo, "add", "settings.ini")
    git(repo, "commit", "-qm", "settings")
    (repo / "cairn.toml").write_text('[bootstrap]\ncopy = ["settings.ini"]\nsetup = [["sh", "-c", "echo local > settings.ini"]]\n')
    task = run_task(cairn, "write feature.txt: done")
    assert git(repo, "show", f"cairn/{task}:settings.ini") == "committed"
    assert git(repo, "show", f"cairn/{task}:feature.txt") == "done"
    # Not counted as an edit either: the task lands and its workspace goes.
    assert cairn("accept", str(task)).returncode == 0
    assert not (home / "workspaces" / str(task)).exists()


def test_a_commit_that_fails_says_what_failed_and_where_the_work_is(cairn, repo, home):
    # A task whose branch cannot take the commit: its ref is locked by someone else.
    (repo / "cairn.toml").write_text('[agents.locker]\ncommand = ["sh", "-c", "echo work > w.txt; touch \\"$(git rev-parse --git-common-dir)/refs/heads/cairn/1.lock\\""]\n')
    queued = cairn("queue", "-a", "locker", "make work")
    assert queued.returncode == 0, queued.stderr
    cairn("spawn", "1", "--wait")
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert "could not be committed" in state["reason"]
    workspace = str(home / "workspaces" / "1")
    assert f"still in the workspace {workspace}" in state["reason"]
    assert (home / "workspaces" / "1" / "w.txt").read_text() == "work\n"
