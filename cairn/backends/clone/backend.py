"""The clone backend (``vcs = "clone"``): each task's workspace is a repository
of its own, cloned from the user's with ``git clone --shared``.

Why: an agent whose sandbox lets it write only inside its workspace (Codex
``--sandbox workspace-write``, Claude Code's sandbox, Cairn's bubblewrap
sandbox) cannot commit in a worktree, whose git directory lives in the
user's repository.  In a clone the whole ``.git`` is inside the workspace:
the agent commits, branches, rewrites its history and runs hooks without
touching the user's repository.  Objects are borrowed through git's
alternates, so a clone costs its checked-out files and nothing more.

The task's branch ``cairn/<id>`` exists on both sides.  It is made in the
user's repository at the base before the clone (which keeps the base's
objects reachable there); while the clone exists, its ``cairn/<id>`` is the
work, and Cairn hands it back (cairn/backends/clone/repository.py): forced
after the agent (it may rewrite its own history) and after a rebase at
accept, fast-forward only otherwise (commits someone made on the user's
side are never overwritten).  From the branch in the user's repository on,
everything is the git backend's: proposal, accept, reject, restore, gc.
"""

from __future__ import annotations

from pathlib import Path

from cairn.backends.base import branch_name
from cairn.backends.clone import repository
from cairn.backends.clone.repository import is_clone_of
from cairn.backends.git.backend import GitBackend
from cairn.backends.git.gc import Repository, unsaved_work
from cairn.backends.git.workspaces import commit_everything
from cairn.core.model import CloneKept, CloneWork, Kept, Task, BranchWork
from cairn.core.records import replace
from cairn.errors import OperationFailed
from cairn.vcs.git import GitError, git, git_ok
from cairn.vcs.worktrees import branch_commit, checked_out_ref


class CloneBackend(GitBackend):
    name = "clone"

    def kept(self, ref: str) -> Kept:
        return CloneKept(ref=ref)

    def create(self, task: Task, path: Path) -> BranchWork:
        base = self.resolve_base(task)
        branch = branch_name(task.id)
        leftover = self.leftover_branch(branch, base)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise OperationFailed(
                f"{path} already exists and is not empty; Cairn will not overwrite it",
                hint=f"look inside, remove it, then start task {task.id} again",
            )
        if not leftover:
            git(self.root, "update-ref", "-m", f"cairn task {task.id}", f"refs/heads/{branch}", base, "")
        self._clone(path, branch, base)
        return CloneWork(workspace=str(path), branch=branch, base_commit=base)

    def commit(self, work: BranchWork, message: str, exclude: list[str] | None = None) -> BranchWork:
        """Commit what the agent left on whatever it has checked out, make
        that the task's branch, and hand it back (forced: the agent may have
        rewritten its own history)."""
        path = commit_everything(work, message, exclude)
        repository.point_branch_at_head(path, work.branch)
        repository.hand_back(self.root, path, work.branch, force=True)
        return replace(work, head_commit=repository.current_head(path))

    def tip(self, work: BranchWork) -> str | None:
        """The task's branch in the user's repository, brought up to the
        clone's first (commits made in the clone during review count)."""
        path = Path(work.workspace)
        if path.is_dir() and repository.has_branch(path, work.branch):
            self._hand_back(work, force=False)
        return branch_commit(self.root, work.branch) or work.head_commit

    def publish(self, work: BranchWork, *, check: bool = True) -> None:
        """After a rebase in the clone (or putting one back): the clone's branch is the work."""
        try:
            repository.hand_back(self.root, Path(work.workspace), work.branch, force=True)
        except GitError:
            if check:
                raise

    def ensure_workspace(self, work: BranchWork) -> None:
        path = Path(work.workspace)
        if not path.is_dir():
            self._clone(path, work.branch, work.branch)

    def add_workspace(self, work: BranchWork) -> None:
        self._clone(Path(work.workspace), work.branch, work.branch)

    def remove(self, work: BranchWork) -> BranchWork:
        """Delete the clone once everything in it is on the task's branch in the
        user's repository: edits committed, the branch handed back.  A clone
        whose HEAD or own branches hold commits kept nowhere else is refused."""
        path = Path(work.workspace)
        if not path.exists():
            return work
        if not is_clone_of(path, self.root):
            raise OperationFailed(
                f"{path} is not a clone of {self.root} any more; Cairn will not delete what is in it",
                hint="look inside, keep what you need, then remove the directory yourself",
            )
        work = self.keep_edits(work)
        self._refuse_if_work_only_here(path, work.branch)
        import shutil

        shutil.rmtree(path)
        return work

    # -- gc ----------------------------------------------------------------------------

    def gc_blocker(self, path: str, repository: Repository, workspace_root: str) -> str | None:
        if not is_clone_of(Path(path), self.root):
            return f"not a clone of {self.root}: look inside, then remove it yourself"
        return None

    def gc_unsaved(self, path: str, exclude: list[str]) -> str | None:
        """As for a worktree, and: every commit of the clone's own is in the
        user's repository (its branch handed back, no branch of its own ahead)."""
        problem = unsaved_work(self.root, path, exclude)
        if problem:
            return problem
        try:
            branch = git(Path(path), "symbolic-ref", "--quiet", "--short", "HEAD")
            lost = repository.branches_not_on(Path(path), branch)
            if lost:
                return f"its branches {', '.join(lost)} hold commits {branch} does not: merge or delete them there"
            ours = git(Path(path), "rev-parse", f"refs/heads/{branch}")
            theirs = branch_commit(self.root, branch)
            if theirs is None or (theirs != ours and not git_ok(self.root, "merge-base", "--is-ancestor", ours, theirs)):
                return f"its {branch} has commits {self.root} does not: `cairn accept`, `cairn reject`, or fetch them by hand"
        except GitError as error:
            return f"git cannot read it: {error}"
        return None

    # -- details ---------------------------------------------------------------------

    def _clone(self, path: Path, branch: str, start: str) -> None:
        commit = branch_commit(self.root, start) if not _is_sha(start) else start
        repository.clone_at(str(self.root), path, branch, commit or start, shared=True)
        repository.carry_settings(self.root, path)

    def _hand_back(self, work: BranchWork, *, force: bool) -> None:
        try:
            repository.hand_back(self.root, Path(work.workspace), work.branch, force=force)
        except GitError as error:
            raise OperationFailed(
                f"{work.branch} in {self.root} and in the workspace {work.workspace} have both moved on; "
                f"Cairn will not overwrite either ({error})",
                hint=f"bring them together (`git -C {work.workspace} pull {self.root} {work.branch}`), then try again",
            ) from None

    def _refuse_if_work_only_here(self, path: Path, branch: str) -> None:
        if checked_out_ref(path) is None:
            head = git(path, "rev-parse", "HEAD")
            if git(path, "rev-list", "--max-count=1", head, "--not", f"refs/heads/{branch}", "--remotes"):
                raise OperationFailed(
                    f"the workspace {path} has a detached HEAD ({head[:12]}) with commits no branch holds; Cairn leaves it as it is",
                    hint=f"keep them with `git -C {path} branch NAME {head[:12]}`, then try again",
                )
        lost = repository.branches_not_on(path, branch)
        if lost:
            raise OperationFailed(
                f"the workspace {path} has branches with commits {branch} does not hold: {', '.join(lost)}; Cairn leaves it as it is",
                hint=f"merge what you want into {branch} there, delete the rest (`git -C {path} branch -D NAME`), then try again",
            )


def _is_sha(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)
