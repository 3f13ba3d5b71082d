"""The seam every executor implements: submit, status, log, cancel.

The part an engine plays is small and the same for all: take a job, say how
it is doing, hand over the output it printed so far, stop it.  Fetching the
result is common to every remote engine (shipping.py): the work comes back
as a git branch, pushed to the remote or written as a bundle.

Invariant: ``status`` never guesses.  A job the engine does not know is
``lost`` (the caller fails the task, and never submits it again); a job the
engine cannot be asked about right now raises ``EngineUnreachable`` (the
caller asks again later, keeping the task running).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from cairn.errors import OperationFailed

Phase = Literal["pending", "running", "succeeded", "failed", "stopped", "lost"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "stopped", "lost"})


@dataclass(frozen=True, slots=True)
class Job:
    """What an engine is asked to run: one task's remote runner."""

    #: A name unique to this repository's task (``cairn-<repo key>-<id>``).
    name: str
    #: The remote runner's argv on the node; its last element is the job spec's path
    #: (relative to the job's working directory for Ray).
    argv: list[str]
    #: Files the job needs beside it (the spec, a bundle of the base): name -> bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    #: The task's timeout, so the engine's own limit can sit just above it.
    timeout: float | None = None
    #: Variables to set on the node; public to whoever can read the engine's API.
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobStatus:
    phase: Phase
    #: The engine's own words, for a job that did not succeed.
    reason: str | None = None
    #: The remote runner's exit code, when the engine knows it.
    exit_code: int | None = None

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED


class EngineUnreachable(OperationFailed):
    """The engine could not be asked; the job's fate is unknown, not lost."""


class Executor(Protocol):
    #: ``ray``, ``slurm``: recorded in the task's state with the job id.
    name: str

    def submit(self, job: Job) -> str:
        """Start the job; its id at the engine."""
        ...

    def status(self, job_id: str) -> JobStatus:
        ...

    def read_log(self, job_id: str, offset: int) -> bytes:
        """What the job printed from byte ``offset`` on (b"" when nothing new)."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask the engine to stop the job; returns without waiting for it."""
        ...
