"""Landing a task's work on its target branch (git).

One accept at a time per repository (``locks/accept.lock``), and the task's
own lock throughout.  What lands is the task's branch as it is now (commits
the user made on it during review included), never only what the agent left.
The order of steps is what keeps everyone's work safe:

1. refuse early, changing nothing: while the target is being rebased
   somewhere (git would move it again when that rebase ends); while the
   task's workspace holds changes not committed to its branch (they would
   not land, and removing the workspace would lose them); if the user's
   uncommitted changes touch what the task changes;
2. bring the work up to the target's tip inside the task's workspace (rebase,
   or a merge made with ``merge-tree``), skipped when the target has not moved;
   a conflict is aborted and reported with its paths, any other failure with
   git's own words;
3. run the checks on exactly what would land, then drop what they left;
4. move the target: ``merge --ff-only`` where it is checked out (git itself
   refuses to overwrite local changes), ``update-ref`` with the old value
   where it is not.
Any failure before step 4, Ctrl-C included, puts the task's branch and
workspace back where they were (a rebase stopped half-way is aborted).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from cairn.core.model import Accepted, Review, Task, Work
from cairn.engine.finish import commit_message
from cairn.errors import CairnError, OperationFailed, UsageError
from cairn.land.guards import ready_to_land
from cairn.notify import notify
from cairn.progress import SILENT, Progress
from cairn.state import lock
from cairn.state.store import Store
from cairn.vcs.git import GitError, git, git_env, git_ok, identity_env
from cairn.vcs.worktrees import (
    branch_commit, changed_paths, checked_out_ref, dirty_paths, is_ancestor, rebase_in_progress, rebasing_worktree,
    worktree_with_branch,
)
from cairn.workspaces.git import GitWorkspaces
from cairn.workspaces.select import workspaces_for

STRATEGIES = ("rebase", "squash", "merge", "apply")


class Conflict(OperationFailed):
    def __init__(self, task_id: int, target: str, paths: list[str]) -> None:
        super().__init__(
            f"task {task_id} conflicts with {target} in: {', '.join(paths) or '(unknown paths)'}",
            hint=f"nothing was changed; `cairn retry {task_id}` asks the agent to redo it on the current {target}",
        )
        self.paths = paths


@dataclass(frozen=True, slots=True)
class Landed:
    task_id: int
    strategy: str
    target: str
    commit: str | None
    moved: bool  # False: the target had not moved, no rebase was needed


def accept(store: Store, settings: Any, task_id: int, *, strategy: str | None, into: str | None, check: bool, say: Callable[[str], None],
           progress: Progress = SILENT) -> Landed:
    work = getattr(store.read_state(task_id), "work", None)
    if work is not None and work.backend == "jj":
        from cairn.land import jj_land

        return jj_land.accept(store, settings, task_id, strategy=strategy, into=into, check=check, say=say)  # type: ignore[no-any-return]
    strategy = strategy or settings.config.accept.strategy
    root: Path = settings.root
    task = store.read_task(task_id)
    with lock.held(store.layout.accept_lock, timeout=600):
        with store.locked(task_id) as current:
            state, _ = ready_to_land(task_id, current)
            target = into or task.target
            if not target:
                raise UsageError(f"task {task_id} was queued on a detached HEAD: say where it lands with --into BRANCH")
            tip = branch_commit(root, target)
            if tip is None:
                raise UsageError(
                    f"the target branch {target!r} does not exist (any more)",
                    hint=f"land it elsewhere with `cairn accept {task_id} --into BRANCH`",
                )
            landing = _Landing(store, settings, task, state, target, tip, check, say, progress)
            try:
                result = landing.run(strategy)
            except Conflict as conflict:
                store.write_state(task_id, replace(state, conflict=conflict.paths))
                store.journal("conflict", task=task_id, target=target, paths=conflict.paths)
                raise
            store.write_state(
                task_id,
                Accepted(since=time.time(), strategy=strategy, target=target, commit=result.commit, work=landing.work),  # type: ignore[arg-type]
            )
        store.journal("accepted", task=task_id, previous="review", strategy=strategy, target=target, commit=result.commit)
    notify(settings, task_id, "accepted", task.title)
    _clean_up(landing, delete_branch=settings.config.accept.delete_branch and strategy != "apply")
    return result


class _Landing:
    def __init__(self, store: Store, settings: Any, task: Task, state: Review, target: str, tip: str, check: bool, say: Callable[[str], None],
                 progress: Progress) -> None:
        self.store, self.settings, self.task, self.state = store, settings, task, state
        self.root: Path = settings.root
        self.target, self.tip, self.check, self.say, self.progress = target, tip, check, say, progress
        work = state.work
        assert work is not None
        self.workspaces: GitWorkspaces = workspaces_for(settings, work)
        head = self.workspaces.tip(work)
        if head is None:
            raise OperationFailed(
                f"task {task.id}'s branch {work.branch} is gone and no commit of its work is recorded; nothing to land",
                hint=f"`cairn retry {task.id}` queues it again",
            )
        self.head: str = head
        self.work: Work = replace(work, head_commit=head)
        #: Where the task's branch points once the work has landed (moved by a rebase).
        self.branch_tip = head
        self.checkout = worktree_with_branch(self.root, target)

    def run(self, strategy: str) -> Landed:
        self._discard_interrupted_checks()
        self._refuse_if_target_being_rebased()
        self._refuse_if_workspace_edits()
        self._refuse_if_user_changes_in_the_way()
        if strategy == "apply":
            return self._apply()
        self._ensure_workspace()
        moved = not is_ancestor(self.root, self.tip, self.head)
        try:
            if strategy == "merge":
                commit = self._merge_commit()
                self._checks(commit)
            else:
                rebased = self._rebase() if moved else self.head
                self.branch_tip = rebased
                self._checks(rebased)
                commit = self._squash(rebased) if strategy == "squash" else rebased
            self._move_target(commit)
        except BaseException:
            self._put_branch_back()
            raise
        self.work = replace(self.work, head_commit=commit, base_commit=self.tip)
        return Landed(self.task.id, strategy, self.target, commit, moved)

    # -- steps ------------------------------------------------------------------

    def _refuse_if_target_being_rebased(self) -> None:
        where = rebasing_worktree(self.root, self.target)
        if where is not None:
            raise OperationFailed(
                f"{self.target} is being rebased in {where}; task {self.task.id} was not accepted, nothing was changed",
                hint=f"finish the rebase there (`git rebase --continue`) or abort it (`git rebase --abort`), then accept {self.task.id} again",
            )

    def _discard_interrupted_checks(self) -> None:
        """An accept killed while its checks ran left their files (and maybe
        their processes): they are the checks', not edits to land or refuse."""
        from cairn.land.checks import discard_interrupted

        reset = lambda work: self.workspaces.reset(work, keep=self.workspaces.keep_out)  # noqa: E731
        if discard_interrupted(self.store.layout, self.task.id, reset, self.work):
            self.say(f"dropped what the checks of an interrupted accept left in {self.work.workspace}")

    def _refuse_if_workspace_edits(self) -> None:
        """Changes in the task's workspace that are not on its branch would
        neither land nor survive the workspace's removal."""
        path = Path(self.work.workspace)
        if not path.is_dir():
            return
        self.workspaces.refuse_unless_on_branch(self.work)
        edits = self.workspaces.edits(self.work)
        if edits:
            shown = ", ".join(edits[:8]) + (f" and {len(edits) - 8} more" if len(edits) > 8 else "")
            raise OperationFailed(
                f"task {self.task.id}'s workspace {path} has changes not committed to {self.work.branch}: {shown}; nothing was changed",
                hint=f"to land them, commit them there (`git -C {path} add -A && git -C {path} commit`); else discard them; then accept again",
            )

    def _refuse_if_user_changes_in_the_way(self) -> None:
        if self.checkout is None:
            return
        # Only what the task changes: the target's own commits since the task
        # started are in the user's checkout already and never move there.
        dirty = set(dirty_paths(self.checkout))
        if not dirty:
            return  # the common case: nothing of the user's can be in the way
        landing = set(changed_paths(self.root, self.work.base_commit, self.head))
        blocking = sorted(landing & dirty)
        if blocking:
            raise OperationFailed(
                f"your uncommitted changes in {self.checkout} touch files task {self.task.id} changes: {', '.join(blocking)}",
                hint="commit or stash them, then accept again; nothing was changed",
            )

    def _ensure_workspace(self) -> None:
        path = Path(self.work.workspace)
        if not path.is_dir():
            git(self.root, "worktree", "prune")
            git(self.root, "worktree", "add", "--quiet", str(path), self.work.branch)

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
        config = self.settings.config.checks
        if not self.check or not config.commands:
            return
        from cairn.land.checks import run_checks, running, summary_line

        workspace = Path(self.work.workspace)
        current = git(workspace, "rev-parse", "HEAD")
        if current != commit:
            git(workspace, "checkout", "--quiet", "--detach", commit)
        self._phase("checks", f"running checks on {commit[:12]}")
        try:
            from cairn.agents.sandbox import for_task

            with running(self.store.layout, self.task.id), for_task(self.settings, self.task, str(workspace)) as confined:
                # The sandbox the agent had; what the checks start works for the task and dies with this accept.
                result = run_checks(config, workspace, self.store.layout.checks_log(self.task.id), confined.environment(), confined.wrap,
                                    progress=self.progress)
        finally:
            # What the checks left is theirs (the workspace had no edits when
            # the accept began): dropped, so it never reaches the branch.
            self.workspaces.reset(self.work, keep=self.workspaces.keep_out)
            if current != commit:
                git(workspace, "checkout", "--quiet", self.work.branch)
        self.store.journal("checks", task=self.task.id, status=result.status, at="accept")
        if result.status == "failed":
            raise OperationFailed(
                f"task {self.task.id} not accepted: {summary_line(result)}",
                hint=f"the output is in {self.store.layout.checks_log(self.task.id)}; `cairn retry {self.task.id} --feedback ...` or --no-check",
            )

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
        with _uninterrupted():
            if rebase_in_progress(workspace):
                git(workspace, "rebase", "--abort", check=False)
            on_branch = checked_out_ref(workspace) == f"refs/heads/{self.work.branch}"
            if not on_branch or git(workspace, "rev-parse", "HEAD", check=False) != self.head:
                git(workspace, "checkout", "--quiet", "--force", self.work.branch, check=False)
                git(workspace, "reset", "--quiet", "--hard", self.head, check=False)

    def _apply(self) -> Landed:
        if self.checkout is None:
            raise UsageError(f"--apply puts the changes into a working tree, and {self.target} is not checked out anywhere")
        patch = git(self.root, "diff", "--binary", "--no-color", f"{self.work.base_commit}..{self.head}", strip=False)
        if patch:
            import subprocess

            probe = subprocess.run(["git", "apply", "--check", "-"], cwd=self.checkout, input=patch.encode(), capture_output=True, env=git_env())
            if probe.returncode != 0:
                raise Conflict(self.task.id, self.target, _paths_from_apply_errors(probe.stderr.decode()))
            subprocess.run(["git", "apply", "-"], cwd=self.checkout, input=patch.encode(), check=True, capture_output=True, env=git_env())
        self.say(f"applied to {self.checkout}, uncommitted: review with `git diff`, then commit")
        return Landed(self.task.id, "apply", self.target, None, False)


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


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ctrl-C is ignored (by the git commands started here too) while the
    branch is put back: stopping half-way there is what leaves a mess."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)



def _clean_up(landing: _Landing, *, delete_branch: bool) -> None:
    """The workspace goes and (if so configured) the branch; the work has
    landed, so a problem here is reported, never raised.  Edits made in the
    workspace while the accept ran are committed to the branch, which then
    stays."""
    branch = landing.work.branch
    from cairn.workspaces.bootstrap import teardown_for

    teardown_for(landing.settings, landing.task.id, landing.work.workspace)
    try:
        left = landing.workspaces.remove(landing.work)
    except CairnError as error:
        landing.say(f"the workspace stays, and so does {branch}: {error}")
        return
    if left.head_commit not in (landing.branch_tip, landing.work.head_commit):
        landing.say(f"{branch} keeps the edits made in the workspace during the accept ({str(left.head_commit)[:12]})")
    elif delete_branch:
        landing.workspaces.delete_branch(left, landing.branch_tip)
