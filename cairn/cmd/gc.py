"""``cairn gc``: remove what finished tasks left behind, never the work itself.

Workspaces, branches, trash, logs, stale signal files and an oversized
journal go by the policies in docs/gc.md; unmerged commits are archived under
``refs/cairn/archive/`` before their branch goes.  ``--every`` runs gc for
ever at an interval (devenv's ``cairn-gc`` process); SIGTERM or SIGINT
stops it between two steps, exit status 0.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

from cairn.cmd._cli import Number, Parsed, echo, entrypoint, json_option, option, print_json, settings, verb
from cairn.core.durations import parse_duration, parse_size


# Durations and sizes as people write them; a bad one is a usage error (exit 2).
DURATION = Parsed("DURATION", parse_duration)
INTERVAL = Parsed("DURATION", parse_duration, positive=True)
SIZE = Parsed("SIZE", parse_size)


@verb("Remove the workspaces, branches, trash and logs finished tasks left behind; unmerged work is archived first. docs/gc.md has the rules.")
@option("--dry-run", is_flag=True, help="List what would go and why; change nothing.")
@option("--max-age", type=DURATION, help="Age after which a finished task's workspace, branch and trash go, for every state (default: gc.max_age, per state).")
@option("--keep", type=Number(int, min=0), metavar="N", help="Exactly the newest N finished workspaces stay, whatever their age (default: gc.keep; 0: no count rule).")
@option("--max-size", type=SIZE, help="Remove the oldest finished workspaces while all workspaces together take more (default: gc.max_size).")
@option("--purge", is_flag=True, help="Keep no copies: delete unmerged branches without archiving them, drop old logs instead of compressing them.")
@option("--orphans", is_flag=True, help="Also remove cairn/* branches, worktrees and trash with no task behind them (otherwise only reported).")
@option("--force", is_flag=True, help="End processes working inside a workspace that is to go, instead of skipping it.")
@option("--every", type=INTERVAL, help="Run gc for ever at this interval (devenv's cairn-gc process); SIGTERM stops it.")
@option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
@json_option
def command(
    dry_run: bool, max_age: float | None, keep: int | None, max_size: int | None, purge: bool, orphans: bool,
    force: bool, every: float | None, quiet: bool, as_json: bool,
) -> int:
    from cairn.gc.run import Options, collect_garbage

    options = Options(max_age=max_age, keep=keep, max_size=max_size, purge=purge, orphans=orphans, force=force, dry_run=dry_run)
    if every is not None:
        return _every(options, every, quiet, as_json)
    from cairn.progress import on_terminal

    current = settings()
    progress = on_terminal(quiet=quiet or as_json)
    if not dry_run:
        from cairn.state.store import Store

        progress.journal = Store(current.layout).journal
    try:
        report = collect_garbage(current, options, progress=progress)
    finally:
        progress.clear()
    if as_json:
        print_json(report.as_json())
    else:
        _show(report, quiet, prefix="")
    return 0


def _every(options: Any, interval: float, quiet: bool, as_json: bool) -> int:
    """Run gc, wait ``interval``, again, until SIGTERM or SIGINT.  A failed round is
    reported and the next one tried: a transient problem must not end the process."""
    from cairn.errors import CairnError
    from cairn.gc.run import GcBusy, collect_garbage

    stop = threading.Event()

    def on_signal(number: int, _frame: Any) -> None:
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)
    while not stop.is_set():
        prefix = time.strftime("%H:%M:%S ")
        try:
            # Read afresh each round: the configuration may have changed meanwhile.
            report = collect_garbage(settings(), options, stopping=stop.is_set)
        except GcBusy:
            if not quiet and not as_json:
                echo(f"{prefix}gc: another gc is running; skipped this round")
        except CairnError as error:
            echo(f"{prefix}cairn gc: {error}", err=True)
        else:
            if as_json:
                echo(json.dumps(report.as_json()))
            else:
                _show(report, quiet, prefix=prefix)
        stop.wait(interval)
    return 0


def _show(report: Any, quiet: bool, *, prefix: str) -> None:
    from cairn.core.gc import describe, summary_line

    if not quiet:
        for action in report.done:
            line = describe(action, done=not report.dry_run)
            echo(f"{prefix}{'would ' if report.dry_run else ''}{line}")
        for note in report.notes:
            label = "orphan" if note.kind == "orphan" else ("would skip" if report.dry_run else "skipped")
            echo(f"{prefix}{label} {note.what}: {note.reason}")
    echo(prefix + summary_line(report.counts(), dry_run=report.dry_run, stopped=report.stopped))


main = entrypoint(command, "gc")
