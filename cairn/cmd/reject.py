"""``cairn reject ID``: discard a proposal; the work is kept until gc, ``cairn restore`` brings it back."""

from __future__ import annotations

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb


@verb("Reject a task in review. Its work is kept (refs/cairn/trash/ID) until gc; `cairn restore` brings it back.")
@argument("ids", many=True, required=True, type=TASK_ID)
@option("--reason", help="Why, for the record (and for `cairn retry`).")
@json_option
def command(ids: tuple[int, ...], reason: str | None, as_json: bool) -> None:
    current = settings()
    store = store_for(current)
    from cairn.land.reject import kept_note, reject

    for task_id in ids:
        store.read_task(task_id)
    results = []
    for task_id in ids:
        state = reject(store, current, task_id, reason)
        results.append((task_id, state))
        if not as_json:
            echo(f"rejected task {task_id}{kept_note(current, task_id, state)}")
    if as_json:
        from cairn.core.task_json import task_json

        print_json([task_json(store.read_task(i), s) for i, s in results])


main = entrypoint(command, "reject")
