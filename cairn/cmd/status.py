"""``cairn status [ID]... [--state S] [--json]``: what runs, what waits and why, what waits for review."""

from __future__ import annotations

import sys
import time

from cairn.cmd._cli import TASK_ID, Choice, Parsed, argument, echo, entrypoint, json_option, option, print_json, store_for, verb
from cairn.core.durations import parse_duration
from cairn.core.vocabulary import PRIORITIES, STATES
from cairn.errors import EXIT_FAILED

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any


class _States(Choice):
    """One state, or several separated by commas (``--state review,failed``)."""

    def __call__(self, text: str) -> tuple[str, ...]:  # type: ignore[override]  # several states parse to a tuple where one Choice parses to a str
        return tuple(Choice.__call__(self, part.strip()) for part in text.split(",") if part.strip())


#: --sort KEY -> the order it lists tasks in (ties: by id).
SORTS = ("id", "created", "updated", "state", "priority", "agent")
#: The order of --short's counts: what needs a person first.
SHORT_ORDER = ("running", "review", "queued", "failed", "cancelled", "rejected", "accepted")


@verb("List tasks (newest last), or show the given tasks in full.")
@argument("ids", many=True, type=TASK_ID)
@option("--state", dest="states", multiple=True, type=_States(STATES), help="Only tasks in these states: repeatable, or several separated by commas (review,failed).")
@option("--since", type=Parsed("DURATION", parse_duration), help="Only tasks that changed state within this long (90s, 10m, 2h, 1d).")
@option("--sort", type=Choice(SORTS), default="id", help="Order by id (the default), created, updated (most recent last), state, priority (highest first) or agent.")
@option("--short", is_flag=True, help="One line of counts (3 running, 2 review, 5 queued): for shell prompts and tmux.")
@option("--scheduler", is_flag=True, help="Only say whether a scheduler runs: exit 0 if one does, 1 if not.")
@option("--watch", is_flag=True, help="Redraw the table whenever a task changes (Ctrl-C stops).")
@option("--plan", dest="plan_id", metavar="ID", help="Only the tasks of this plan (cairn plan, cairn queue --from).")
@json_option
def command(ids: tuple[int, ...], states: tuple[tuple[str, ...], ...], since: float | None, sort: str, short: bool,
            scheduler: bool, watch: bool, plan_id: str | None, as_json: bool) -> int:
    from cairn.config.load import resolve_for_reading

    # Reading the tasks needs no valid agent table: a bad configuration is
    # said, and the tasks are shown all the same.
    current, config_error = resolve_for_reading()
    if config_error is not None:
        echo(f"cairn status: the configuration is invalid: {config_error}", err=True)
        echo("  the tasks below are read as they are on disk; commands that start or land work refuse until it is fixed", err=True)
    store = store_for(current)
    if store.exists():
        _refuse_if_unreadable(store)
    wanted = {state for group in states for state in group}
    if plan_id is not None:
        from cairn.state.plans import read_plan

        planned = set(read_plan(store, plan_id).tasks.values())
        return _list(store, current, wanted, as_json, only=planned & set(ids) if ids else planned, since=since, sort=sort)
    if watch:
        from cairn.cmd._watch import watch_status

        return watch_status(store, current, wanted, ids=ids, scheduler=scheduler, as_json=as_json)
    if scheduler:
        return _scheduler_probe(current, as_json)
    if ids:
        return _show(store, ids, as_json)
    if short:
        return _short(store, wanted, since, as_json)
    return _list(store, current, wanted, as_json, since=since, sort=sort)


def _chosen(summaries: list[Any], states: set[str], since: float | None, now: float) -> list[Any]:
    return [s for s in summaries if (not states or s.state in states) and (since is None or s.since >= now - since)]


def _sorted(summaries: list[Any], sort: str) -> list[Any]:
    keys = {
        "id": lambda s: s.id,
        "created": lambda s: (s.created, s.id),
        "updated": lambda s: (s.since, s.id),
        "state": lambda s: (STATES.index(s.state), s.id),
        "priority": lambda s: (-PRIORITIES.index(s.priority), s.id),
        "agent": lambda s: (s.agent, s.id),
    }
    return sorted(summaries, key=keys[sort])


def _short(store: Any, states: set[str], since: float | None, as_json: bool) -> int:
    scan = store.scan()
    counts: dict[str, int] = {}
    for summary in _chosen(scan.summaries, states, since, time.time()):
        counts[summary.state] = counts.get(summary.state, 0) + 1
    ordered = {state: counts[state] for state in SHORT_ORDER if state in counts}
    if as_json:
        print_json({"format": 1, "counts": ordered, "total": sum(ordered.values())})
    else:
        echo(", ".join(f"{n} {state}" for state, n in ordered.items()) or "no tasks")
    return 0


def _refuse_if_unreadable(store: Any) -> None:
    """A state directory whose tasks cannot be listed must not look empty."""
    import os

    try:
        os.listdir(store.layout.tasks)
    except FileNotFoundError:
        return
    except OSError as error:
        from cairn.errors import UsageError, describe_os_error

        raise UsageError(
            f"{describe_os_error(error)}; the tasks there cannot be listed",
            hint=f"run as the user who owns {store.layout.home}, or fix its permissions",
        ) from None


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


def _show(store: Any, ids: tuple[int, ...], as_json: bool) -> int:
    records = [(store.read_task(i), store.read_state(i)) for i in ids]
    if as_json:
        from cairn.cmd.views import read_isolation
        from cairn.core.task_json import task_json

        # How it ran: sandboxed or not, the names of the variables its agent got (never values), ports.
        from cairn.state.reports import read_report

        shown = [{**task_json(t, s), "report": read_report(store.layout, t.id), "isolation": read_isolation(store.layout, t.id)}
                 for t, s in records]
        print_json(shown[0] if len(shown) == 1 else shown)
        return 0
    from cairn.cmd.views import task_details

    echo("\n\n".join(task_details(store.layout, t, s) for t, s in records))
    return 0


def _list(store: Any, current: Any, states: set[str], as_json: bool, only: set[int] | None = None, *,
          since: float | None = None, sort: str = "id") -> int:
    from cairn.core.schedule import plan

    scan = store.scan()
    from cairn.state.scheduler_info import current_holds

    decided = plan(scan.summaries, current.max_agents, review_paths=_paths_to_avoid(store, current, scan.summaries),
                   held=current_holds(current.layout), limits=current.executor_limits)
    reasons = {**decided.waiting, **{i: f"cannot start: {why}" for i, why in decided.fail.items()}}
    reasons.update(_runners_gone(current, scan.summaries))
    marks = _conflict_marks(store, current, scan.summaries)
    shown = _sorted([s for s in _chosen(scan.summaries, states, since, time.time()) if only is None or s.id in only], sort)
    if as_json:
        print_json([{**task, "conflicts_with": marks.get(task["id"], [])} for task in _tasks_json(store, shown, reasons)])
    else:
        from cairn.cmd.views import status_table

        notes = {**reasons, **{i: "conflicts with task" + ("s " if len(o) > 1 else " ") + ", ".join(map(str, o)) for i, o in marks.items()}}
        echo(status_table(shown, notes, time.time(), _width()), nl=False)
        if not shown:
            echo("no tasks" + (" in that state" if states else " changed that recently" if since is not None else " yet: `cairn queue \"what to do\"` adds one"))
        elif any(s.id in decided.start for s in shown) and not _scheduler_running(current):
            # On stderr: a note for the person, not a row for scripts reading the table.
            echo("no scheduler is running: `cairn up` starts queued tasks (or `cairn spawn ID`, one at a time)", err=True)
    for problem in scan.problems:
        echo(f"cairn status: skipped {problem.path}: {problem.message}", err=True)
    return 0


def _paths_to_avoid(store: Any, current: Any, summaries: list[Any]) -> dict[int, list[str]] | None:
    """``schedule.avoid_conflicts``; the radar is imported only when a queued task could wait on a review."""
    if not any(s.state == "review" for s in summaries) or not any(s.state == "queued" and s.locks for s in summaries):
        return None
    from cairn.land.radar import paths_to_avoid

    return paths_to_avoid(store, current, summaries)


def _conflict_marks(store: Any, current: Any, summaries: list[Any]) -> dict[int, list[int]]:
    """Tasks in review whose proposals really conflict with others' (the radar, cached)."""
    if sum(1 for s in summaries if s.state == "review") < 2:
        return {}
    from cairn.land.radar import conflict_marks

    return conflict_marks(store, current, summaries)


def _tasks_json(store: Any, shown: list[Any], reasons: dict[int, str]) -> list[dict[str, Any]]:
    """Each task in the one shape (cairn/core/task_json.py); one that cannot be read
    meanwhile is left out, as the table leaves out what the scan could not read."""
    from cairn.core.task_json import task_json
    from cairn.errors import CairnError

    tasks = []
    for summary in shown:
        try:
            tasks.append(task_json(store.read_task(summary.id), store.read_state(summary.id), reasons.get(summary.id)))
        except CairnError as error:
            echo(f"cairn status: skipped task {summary.id}: {error}", err=True)
    return tasks


def _width() -> int | None:
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


main = entrypoint(command, "status")
