"""Waiting for tasks to leave ``queued``/``running``, without a scheduler.

Polls with a short back-off (a wait is a person or a Makefile, not a loop of
thousands) and finishes tasks whose runner died, so ``cairn spawn N --wait``
in a Makefile completes even when no scheduler runs.
"""

from __future__ import annotations

import time
from typing import Any

from cairn.engine.recovery import recover, runner_alive
from cairn.state.store import Store


def wait_until_settled(store: Store, settings: Any, ids: list[int], timeout: float | None, leave: tuple[str, ...] = ("queued", "running")) -> dict[int, str]:
    """Each task's state once none is in ``leave``; the states so far on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.02
    while True:
        states: dict[int, str] = {}
        for task_id in ids:
            state = store.read_state(task_id)
            if state.state == "running" and not runner_alive(store, task_id):
                recover(store, settings, task_id)
                state = store.read_state(task_id)
            states[task_id] = state.state
        if all(s not in leave for s in states.values()):
            return states
        if deadline is not None and time.monotonic() >= deadline:
            return states
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
