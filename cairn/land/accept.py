"""Landing a task's work on its target branch (git).

One accept at a time per repository (``locks/accept.lock``), and the task's
own lock throughout.  The order of steps is what keeps everyone's work safe:

1. refuse early if the user's uncommitted changes touch what would land;
2. bring the work up to the target's tip inside the task's workspace (rebase,
   or a merge made with ``merge-tree``), skipped when the target has not moved;
   a conflict is aborted and reported with its paths;
3. run the checks on exactly what would land;
4. move the target: ``merge --ff-only`` where it is checked out (git itself
   refuses to overwrite local changes), ``update-ref`` with the old value
   where it is not.
Any failure before step 4 puts the task's branch back where it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from cairn.core.model import Accepted, Review, Task, Work
from cairn.engine.finish import commit_message
from cairn.errors import OperationFailed, UsageError
from cairn.land.guards import ready_to_land
from cairn.notify import notify
from cairn.state import lock
from cairn.state.store import Store
from cairn.vcs.git import GitError, git, git_ok
from cairn.vcs.worktrees import branch_commit, changed_paths, dirty_paths, is_ancestor, worktree_with_branch

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


def accept(store: Store, settings: Any, task_id: int, *, strategy: str | None, into: str | None, check: bool, say: Callable[[str], None]) -> Landed:
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
            landing = _Landing(store, settings, task, state, target, tip, check, say)
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
    _clean_up(settings, landing.work, delete_branch=settings.config.accept.delete_branch and strategy != "apply")
    return result


class _Landing:
    def __init__(self, store: Store, settings: Any, task: Task, state: Review, target: str, tip: str, check: bool, say: Callable[[str], None]) -> None:
        self.store, self.settings, self.task, self.state = store, settings, task, state
        self.root: Path = settings.root
        self.target, self.tip, self.check, self.say = target, tip, check, say
        work = state.work
        assert work is not None
        self.work: Work = work
        self.head = work.head_commit or git(self.root, "rev-parse", work.branch)
        self.checkout = worktree_with_branch(self.root, target)

    def run(self, strategy: str) -> Landed:
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
                self._checks(rebased)
                commit = self._squash(rebased) if strategy == "squash" else rebased
            self._move_target(commit)
        except BaseException:
            self._put_branch_back()
            raise
        self.work = replace(self.work, head_commit=commit, base_commit=self.tip)
        return Landed(self.task.id, strategy, self.target, commit, moved)

    # -- steps ------------------------------------------------------------------

    def _refuse_if_user_changes_in_the_way(self) -> None:
        if self.checkout is None:
            return
        landing = set(changed_paths(self.root, self.tip, self.head)) | set(changed_paths(self.root, self.work.base_commit, self.head))
        blocking = sorted(landing & set(dirty_paths(self.checkout)))
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
        self.say(f"rebasing {self.work.branch} onto {self.target} ({self.tip[:12]})")
        try:
            git(workspace, "rebase", "--quiet", self.tip, env=_identity_env(workspace))
        except GitError:
            paths = [p for p in git(workspace, "diff", "--name-only", "--diff-filter=U").splitlines() if p]
            git(workspace, "rebase", "--abort", check=False)
            raise Conflict(self.task.id, self.target, paths) from None
        return git(workspace, "rev-parse", "HEAD")

    def _merge_commit(self) -> str:
        out = git(self.root, "merge-tree", "--write-tree", "--name-only", "--no-messages", self.tip, self.head, check=False)
        lines = out.splitlines()
        if not git_ok(self.root, "merge-tree", "--write-tree", self.tip, self.head):
            raise Conflict(self.task.id, self.target, [p for p in lines[1:] if p])
        tree = lines[0]
        message = f"Merge Cairn task {self.task.id}: {self.task.title}\n"
        return git(self.root, "commit-tree", tree, "-p", self.tip, "-p", self.head, "-m", message, env=_identity_env(self.root))

    def _squash(self, rebased: str) -> str:
        message = commit_message(self.task.id, self.task.title)
        return git(self.root, "commit-tree", f"{rebased}^{{tree}}", "-p", self.tip, "-m", message, env=_identity_env(self.root))

    def _checks(self, commit: str) -> None:
        config = self.settings.config.checks
        if not self.check or not config.commands:
            return
        from cairn.land.checks import run_checks, summary_line

        workspace = Path(self.work.workspace)
        current = git(workspace, "rev-parse", "HEAD")
        if current != commit:
            git(workspace, "checkout", "--quiet", "--detach", commit)
        self.say(f"running checks on {commit[:12]}")
        try:
            result = run_checks(config, workspace, self.store.layout.checks_log(self.task.id))
        finally:
            if current != commit:
                git(workspace, "checkout", "--quiet", self.work.branch)
        self.store.journal("checks", task=self.task.id, status=result.status, at="accept")
        if result.status == "failed":
            raise OperationFailed(
                f"task {self.task.id} not accepted: {summary_line(result)}",
                hint=f"the output is in {self.store.layout.checks_log(self.task.id)}; `cairn retry {self.task.id} --feedback ...` or --no-check",
            )

    def _move_target(self, commit: str) -> None:
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
        workspace = Path(self.work.workspace)
        if workspace.is_dir() and git(workspace, "rev-parse", "HEAD", check=False) != self.head:
            git(workspace, "checkout", "--quiet", self.work.branch, check=False)
            git(workspace, "reset", "--quiet", "--hard", self.head, check=False)

    def _apply(self) -> Landed:
        if self.checkout is None:
            raise UsageError(f"--apply puts the changes into a working tree, and {self.target} is not checked out anywhere")
        patch = git(self.root, "diff", "--binary", "--no-color", f"{self.work.base_commit}..{self.head}", strip=False)
        if patch:
            import subprocess

            probe = subprocess.run(["git", "apply", "--check", "-"], cwd=self.checkout, input=patch.encode(), capture_output=True)
            if probe.returncode != 0:
                raise Conflict(self.task.id, self.target, _paths_from_apply_errors(probe.stderr.decode()))
            subprocess.run(["git", "apply", "-"], cwd=self.checkout, input=patch.encode(), check=True, capture_output=True)
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


def _identity_env(path: Path) -> dict[str, str] | None:
    if git_ok(path, "config", "user.email"):
        return None
    return {"GIT_AUTHOR_NAME": "Cairn", "GIT_AUTHOR_EMAIL": "cairn@localhost", "GIT_COMMITTER_NAME": "Cairn", "GIT_COMMITTER_EMAIL": "cairn@localhost"}


def _clean_up(settings: Any, work: Work, *, delete_branch: bool) -> None:
    from cairn.workspaces.select import workspaces_for

    workspaces_for(settings).remove(work)
    if delete_branch:
        git(settings.root, "branch", "--quiet", "-D", work.branch, check=False)
