"""How the crew did: per-task times and outcomes, and a summary per agent.

Pure: ``compute`` takes the task records and the journal's events, already
read, and returns values; ``cairn metrics`` reads and prints them.  The
journal says when each move happened; the records say what a task is now and
fill in what the journal lacks (a journal started after the task, a line
lost to a crash).  Definitions, documented in docs/watching.md:

- started:  the task left ``queued`` for ``running``;
- finished: it left ``running`` (for review, failed, cancelled or rejected);
- landed:   it was accepted;
- time to review: started -> finished, for tasks whose proposal reached
  review: the agent's own time, checks and reviewer included;
- acceptance rate: accepted / (accepted + rejected), the proposals a human
  (or a retry) decided on; failed and cancelled tasks are not proposals;
- throughput: tasks landed per hour, from the first task queued to the last
  one landed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from cairn.core.codec import instant_to_text, text_to_instant
from cairn.core.model import Rejected, State, Task

#: Events that take a task out of ``running`` (previous == "running").
_FINISHES = frozenset({"review", "failed", "cancelled", "rejected"})
#: Retry chains longer than this are assumed to loop (a hand-edited record).
_MAX_CHAIN = 1000


@dataclass(frozen=True, slots=True)
class TaskMetrics:
    id: int
    title: str
    agent: str
    outcome: str
    attempt: int
    retry_of: int | None
    queued: float
    started: float | None
    finished: float | None
    landed: float | None
    #: What the agent's run led to: review, failed, cancelled, rejected; None if it never ran to an end.
    finished_as: str | None
    checks: str | None
    files: int
    insertions: int
    deletions: int
    reason: str | None

    @property
    def wait(self) -> float | None:
        return _span(self.queued, self.started)

    @property
    def run(self) -> float | None:
        return _span(self.started, self.finished)

    @property
    def review(self) -> float | None:
        """How long the finished proposal waited until it landed."""
        return _span(self.finished, self.landed)

    @property
    def total(self) -> float | None:
        return _span(self.queued, self.landed)

    @property
    def time_to_review(self) -> float | None:
        return self.run if self.finished_as == "review" else None


@dataclass(frozen=True, slots=True)
class AgentMetrics:
    agent: str
    tasks: int
    reached_review: int
    accepted: int
    rejected: int
    failed: int
    acceptance_rate: float | None
    median_time_to_review: float | None


@dataclass(frozen=True, slots=True)
class Totals:
    tasks: int
    outcomes: dict[str, int]
    reached_review: int
    accepted: int
    rejected: int
    acceptance_rate: float | None
    #: From the first task queued to the last one landed; None until one landed.
    span: float | None
    throughput_per_hour: float | None
    agents: list[AgentMetrics] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Report:
    tasks: list[TaskMetrics]
    totals: Totals


def compute(records: Iterable[tuple[Task, State]], events: Iterable[dict[str, Any]]) -> Report:
    pairs = sorted(records, key=lambda pair: pair[0].id)
    tasks_by_id = {task.id: task for task, _ in pairs}
    timeline = _timeline(events, set(tasks_by_id))
    measured = [_measure(task, state, timeline.get(task.id, []), tasks_by_id) for task, state in pairs]
    return Report(measured, _totals(measured))


def _timeline(events: Iterable[dict[str, Any]], known: set[int]) -> dict[int, list[tuple[float, dict[str, Any]]]]:
    """Each known task's events with their instants, in journal order."""
    result: dict[int, list[tuple[float, dict[str, Any]]]] = {}
    for event in events:
        task_id = event.get("task")
        if not isinstance(task_id, int) or task_id not in known:
            continue
        try:
            when = text_to_instant(event["ts"])
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # an event without a readable time cannot be placed
        result.setdefault(task_id, []).append((when, event))
    return result


def _measure(task: Task, state: State, timeline: list[tuple[float, dict[str, Any]]], tasks: dict[int, Task]) -> TaskMetrics:
    started = finished = landed = None
    finished_as = checks = None
    changed: tuple[int, int, int] | None = None
    for when, event in timeline:
        name, previous = event.get("event"), event.get("previous")
        if name == "running" and started is None:
            started = when
        elif name in _FINISHES and previous == "running" and finished is None:
            finished, finished_as = when, name
        elif name == "accepted":
            landed = when
        if name == "checks" and isinstance(event.get("status"), str):
            checks = event["status"]
        elif isinstance(event.get("checks"), str):
            checks = event["checks"]
        if isinstance(event.get("files"), int):
            changed = (event["files"], event.get("insertions") or 0, event.get("deletions") or 0)

    # What the journal does not say, the records may.
    record = state.previous if isinstance(state, Rejected) and state.previous is not None else state
    if started is None:
        started = getattr(record, "started", None) or (state.since if state.state == "running" else None)
    if finished is None and started is not None and record.state in ("review", "failed"):
        finished, finished_as = record.since, record.state
    if landed is None and state.state == "accepted":
        landed = state.since
    stat = getattr(record, "changed", None)
    if stat is not None and (stat.files or changed is None):
        changed = (stat.files, stat.insertions, stat.deletions)
    own_checks = getattr(record, "checks", None)
    if checks is None and own_checks is not None:
        checks = own_checks.status
    files, insertions, deletions = changed or (0, 0, 0)
    return TaskMetrics(
        id=task.id, title=task.title, agent=task.agent, outcome=state.state,
        attempt=_attempt(task, tasks), retry_of=task.retry_of,
        queued=task.created, started=started, finished=finished, landed=landed,
        finished_as=finished_as, checks=checks,
        files=files, insertions=insertions, deletions=deletions,
        reason=getattr(state, "reason", None),
    )


def _attempt(task: Task, tasks: dict[int, Task]) -> int:
    """1 for a first try; a retry of a retry is 3.  A predecessor gc removed still counts."""
    count, current = 1, task
    while current.retry_of is not None and count < _MAX_CHAIN:
        count += 1
        earlier = tasks.get(current.retry_of)
        if earlier is None:
            break
        current = earlier
    return count


def _totals(tasks: list[TaskMetrics]) -> Totals:
    outcomes: dict[str, int] = {}
    for task in tasks:
        outcomes[task.outcome] = outcomes.get(task.outcome, 0) + 1
    accepted = outcomes.get("accepted", 0)
    rejected = outcomes.get("rejected", 0)
    landings = [t.landed for t in tasks if t.landed is not None]
    span = throughput = None
    if landings:
        span = max(landings) - min(t.queued for t in tasks)
        throughput = accepted / max(span / 3600, 1 / 3600)  # at least a second: no division by nothing
    agents = sorted({t.agent for t in tasks})
    return Totals(
        tasks=len(tasks),
        outcomes=outcomes,
        reached_review=sum(1 for t in tasks if t.finished_as == "review"),
        accepted=accepted,
        rejected=rejected,
        acceptance_rate=_rate(accepted, rejected),
        span=span,
        throughput_per_hour=throughput,
        agents=[_agent(name, [t for t in tasks if t.agent == name]) for name in agents],
    )


def _agent(name: str, tasks: list[TaskMetrics]) -> AgentMetrics:
    accepted = sum(1 for t in tasks if t.outcome == "accepted")
    rejected = sum(1 for t in tasks if t.outcome == "rejected")
    times = [t.time_to_review for t in tasks if t.time_to_review is not None]
    return AgentMetrics(
        agent=name,
        tasks=len(tasks),
        reached_review=sum(1 for t in tasks if t.finished_as == "review"),
        accepted=accepted,
        rejected=rejected,
        failed=sum(1 for t in tasks if t.outcome == "failed"),
        acceptance_rate=_rate(accepted, rejected),
        median_time_to_review=median(times) if times else None,
    )


def _rate(accepted: int, rejected: int) -> float | None:
    decided = accepted + rejected
    return accepted / decided if decided else None


def _span(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, end - start)


# -- flat shapes for CSV and JSON ---------------------------------------------

#: The CSV header, in order; also the keys of each task in ``--json``.
COLUMNS = (
    "id", "title", "agent", "outcome", "attempt", "retry_of",
    "queued", "started", "finished", "landed",
    "wait_seconds", "run_seconds", "review_seconds", "total_seconds",
    "checks", "files", "insertions", "deletions", "reason",
)


def task_row(task: TaskMetrics) -> dict[str, Any]:
    """One task with ISO 8601 UTC times and durations in seconds; None where unknown."""
    return {
        "id": task.id,
        "title": task.title,
        "agent": task.agent,
        "outcome": task.outcome,
        "attempt": task.attempt,
        "retry_of": task.retry_of,
        "queued": _iso(task.queued),
        "started": _iso(task.started),
        "finished": _iso(task.finished),
        "landed": _iso(task.landed),
        "wait_seconds": _seconds(task.wait),
        "run_seconds": _seconds(task.run),
        "review_seconds": _seconds(task.review),
        "total_seconds": _seconds(task.total),
        "checks": task.checks,
        "files": task.files,
        "insertions": task.insertions,
        "deletions": task.deletions,
        "reason": task.reason,
    }


def totals_json(totals: Totals) -> dict[str, Any]:
    return {
        "tasks": totals.tasks,
        "outcomes": dict(sorted(totals.outcomes.items())),
        "reached_review": totals.reached_review,
        "accepted": totals.accepted,
        "rejected": totals.rejected,
        "acceptance_rate": _ratio(totals.acceptance_rate),
        "span_seconds": _seconds(totals.span),
        "throughput_per_hour": _ratio(totals.throughput_per_hour),
        "agents": [
            {
                "agent": a.agent,
                "tasks": a.tasks,
                "reached_review": a.reached_review,
                "accepted": a.accepted,
                "rejected": a.rejected,
                "failed": a.failed,
                "acceptance_rate": _ratio(a.acceptance_rate),
                "median_time_to_review_seconds": _seconds(a.median_time_to_review),
            }
            for a in totals.agents
        ],
    }


def _iso(value: float | None) -> str | None:
    return instant_to_text(value) if value is not None else None


def _seconds(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _ratio(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
