"""``cairn status [ID]... [--state S] [--json]``: what runs, what waits and why, what waits for review."""

from __future__ import annotations

import sys
import time

from cairn.cmd._cli import TASK_ID, Choice, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.core.vocabulary import STATES
from cairn.errors import EXIT_FAILED

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any


@verb("List tasks (newest last), or show the given tasks in full.")
@argument("ids", many=True, type=TASK_ID)
@option("--state", dest="states", multiple=True, type=Choice(STATES), help="Only tasks in this state (repeatable).")
@option("--scheduler", is_flag=True, help="Only say whether a scheduler runs: exit 0 if one does, 1 if not.")
@option("--watch", is_flag=True, help="Redraw the table whenever a task changes (Ctrl-C stops).")
@json_option
def command(ids: tuple[int, ...], states: tuple[str, ...], scheduler: bool, watch: bool, as_json: bool) -> int:
    current = settings()
    store = store_for(current)
    if watch:
        from cairn.cmd._watch import watch_status

        return watch_status(store, current, set(states), ids=ids, scheduler=scheduler, as_json=as_json)
    if scheduler:
        return _scheduler_probe(current, as_json)
    if ids:
        return _show(store, ids, as_json)
    return _list(store, current, set(states), as_json)


def _scheduler_probe(current: Any, as_json: bool) -> int:
    from cairn.state.scheduler_info import running_scheduler

    pid = running_scheduler(current.layout)
    if as_json:
        print_json({"running": pid is not None, "pid": pid})
    else:
        echo(f"scheduler running (pid {pid})" if pid else "no scheduler running")
    return 0 if pid else EXIT_FAILED


def _runners_gone(current: Any, summaries: list[Any]) -> dict[int, str]:
    """Running tasks whose runner holds no lock: ended, but not yet finished by anyone."""
    from cairn.state.lock import is_held

    return {
        s.id: f"its runner is gone: `cairn wait {s.id}` (or a running `cairn up`) finishes it"
        for s in summaries
        if s.state == "running" and not is_held(current.layout.runner_lock(s.id))
    }


def _scheduler_running(current: Any) -> bool:
    from cairn.state.lock import is_held

    return is_held(current.layout.scheduler_lock)


def record_json(task: Any, state: Any) -> dict[str, Any]:
    """A task as ``--json`` shows it in full: its two records, as on disk."""
    from cairn.core import codec

    return {"task": codec.encode(task), "state": codec.encode(state)}


def _show(store: Any, ids: tuple[int, ...], as_json: bool) -> int:
    records = [(store.read_task(i), store.read_state(i)) for i in ids]
    if as_json:
        shown = [record_json(t, s) for t, s in records]
        print_json(shown[0] if len(shown) == 1 else shown)
        return 0
    from cairn.cmd.views import task_details

    echo("\n\n".join(task_details(store.layout, t, s) for t, s in records))
    return 0


def _list(store: Any, current: Any, states: set[str], as_json: bool) -> int:
    from cairn.core.schedule import plan

    scan = store.scan()
    decided = plan(scan.summaries, current.max_agents)
    reasons = {**decided.waiting, **{i: f"cannot start: {why}" for i, why in decided.fail.items()}}
    reasons.update(_runners_gone(current, scan.summaries))
    shown = [s for s in scan.summaries if not states or s.state in states]
    if as_json:
        print_json([_summary_json(s, reasons.get(s.id)) for s in shown])
    else:
        from cairn.cmd.views import status_table

        echo(status_table(shown, reasons, time.time(), _width()), nl=False)
        if not shown:
            echo("no tasks" + (" in that state" if states else " yet: `cairn queue \"what to do\"` adds one"))
        elif any(s.id in decided.start for s in shown) and not _scheduler_running(current):
            # On stderr: a note for the person, not a row for scripts reading the table.
            echo("no scheduler is running: `cairn up` starts queued tasks (or `cairn spawn ID`, one at a time)", err=True)
    for problem in scan.problems:
        echo(f"cairn status: skipped {problem.path}: {problem.message}", err=True)
    return 0


def _summary_json(summary: Any, waiting: str | None) -> dict[str, Any]:
    from cairn.core.codec import instant_to_text

    data = summary._asdict()
    data["created"] = instant_to_text(summary.created)
    data["since"] = instant_to_text(summary.since)
    data["idle_since"] = instant_to_text(summary.idle_since) if summary.idle_since else None
    data["waiting"] = waiting
    return data


def _width() -> int | None:
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


main = entrypoint(command, "status")
