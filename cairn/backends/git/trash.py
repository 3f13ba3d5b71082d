"""Rejected git work: kept under ``refs/cairn/trash/<id>`` until gc.

Trash: edits made in the workspace during review are committed to the
task's branch, the workspace goes, and the branch's tip (commits the user
made on it included) is kept under the trash ref (reachable, so no git gc
takes it) and recorded as the work's ``head_commit``; only once the
Rejected state is written does the branch go.  Anything that cannot be kept
that way stops the reject before it changes the task.

Untrash recreates branch and workspace from that ref, until ``cairn gc``
expires the trash.  It uses the ref only while it still names the recorded
commit (another state directory on the same repository would reuse the
name), and it is all or nothing: a branch it made for a workspace that could
not be made is deleted again, and a branch left at the trashed commit (by a
restore that stopped half-way) is taken as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cairn.core.model import BranchWork
from cairn.errors import OperationFailed
from cairn.state.store import Store
from cairn.vcs.git import commit_of, git
from cairn.vcs.worktrees import branch_commit


def trash_ref(task_id: int) -> str:
    return f"refs/cairn/trash/{task_id}"


def keep(root: Path, task_id: int, commit: str, why: str) -> str:
    """Point the task's trash ref at ``commit``; the ref."""
    ref = trash_ref(task_id)
    git(root, "update-ref", "-m", f"cairn {why} {task_id}", ref, commit)
    return ref


def trashed_commit(root: Path, task_id: int, ref: str | None, recorded: str | None) -> str:
    """The commit ``ref`` keeps for the task, if it is still the one its reject recorded."""
    commit = commit_of(root, ref) if ref else None
    if not commit:
        raise OperationFailed(
            f"the work of task {task_id} is gone from {ref}: gc expired it",
            hint="`cairn retry` queues the task again from its prompt",
        )
    if recorded and commit != recorded:
        raise OperationFailed(
            f"{ref} points at {commit[:12]}, not at task {task_id}'s rejected work ({recorded[:12]}); nothing was restored",
            hint=f"another Cairn state directory on this repository may have reused the name; `git log {recorded[:12]}` still shows the work if git kept it",
        )
    return commit


def recreate(root: Path, task_id: int, work: BranchWork, commit: str, make_workspace: Callable[[], None]) -> None:
    """Branch and workspace back at ``commit``, or neither."""
    existing = branch_commit(root, work.branch)
    if existing is not None and existing != commit:
        raise OperationFailed(
            f"branch {work.branch} exists already with other work; Cairn will not overwrite it",
            hint=f"rename or delete it, then restore {task_id} again",
        )
    made = existing is None
    if made:
        # The empty old value: created only if the name is still free.
        git(root, "update-ref", "-m", f"cairn restore {task_id}", f"refs/heads/{work.branch}", commit, "")
    try:
        Path(work.workspace).parent.mkdir(parents=True, exist_ok=True)
        make_workspace()
    except BaseException:
        if made:
            git(root, "update-ref", "-d", f"refs/heads/{work.branch}", commit, check=False)
        raise


def drop_unless_needed(store: Store, root: Path, ref: str | None) -> None:
    """After a restore: the trash ref goes, unless a task yet to start will
    start from it (a retry --continue, or the reviewer's automatic retry):
    then it stays until gc."""
    if not ref:
        return
    for summary in store.scan().summaries:
        if summary.state in ("queued", "running") and store.read_task(summary.id).continue_from == ref:
            return
    git(root, "update-ref", "-d", ref, check=False)


def surviving_ref(root: Path, branch_ref: str, task_id: int) -> str | None:
    """The task's branch, or where gc archived it once the branch is gone."""
    for ref in (branch_ref, f"refs/cairn/archive/{task_id}"):
        if commit_of(root, ref) is not None:
            return ref
    return None
