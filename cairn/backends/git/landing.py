"""Landing a task's branch on its target branch (git worktrees and clones).

What lands is the task's branch as it is now (commits the user made on it
during review included), never only what the agent left.  The caller
(cairn/land/accept.py) holds ``locks/accept.lock`` and the task's lock; the
order of steps here is what keeps everyone's work safe:

1. refuse early, changing nothing: while the target is being rebased
   somewhere (git would move it again when that rebase ends); while the
   task's workspace holds changes not committed to its branch (they would
   not land, and removing the workspace would lose them); if the user's
   uncommitted changes touch what the task changes;
2. bring the work up to the target's tip inside the task's workspace (rebase,
   or a merge made with ``merge-tree``), skipped when the target has not moved;
   a conflict is aborted and reported with its paths, any other failure with
   git's own words;
3. the checks gate on exactly what would land, then drop what they left;
4. move the target: ``merge --ff-only`` where it is checked out (git itself
   refuses to overwrite local changes), ``update-ref`` with the old value
   where it is not.
Any failure before step 4, Ctrl-C included, puts the task's branch and
workspace back where they were (a rebase stopped half-way is aborted).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.backends.base import Conflict, Gate, Landed, Say, commit_message
from cairn.core.model import BranchWork, Strategy, Task
from cairn.core.records import replace
from cairn.errors import CairnError, OperationFailed, UsageError
from cairn.progress import SILENT, Progress
from cairn.vcs.git import GitError, Started, git, git_ok, identity_env, started
from cairn.vcs.interrupts import uninterrupted
from cairn.vcs.worktrees import (
    changed_paths, checked_out_ref, dirty_paths_answer, rebase_in_progress, rebasing_worktree, start_dirty_paths,
    worktree_with_branch,
)

if TYPE_CHECKING:
    from cairn.backends.git.backend import GitBackend

STRATEGIES: tuple[Strategy, ...] = ("rebase", "squash", "merge", "apply")


class GitLanding:
    def __init__(self, backend: GitBackend, task: Task, work: BranchWork, *, strategy: Strategy, target: str, tip: str,
                 gate: Gate | None, say: Say, progress: Progress | None = None) -> None:
        self.backend, self.task = backend, task
        self.progress = progress or SILENT
        self.root = backend.root
        self.strategy, self.target, self.tip, self.gate, self.say = strategy, target, tip, gate, say
        self.journal: dict[str, str | None] = {}
        head = backend.tip(work)
        if head is None:
            raise OperationFailed(
                f"task {task.id}'s branch {work.branch} is gone and no commit of its work is recorded; nothing to land",
                hint=f"`cairn retry {task.id}` queues it again",
            )
        self.head: str = head
        self.work: BranchWork = replace(work, head_commit=head)
        #: Where the task's branch points once the work has landed (moved by a rebase).
        self.branch_tip = head
        self.checkout = worktree_with_branch(self.root, target)

    def run(self) -> Landed:
        self._refuse_if_target_being_rebased()
        # Three independent questions, asked of git at once and answered in
        # this order: edits in the workspace, the user's in the way, whether
        # the target moved.
        workspace = Path(self.work.workspace)
        edits = start_dirty_paths(workspace, self.backend.keep_out) if workspace.is_dir() else None
        user_status = start_dirty_paths(self.checkout) if self.checkout is not None else None
        ancestry = started(self.root, "merge-base", "--is-ancestor", self.tip, self.head) if self.strategy != "apply" else None
        try:
            self._refuse_if_workspace_edits(edits)
            self._refuse_if_user_changes_in_the_way(dirty_paths_answer(user_status) if user_status is not None else [])
        except BaseException:
            for asked in (edits, user_status, ancestry):
                if asked is not None:
                    asked.close()
            raise
        if self.strategy == "apply":
            return self._apply()
        assert ancestry is not None
        self.backend.ensure_workspace(self.work)
        moved = not ancestry.succeeded()
        try:
            if self.strategy == "merge":
                commit = self._merge_commit()
                self._checks(commit)
            else:
                rebased = self._rebase() if moved else self.head
                self.branch_tip = rebased
                self._checks(rebased)
                commit = self._squash(rebased) if self.strategy == "squash" else rebased
            self._move_target(commit)
        except BaseException:
            self._put_branch_back()
            raise
        self.work = replace(self.work, head_commit=commit, base_commit=self.tip)
        return Landed(self.task.id, self.strategy, self.target, commit, moved, work=self.work)

    def clean_up(self, landed: Landed, *, delete_branch: bool) -> None:
        """The workspace goes and (if so configured) the branch; the work has
        landed, so a problem here is reported, never raised.  Edits made in the
        workspace while the accept ran are committed to the branch, which then
        stays."""
        branch = self.work.branch
        try:
            left = self.backend.remove(self.work)
        except CairnError as error:
            self.say(f"the workspace stays, and so does {branch}: {error}")
            return
        if left.head_commit not in (self.branch_tip, self.work.head_commit):
            self.say(f"{branch} keeps the edits made in the workspace during the accept ({str(left.head_commit)[:12]})")
        elif delete_branch:
            self.backend.delete_branch(left, self.branch_tip)

    # -- steps ------------------------------------------------------------------

    def _refuse_if_target_being_rebased(self) -> None:
        where = rebasing_worktree(self.root, self.target)
        if where is not None:
            raise OperationFailed(
                f"{self.target} is being rebased in {where}; task {self.task.id} was not accepted, nothing was changed",
                hint=f"finish the rebase there (`git rebase --continue`) or abort it (`git rebase --abort`), then accept {self.task.id} again",
            )

    def _refuse_if_workspace_edits(self, asked: Started | None) -> None:
        """Changes in the task's workspace that are not on its branch would
        neither land nor survive the workspace's removal.  ``asked``: its
        ``git status``, started with the other questions (None: no workspace)."""
        path = Path(self.work.workspace)
        if asked is None:
            return
        self.backend.refuse_unless_on_branch(self.work)
        edits = dirty_paths_answer(asked)
        if edits:
            shown = ", ".join(edits[:8]) + (f" and {len(edits) - 8} more" if len(edits) > 8 else "")
            raise OperationFailed(
                f"task {self.task.id}'s workspace {path} has changes not committed to {self.work.branch}: {shown}; nothing was changed",
                hint=f"to land them, commit them there (`git -C {path} add -A && git -C {path} commit`); else discard them; then accept again",
            )

    def _refuse_if_user_changes_in_the_way(self, dirty_paths: list[str]) -> None:
        """``dirty_paths``: of the checkout of the target (none when it is not checked out)."""
        # Only what the task changes: the target's own commits since the task
        # started are in the user's checkout already and never move there.
        dirty = set(dirty_paths)
        if not dirty:
            return  # the common case: nothing of the user's can be in the way
        landing = set(changed_paths(self.root, self.work.base_commit, self.head))
        blocking = sorted(landing & dirty)
        if blocking:
            raise OperationFailed(
                f"your uncommitted changes in {self.checkout} touch files task {self.task.id} changes: {', '.join(blocking)}",
                hint="commit or stash them, then accept again; nothing was changed",
            )

    def _rebase(self) -> str:
        workspace = Path(self.work.workspace)
        self._phase("rebase", f"rebasing {self.work.branch} onto {self.target} ({self.tip[:12]})")
        try:
            git(workspace, "rebase", "--quiet", self.tip, env=identity_env(workspace))
        except GitError as error:
            # A conflict stops the rebase with unmerged paths; anything else
            # (a hook, a lock, a broken repository) is git's own story to tell.
            stopped = rebase_in_progress(workspace)
            paths = [p for p in git(workspace, "diff", "--name-only", "--diff-filter=U").splitlines() if p] if stopped else []
            if stopped:
                git(workspace, "rebase", "--abort", check=False)
            if paths:
                raise Conflict(self.task.id, self.target, paths) from None
            raise OperationFailed(
                f"could not rebase task {self.task.id} onto {self.target}: {_what_git_said(error)}",
                hint=f"nothing was changed; see `git -C {workspace} rebase {self.tip[:12]}` for the whole story",
            ) from None
        self.backend.publish(self.work)  # a clone's rebased commits, into the user's repository
        return git(workspace, "rev-parse", "HEAD")

    def _merge_commit(self) -> str:
        out = git(self.root, "merge-tree", "--write-tree", "--name-only", "--no-messages", self.tip, self.head, check=False)
        lines = out.splitlines()
        if not git_ok(self.root, "merge-tree", "--write-tree", self.tip, self.head):
            raise Conflict(self.task.id, self.target, [p for p in lines[1:] if p])
        tree = lines[0]
        message = f"Merge Cairn task {self.task.id}: {self.task.title}\n"
        return git(self.root, "commit-tree", tree, "-p", self.tip, "-p", self.head, "-m", message, env=identity_env(self.root))

    def _squash(self, rebased: str) -> str:
        message = commit_message(self.task.id, self.task.title)
        return git(self.root, "commit-tree", f"{rebased}^{{tree}}", "-p", self.tip, "-m", message, env=identity_env(self.root))

    def _checks(self, commit: str) -> None:
        if self.gate is None:
            return
        workspace = Path(self.work.workspace)
        current = git(workspace, "rev-parse", "HEAD")
        if current != commit:
            git(workspace, "checkout", "--quiet", "--detach", commit)
        try:
            self.gate(workspace, commit)
        finally:
            # What the checks left is theirs (the workspace had no edits when
            # the accept began): dropped, so it never reaches the branch, which
            # stays where the landing put it (rebased, or as it was).
            self.backend.reset(replace(self.work, head_commit=current), keep=self.backend.keep_out)
            if current != commit:
                git(workspace, "checkout", "--quiet", self.work.branch)

    def _phase(self, name: str, text: str) -> None:
        """Recorded in the journal; on a terminal the progress line shows it, elsewhere a line of output."""
        if not self.progress.show:
            self.say(text)
        self.progress.phase(name, text)

    def _move_target(self, commit: str) -> None:
        self._phase("land", f"moving {self.target} to {commit[:12]}")
        if self.checkout is not None:
            try:
                git(self.checkout, "merge", "--quiet", "--ff-only", commit)
            except GitError as error:
                raise OperationFailed(
                    f"could not fast-forward {self.target} in {self.checkout}: {error.stderr.strip().splitlines()[-1] if error.stderr.strip() else error}",
                    hint="your working tree was left as it was; commit or stash your changes and accept again",
                ) from None
        else:
            git(self.root, "update-ref", "-m", f"cairn accept {self.task.id}", f"refs/heads/{self.target}", commit, self.tip)

    def _put_branch_back(self) -> None:
        """The branch and workspace as before the accept, after any failure or
        Ctrl-C: a rebase left half-way would make the next accept fail."""
        workspace = Path(self.work.workspace)
        if not workspace.is_dir():
            return
        with uninterrupted():
            if rebase_in_progress(workspace):
                git(workspace, "rebase", "--abort", check=False)
            on_branch = checked_out_ref(workspace) == f"refs/heads/{self.work.branch}"
            if not on_branch or git(workspace, "rev-parse", "HEAD", check=False) != self.head:
                git(workspace, "checkout", "--quiet", "--force", self.work.branch, check=False)
                git(workspace, "reset", "--quiet", "--hard", self.head, check=False)
            self.backend.publish(self.work, check=False)

    def _apply(self) -> Landed:
        if self.checkout is None:
            raise UsageError(f"--apply puts the changes into a working tree, and {self.target} is not checked out anywhere")
        patch = git(self.root, "diff", "--binary", "--no-color", f"{self.work.base_commit}..{self.head}", strip=False)
        if patch:
            probe = subprocess.run(["git", "apply", "--check", "-"], cwd=self.checkout, input=patch.encode(), capture_output=True)
            if probe.returncode != 0:
                raise Conflict(self.task.id, self.target, _paths_from_apply_errors(probe.stderr.decode()))
            subprocess.run(["git", "apply", "-"], cwd=self.checkout, input=patch.encode(), check=True, capture_output=True)
        self.say(f"applied to {self.checkout}, uncommitted: review with `git diff`, then commit")
        return Landed(self.task.id, "apply", self.target, None, False, work=self.work)


def _paths_from_apply_errors(stderr: str) -> list[str]:
    """``error: patch failed: PATH:LINE`` and ``error: PATH: patch does not apply``."""
    paths = set()
    for line in stderr.splitlines():
        if line.startswith("error: patch failed: "):
            paths.add(line.removeprefix("error: patch failed: ").rsplit(":", 1)[0])
        elif line.startswith("error: ") and line.endswith(": patch does not apply"):
            paths.add(line.removeprefix("error: ").removesuffix(": patch does not apply"))
    return sorted(paths)


def _what_git_said(error: GitError) -> str:
    """git's last line of complaint, without its hints."""
    lines = [line.strip() for line in error.stderr.splitlines() if line.strip() and not line.startswith("hint:")]
    return lines[-1] if lines else f"git exited with status {error.returncode}"

