"""``cairn retry ID [--feedback TEXT] [--continue]``: a new attempt, told what went wrong."""

from __future__ import annotations

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb


@verb("Queue a new attempt at a task, with your feedback and what the last attempt changed. "
     "A task still in review is rejected (kept restorable) in favour of the retry.")
@argument("task_id", type=TASK_ID)
@option("--feedback", help="What to do differently.")
@option("--continue", dest="continuing", is_flag=True, help="Start from the previous attempt's work, not the target's tip.")
@option("-a", "--agent", help="Another agent profile for this attempt.")
@json_option
def command(task_id: int, feedback: str | None, continuing: bool, agent: str | None, as_json: bool) -> None:
    current = settings()
    store = store_for(current)
    if agent is not None:
        from cairn.core.queueing import check_agent

        check_agent(agent, list(current.config.agents))
    from cairn.land.retry import retry

    task = retry(store, current, task_id, feedback=feedback, continuing=continuing, agent=agent)
    if as_json:
        from cairn.core.task_json import task_json

        print_json(task_json(task, store.read_state(task.id)))
    else:
        echo(task.id)


main = entrypoint(command, "retry")
