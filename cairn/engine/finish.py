"""After an agent ends: commit its work, write the proposal, run the checks
and the reviewer, move the task on.

Called by the runner itself (which alone may touch a running task's
workspace while it holds the runner lock), or by whoever finds a runner that
died (recovery, which holds the task's lock throughout and skips checks and
reviewer so the scheduler never blocks on them).  Only a task still
``running`` is finished, so it is finished once.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from typing import Any, Literal

from cairn.core import codec
from cairn.core.model import Cancelled, Checks, DiffStat, Failed, Review, Running, State, Work
from cairn.core.records import replace
from cairn.engine.outcome import Outcome, describe
from cairn.errors import CairnError
from cairn.notify import notify
from cairn.state import atomic
from cairn.state.store import Store, elapsed_ms


def read_outcome(store: Store, task_id: int) -> Outcome | None:
    try:
        return codec.decode(Outcome, json.loads(store.layout.exit_file(task_id).read_bytes()))
    except (OSError, ValueError, codec.DecodeError):
        return None


def record_outcome(store: Store, task_id: int, outcome: Outcome) -> None:
    atomic.write_json(store.layout.exit_file(task_id), codec.encode(outcome))


def finish(store: Store, settings: Any, task_id: int, outcome: Outcome, log: Any = None, *, recovering: bool = False,
           interrupted: Any = None, confinement: Any = None, supersede: Any = None) -> str | None:
    """Move a running task to review, failed or cancelled; the new state's name,
    or None if it was not running any more (someone finished it already).
    ``confinement``: the runner's (cairn/agents/sandbox.py): checks and the
    reviewer run in the sandbox, environment and port block the agent had.
    ``supersede``: an attempt stopped by a rate limit is carried on by a retry
    (``supersede(work)`` queues it: its id and where this work is kept); this
    one is then rejected as superseded, never failed."""
    began = time.monotonic()
    task = store.read_task(task_id)
    guard = store.locked(task_id) if recovering else nullcontext(store.read_state(task_id))
    with guard as seen:
        if not isinstance(seen, Running):
            return None
        committed_before = recovering and seen.work is not None and seen.work.head_commit is not None
        agent_may_have_run = seen.agent_pid is not None or seen.agent_launched is not None
        if recovering and (not agent_may_have_run or committed_before):
            # No agent ever ran, or its work was committed before the runner
            # died: what the workspace holds beyond that is setup's, a check's
            # or the reviewer's, never the agent's work.
            work, changed, note = _keep_committed(store, settings, task_id, seen.work, log)
        else:
            profile = settings.config.agents.get(task.agent)
            scratch = list(profile.scratch) if profile is not None else []
            work, changed, note = _save_work(store, settings, task_id, task.title, seen.work, log, scratch)
        if not recovering and work is not None and work.head_commit is not None:
            # On disk before the checks start: a runner that dies during them
            # leaves recovery knowing the work is committed (see above).
            store.update(task_id, lambda s: replace(s, work=work) if isinstance(s, Running) else None)
        # Both when both are true: a workspace deleted under the agent may
        # also make it exit non-zero, and the user must hear about the workspace.
        reason = "; ".join(r for r in (describe(outcome), note) if r) or None
        if committed_before and reason is None:
            reason = f"its runner died while the checks or the reviewer ran; the work is committed on {work.label if work else 'its branch'}, unchecked"
        elif outcome.ending == "runner-died" and work is not None and agent_may_have_run and note is None:
            reason = f"{reason}; " + (f"what it left is committed on {work.label} ({changed.files} files)" if changed.files else "it left no changes")
        checks = verdict = superseded = None
        if reason is None and outcome.ending == "exited" and work is not None and not recovering:
            checks = _checks(store, settings, task_id, work, log, confinement)
            if checks.status != "failed" and settings.config.reviewer.agent:
                from cairn.land.reviewer import review

                verdict = review(store, settings, task, work, log, confinement)
                # The reviewer's edits are not the agent's work (and jj would
                # record them in the change at its next snapshot).
                _restore_workspace(settings, work)
        cancel = store.layout.signals / f"cancel-{task_id}"
        if outcome.ending == "exited" and cancel.exists() and not recovering:
            # Cancelled while the checks or the reviewer ran: the user's word stands.
            outcome = Outcome(ending="cancelled", finished=time.time(), exit_code=outcome.exit_code, reason="cancelled by the user")
        elif outcome.ending == "exited" and interrupted is not None and interrupted() is not None:
            # The runner was told to stop while the checks or the reviewer ran:
            # their failure says nothing about the work, so the task fails for that reason.
            _, why = interrupted()
            outcome = Outcome(ending="terminated", finished=time.time(), exit_code=outcome.exit_code, reason=why)
            reason = describe(outcome)
        new: State = _next_state(outcome, seen, work, changed, reason, checks, verdict)
        if supersede is not None and work is not None and isinstance(new, (Review, Failed)):
            from cairn.core.model import Rejected

            # Queued before this task leaves running (as the reviewer's retry is).
            superseded, kept = supersede(work)
            attempt = Review(since=new.since, started=seen.since, work=work, exit_code=new.exit_code or 0, changed=changed)
            new = Rejected(since=time.time(), reason=f"superseded by task {superseded}, which carries on when the rate limit ends",
                           kept=kept.kept, previous=attempt)
        if verdict == "request-changes" and work is not None and isinstance(new, Review):
            from cairn.land.reviewer import auto_retry

            # Queued before this task leaves running, so no one ever sees the
            # crew idle between the two rounds.
            retried = auto_retry(store, settings, task, work, log)
            if retried is not None:
                from cairn.core.model import Rejected

                superseded, kept = retried
                new = Rejected(since=time.time(), reason=f"superseded by task {superseded} after review", kept=kept.kept, previous=new)
        if recovering:
            store.write_state(task_id, new)
    if not recovering:
        with store.locked(task_id) as current:
            if not isinstance(current, Running):
                return None
            store.write_state(task_id, new)
    (store.layout.signals / f"cancel-{task_id}").unlink(missing_ok=True)
    store.journal(
        new.state, task=task_id, previous="running", reason=getattr(new, "reason", None),
        files=changed.files, insertions=changed.insertions, deletions=changed.deletions,
        checks=checks.status if checks else None, verdict=verdict, duration_ms=elapsed_ms(began),
    )
    if isinstance(new, Review) and changed.files == 0:
        store.journal("no-changes", task=task_id)
    notify(settings, task_id, new.state, task.title)
    if superseded is not None and work is not None:
        from cairn.land.reject import discard_superseded

        discard_superseded(store, settings, task_id, work, log)  # the one reject path: trash, record, after
    return new.state


def _next_state(outcome: Outcome, running: Running, work: Work | None, changed: DiffStat, reason: str | None, checks: Checks | None,
                verdict: Literal["approve", "request-changes"] | None) -> Review | Failed | Cancelled:
    now = time.time()
    if outcome.ending == "cancelled":
        return Cancelled(since=now, reason=outcome.reason or "cancelled", work=work)
    if reason is None:
        if work is not None:
            return Review(since=now, started=running.since, work=work, exit_code=0, changed=changed, checks=checks, verdict=verdict)
        reason = "the agent ended before its workspace was recorded"  # a review needs work to show
    return Failed(since=now, reason=reason, started=running.since, exit_code=outcome.exit_code, work=work, changed=changed)


def _checks(store: Store, settings: Any, task_id: int, work: Work, log: Any, confinement: Any = None) -> Checks:
    from pathlib import Path

    from cairn.land.checks import run_checks, summary_line

    if not settings.config.checks.commands:
        return Checks(status="skipped")
    from cairn.land.checks import running

    _log(log, "running checks")
    env = confinement.environment() if confinement is not None else None
    wrap = confinement.wrap if confinement is not None else None
    began = time.monotonic()
    store.journal("phase", task=task_id, phase="checks", text="running checks")
    with running(store.layout, task_id):
        checks = run_checks(settings.config.checks, Path(work.workspace), store.layout.checks_log(task_id), env, wrap)
    store.journal("checks", task=task_id, status=checks.status, at="finish", duration_ms=elapsed_ms(began))
    _log(log, summary_line(checks))
    _restore_workspace(settings, work)
    return checks


def _restore_workspace(settings: Any, work: Work) -> None:
    """Checks and reviewers may leave files behind; the workspace goes back to the committed work."""
    from cairn.backends import backend_for

    try:
        bootstrap = settings.config.bootstrap
        backend_for(settings, work).reset(work, keep=[*bootstrap.copy, *bootstrap.symlink])
    except CairnError:
        pass


def _keep_committed(store: Store, settings: Any, task_id: int, work: Work | None, log: Any) -> tuple[Work | None, DiffStat, str | None]:
    """The workspace back to the work as committed (nothing more is committed); its proposal."""
    if work is None:
        return None, DiffStat(), None
    from pathlib import Path

    if Path(work.workspace).is_dir():
        _restore_workspace(settings, work)
    if work.head_commit is None:
        return work, DiffStat(), None
    from cairn.backends import backend_for

    try:
        proposal = backend_for(settings, work).proposal(work)
    except CairnError as error:
        _log(log, f"could not describe the work: {error}")
        return work, DiffStat(), None
    atomic.write_text(store.layout.preview_diff(task_id), proposal.diff)
    atomic.write_text(store.layout.preview_stat(task_id), proposal.stat)
    return work, proposal.changed, None


def _save_work(
    store: Store, settings: Any, task_id: int, title: str, work: Work | None, log: Any, scratch: list[str]
) -> tuple[Work | None, DiffStat, str | None]:
    """Commit and describe the work (never the agent's own scratch files); never raises for a missing workspace."""
    if work is None:
        return None, DiffStat(), None
    from cairn.backends import backend_for
    from cairn.backends.base import commit_message

    backend = backend_for(settings, work)
    bootstrap = settings.config.bootstrap
    try:
        work = backend.commit(work, commit_message(task_id, title), exclude=[*bootstrap.copy, *bootstrap.symlink, *scratch])
    except CairnError as error:
        _log(log, f"could not commit the agent's work: {error}")
        where = f"its files are still in the workspace {work.workspace}, not committed to {work.label}"
        return work, DiffStat(), f"the work could not be committed ({error}); {where}"
    try:
        proposal = backend.proposal(work)
    except CairnError as error:
        # The work is committed; only describing it failed. The task must still end.
        _log(log, f"could not describe the work: {error}")
        return work, DiffStat(), f"the work is committed on {work.label} but could not be described: {error}"
    layout = store.layout
    atomic.write_text(layout.preview_diff(task_id), proposal.diff)
    atomic.write_text(layout.preview_stat(task_id), proposal.stat)
    stranded = _stranded(work)
    if stranded:
        # Not the work, and not lost: the task fails saying so, and the
        # workspace (which holds them) is never removed while they are there.
        _log(log, f"files inside a submodule cannot be committed: {', '.join(stranded)}")
        note = (f"the agent wrote files inside a git submodule ({', '.join(stranded[:5])}{' …' if len(stranded) > 5 else ''}), "
                f"which no commit of this task can hold; they are kept in the workspace {work.workspace}")
        return replace(work, head_commit=proposal.head_commit), proposal.changed, note
    if proposal.changed.files == 0:
        _log(log, "the agent changed nothing")
    else:
        _log(log, f"committed to {work.label}: {proposal.changed.files} files, +{proposal.changed.insertions} -{proposal.changed.deletions}")
    return replace(work, head_commit=proposal.head_commit), proposal.changed, None


def _stranded(work: Work) -> list[str]:
    """Files the workspace holds that no commit can (git submodules); none where git cannot tell."""
    from pathlib import Path

    from cairn.vcs.worktrees import stranded_files

    try:
        return stranded_files(Path(work.workspace))
    except CairnError:
        return []


def _log(log: Any, line: str) -> None:
    if log is not None:
        log.write(f"[cairn] {line}\n".encode())
        log.flush()
