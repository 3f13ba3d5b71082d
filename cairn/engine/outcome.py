"""How an agent's run ended: ``tasks/<id>/exit.json``, written once by the runner."""

from __future__ import annotations

from typing import Literal

from cairn.core.codec import Instant
from cairn.core.records import record

Ending = Literal["exited", "timeout", "cancelled", "terminated", "not-started", "runner-died", "stuck", "over-budget"]


@record
class Outcome:
    ending: Ending
    finished: Instant
    exit_code: int | None = None
    #: Why, in a line, when the agent did not simply exit.
    reason: str | None = None
    #: What the agent itself said went wrong: its last line after a failed
    #: exit, or a line its profile says means failure (then even exit 0 fails).
    agent_error: str | None = None


def describe(outcome: Outcome) -> str | None:
    """The failure reason shown in ``cairn status``, or None for a clean exit 0."""
    if outcome.ending == "exited":
        said = f": {outcome.agent_error}" if outcome.agent_error else ""
        if outcome.exit_code == 0:
            return f"the agent reported a failure though it exited 0{said}" if said else None
        if outcome.exit_code is not None and outcome.exit_code < 0:
            return f"the agent was killed by signal {-outcome.exit_code}{said}"
        return f"the agent exited with status {outcome.exit_code}{said}"
    return outcome.reason or outcome.ending
