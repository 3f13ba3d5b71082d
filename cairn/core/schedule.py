"""Which queued tasks start now, which wait and why, which can never start.

Pure: the scheduler (``cairn up``), ``cairn spawn`` and ``cairn status`` all
ask the same function, so what status says about a waiting task is exactly
what the scheduler will do.  Order: priority (urgent first), then age, then id.
"""

from __future__ import annotations

from cairn.core.globs import first_overlap
from cairn.core.vocabulary import priority_rank
from cairn.core.summary import Summary

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from collections.abc import Iterable

DOOMED_BY = frozenset({"rejected", "failed", "cancelled"})


class Plan:
    """What to do with the queued tasks.  A plain class, not a dataclass:
    ``dataclasses`` imports ``inspect``, which costs ``cairn status`` more than its whole plan."""

    __slots__ = ("start", "waiting", "fail")

    def __init__(self, start: list[int] | None = None, waiting: dict[int, str] | None = None, fail: dict[int, str] | None = None) -> None:
        self.start: list[int] = start if start is not None else []
        #: id -> why it waits, in words for ``cairn status``.
        self.waiting: dict[int, str] = waiting if waiting is not None else {}
        #: id -> why it can never start (a dependency that will never be accepted).
        self.fail: dict[int, str] = fail if fail is not None else {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return (self.start, self.waiting, self.fail) == (other.start, other.waiting, other.fail)

    def __repr__(self) -> str:
        return f"Plan(start={self.start!r}, waiting={self.waiting!r}, fail={self.fail!r})"


def queue_order(tasks: Iterable[Summary]) -> list[Summary]:
    return sorted(tasks, key=lambda t: (-priority_rank(t.priority), t.created, t.id))


def blocked_by_dependency(task: Summary, by_id: dict[int, Summary]) -> tuple[str | None, str | None]:
    """(reason it waits, reason it can never start) for the task's ``--after`` list."""
    for dependency in task.after:
        other = by_id.get(dependency)
        if other is None:
            return None, f"it waits for task {dependency}, which does not exist"
        if other.state in DOOMED_BY:
            return None, f"it waits for task {dependency}, which was {other.state}"
        if other.state != "accepted":
            return f"after task {dependency} ({other.state})", None
    return None, None


def plan(
    tasks: list[Summary], max_agents: int, *, only: set[int] | None = None, ignore_limit: bool = False,
    review_paths: dict[int, list[str]] | None = None, held: dict[str, str] | None = None,
    limits: dict[str, int] | None = None,
) -> Plan:
    """Decide for every queued task (or just ``only``) what happens now.

    ``max_agents`` limits the local executor; ``limits`` gives each cluster
    executor its own (``[executors.ray] max_agents``): a task waits only for
    a free place where it runs.  Locks and ``--after`` hold across executors.
    ``ignore_limit`` is ``cairn spawn``: a human asked for this task, so the
    concurrency limit does not apply, but dependencies and locks still do.
    ``held``: agent -> why none of its tasks may start now (not logged in,
    paused by a rate limit, over budget); its tasks wait with that reason.
    ``review_paths`` (``schedule.avoid_conflicts``): task in review -> the
    paths its proposal changes; a queued task whose locks overlap them waits.
    """
    by_id = {t.id: t for t in tasks}
    running = [t for t in tasks if t.state == "running"]
    busy: dict[str, int] = {}
    for task in running:
        busy[task.executor] = busy.get(task.executor, 0) + 1
    result = Plan()
    holders = list(running)
    for task in queue_order(t for t in tasks if t.state == "queued"):
        if only is not None and task.id not in only:
            continue
        waits, doomed = blocked_by_dependency(task, by_id)
        if doomed:
            result.fail[task.id] = doomed
            continue
        if waits:
            result.waiting[task.id] = waits
            continue
        if held and task.agent in held:
            result.waiting[task.id] = held[task.agent]
            continue
        clash = _lock_clash(task, holders) or _review_clash(task, review_paths)
        if clash:
            result.waiting[task.id] = clash
            continue
        limit = max_agents if task.executor == "local" else (limits or {}).get(task.executor, max_agents)
        if not ignore_limit and busy.get(task.executor, 0) >= limit:
            where = "" if task.executor == "local" else f" on {task.executor}"
            result.waiting[task.id] = f"concurrency limit ({limit} agents at once{where})"
            continue
        result.start.append(task.id)
        busy[task.executor] = busy.get(task.executor, 0) + 1
        holders.append(task)
    return result


def _lock_clash(task: Summary, holders: list[Summary]) -> str | None:
    if not task.locks:
        return None
    for other in holders:
        overlap = first_overlap(task.locks, other.locks)
        if overlap:
            mine, theirs = overlap
            detail = mine if mine == theirs else f"{mine} ~ {theirs}"
            return f"lock overlap with task {other.id} ({detail})"
    return None


def _review_clash(task: Summary, review_paths: dict[int, list[str]] | None) -> str | None:
    if not task.locks or not review_paths:
        return None
    for other, paths in sorted(review_paths.items()):
        overlap = first_overlap(task.locks, paths)
        if overlap:
            return f"conflict risk with task {other} in review ({overlap[1]} ~ {overlap[0]})"
    return None
