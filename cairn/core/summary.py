"""The one-line view of a task that ``status`` lists and the scheduler decides on.

A flat tuple so that thousands can be cached as JSON lists and rebuilt
without re-reading or re-checking the records they came from.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:  # the record classes cost more to import than a whole status
    from typing import NamedTuple

    from cairn.core.model import State, Task
else:

    class _NamedTupleMeta(type):
        """``class X(NamedTuple)`` without importing ``typing`` (a few ms on every
        ``cairn status``): the annotated names become a ``collections.namedtuple``.
        Type checkers see ``typing.NamedTuple``, which builds the same class."""

        def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
            return namedtuple(name, list(namespace.get("__annotations__", {})), module=str(namespace["__module__"]))

    NamedTuple = type.__new__(_NamedTupleMeta, "NamedTuple", (), {})


class Summary(NamedTuple):
    id: int
    title: str
    state: str
    priority: str
    agent: str
    created: float
    since: float
    after: list[int]
    locks: list[str]
    target: str | None
    retry_of: int | None
    #: review: "passed" / "failed" / "skipped" / None when no checks ran.
    checks: str | None
    files: int
    insertions: int
    deletions: int
    #: review: paths that conflicted at the last accept attempt.
    conflict: list[str]
    #: failed, rejected, cancelled: why, in a line.
    reason: str | None
    #: running: since when the agent has been silent, or None.
    idle_since: float | None
    #: running: the tmux session, if any.
    tmux_session: str | None
    #: Where its agent runs: ``local``, ``ray``, ``slurm`` (core/schedule.py's limits).
    executor: str
    #: running on a cluster: the engine's job id.
    job_id: str | None


def summarize(task: Task, state: State) -> Summary:
    changed = getattr(state, "changed", None)
    checks = getattr(state, "checks", None)
    return Summary(
        id=task.id,
        title=task.title,
        state=state.state,
        priority=task.priority,
        agent=task.agent,
        created=task.created,
        since=state.since,
        after=list(task.after),
        locks=list(task.locks),
        target=task.target,
        retry_of=task.retry_of,
        checks=checks.status if checks is not None else None,
        files=changed.files if changed else 0,
        insertions=changed.insertions if changed else 0,
        deletions=changed.deletions if changed else 0,
        conflict=list(getattr(state, "conflict", []) or []),
        reason=getattr(state, "reason", None),
        idle_since=getattr(state, "idle_since", None),
        tmux_session=getattr(state, "tmux_session", None),
        executor=task.executor or "local",
        job_id=getattr(state, "job_id", None),
    )
