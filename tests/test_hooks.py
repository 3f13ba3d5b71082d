"""Cairn's own git never runs a repository hook: an agent in a linked worktree
can write `.git/hooks/` of the user's repository, and what it plants there must
not run when Cairn commits, rebases or lands another task's work."""

from __future__ import annotations

import os

from conftest import git, run_task


def plant_hooks(repo, marker) -> None:
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for name in ("pre-commit", "post-commit", "post-checkout", "post-merge", "post-rewrite", "reference-transaction", "pre-rebase"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        hook.chmod(0o755)


def test_hooks_planted_in_the_repository_never_run_for_cairns_commits(cairn, repo, home, tmp_path):
    marker = tmp_path / "hooks-ran"
    plant_hooks(repo, marker)
    first = run_task(cairn, "write one.txt: 1")
    second = run_task(cairn, "write two.txt: 2")
    git(repo, "commit", "-q", "--allow-empty", "-m", "the target moves, so accept rebases")
    marker.unlink(missing_ok=True)  # the test's own commit ran them: that is the user's git, not Cairn's
    assert cairn("accept", str(first)).returncode == 0
    assert cairn("accept", str(second)).returncode == 0
    assert not marker.exists(), f"hooks ran: {marker.read_text()}"
    assert git(repo, "show", "HEAD:two.txt") == "2"


def test_configuration_the_environment_already_passes_to_git_is_kept(repo, monkeypatch):
    from cairn.vcs.git import git as cairn_git

    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "cairn.test")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "kept")
    assert cairn_git(repo, "config", "cairn.test") == "kept"
    assert cairn_git(repo, "config", "core.hooksPath") == os.devnull
