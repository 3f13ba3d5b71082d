"""The words of the state format that every command needs, without the record
classes: what ``cairn status`` and ``cairn queue`` import on their fast path."""

from __future__ import annotations

#: Version of the state-directory format (``meta.json`` and every record).
FORMAT = 1

PRIORITIES = ("low", "normal", "high", "urgent")
#: Where a task's agent can run (cairn/executors/, docs/executors.md).
EXECUTORS = ("local", "ray", "slurm")
STATES = ("queued", "running", "review", "failed", "accepted", "rejected", "cancelled")
ACTIVE = frozenset({"queued", "running"})
FINISHED = frozenset({"failed", "accepted", "rejected", "cancelled"})


def priority_rank(priority: str) -> int:
    """Higher runs first."""
    return PRIORITIES.index(priority)
