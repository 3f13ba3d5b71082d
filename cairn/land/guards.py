"""What a task must be before it can land or come back: shared by the git and jj paths."""

from __future__ import annotations

from cairn.core.lifecycle import wrong_state_message
from cairn.core.model import Rejected, Review, State, Work
from cairn.errors import OperationFailed, WrongState


def ready_to_land(task_id: int, state: State) -> tuple[Review, Work]:
    """The review record and its work, or the error saying why it cannot land."""
    if not isinstance(state, Review):
        raise WrongState(wrong_state_message(task_id, state.state, "accept"))
    if state.work is None:
        raise OperationFailed(f"task {task_id} has no work recorded to land")
    return state, state.work


def ready_to_restore(task_id: int, state: State) -> tuple[Rejected, Review]:
    """The rejected record and the review it came from, or the error saying why not."""
    if not isinstance(state, Rejected):
        raise WrongState(wrong_state_message(task_id, state.state, "restore"))
    if state.previous is None:
        raise OperationFailed(f"task {task_id} was rejected before Cairn kept rejected work; nothing to restore")
    return state, state.previous
