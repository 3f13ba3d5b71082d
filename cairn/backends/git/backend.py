"""The git backend: a worktree of the user's repository per task, on branch ``cairn/<id>``.

The workspace side is cairn/backends/git/workspaces.py (and the warm pool,
pool.py); landing is landing.py; reject and restore keep the work under a
trash ref (trash.py); gc's facts are gc.py.  This class puts them behind
the ``Backend`` protocol.  The clone backend (cairn/backends/clone/) is
this one with another kind of workspace: everything from the branch in the
user's repository on is shared.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cairn.backends.base import DiffView, Gate, Say, Trashed
from cairn.backends.git.workspaces import GitWorkspaces
from cairn.core.model import BranchWork, GitKept, JjWork, Kept, Rejected, State, Task, one_of
from cairn.core.records import replace
from cairn.errors import UsageError
from cairn.state.store import Store
from cairn.vcs.git import git
from cairn.vcs.worktrees import add_worktree, branch_commit, changed_paths

# Landing, the trash and gc's facts are imported by the methods that use them:
# `cairn diff` and `cairn reject` must not pay for gc (or for each other).
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from cairn.backends.base import SyncAction
    from cairn.backends.git.gc import Repository
    from cairn.backends.git.landing import GitLanding
    from cairn.config.load import Settings
    from cairn.progress import Progress


class GitBackend(GitWorkspaces):
    name = "git"
    lands_in_train = True  # a branch cairn/<id> of the user's repository (clones hand theirs back)

    def check_base(self, revision: str) -> str:
        if revision.startswith("-"):
            raise UsageError(f"--base {revision!r} is not a revision")
        return self.commit_named(revision, UsageError(
            f"--base {revision!r} names no commit in {self.root}", hint="give a branch, tag or commit that `git rev-parse` knows",
        ))

    def changed_paths(self, work: BranchWork) -> list[str]:
        head = self.tip(work)
        return changed_paths(self.root, work.base_commit, head) if head else []

    def diff_view(self, work: BranchWork, state: State, target: str | None, form: str | None) -> DiffView:
        head: str | None = None
        if state.state in ("review", "failed", "cancelled", "running"):
            head = branch_commit(self.root, work.branch)
        elif isinstance(state, Rejected):
            head = state.trash_ref
        if head is None:
            return DiffView()  # landed or gone: the proposal as it was recorded
        onto = target if target and branch_commit(self.root, target) else None
        span = f"{onto}...{head}" if onto else f"{work.base_commit}..{head}"
        return DiffView(argv=["git", "-C", str(self.root), "diff", *([form] if form else []), span, "--"])

    def difftool(self, work: BranchWork, target: str | None) -> list[str]:
        span = f"{target}...{work.branch}" if target else f"{work.base_commit}..{work.branch}"
        return ["git", "-C", str(self.root), "difftool", "-d", span]

    def top_up(self, settings: Settings, fork: Callable[[], Any] | None = None) -> bool:
        from cairn.backends.git.pool import top_up_soon

        return top_up_soon(settings, fork)

    # -- landing -------------------------------------------------------------------

    def landing(self, store: Store, task: Task, work: BranchWork, *, strategy: str | None, configured: str,
                into: str | None, gate: Gate | None, say: Say, progress: Progress | None = None) -> GitLanding:
        from cairn.backends.git.landing import STRATEGIES, GitLanding

        chosen = one_of(strategy or configured, STRATEGIES)
        if chosen is None:
            raise UsageError(f"unknown strategy {strategy or configured!r}: a git task lands by {', '.join(STRATEGIES)}")
        target = into or task.target
        if not target:
            raise UsageError(f"task {task.id} was queued on a detached HEAD: say where it lands with --into BRANCH")
        tip = branch_commit(self.root, target)
        if tip is None:
            raise UsageError(
                f"the target branch {target!r} does not exist (any more)",
                hint=f"land it elsewhere with `cairn accept {task.id} --into BRANCH`",
            )
        return GitLanding(self, task, work, strategy=chosen, target=target, tip=tip, gate=gate, say=say, progress=progress)

    def ensure_workspace(self, work: BranchWork) -> None:
        """A workspace on the task's branch again, if it was deleted (an accept needs one to rebase in)."""
        path = Path(work.workspace)
        if not path.is_dir():
            git(self.root, "worktree", "prune")
            add_worktree(self.root, path, work.branch)

    def publish(self, work: BranchWork, *, check: bool = True) -> None:
        """Make the workspace's branch the user's repository's: a worktree's already is."""

    # -- reject and restore -----------------------------------------------------------

    def trash(self, store: Store, task_id: int, work: BranchWork) -> Trashed:
        from cairn.backends.git import trash

        # Edits committed to the branch and the workspace gone before the
        # task changes: a workspace that cannot go stops the reject here.
        work = self.remove(work)
        if work.head_commit is None:  # the branch is gone and no commit was ever recorded
            return Trashed(work)
        return Trashed(work, self.kept(trash.keep(self.root, task_id, work.head_commit, "reject")))

    def kept(self, ref: str) -> Kept:
        return GitKept(ref=ref)

    def kept_note(self, task_id: int, rejected: Rejected) -> str:
        return f"its work is kept in {rejected.trash_ref}" if rejected.trash_ref else ""

    def after_trash(self, trashed: Trashed) -> None:
        work = trashed.work
        assert not isinstance(work, JjWork), "a git backend trashes only its own work"
        self.delete_branch(work, work.head_commit)

    def untrash(self, store: Store, task: Task, rejected: Rejected, work: BranchWork) -> BranchWork:
        from cairn.backends.git import trash

        commit = trash.trashed_commit(self.root, task.id, rejected.trash_ref, work.head_commit)
        trash.recreate(self.root, task.id, work, commit, lambda: self.add_workspace(work))
        return replace(work, head_commit=commit)

    def add_workspace(self, work: BranchWork) -> None:
        """A workspace on the task's existing branch, at its recorded place."""
        git(self.root, "worktree", "prune")
        add_worktree(self.root, Path(work.workspace), work.branch)

    def after_untrash(self, store: Store, rejected: Rejected) -> None:
        from cairn.backends.git import trash

        trash.drop_unless_needed(store, self.root, rejected.trash_ref)

    def keep_for_retry(self, task_id: int, work: BranchWork) -> tuple[str, Trashed]:
        from cairn.backends.git import trash

        ref = trash.keep(self.root, task_id, work.head_commit or work.branch, "review")
        return ref, Trashed(work, self.kept(ref))

    def continue_from(self, task_id: int, state: State) -> str | None:
        if isinstance(state, Rejected) and state.trash_ref:
            return state.trash_ref
        work = getattr(state, "work", None)
        if work is None:
            return None
        from cairn.backends.git import trash

        return trash.surviving_ref(self.root, f"refs/heads/{work.branch}", task_id)

    # -- gc ----------------------------------------------------------------------------

    def gc_blocker(self, path: str, repository: Repository, workspace_root: str) -> str | None:
        from cairn.backends.git.gc import worktree_blocker

        return worktree_blocker(path, repository, workspace_root)

    def gc_unsaved(self, path: str, exclude: list[str]) -> str | None:
        from cairn.backends.git.gc import unsaved_work

        return unsaved_work(self.root, path, exclude)

    # -- sync --------------------------------------------------------------------------

    def sync(self, store: Store, settings: Settings, *, dry_run: bool) -> list[SyncAction]:
        raise UsageError(f"{self.root} is not a jj repository: jj-sync has nothing to do", hint="it serves repositories where Cairn makes jj workspaces")
