"""``cairn accept ID`` lands one task; ``cairn accept ID ID...``, ``--all`` or
``--plan ID`` land a batch as a merge train (cairn/land/train.py)."""

from __future__ import annotations

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.errors import EXIT_FAILED, UsageError

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any


@verb("Land a task: rebase it onto its target, run the checks, fast-forward the target. Several ids, --all or "
      "--plan land a batch as a merge train: in order, each rebased onto the one before, checked once on the result.")
@argument("task_ids", many=True, type=TASK_ID)
@option("--squash", dest="strategy", flag_value="squash", help="One commit carrying the task's title and id.")
@option("--merge", dest="strategy", flag_value="merge", help="A merge commit.")
@option("--rebase", dest="strategy", flag_value="rebase", help="Rebase and fast-forward (the default).")
@option("--apply", dest="strategy", flag_value="apply", help="Put the changes into your working tree, uncommitted.")
@option("--into", metavar="BRANCH", help="Land on BRANCH instead of the branch the task was queued on (jj: a bookmark or revision).")
@option("--no-check", is_flag=True, help="Skip the checks gate.")
@option("--all", dest="every", is_flag=True, help="A train of every task in review.")
@option("--plan", dest="plan_id", metavar="ID", help="A train of the plan's tasks in review.")
@option("--dry-run", is_flag=True, help="Say what the train would do: its order and where it would stop; change nothing.")
@json_option
def command(task_ids: tuple[int, ...], strategy: str | None, into: str | None, no_check: bool, every: bool,
            plan_id: str | None, dry_run: bool, as_json: bool) -> int:
    current = settings()
    store = store_for(current)
    if every or plan_id is not None or dry_run or len(task_ids) > 1:
        train_say = (lambda line: None) if as_json else (lambda line: echo(f"  {line}"))
        return _train(store, current, task_ids, every=every, plan_id=plan_id, strategy=strategy, into=into,
                      check=not no_check, dry_run=dry_run, as_json=as_json, say=train_say)
    if not task_ids:
        raise UsageError("say which task to accept: cairn accept ID (or several, --all, --plan ID for a train)")
    (task_id,) = task_ids
    from cairn.land.accept import accept
    from cairn.progress import append_to_log, on_terminal

    progress = on_terminal(quiet=as_json, journal=store.journal, log=append_to_log(store.layout.agent_log(task_id)), task=task_id)

    def say(line: str) -> None:
        if not as_json:
            progress.clear()
            echo(f"  {line}")

    # None: the configured strategy for git; jj squashes unless told --rebase.
    try:
        landed = accept(store, current, task_id, strategy=strategy, into=into, check=not no_check, say=say, progress=progress)
    finally:
        progress.clear()
    if as_json:
        from cairn.core.task_json import task_json

        print_json(task_json(store.read_task(task_id), store.read_state(task_id)))
    elif landed.commit:
        echo(f"accepted task {task_id}: {landed.target} is now {landed.commit[:12]} ({landed.strategy})")
    else:
        echo(f"accepted task {task_id}: its changes are in your working tree, uncommitted")
    return 0


def _train(store: Any, current: Any, task_ids: tuple[int, ...], *, every: bool, plan_id: str | None, strategy: str | None,
           into: str | None, check: bool, dry_run: bool, as_json: bool, say: Any) -> int:
    if strategy not in (None, "rebase"):
        raise UsageError(f"a merge train rebases each task onto the one before; --{strategy} lands one task at a time")
    if every and (task_ids or plan_id):
        raise UsageError("--all takes every task in review: give no ids or --plan with it")
    review = [s.id for s in store.scan().summaries if s.state == "review"]
    if plan_id is not None:
        from cairn.state.plans import read_plan

        planned = set(read_plan(store, plan_id).tasks.values())
        ids = sorted(set(task_ids) | {i for i in review if i in planned})
    else:
        ids = review if every else sorted(set(task_ids))
    from cairn.land.train import run_train

    report = run_train(store, current, ids, into=into, check=check, dry_run=dry_run, say=say)
    if as_json:
        print_json(report.to_json())
    else:
        _show(report)
    return EXIT_FAILED if report.stayed else 0


def _show(report: Any) -> None:
    would = "would land" if report.dry_run else "landed"
    if report.landed:
        shown = ", ".join(f"{i} ({c[:12]})" for i, c in report.landed)
        echo(f"{would} {len(report.landed)} task{'s' if len(report.landed) != 1 else ''} on {report.target}: {shown}")
    else:
        echo(f"{would} nothing on {report.target}")
    for stayed in report.stayed:
        echo(f"{'would stay' if report.dry_run else 'stays'} in review: task {stayed.id}: {stayed.reason}")
    if report.dry_run:
        echo("checks are not run by --dry-run: the train runs them once on the whole batch")
    elif report.landed:
        echo(f"{report.target} is now {report.commit}")
    else:
        echo(f"{report.target} stays at {report.commit}")


main = entrypoint(command, "accept")
