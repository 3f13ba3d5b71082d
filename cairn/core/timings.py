"""How long Cairn's own operations take: ``cairn metrics --timings``.

Pure: ``timings`` takes the journal's events, already read, and returns one
row per operation.  Every command and runner phase records its duration as
``duration_ms`` on the event it writes (docs/performance.md, "Measuring your
own crew"); the event names the operation:

    queued           queue      `cairn queue`, from its start to the task on disk
    running          start      a runner, from having the task to claiming it
    workspace-ready  workspace  from the claim to the workspace made and bootstrapped
    agent-ended      agent      the agent's own run
    checks           checks     the checks gate (at the end of a run, or at accept)
    review, failed,  finish     committing, diffing, checks and reviewer after the agent
      cancelled
    accepted         accept     `cairn accept`, from its start to the target moved
    rejected         reject     `cairn reject`
    gc-run           gc         one gc run

An event of any other name that carries ``duration_ms`` is counted under its
own name, so a new phase needs no change here.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

#: event name -> operation name, in the order the table lists them.
OPERATIONS = {
    "queued": "queue",
    "running": "start",
    "workspace-ready": "workspace",
    "agent-ended": "agent",
    "checks": "checks",
    "review": "finish",
    "failed": "finish",
    "cancelled": "finish",
    "accepted": "accept",
    "rejected": "reject",
    "gc-run": "gc",
}


class Timing:
    """Count, mean, median, 95th percentile and maximum of one operation, in milliseconds."""

    __slots__ = ("operation", "count", "mean", "p50", "p95", "max")

    def __init__(self, operation: str, samples: list[float]) -> None:
        ordered = sorted(samples)
        self.operation = operation
        self.count = len(ordered)
        self.mean = sum(ordered) / len(ordered)
        self.p50 = percentile(ordered, 0.5)
        self.p95 = percentile(ordered, 0.95)
        self.max = ordered[-1]

    def as_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "count": self.count, "mean_ms": round(self.mean, 1),
                "p50_ms": round(self.p50, 1), "p95_ms": round(self.p95, 1), "max_ms": round(self.max, 1)}


def percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks of sorted samples."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timings(events: Iterable[dict[str, Any]], *, since: float | None = None) -> list[Timing]:
    """One row per operation with a duration in the journal, from ``since``
    (seconds since the epoch) on; in the order of ``OPERATIONS``, then by name.
    ``ts`` values are compared as text: the journal writes them all in one
    ISO 8601 UTC form, which sorts as time does."""
    from cairn.core.instants import instant_to_text

    start = instant_to_text(since) if since is not None else None
    samples: dict[str, list[float]] = {}
    for event in events:
        duration = event.get("duration_ms")
        if not isinstance(duration, (int, float)) or isinstance(duration, bool) or duration < 0:
            continue
        if start is not None and not (isinstance(event.get("ts"), str) and event["ts"] >= start):
            continue
        name = str(event.get("event"))
        samples.setdefault(OPERATIONS.get(name, name), []).append(float(duration))
    known = list(dict.fromkeys(OPERATIONS.values()))
    order = sorted(samples, key=lambda op: (known.index(op) if op in known else len(known), op))
    return [Timing(op, samples[op]) for op in order]
