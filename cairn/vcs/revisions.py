"""Cheap questions about the user's repository that ``cairn queue`` asks."""

from __future__ import annotations

from pathlib import Path


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
