"""``cairn accept``: land a task's work on its target, the same for every backend.

One accept at a time per repository (``locks/accept.lock``), and the task's
own lock throughout.  This module owns what is not the backend's: the
locks, the state moves, the journal, the notification and the checks gate,
which it hands to the backend as a function to call on exactly what would
land.  The backend (cairn/backends/) does the landing itself and puts
everything back when it fails; a conflict is recorded on the task
(``conflict``: its paths) and journalled, the work left as it was.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.backends import backend_for
from cairn.backends.base import Conflict, Gate, Landed, Say
from cairn.backends.bootstrap import teardown_for
from cairn.core.model import Accepted, Task
from cairn.core.records import replace
from cairn.errors import OperationFailed
from cairn.land.checks import discard_interrupted
from cairn.land.guards import ready_to_land
from cairn.notify import notify
from cairn.progress import SILENT, Progress
from cairn.state import lock
from cairn.state.store import Store, elapsed_ms

if TYPE_CHECKING:
    from cairn.config.load import Settings

__all__ = ["Conflict", "Landed", "accept"]


def accept(store: Store, settings: Settings, task_id: int, *, strategy: str | None, into: str | None, check: bool, say: Say,
           progress: Progress = SILENT) -> Landed:
    began = time.monotonic()
    task = store.read_task(task_id)
    with lock.held(store.layout.accept_lock, timeout=600):
        with store.locked(task_id) as current:
            state, work = ready_to_land(task_id, current)
            backend = backend_for(settings, work)
            # An accept killed while its checks ran left their files (and maybe processes): theirs, not edits.
            if discard_interrupted(store.layout, task_id, lambda w: backend.reset(w, keep=settings.keep_out), work):
                say(f"dropped what the checks of an interrupted accept left in {work.workspace}")
            gate = checks_gate(store, settings, task, say, progress) if check and settings.section("checks").commands else None
            landing = backend.landing(
                store, task, work, strategy=strategy, configured=settings.section("accept").strategy, into=into, gate=gate, say=say,
                progress=progress,
            )
            try:
                landed = landing.run()
            except Conflict as conflict:
                store.write_state(task_id, replace(state, conflict=conflict.paths))
                store.journal("conflict", task=task_id, target=landing.target, paths=conflict.paths, **landing.journal)
                raise
            store.write_state(
                task_id,
                Accepted(since=time.time(), strategy=landed.strategy, target=landed.target, commit=landed.commit, work=landed.work),
            )
        store.journal("accepted", task=task_id, previous="review", strategy=landed.strategy, target=landed.target, commit=landed.commit,
                      duration_ms=elapsed_ms(began), **landed.journal)
    notify(settings, task_id, "accepted", task.title)
    if landed.work is not None:
        teardown_for(settings, task_id, landed.work.workspace)  # the project's teardown, before the workspace goes
    landing.clean_up(landed, delete_branch=settings.section("accept").delete_branch and landed.strategy != "apply")
    return landed


def checks_gate(store: Store, settings: Settings, task: Task, say: Say, progress: Progress = SILENT) -> Gate:
    """The configured checks as the gate a landing calls: run in the
    workspace, journalled, and raising when they fail."""
    from cairn.land.checks import running, run_checks, summary_line

    config = settings.section("checks")
    log = store.layout.checks_log(task.id)

    def gate(workspace: Path, commit: str) -> None:
        from cairn.agents.sandbox import for_task

        if not progress.show:
            say(f"running checks on {commit[:12]}")
        progress.phase("checks", f"running checks on {commit[:12]}")
        with running(store.layout, task.id), for_task(settings, task, str(workspace)) as confined:
            # The sandbox the agent had; what the checks start works for the task and dies with this accept.
            result = run_checks(config, workspace, log, confined.environment(), confined.wrap, progress=progress)
        store.journal("checks", task=task.id, status=result.status, at="accept")
        if result.status == "failed":
            raise OperationFailed(
                f"task {task.id} not accepted: {summary_line(result)}",
                hint=f"the output is in {log}; `cairn retry {task.id} --feedback ...` or --no-check",
            )

    return gate
