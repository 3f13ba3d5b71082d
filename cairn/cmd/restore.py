"""``cairn restore ID``: bring a rejected task back to review, workspace and all."""

from __future__ import annotations

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, print_json, settings, store_for, verb


@verb("Bring a rejected task back to review (until gc has expired its work).")
@argument("task_id", type=TASK_ID)
@json_option
def command(task_id: int, as_json: bool) -> None:
    current = settings()
    store = store_for(current)
    from cairn.land.reject import restore

    state = restore(store, current, task_id)
    if as_json:
        from cairn.core.task_json import task_json

        print_json(task_json(store.read_task(task_id), state))
    else:
        echo(f"restored task {task_id} to review")


main = entrypoint(command, "restore")
