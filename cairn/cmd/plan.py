"""``cairn plan GOAL``: a planner agent splits a goal into tasks, queued together."""

from __future__ import annotations

from cairn.cmd._cli import Number, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.errors import UsageError


@verb("Run the planner agent on a read-only copy of the target's tip; it writes a plan "
      "(tasks with prompts, locks and order), which is queued all or none, or only shown with --dry-run.")
@argument("goal", many=True)
@option("-a", "--agent", help="The planner's profile (default: planner.agent, else default_agent).")
@option("--dry-run", is_flag=True, help="Print the plan as a table and keep it to edit; queue nothing.")
@option("--max-tasks", type=Number(int, min=1), default=None, help="At most this many tasks (default 8).")
@json_option
def command(goal: tuple[str, ...], agent: str | None, dry_run: bool, max_tasks: int | None, as_json: bool) -> int:
    from cairn.core.queueing import check_prompt

    text = check_prompt(" ".join(goal)) if goal else ""
    if not text.strip():
        raise UsageError("say what the plan is for: cairn plan \"Add OAuth login\"")
    current = settings()
    if current.root is None:
        raise UsageError("cairn plan needs a repository to read")
    store = store_for(current, create=True)
    from cairn.cmd.queue import _current_branch
    from cairn.engine.planner import DEFAULT_MAX_TASKS, draft

    target = _current_branch(current.root)
    if target is None:
        raise UsageError("HEAD is detached: check out the branch the plan's tasks should land on")
    quiet = as_json
    drafted = draft(current, store, text, agent=agent, max_tasks=max_tasks or DEFAULT_MAX_TASKS, target=target,
                    say=(lambda line: None) if quiet else (lambda line: echo(f"  {line}", err=True)))
    from cairn.cmd._plans import plan_table, queue_whole, report_queued

    if dry_run:
        if as_json:
            print_json({"draft": str(drafted.draft), "tasks": [e.name for e in drafted.plan.order()], "queued": False})
            return 0
        echo(plan_table(drafted.plan, current.default_agent))
        echo(f"\nthe plan is in {drafted.draft}: edit it, then `cairn queue --from {drafted.draft}`")
        return 0
    record = queue_whole(current, store, drafted.plan, source=drafted.draft, default_agent=None,
                         name_hint=drafted.plan.goal or text)
    if not as_json:
        echo(plan_table(drafted.plan, current.default_agent))
    report_queued(record, as_json)
    return 0


main = entrypoint(command, "plan")
