"""Git worktrees as workspaces: each task works on branch ``cairn/<id>`` in its own worktree.

The main worktree is never touched here; everything happens in the task's
worktree or on refs.  Commits Cairn makes for the agent skip hooks
(``--no-verify``): saving the agent's work must not depend on a hook passing.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from cairn.core.model import DiffStat, Task, Work
from cairn.errors import OperationFailed
from cairn.vcs.git import GitError, git, git_ok
from cairn.workspaces.base import Proposal, branch_name
from cairn.workspaces.pool import claim

#: Used only when the user has no git identity configured at all.
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "Cairn",
    "GIT_AUTHOR_EMAIL": "cairn@localhost",
    "GIT_COMMITTER_NAME": "Cairn",
    "GIT_COMMITTER_EMAIL": "cairn@localhost",
}


class GitWorkspaces:
    def __init__(self, root: Path) -> None:
        self.root = root

    def resolve_base(self, task: Task) -> str:
        """The commit a new workspace starts from: --continue's branch, --base, else the target's tip."""
        revision = task.continue_from or task.base or (f"refs/heads/{task.target}" if task.target else "HEAD")
        try:
            return git(self.root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
        except GitError:
            raise OperationFailed(
                f"task {task.id}: cannot start from {revision!r}: no such commit in {self.root}",
                hint="queue it again with --base naming a branch or commit that exists",
            ) from None

    def create(self, task: Task, path: Path) -> Work:
        base = self.resolve_base(task)
        branch = branch_name(task.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        if git_ok(self.root, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"):
            # Left by an earlier attempt at this very task (a crash before it
            # ran): reuse it only if it holds nothing beyond the base.
            if git(self.root, "rev-parse", branch) != base:
                raise OperationFailed(
                    f"branch {branch} already exists with other work; Cairn will not overwrite it",
                    hint=f"inspect it with `git log {branch}`, then delete or rename it",
                )
            git(self.root, "worktree", "add", "--quiet", str(path), branch)
        elif not claim(self.root, branch, base, path):  # a warm worktree from the pool, if one is ready at base
            git(self.root, "worktree", "add", "--quiet", "-b", branch, str(path), base)
        return Work(backend="git", workspace=str(path), branch=branch, base_commit=base)

    def commit(self, work: Work, message: str, exclude: list[str] | None = None) -> Work:
        """Commit everything but ``exclude`` (what bootstrap copied or linked in:
        a ``.env`` must never end up in a commit)."""
        path = Path(work.workspace)
        if not path.is_dir():
            raise OperationFailed(f"the workspace {path} is gone; nothing left there to commit")
        git(path, "add", "-A", "--", ".", *(f":(exclude,glob){p}" for p in exclude or []))
        if not git_ok(path, "diff", "--cached", "--quiet"):
            git(path, "commit", "--quiet", "--no-verify", "-m", message, env=self._identity(path))
        return replace(work, head_commit=git(path, "rev-parse", "HEAD"))

    def _identity(self, path: Path) -> dict[str, str] | None:
        has_identity = git_ok(path, "config", "user.email")
        return None if has_identity else _FALLBACK_IDENTITY

    def proposal(self, work: Work) -> Proposal:
        head = work.head_commit or git(self.root, "rev-parse", work.branch)
        span = f"{work.base_commit}..{head}"
        numstat = git(self.root, "diff", "--numstat", "--no-renames", span)
        changed = _count(numstat)
        diff = git(self.root, "diff", "--no-color", "--binary", span, strip=False)
        stat = git(self.root, "diff", "--stat", "--no-color", span, strip=False)
        return Proposal(head_commit=head, changed=changed, diff=diff, stat=stat)

    def reset(self, work: Work, keep: list[str] | None = None) -> None:
        """Back to the committed work: drop what checks or a reviewer left.
        Ignored files and ``keep`` (what bootstrap put there) stay."""
        path = Path(work.workspace)
        git(path, "reset", "--quiet", "--hard", "HEAD")
        git(path, "clean", "-fdq", *(f"--exclude={p}" for p in keep or []))

    def remove(self, work: Work) -> None:
        path = Path(work.workspace)
        if path.exists():
            try:
                git(self.root, "worktree", "remove", "--force", str(path))
            except GitError:
                shutil.rmtree(path, ignore_errors=True)
        git(self.root, "worktree", "prune")


def _count(numstat: str) -> DiffStat:
    files = insertions = deletions = 0
    for line in numstat.splitlines():
        added, removed, _ = line.split("\t", 2)
        files += 1
        insertions += int(added) if added.isdigit() else 0
        deletions += int(removed) if removed.isdigit() else 0
    return DiffStat(files=files, insertions=insertions, deletions=deletions)
