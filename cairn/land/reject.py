"""Reject keeps the work; restore brings it back.

Reject: edits made in the workspace during review are committed to the
task's branch, the workspace goes, and the branch's tip (commits the user
made on it included) is kept under ``refs/cairn/trash/<id>`` (reachable, so
no git gc takes it) and recorded as the work's ``head_commit``; only then
does the branch go.  Anything that cannot be kept that way stops the reject
before it changes the task.

Restore recreates branch and workspace from that ref and returns the task to
review, until ``cairn gc`` expires the trash.  It uses the ref only while it
still names the recorded commit (another state directory on the same
repository would reuse the name), and it is all or nothing: a branch it made
for a workspace that could not be added is deleted again, and a branch left
at the trashed commit (by a restore that stopped half-way) is taken as it is.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cairn.core.lifecycle import wrong_state_message
from cairn.core.model import Rejected, Review, Work
from cairn.errors import OperationFailed, WrongState
from cairn.land.guards import ready_to_restore
from cairn.state.store import Store
from cairn.vcs.git import commit_of, git
from cairn.vcs.worktrees import branch_commit


def trash_ref(task_id: int) -> str:
    return f"refs/cairn/trash/{task_id}"


def reject(store: Store, settings: Any, task_id: int, reason: str | None) -> Rejected:
    if _backend(store, task_id) == "jj":
        from cairn.land import jj_land

        return jj_land.reject(store, settings, task_id, reason)
    from cairn.workspaces.select import workspaces_for

    root: Path = settings.root
    with store.locked(task_id) as state:
        if not isinstance(state, Review):
            raise WrongState(wrong_state_message(task_id, state.state, "reject"))
        work = state.work
        ref = None
        if work is not None:
            workspaces = workspaces_for(settings, work)
            from cairn.land.checks import discard_interrupted

            # What checks of a killed accept left is theirs: never committed as edits.
            discard_interrupted(store.layout, task_id, lambda w: workspaces.reset(w, keep=workspaces.keep_out), work)
            # Edits committed to the branch and the workspace gone before the
            # task changes: a workspace that cannot go stops the reject here.
            from cairn.workspaces.bootstrap import teardown_for

            teardown_for(settings, task_id, work.workspace)
            work = workspaces.remove(work)
            if work.head_commit is not None:  # None: the branch is gone and no commit was ever recorded
                ref = trash_ref(task_id)
                git(root, "update-ref", "-m", f"cairn reject {task_id}", ref, work.head_commit)
        new = Rejected(since=time.time(), reason=reason, trash_ref=ref, previous=replace(state, conflict=[], work=work))  # type: ignore[arg-type]
        store.write_state(task_id, new)
    store.journal("rejected", task=task_id, previous="review", reason=reason, trash_ref=ref)
    if work is not None:
        workspaces.delete_branch(work, work.head_commit)
    return new


def restore(store: Store, settings: Any, task_id: int) -> Review:
    if _backend(store, task_id) == "jj":
        from cairn.land import jj_land

        return jj_land.restore(store, settings, task_id)
    root: Path = settings.root
    with store.locked(task_id) as current:
        state, previous = ready_to_restore(task_id, current)
        work = previous.work
        if work is not None:
            commit = _trashed_commit(root, task_id, state.trash_ref, work.head_commit)
            _recreate(root, task_id, work, commit)
            work = replace(work, head_commit=commit)
        new = replace(previous, since=time.time(), work=work)
        store.write_state(task_id, new)
        if state.trash_ref and not _started_from(store, state.trash_ref):
            git(root, "update-ref", "-d", state.trash_ref, check=False)
    store.journal("review", task=task_id, previous="rejected", restored=True)
    return new


def _trashed_commit(root: Path, task_id: int, ref: str | None, recorded: str | None) -> str:
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


def _recreate(root: Path, task_id: int, work: Work, commit: str) -> None:
    """Branch and worktree back at ``commit``, or neither."""
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
        git(root, "worktree", "prune")
        git(root, "worktree", "add", "--quiet", work.workspace, work.branch)
    except BaseException:
        if made:
            git(root, "update-ref", "-d", f"refs/heads/{work.branch}", commit, check=False)
        raise


def _backend(store: Store, task_id: int) -> str | None:
    """Whose work this is: a review's own, or a rejected task's previous review's."""
    state = store.read_state(task_id)
    work = getattr(state, "work", None) or getattr(getattr(state, "previous", None), "work", None)
    return work.backend if work is not None else None


def _started_from(store: Store, ref: str) -> bool:
    """Whether a task yet to start will start from ``ref`` (a retry --continue,
    or the reviewer's automatic retry): then the ref stays until gc."""
    for summary in store.scan().summaries:
        if summary.state in ("queued", "running") and store.read_task(summary.id).continue_from == ref:
            return True
    return False
