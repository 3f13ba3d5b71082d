r"""Which lifecycle moves are allowed.

    queued -> running -> review -> accepted
                     \-> failed    \-> rejected -> review (restore)
    queued | running -> cancelled
    running -> rejected   (the reviewer asked for changes; an automatic retry supersedes it)

Every mutation of ``state.json`` asks ``check`` first, under the task's lock,
so two commands racing on one task cannot both win.
"""

from __future__ import annotations

ALLOWED: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    # running -> rejected: a reviewer asked for changes and a retry took over.
    "running": frozenset({"review", "failed", "cancelled", "rejected"}),
    "review": frozenset({"accepted", "rejected", "review"}),
    "rejected": frozenset({"review"}),
    "failed": frozenset(),
    "accepted": frozenset(),
    "cancelled": frozenset(),
}

#: For messages: what each state's task can still do.
NEXT_STEP = {
    "queued": "it has not started yet",
    "running": "its agent is still at work: `cairn wait {id}` or `cairn cancel {id}`",
    "review": "it waits for review: `cairn diff {id}`, then `cairn accept {id}` or `cairn reject {id}`",
    "failed": "it failed: `cairn logs {id}` says why, `cairn retry {id}` tries again",
    "accepted": "it has landed already",
    "rejected": "it was rejected: `cairn restore {id}` brings it back to review",
    "cancelled": "it was cancelled: `cairn retry {id}` queues it again",
}


def can_move(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())


def wrong_state_message(task_id: int, current: str, wanted: str) -> str:
    """One line for a refused move, with what the user can do instead."""
    step = NEXT_STEP.get(current, "").format(id=task_id)
    return f"task {task_id} is {current}, cannot {wanted} it: {step}"
