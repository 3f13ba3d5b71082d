"""gc's facts from git: the repository's worktrees and Cairn's refs, read once
per run, and the last look at a worktree before it goes.

Used by cairn/gc/ for git and clone tasks alike (both keep their work on a
``cairn/<id>`` branch of the user's repository) and for strays.  A plain jj
repository has no git repository at its root: then git is not asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cairn.core.gc import BRANCH_PREFIX
from cairn.core.records import record
from cairn.vcs.git import GitError, git


@record(kw_only=False)
class Worktree:
    path: str
    head: str | None
    branch: str | None
    locked: bool


@record(kw_only=False)
class Repository:
    """What git says, read once per run."""

    root: Path
    worktrees: dict[str, Worktree]
    #: ``refs/heads/cairn/*`` by branch name -> commit.
    branches: dict[str, str]
    #: Every ref under ``refs/cairn/`` -> commit.
    refs: dict[str, str]


def is_git(root: Path) -> bool:
    """Whether git has a repository at ``root`` (a plain jj repository has none)."""
    return os.path.exists(root / ".git")


def read_repository(root: Path) -> Repository:
    worktrees: dict[str, Worktree] = {}
    if not is_git(root):
        return Repository(root, worktrees, {}, {})
    for block in git(root, "worktree", "list", "--porcelain", "-z", strip=False).split("\0\0"):
        fields = [f for f in block.split("\0") if f]
        if not fields or not fields[0].startswith("worktree "):
            continue
        path = os.path.realpath(fields[0].removeprefix("worktree "))
        head = branch = None
        locked = False
        for item in fields[1:]:
            if item.startswith("HEAD "):
                head = item.removeprefix("HEAD ")
            elif item.startswith("branch refs/heads/"):
                branch = item.removeprefix("branch refs/heads/")
            elif item == "locked" or item.startswith("locked "):
                locked = True
        worktrees[path] = Worktree(path, head, branch, locked)
    branches: dict[str, str] = {}
    refs: dict[str, str] = {}
    listing = git(root, "for-each-ref", "--format=%(refname)%00%(objectname)", f"refs/heads/{BRANCH_PREFIX}", "refs/cairn/")
    for line in listing.splitlines():
        name, _, commit = line.partition("\0")
        if name.startswith("refs/heads/"):
            branches[name.removeprefix("refs/heads/")] = commit
        else:
            refs[name] = commit
    return Repository(root, worktrees, branches, refs)


def merged_into(root: Path, target: str | None, names: Iterable[str]) -> set[str]:
    """Which of the ``cairn/*`` branches ``names`` have their tip on ``target``."""
    wanted = set(names)
    if not target or not wanted:
        return set()
    out = git(root, "for-each-ref", f"--merged={target}", "--format=%(refname)", f"refs/heads/{BRANCH_PREFIX}", check=False)
    return {line.removeprefix("refs/heads/") for line in out.splitlines()} & wanted


def worktree_blocker(path: str, repository: Repository, workspace_root: str) -> str | None:
    """What keeps a git worktree whatever else is found: not one of this repository's, or locked."""
    worktree = repository.worktrees.get(path)
    if worktree is None:
        where = "under the workspace directory" if path.startswith(workspace_root + "/") else "anywhere gc may remove"
        return f"not a git worktree of this repository (and {where}): look inside, then remove it yourself"
    if worktree.locked:
        return f"locked with `git worktree lock`; `git worktree unlock {path}` lets gc remove it"
    return None


def unsaved_work(root: Path, path: str, exclude: list[str]) -> str | None:
    """Why removing the worktree at ``path`` would lose something, or None.

    Uncommitted changes (but for what bootstrap put there, which never
    belongs to the work), and a detached HEAD whose commits no ref holds.
    """
    try:
        # --no-optional-locks: a look must not rewrite the worktree's index (a dry run changes nothing).
        status = git(path, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", ".", *(f":(exclude,glob){p}" for p in exclude), strip=False)
        changed = len(dirty_entries(status))
        if changed:
            return f"uncommitted changes in it ({changed} path{'s' if changed != 1 else ''}): commit or discard them"
        branch = git(path, "symbolic-ref", "--quiet", "HEAD", check=False)
        if not branch:
            head = git(path, "rev-parse", "HEAD")
            # Asked in the workspace: a worktree sees the repository's refs, a clone its own.
            if not git(path, "for-each-ref", "--count=1", f"--contains={head}", "--format=%(refname)"):
                return f"its HEAD ({head[:12]}) holds commits on no branch: `git branch NAME {head[:12]}` keeps them"
    except GitError as error:
        return f"git cannot read it: {error}"
    return None


def dirty_entries(status: str) -> list[str]:
    """Paths in ``git status --porcelain=v1 -z`` output; a rename's source is not counted twice."""
    entries = status.split("\0")
    paths, index = [], 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            index += 1
    return paths
