"""The local executor: the runner on this machine (cairn/engine/runner.py).

Nothing to submit or poll: the runner *is* the job.  Its parts of the seam
are the files every command already uses — liveness is ``runner.lock``
(held while the agent lives), status is ``state.json``, the log is
``agent.log``, cancel is ``signals/cancel-<id>`` plus SIGTERM to the runner,
and the result is the task's branch, already in the repository.  So local
tasks never go through ``Executor``: remote ones do, watched by a local
runner that plays the same part towards everything else (engine/remote.py).
"""

from __future__ import annotations

NAME = "local"


def is_remote(executor: str | None) -> bool:
    """Whether a task's agent runs on a cluster (its runner only watches the job)."""
    return executor not in (None, NAME)
