"""Cheap questions about the user's repository that ``cairn queue`` asks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cairn.errors import UsageError


def current_branch(root: Path, cwd: Path | None = None) -> str | None:
    """The branch checked out where the command runs: in the worktree holding
    ``cwd`` when that is one of ``root``'s (a linked worktree has a HEAD of
    its own), else in the main worktree.  Read from the worktree's ``HEAD``
    without starting git; None when HEAD is detached or the repository is not git."""
    worktree = _worktree_of(root, cwd) if cwd is not None else None
    head = git_dir_of(worktree or root) / "HEAD"
    try:
        text = head.read_text().strip()
    except OSError:
        return None
    prefix = "ref: refs/heads/"
    return text[len(prefix) :] if text.startswith(prefix) else None


def _worktree_of(root: Path, cwd: Path) -> Path | None:
    """The worktree holding ``cwd``, if it belongs to ``root``'s repository."""
    from cairn.config.load import main_worktree
    from cairn.state.layout import find_repo_root

    found = find_repo_root(cwd)
    if found is None or found == root:
        return None
    return found if main_worktree(found) == root.resolve() else None


def git_dir_of(worktree: Path) -> Path:
    """A worktree's own git directory (where its HEAD is), found by reading
    files: ``.git`` itself, or the directory a linked worktree's ``.git`` file points to."""
    dot_git = worktree / ".git"
    if dot_git.is_file():
        try:
            pointer = dot_git.read_text().strip()
        except OSError:
            return dot_git
        if pointer.startswith("gitdir:"):
            return worktree / pointer.removeprefix("gitdir:").strip()
    return dot_git


def check_revision(current: Any, revision: str) -> str:
    """The commit ``revision`` names in the user's repository, or a UsageError."""
    if current.root is None:
        raise UsageError("--base needs a repository; run Cairn inside one")
    from cairn.workspaces.select import uses_jj

    if uses_jj(current):
        return _check_jj_revision(current.root, revision)
    from cairn.vcs.git import commit_of

    if revision.startswith("-"):
        raise UsageError(f"--base {revision!r} is not a revision")
    commit = commit_of(current.root, revision)
    if commit is None:
        raise UsageError(
            f"--base {revision!r} names no commit in {current.root}",
            hint="give a branch, tag or commit that `git rev-parse` knows",
        )
    return commit


def _check_jj_revision(root: Path, revision: str) -> str:
    from cairn.vcs.jj import JjError, records

    try:
        found = records(root, revision, {"commit_id": "commit_id"})
    except JjError as error:
        raise UsageError(f"--base {revision!r}: {error}", hint="give a bookmark, change or revset that `jj log -r` knows") from None
    if len(found) != 1:
        raise UsageError(f"--base {revision!r} names {len(found)} commits; a workspace starts from one")
    return str(found[0]["commit_id"])
