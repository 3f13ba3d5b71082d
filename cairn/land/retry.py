"""A new attempt at a task, linked to the one before it.

A retry of a task still in review supersedes it: the old attempt is rejected
(its work kept in the trash, restorable) so only one proposal waits.
"""

from __future__ import annotations

import time
from typing import Any

from cairn.core.lifecycle import wrong_state_message
from cairn.core.model import Queued, Task
from cairn.core.retry import retry_prompt
from cairn.errors import OperationFailed, WrongState
from cairn.state.store import Store

RETRYABLE = ("review", "failed", "rejected", "cancelled")


def retry(store: Store, settings: Any, task_id: int, *, feedback: str | None, continuing: bool, agent: str | None = None,
          after_rate_limit: bool = False) -> Task:
    original = store.read_task(task_id)
    state = store.read_state(task_id)
    if state.state not in RETRYABLE:
        raise WrongState(wrong_state_message(task_id, state.state, "retry"))
    layout = store.layout
    stat = _read(layout.preview_stat(task_id))
    diff = _read(layout.preview_diff(task_id))
    if state.state == "review":
        from cairn.land.reject import reject

        state = reject(store, settings, task_id, "superseded by a retry")
    start_from = None
    if continuing:
        start_from = _work_ref(state, task_id)
        if start_from is not None and start_from.startswith("refs/heads/"):
            start_from = _surviving_ref(settings.root, start_from, task_id)
        if start_from is None:
            raise OperationFailed(f"task {task_id} left no work to continue from", hint="retry without --continue")
    session = session_to_resume(store, settings, original, agent) if continuing else None
    return queue_retry(store, original, feedback=feedback, start_from=start_from, stat=stat, diff=diff, agent=agent,
                       resume_session=session, after_rate_limit=after_rate_limit)


def session_to_resume(store: Store, settings: Any, original: Task, agent: str | None) -> str | None:
    """The last attempt's agent session, when the same agent retries and its profile can resume one."""
    if agent not in (None, original.agent):
        return None
    profile = settings.config.agents.get(original.agent)
    if profile is None or not profile.resume:
        return None
    import json

    try:
        report = json.loads(store.layout.report_file(original.id).read_bytes())
    except (OSError, ValueError):
        return None
    session = report.get("session_id") if isinstance(report, dict) else None
    return session if isinstance(session, str) and session else None


def queue_retry(store: Store, original: Task, *, feedback: str | None, start_from: str | None, stat: str, diff: str,
                agent: str | None = None, resume_session: str | None = None, after_rate_limit: bool = False) -> Task:
    prompt = retry_prompt(original.prompt, original.id, feedback, stat, diff, start_from is not None)

    def build(new_id: int) -> Task:
        return Task(
            id=new_id,
            title=original.title,
            prompt=prompt,
            priority=original.priority,
            agent=agent or original.agent,
            created=time.time(),  # type: ignore[arg-type]
            target=original.target,
            base=None,
            locks=list(original.locks),
            timeout=original.timeout,
            retry_of=original.id,
            continue_from=start_from,
            resume_session=resume_session,
            after_rate_limit=after_rate_limit,
        )

    task = store.create_task(build, lambda t: Queued(since=t.created))
    store.journal("queued", task=task.id, title=task.title, agent=task.agent, priority=task.priority, retry_of=original.id)
    return task


def attempts(store: Store, task_id: int) -> int:
    """How many attempts the chain ending at ``task_id`` has had (1 for a first try)."""
    count, current = 1, store.read_task(task_id)
    while current.retry_of is not None and count < 1000:
        count += 1
        current = store.read_task(current.retry_of)
    return count


def _surviving_ref(root: Any, branch_ref: str, task_id: int) -> str | None:
    """The task's branch, or where gc archived it once the branch is gone."""
    from cairn.vcs.git import commit_of

    for ref in (branch_ref, f"refs/cairn/archive/{task_id}"):
        if commit_of(root, ref) is not None:
            return ref
    return None


def _work_ref(state: Any, task_id: int) -> str | None:
    work = getattr(state, "work", None) or getattr(getattr(state, "previous", None), "work", None)
    if work is not None and work.backend == "jj":
        # The commit id: a rejected change is hidden, not gone, and jj still finds it by id.
        return work.head_commit
    if getattr(state, "trash_ref", None):
        return state.trash_ref
    work = getattr(state, "work", None)
    return f"refs/heads/{work.branch}" if work is not None else None


def _read(path: Any) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
