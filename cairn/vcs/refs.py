"""Branch tips and checked-out branches read from the repository's files, without starting git.

``cairn accept`` asked git for the target's tip, the task branch's tip (twice)
and the worktree list (twice): five processes of its thirteen, each a few
milliseconds, for facts that sit in a handful of small files.  Where the
answer is certain from the files it is read here; wherever it is not, the
caller asks git as before (every function returns ``UNSURE`` then):

- the ``files`` ref backend only: a ``reftable/`` directory means git's other
  backend, and ``GIT_DIR`` / ``GIT_COMMON_DIR`` in the environment mean git
  would look elsewhere;
- a branch is a loose ref (``refs/heads/<name>``, one sha) or, failing that,
  a line of ``packed-refs``; loose wins, as in git; neither means no branch;
- a name that is not a plain branch name, a symbolic ref, anything but a
  full hexadecimal id: git decides.

A branch pointing at a tag object (``git update-ref`` allows it) would be
returned unpeeled; Cairn's branches and the targets people land on do not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: "Ask git": the files do not settle the question.
UNSURE = object()

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
_PLAIN_BRANCH = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]*")


def common_dir(worktree: Path) -> Path | None:
    """The repository's common git directory, from a worktree's ``.git`` (a
    directory, or a linked worktree's ``gitdir:`` file and its ``commondir``)."""
    if "GIT_DIR" in os.environ or "GIT_COMMON_DIR" in os.environ:
        return None
    dot_git = worktree / ".git"
    try:
        if dot_git.is_dir():
            git_dir = dot_git
        else:
            pointer = dot_git.read_text().strip()
            if not pointer.startswith("gitdir:"):
                return None
            git_dir = (worktree / pointer.removeprefix("gitdir:").strip()).resolve()
        common = git_dir
        commondir = git_dir / "commondir"
        if commondir.is_file():
            common = (git_dir / commondir.read_text().strip()).resolve()
    except OSError:
        return None
    if not (common / "HEAD").is_file() or (common / "reftable").exists():
        return None
    return common


def branch_tip(worktree: Path, branch: str) -> str | None | object:
    """The commit ``refs/heads/<branch>`` points at, None if there is no such
    branch, or ``UNSURE``."""
    if not _is_plain(branch):
        return UNSURE
    common = common_dir(worktree)
    if common is None:
        return UNSURE
    ref = f"refs/heads/{branch}"
    try:
        text = (common / ref).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        text = None
    except OSError:
        return UNSURE
    if text is not None:
        return text if _SHA.fullmatch(text) else UNSURE
    try:
        packed = (common / "packed-refs").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return UNSURE
    suffix = " " + ref
    for line in packed.splitlines():
        if line.endswith(suffix):
            sha = line[: -len(suffix)]
            return sha if _SHA.fullmatch(sha) else UNSURE
    return None


def worktree_with_branch(worktree: Path, branch: str) -> Path | None | object:
    """The worktree that has ``branch`` checked out (its HEAD names it), None,
    or ``UNSURE``: the main worktree's HEAD is the common directory's, each
    linked one's is in ``worktrees/<name>/`` with its path in ``gitdir``."""
    if not _is_plain(branch):
        return UNSURE
    common = common_dir(worktree)
    if common is None or common.name != ".git":
        return UNSURE  # a bare repository, or a git directory apart from its worktree
    wanted = f"ref: refs/heads/{branch}"
    try:
        if (common / "HEAD").read_text().strip() == wanted:
            return common.parent
        linked = common / "worktrees"
        for entry in sorted(os.listdir(linked)) if linked.is_dir() else []:
            head = linked / entry / "HEAD"
            try:
                if head.read_text().strip() == wanted:
                    return Path((linked / entry / "gitdir").read_text().strip()).parent
            except FileNotFoundError:
                continue  # being added or removed right now: git would not list it either
    except OSError:
        return UNSURE
    return None


def _is_plain(branch: str) -> bool:
    return (
        bool(_PLAIN_BRANCH.fullmatch(branch)) and ".." not in branch and "//" not in branch
        and not branch.endswith(("/", ".lock", ".")) and "/." not in branch
    )
