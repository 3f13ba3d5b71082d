"""What the dashboard's keys do, as plain functions that return one line.

They run in worker threads (an accept may rebase and run checks for
minutes) and raise ``CairnError`` with the same one-line messages the
commands print.  Accept, reject and retry call the landing layer directly;
cancel and queue run their own entrypoints, whose logic lives there (a
cancel signals the runner and waits for it), so there is one implementation
of each and the state directory stays the only channel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from cairn.errors import OperationFailed


#: Lines of the proposal's diffstat a confirmation shows; the rest is summed up.
STAT_LINES = 8


def landing_preview(store: Any, settings: Any, summary: Any) -> str:
    """What accepting (or rejecting) the task would act on: its stat, the strategy, the target."""
    strategy = settings.config.accept.strategy
    checks = "the checks run first" if settings.config.checks.commands else "no checks are configured"
    lines = [f"onto {summary.target or '(no target: use `cairn accept --into`)'} by {strategy}; {checks}"]
    try:
        stat = store.layout.preview_stat(summary.id).read_text(errors="replace").rstrip("\n").splitlines()
    except OSError:
        stat = []
    if len(stat) > STAT_LINES + 1:
        stat = [*stat[:STAT_LINES], f" … {len(stat) - STAT_LINES - 1} more files (d shows the diff)", stat[-1]]
    return "\n".join(lines + (stat or [f" {summary.files} files changed, +{summary.insertions} -{summary.deletions}"]))


def accept_task(store: Any, settings: Any, task_id: int, say: Callable[[str], None]) -> str:
    from cairn.land.accept import accept

    landed = accept(store, settings, task_id, strategy=settings.config.accept.strategy, into=None, check=True, say=say)
    if landed.commit:
        return f"accepted task {task_id}: {landed.target} is now {landed.commit[:12]} ({landed.strategy})"
    return f"accepted task {task_id}: its changes are in your working tree, uncommitted"


def accept_train(store: Any, settings: Any, say: Callable[[str], None]) -> str:
    """Every task in review, as a merge train (cairn/land/train.py): one line of what happened."""
    from cairn.land.train import run_train

    review = [s.id for s in store.scan().summaries if s.state == "review"]
    report = run_train(store, settings, review, into=None, check=True, dry_run=False, say=say)
    landed = ", ".join(str(i) for i, _ in report.landed) or "nothing"
    stayed = "; ".join(f"{s.id} stays: {s.reason}" for s in report.stayed)
    return f"train landed {landed} on {report.target}" + (f"; {stayed}" if stayed else "")


def conflicts_text(store: Any, settings: Any) -> str:
    """The conflict radar as ``cairn conflicts`` prints it, for the detail pane."""
    from cairn.core.conflicts import describe
    from cairn.land.radar import radar

    report = radar(store, settings, store.scan().summaries)
    proposals = [i for i in report.review if i not in report.skipped]
    return "\n".join(describe(proposals, report.pairs, report.touches))


def reject_task(store: Any, settings: Any, task_id: int, reason: str | None) -> str:
    from cairn.land.reject import kept_note, reject

    state = reject(store, settings, task_id, reason)
    return f"rejected task {task_id}{kept_note(settings, task_id, state)}"


def retry_task(store: Any, settings: Any, task_id: int, feedback: str | None) -> str:
    from cairn.land.retry import retry

    task = retry(store, settings, task_id, feedback=feedback, continuing=False)
    return f"task {task.id} queued: a new attempt at task {task_id}"


def cancel_task(task_id: int) -> str:
    return run_cairn("cancel", str(task_id)) or f"task {task_id}: cancelled"


def queue_task(prompt: str, agent: str) -> str:
    task_id = run_cairn("queue", "--agent", agent, "--", prompt)
    return f"task {task_id} queued for {agent}"


def run_cairn(*args: str) -> str:
    """Run ``cairn ARGS`` with this interpreter and environment; its output, or its error raised."""
    completed = subprocess.run(
        [sys.executable, "-m", "cairn.cmd.main", *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=os.getcwd(),
    )
    if completed.returncode != 0:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        message = lines[0].split(": ", 1)[-1] if lines else f"cairn {args[0]} exited with status {completed.returncode}"
        hint = lines[1].strip() if len(lines) > 1 else None
        raise OperationFailed(message, hint=hint)
    return completed.stdout.strip()
