"""The seam between the engine and a version-control backend.

A backend gives a task its own workspace starting from a base, commits
whatever the agent left there, describes the proposal as a diff, and removes
the workspace once the work is safe elsewhere.  Invariant for every backend:
``remove`` never runs before the agent's work is committed to the task's
branch (git) or change (jj).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cairn.core.model import DiffStat, Task, Work


@dataclass(frozen=True, slots=True)
class Proposal:
    head_commit: str
    changed: DiffStat
    diff: str
    stat: str


class Workspaces(Protocol):
    def create(self, task: Task, path: Path) -> Work:
        """A new workspace at ``path`` for ``task``, on its own branch or change."""
        ...

    def commit(self, work: Work, message: str, exclude: list[str] | None = None) -> Work:
        """Commit everything in the workspace but ``exclude``; the returned Work has ``head_commit``."""
        ...

    def reset(self, work: Work) -> None:
        """Put the workspace back to its committed state."""
        ...

    def proposal(self, work: Work) -> Proposal:
        """The work against its base: diff, stat and counts."""
        ...

    def remove(self, work: Work) -> Work | None:
        """Remove the workspace directory; the branch or change stays.  git:
        edits made there since are committed to the branch first, and the
        returned Work names the branch's tip."""
        ...


def branch_name(task_id: int) -> str:
    return f"cairn/{task_id}"
