"""Whether an agent can run at all: its binary, its credentials.  Pure.

Asked before an agent's tasks start (the scheduler, ``cairn spawn``,
``cairn status``) so that a missing login holds them in ``queued`` with the
fix in words, instead of starting an agent that fails, or waits forever for
someone to log in.  The shell (cairn/agents/preflight.py) looks up the
binary and which credential files exist; this decides what that means.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Readiness:
    agent: str
    #: The agent's binary, resolved on PATH; None when it is not there.
    binary: str | None
    #: What ``version`` printed (its first line), when asked.
    version: str | None
    #: Why it cannot run, in words with the fix; None when it can.
    problem: str | None

    @property
    def ready(self) -> bool:
        return self.problem is None


def assess(agent: str, profile: Any, *, binary: str | None, env: Mapping[str, str], existing: Container[str],
           version: str | None = None) -> Readiness:
    """``existing``: which of the profile's credential files exist, as written in the profile."""
    problem: str | None
    if binary is None:
        problem = f"{agent}: {profile.command[0]!r} is not installed or not on PATH"
    else:
        problem = credential_problem(agent, profile.credentials, env, existing)
    return Readiness(agent=agent, binary=binary, version=version, problem=problem)


def credential_problem(agent: str, credentials: Any, env: Mapping[str, str], existing: Container[str]) -> str | None:
    if credentials is None:
        return None
    if any(env.get(name) for name in credentials.env) or any(path in existing for path in credentials.files):
        return None
    hint = credentials.hint or "set " + " or ".join(credentials.env or credentials.files)
    return f"{agent}: not logged in — {hint}"
