"""After an agent ends: commit its work, write the proposal, move the task on.

Called by the runner itself, or by whoever finds a runner that died after
recording the outcome (recovery).  Idempotent and done under the task's lock:
only a task still ``running`` is finished, so it is finished once.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from cairn.core import codec
from cairn.core.model import Cancelled, DiffStat, Failed, Review, Running, Work
from cairn.engine.outcome import Outcome, describe
from cairn.errors import CairnError
from cairn.state import atomic
from cairn.state.store import Store


def commit_message(task_id: int, title: str) -> str:
    return f"{title}\n\nCairn task {task_id}\n"


def read_outcome(store: Store, task_id: int) -> Outcome | None:
    try:
        return codec.decode(Outcome, json.loads(store.layout.exit_file(task_id).read_bytes()))
    except (OSError, ValueError, codec.DecodeError):
        return None


def record_outcome(store: Store, task_id: int, outcome: Outcome) -> None:
    atomic.write_json(store.layout.exit_file(task_id), codec.encode(outcome))


def finish(store: Store, settings: Any, task_id: int, outcome: Outcome, log: Any = None) -> str | None:
    """Move a running task to review, failed or cancelled; the new state's name,
    or None if it was not running any more (someone finished it already)."""
    layout = store.layout
    task = store.read_task(task_id)
    with store.locked(task_id) as current:
        if not isinstance(current, Running):
            return None
        work, changed, note = _save_work(store, settings, task_id, task.title, current.work, log)
        reason = describe(outcome)
        if note and reason is None:
            reason = note
        now = time.time()
        if outcome.ending == "cancelled":
            new: Any = Cancelled(since=now, reason=outcome.reason or "cancelled", work=work)  # type: ignore[arg-type]
        elif reason is None:
            new = Review(since=now, started=current.since, work=work, exit_code=0, changed=changed)  # type: ignore[arg-type]
        else:
            new = Failed(
                since=now,  # type: ignore[arg-type]
                reason=reason,
                started=current.since,
                exit_code=outcome.exit_code,
                work=work,
                changed=changed,
            )
        store.write_state(task_id, new)
    layout_signal = layout.signals / f"cancel-{task_id}"
    layout_signal.unlink(missing_ok=True)
    store.journal(
        new.state,
        task=task_id,
        previous="running",
        reason=getattr(new, "reason", None),
        files=changed.files,
        insertions=changed.insertions,
        deletions=changed.deletions,
    )
    if isinstance(new, Review) and changed.files == 0:
        store.journal("no-changes", task=task_id)
    return new.state


def _save_work(
    store: Store, settings: Any, task_id: int, title: str, work: Work | None, log: Any
) -> tuple[Work | None, DiffStat, str | None]:
    """Commit and describe the work; never raises for a missing workspace."""
    if work is None:
        return None, DiffStat(), None
    from cairn.workspaces.select import workspaces_for

    backend = workspaces_for(settings)
    try:
        work = backend.commit(work, commit_message(task_id, title))
    except CairnError as error:
        _log(log, f"could not commit the agent's work: {error}")
        return work, DiffStat(), f"the work could not be committed: {error}"
    proposal = backend.proposal(work)
    layout = store.layout
    atomic.write_text(layout.preview_diff(task_id), proposal.diff)
    atomic.write_text(layout.preview_stat(task_id), proposal.stat)
    if proposal.changed.files == 0:
        _log(log, "the agent changed nothing")
    else:
        _log(log, f"committed to {work.branch}: {proposal.changed.files} files, +{proposal.changed.insertions} -{proposal.changed.deletions}")
    return replace(work, head_commit=proposal.head_commit), proposal.changed, None


def _log(log: Any, line: str) -> None:
    if log is not None:
        log.write(f"[cairn] {line}\n".encode())
        log.flush()
