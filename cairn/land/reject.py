"""Reject keeps the work; restore brings it back.

Reject: the work's commit is kept under ``refs/cairn/trash/<id>`` (reachable,
so no git gc takes it), then the workspace and branch go.  Restore recreates
branch and workspace from that ref and returns the task to review, until
``cairn gc`` expires the trash.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cairn.core.lifecycle import wrong_state_message
from cairn.core.model import Rejected, Review
from cairn.errors import OperationFailed, WrongState
from cairn.land.guards import ready_to_restore
from cairn.state.store import Store
from cairn.vcs.git import git, git_ok


def trash_ref(task_id: int) -> str:
    return f"refs/cairn/trash/{task_id}"


def reject(store: Store, settings: Any, task_id: int, reason: str | None) -> Rejected:
    if _backend(store, task_id) == "jj":
        from cairn.land import jj_land

        return jj_land.reject(store, settings, task_id, reason)
    root: Path = settings.root
    with store.locked(task_id) as state:
        if not isinstance(state, Review):
            raise WrongState(wrong_state_message(task_id, state.state, "reject"))
        work = state.work
        ref = None
        if work is not None:
            head = work.head_commit or git(root, "rev-parse", work.branch)
            ref = trash_ref(task_id)
            git(root, "update-ref", "-m", f"cairn reject {task_id}", ref, head)
        new = Rejected(since=time.time(), reason=reason, trash_ref=ref, previous=replace(state, conflict=[]))  # type: ignore[arg-type]
        store.write_state(task_id, new)
    store.journal("rejected", task=task_id, previous="review", reason=reason, trash_ref=ref)
    if work is not None:
        from cairn.workspaces.select import workspaces_for

        workspaces_for(settings).remove(work)
        git(root, "branch", "--quiet", "-D", work.branch, check=False)
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
            if not state.trash_ref or not git_ok(root, "rev-parse", "--verify", "--quiet", state.trash_ref):
                raise OperationFailed(
                    f"the work of task {task_id} is gone from {state.trash_ref}: gc expired it",
                    hint="`cairn retry` queues the task again from its prompt",
                )
            if git_ok(root, "show-ref", "--verify", "--quiet", f"refs/heads/{work.branch}"):
                raise OperationFailed(f"branch {work.branch} exists already; Cairn will not overwrite it", hint=f"rename or delete it, then restore {task_id} again")
            git(root, "branch", work.branch, state.trash_ref)
            Path(work.workspace).parent.mkdir(parents=True, exist_ok=True)
            git(root, "worktree", "prune")
            git(root, "worktree", "add", "--quiet", work.workspace, work.branch)
        new = replace(previous, since=time.time())
        store.write_state(task_id, new)
        if state.trash_ref:
            git(root, "update-ref", "-d", state.trash_ref, check=False)
    store.journal("review", task=task_id, previous="rejected", restored=True)
    return new


def _backend(store: Store, task_id: int) -> str | None:
    """Whose work this is: a review's own, or a rejected task's previous review's."""
    state = store.read_state(task_id)
    work = getattr(state, "work", None) or getattr(getattr(state, "previous", None), "work", None)
    return work.backend if work is not None else None
