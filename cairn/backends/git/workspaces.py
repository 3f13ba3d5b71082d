"""Git worktrees as workspaces: each task works on branch ``cairn/<id>`` in its own worktree.

The main worktree is never touched here; everything happens in the task's
worktree or on refs.  Commits Cairn makes for the agent skip hooks
(``--no-verify``): saving the agent's work must not depend on a hook passing.

A worktree goes only through ``remove``: whatever was changed in it since
the work was committed (a human touching the work up after ``cairn open``)
is committed to the task's branch first, and a worktree whose changes
cannot be put there is refused, never deleted.  What bootstrap copied or
linked in (``keep_out``: a ``.env``) is never committed and never counts as a
change.
"""

from __future__ import annotations

from pathlib import Path

from cairn.backends.base import Proposal, branch_name
from cairn.core.model import BranchWork, DiffStat, GitWork, Task
from cairn.core.records import replace
from cairn.errors import OperationFailed
from cairn.vcs.git import GitError, commit_of, git, git_ok, identity_env
from cairn.vcs.worktrees import (
    add_worktree, branch_commit, checked_out_ref, dirty_paths, head_commit, rebase_in_progress, refuse_if_stranded, stage_all,
    start_index_listing, worktree_with_branch,
)


class GitWorkspaces:
    def __init__(self, root: Path, keep_out: list[str] | None = None) -> None:
        self.root = root
        #: Globs of what bootstrap put in a workspace: never the work.
        self.keep_out = list(keep_out or [])

    def resolve_base(self, task: Task) -> str:
        """The commit a new workspace starts from: --continue's branch, --base, else the target's tip."""
        revision = task.continue_from or task.base or (f"refs/heads/{task.target}" if task.target else "HEAD")
        if task.target and revision == f"refs/heads/{task.target}" and (tip := branch_commit(self.root, task.target)):
            return tip  # read from the ref files where that is certain: no git run for most tasks
        return self.commit_named(revision, OperationFailed(
            f"task {task.id}: cannot start from {revision!r}: no such commit in {self.root}",
            hint="queue it again with --base naming a branch or commit that exists",
        ))

    def commit_named(self, revision: str, otherwise: Exception) -> str:
        """The commit ``revision`` names; ``otherwise`` is raised when it names none."""
        commit = commit_of(self.root, revision) if not revision.startswith("-") else None
        if commit is None:
            raise otherwise
        return commit

    def create(self, task: Task, path: Path) -> BranchWork:
        base = self.resolve_base(task)
        branch = branch_name(task.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Made side by side with other tasks' (add_worktree); the caller records
        # the workspace only once this returns, with every file in place.
        if self.leftover_branch(branch, base):
            add_worktree(self.root, path, branch)
        else:
            from cairn.backends.git.pool import claim  # here: `cairn diff` and `cairn reject` never load the pool

            if not claim(self.root, branch, base, path):  # a warm worktree from the pool, if one is ready at base
                add_worktree(self.root, path, base, new_branch=branch)
        return GitWork(workspace=str(path), branch=branch, base_commit=base)

    def leftover_branch(self, branch: str, base: str) -> bool:
        """Whether an earlier attempt at this very task (a crash before it ran)
        left its branch: reused only if it holds nothing beyond the base."""
        existing = branch_commit(self.root, branch)
        if existing is not None and existing != base:
            raise OperationFailed(
                f"branch {branch} already exists with other work; Cairn will not overwrite it",
                hint=f"inspect it with `git log {branch}`, then delete or rename it",
            )
        return existing is not None

    def attach(self, task: Task, path: Path, base: str) -> BranchWork:
        """A workspace for work made elsewhere (a cluster node) and already on
        the task's branch: the branch is checked out as it is, never reset."""
        branch = branch_name(task.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        add_worktree(self.root, path, branch)
        return GitWork(workspace=str(path), branch=branch, base_commit=base)

    def commit(self, work: BranchWork, message: str, exclude: list[str] | None = None) -> BranchWork:
        """Commit everything but ``exclude`` (what bootstrap copied or linked in:
        a ``.env`` must never end up in a commit)."""
        path = commit_everything(work, message, exclude)
        return replace(work, head_commit=head_commit(path))

    def proposal(self, work: BranchWork) -> Proposal:
        from cairn.vcs.proposal import describe

        head = work.head_commit or git(self.root, "rev-parse", work.branch)
        if head == work.base_commit:
            return Proposal(head_commit=head, changed=DiffStat(), diff="", stat="")  # nothing to describe: no git run
        described = describe(self.root, work.base_commit, head)  # binary and huge files summarised, not inlined
        return Proposal(head_commit=head, changed=described.changed, diff=described.diff, stat=described.stat)

    def reset(self, work: BranchWork, keep: list[str] | None = None) -> None:
        """Back to the committed work: drop what checks or a reviewer left.
        Ignored files and ``keep`` (what bootstrap put there) stay."""
        path = Path(work.workspace)
        # Back to the recorded commit on the task's branch: a reviewer (or a
        # check) that committed, or switched branches, leaves nothing behind
        # that the proposal did not show.
        git(path, "checkout", "--quiet", "--force", work.branch)
        git(path, "reset", "--quiet", "--hard", work.head_commit or "HEAD")
        git(path, "clean", "-fdq", *(f"--exclude={p}" for p in keep or []))

    def edits(self, work: BranchWork) -> list[str]:
        """Paths changed in the workspace and not committed (bootstrap's files aside)."""
        path = Path(work.workspace)
        return dirty_paths(path, self.keep_out) if path.is_dir() else []

    def tip(self, work: BranchWork) -> str | None:
        """Where the task's branch points now: the work as it stands, commits
        someone made on it since the agent finished included."""
        return branch_commit(self.root, work.branch) or work.head_commit

    def refuse_unless_on_branch(self, work: BranchWork) -> None:
        """Raise unless the workspace stands on its branch with no rebase stopped half-way:
        only then do its commits and edits belong to the task's branch."""
        path = Path(work.workspace)
        if rebase_in_progress(path):
            raise OperationFailed(
                f"a rebase stopped half-way in the workspace {path}; Cairn leaves it as it is",
                hint=f"finish it (`git -C {path} rebase --continue`) or undo it (`git -C {path} rebase --abort`), then try again",
            )
        head = checked_out_ref(path)
        if head != f"refs/heads/{work.branch}":
            where = head.removeprefix("refs/heads/") if head else f"a detached HEAD ({git(path, 'rev-parse', '--short', 'HEAD', check=False)})"
            raise OperationFailed(
                f"the workspace {path} is on {where}, not on the task's branch {work.branch}; Cairn leaves it as it is",
                hint=f"commit what you want to keep, `git -C {path} switch {work.branch}`, then try again",
            )

    def keep_edits(self, work: BranchWork, changed: list[str] | None = None) -> BranchWork:
        """Commit what was changed in the workspace since the work was
        committed to the task's branch (``changed``: its ``edits``, if just
        read); the BranchWork with ``head_commit`` the branch's tip.  Raises,
        changing nothing, when they cannot go there."""
        if changed is None:
            changed = self.edits(work)
        if changed:
            self.refuse_unless_on_branch(work)
            path = Path(work.workspace)
            stage_all(path, self.keep_out)
            message = f"Edits made in the workspace during review (Cairn task {work.branch.rsplit('/', 1)[-1]})\n"
            git(path, "commit", "--quiet", "--no-verify", "-m", message, env=identity_env(path))
        return replace(work, head_commit=self.tip(work))

    def remove(self, work: BranchWork) -> BranchWork:
        """Remove the workspace, its edits committed to the task's branch
        first (``keep_edits``); the BranchWork with ``head_commit`` the branch's tip.
        A workspace that is not a worktree any more, or whose HEAD holds
        commits no ref keeps, is refused rather than deleted."""
        path = Path(work.workspace)
        if path.exists():
            if not (path / ".git").exists():
                raise OperationFailed(
                    f"{path} is not a git worktree any more; Cairn will not delete what is in it",
                    hint="look inside, keep what you need, then remove the directory yourself",
                )
            # The index is listed while git looks for edits; a commit of edits changes it, and then it is listed again.
            index = start_index_listing(path)
            try:
                edits = self.edits(work)
                work = self.keep_edits(work, edits)
                self._refuse_if_head_unreachable(path)
                refuse_if_stranded(path, None if edits else index)
            finally:
                index.close()
            try:
                # --force: bootstrap's files are untracked; all else is committed by now.
                git(self.root, "worktree", "remove", "--force", str(path))
                return work  # git removed its records of the worktree too
            except GitError:
                import shutil

                shutil.rmtree(path, ignore_errors=True)
        git(self.root, "worktree", "prune")
        return work

    def delete_branch(self, work: BranchWork, expected: str | None) -> bool:
        """Delete the task's branch if it still points at ``expected`` and no
        worktree has it checked out; whether it went."""
        if expected is None or worktree_with_branch(self.root, work.branch) is not None:
            return False
        return git_ok(self.root, "update-ref", "-m", "cairn: the task's work is kept elsewhere", "-d", f"refs/heads/{work.branch}", expected)

    def _refuse_if_head_unreachable(self, path: Path) -> None:
        """A detached HEAD with commits of its own: no ref would keep them once the worktree goes."""
        if checked_out_ref(path):
            return
        head = git(path, "rev-parse", "HEAD")
        if not git(self.root, "for-each-ref", "--count=1", f"--contains={head}", "--format=%(refname)"):
            raise OperationFailed(
                f"the workspace {path} has a detached HEAD ({head[:12]}) with commits no branch holds; Cairn leaves it as it is",
                hint=f"keep them with `git branch NAME {head[:12]}`, then try again",
            )



def commit_everything(work: BranchWork, message: str, exclude: list[str] | None) -> Path:
    """Commit all that changed in the workspace but ``exclude``, on whatever is
    checked out there (no hooks: saving the work must not depend on one); its path."""
    path = Path(work.workspace)
    if not path.is_dir():
        raise OperationFailed(f"the workspace {path} is gone; nothing left there to commit")
    stage_all(path, exclude)
    if not git_ok(path, "diff", "--cached", "--quiet"):
        git(path, "commit", "--quiet", "--no-verify", "-m", message, env=identity_env(path))
    return path
