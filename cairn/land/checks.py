"""The checks gate: the configured commands, run in a task's workspace.

Run when the agent finishes (the result shows in ``cairn status``) and again
at accept time on the rebased work.  Output goes to ``tasks/<id>/checks.log``,
replaced at each run.  A command that cannot start or runs past the timeout
counts as failed.

While checks run, ``tasks/<id>/checks.lock`` exists and is flocked by the
process running them (``running``); afterwards the caller drops what they left
in the workspace.  A checks.lock that is there but free means whoever ran
them was killed: what the workspace holds beyond the branch is theirs, and
``discard_interrupted`` stops their leftover processes and drops it, so the
next accept neither refuses it as edits nor commits it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.core.model import CheckResult, Checks, Work
from cairn.backends.bootstrap import findable
from cairn.state import atomic, lock
from cairn.state.layout import Layout

# The schema and the progress line are only named here: accept and reject load this module.
if TYPE_CHECKING:
    from cairn.config.schema import ChecksConfig
    from cairn.progress import Progress


@contextmanager
def running(layout: Layout, task_id: int) -> Iterator[None]:
    """Mark the task's checks as running for the ``with`` block (see the header);
    what they start works for the task and dies with this process."""
    from cairn.agents import children

    marker = layout.checks_lock(task_id)
    fd = lock.open_lock(marker)
    lock.try_lock(fd)  # the task's lock (held by every caller) keeps this uncontended
    try:
        with children.working_for(layout.task_dir(task_id)):
            yield
    finally:
        marker.unlink(missing_ok=True)
        os.close(fd)


def discard_interrupted(layout: Layout, task_id: int, reset: Any, work: Work | None) -> bool:
    """If checks of this task were killed half-way: stop what they left
    running and put the workspace back to its committed work (``reset(work)``).
    Whether there was anything to discard."""
    marker = layout.checks_lock(task_id)
    if not marker.exists() or lock.is_held(marker):
        return False
    from cairn.agents.processes import stop_working_for

    stop_working_for(layout.task_dir(task_id))
    if work is not None and Path(work.workspace).is_dir():
        reset(work)
    marker.unlink(missing_ok=True)
    return True


def run_checks(config: ChecksConfig, workspace: Path, log_path: Path, env: dict[str, str] | None = None,
               wrap: Callable[[list[str]], list[str]] | None = None, progress: Progress | None = None) -> Checks:
    """``wrap``: the task's sandbox (cairn/agents/sandbox.py), around each command."""
    if not config.commands:
        return Checks(status="skipped")
    from cairn.agents import children
    from cairn.progress import SILENT

    progress = progress or SILENT
    results = []
    with atomic.open_private(log_path) as log:
        for number, argv in enumerate(config.commands, 1):
            progress.step(number, len(config.commands), " ".join(argv))
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            started = time.monotonic()
            exit_code: int | None
            timed_out = False
            try:
                if wrap is not None and not findable(argv[0], env or {}, workspace):
                    raise FileNotFoundError(argv[0])
                finished = children.run(wrap(argv) if wrap else argv, cwd=workspace, env=env, timeout=config.timeout, stdout=log)
                exit_code, timed_out = finished.returncode, finished.timed_out
                if timed_out:
                    log.write(f"[cairn] timed out after {config.timeout:g}s; stopped it and its children\n".encode())
            except FileNotFoundError:
                log.write(f"[cairn] command not found: {argv[0]}\n".encode())
                exit_code = None
            seconds = round(time.monotonic() - started, 3)
            results.append(CheckResult(command=list(argv), exit_code=exit_code, seconds=seconds, timed_out=timed_out))
            log.write(f"[cairn] exit status {exit_code} in {seconds:.1f}s\n".encode())
            if exit_code != 0:
                break  # later checks would only repeat the bad news
    passed = all(r.exit_code == 0 for r in results)
    return Checks(status="passed" if passed else "failed", results=results)


def summary_line(checks: Checks) -> str:
    if checks.status != "failed":
        return f"checks {checks.status}"
    failed = next(r for r in checks.results if r.exit_code != 0)
    why = "timed out" if failed.timed_out else ("not found" if failed.exit_code is None else f"exit status {failed.exit_code}")
    return f"checks failed: {' '.join(failed.command)} ({why})"
