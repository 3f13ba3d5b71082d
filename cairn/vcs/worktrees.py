"""Facts about the user's repository that landing needs: worktrees and dirty paths."""

from __future__ import annotations

from pathlib import Path

from cairn.vcs.git import git


def worktree_with_branch(root: Path, branch: str) -> Path | None:
    """The worktree that has ``branch`` checked out, if any."""
    current: Path | None = None
    for line in git(root, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = Path(line.removeprefix("worktree "))
        elif line == f"branch refs/heads/{branch}" and current is not None:
            return current
    return None


def dirty_paths(worktree: Path) -> list[str]:
    """Paths with uncommitted changes, staged or not, and untracked files."""
    out = git(worktree, "status", "--porcelain=v1", "-z", "--untracked-files=all", strip=False)
    paths: list[str] = []
    entries = out.split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        paths.append(path)
        if "R" in status or "C" in status:
            index += 1  # the rename's source follows
    return paths


def changed_paths(root: Path, old: str, new: str) -> list[str]:
    out = git(root, "diff", "--name-only", "-z", "--no-renames", old, new, strip=False)
    return [p for p in out.split("\0") if p]


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    from cairn.vcs.git import git_ok

    return git_ok(root, "merge-base", "--is-ancestor", older, newer)


def branch_commit(root: Path, branch: str) -> str | None:
    from cairn.vcs.git import GitError

    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    except GitError:
        return None
