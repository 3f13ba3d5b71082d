"""Reject keeps the work; restore brings it back.  The same for every backend.

Reject, under the task's lock: the backend trashes the work (the workspace
goes, its edits first committed; the work is kept where restore finds it:
git ``refs/cairn/trash/<id>``, jj the abandoned change and the operation
that abandoned it), then the Rejected state records what was kept.  Anything
that cannot be kept stops the reject before the task changes.  What only the
live task needed (git: its branch) goes after the state is written.

A task the reviewer's automatic retry superseded is rejected by ``finish``
through the same ``trash`` step (``discard_superseded``).

Restore, under the task's lock: the backend brings the workspace back with
the trashed work, all or nothing, until ``cairn gc`` expires the trash; the
task returns to review.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, BinaryIO

from cairn.backends import backend_for
from cairn.backends.base import Trashed
from cairn.backends.bootstrap import teardown_for
from cairn.core.lifecycle import wrong_state_message
from cairn.core.model import Rejected, Review, Work
from cairn.core.records import replace
from cairn.errors import CairnError, WrongState
from cairn.land.checks import discard_interrupted
from cairn.land.guards import ready_to_restore
from cairn.state.store import Store, elapsed_ms

if TYPE_CHECKING:
    from cairn.config.load import Settings


def reject(store: Store, settings: Settings, task_id: int, reason: str | None) -> Rejected:
    began = time.monotonic()
    trashed: Trashed | None = None
    with store.locked(task_id) as state:
        if not isinstance(state, Review):
            raise WrongState(wrong_state_message(task_id, state.state, "reject"))
        work = state.work
        backend = backend_for(settings, work) if work is not None else None
        if backend is not None and work is not None:
            # The project's teardown, then the work to the trash and the
            # workspace gone before the task changes: a workspace that cannot
            # go stops the reject here.
            # What checks of a killed accept left is theirs: never committed as edits.
            discard_interrupted(store.layout, task_id, lambda w: backend.reset(w, keep=settings.keep_out), work)
            teardown_for(settings, task_id, work.workspace)
            trashed = backend.trash(store, task_id, work)
            work = trashed.work
        new = Rejected(
            since=time.time(), reason=reason, kept=trashed.kept if trashed else None,
            previous=replace(state, conflict=[], work=work),
        )
        store.write_state(task_id, new)
    store.journal("rejected", task=task_id, previous="review", reason=reason, trash_ref=new.trash_ref, operation=new.operation,
                  duration_ms=elapsed_ms(began))
    if backend is not None and trashed is not None:
        backend.after_trash(trashed)
    return new


def discard_superseded(store: Store, settings: Settings, task_id: int, work: Work, log: BinaryIO | None = None) -> None:
    """A task the reviewer's automatic retry took over is rejected already
    (``finish`` wrote it so, with what the retry starts from): trash its work
    as a reject does, and record what was kept, so it stays restorable."""
    backend = backend_for(settings, work)
    try:
        teardown_for(settings, task_id, work.workspace)
        trashed = backend.trash(store, task_id, work)
    except CairnError as error:
        # The retry goes ahead; the superseded workspace stays for gc or the user.
        if log is not None:
            log.write(f"[cairn] kept the superseded workspace: {error}\n".encode())
            log.flush()
        return

    def record(state: object) -> Rejected | None:
        if not isinstance(state, Rejected) or state.previous is None:
            return None
        return replace(state, kept=trashed.kept or state.kept, previous=replace(state.previous, work=trashed.work))

    store.update(task_id, record)
    backend.after_trash(trashed)


def kept_note(settings: Settings, task_id: int, state: Rejected) -> str:
    """"; " and where the work is kept, in its backend's words; "" when nothing was kept."""
    work = state.previous.work if state.previous is not None else None
    if work is None:
        return ""
    note = backend_for(settings, work).kept_note(task_id, state)
    return f"; {note}" if note else ""


def restore(store: Store, settings: Settings, task_id: int) -> Review:
    task = store.read_task(task_id)
    with store.locked(task_id) as current:
        state, previous = ready_to_restore(task_id, current)
        work = previous.work
        if work is not None:
            backend = backend_for(settings, work)
            work = backend.untrash(store, task, state, work)
        new = replace(previous, since=time.time(), work=work)
        store.write_state(task_id, new)
        if work is not None:
            backend.after_untrash(store, state)
    store.journal("review", task=task_id, previous="rejected", restored=True)
    return new
