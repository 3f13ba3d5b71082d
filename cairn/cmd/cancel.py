"""``cairn cancel ID...``: a queued task never starts; a running agent is stopped, its work kept."""

from __future__ import annotations

import time

import click

from cairn.cmd._cli import TaskId, entrypoint, json_option, print_json, settings, store_for


@click.command(help="Cancel tasks: a queued task never starts; a running agent is stopped and its work committed.")
@click.argument("ids", nargs=-1, required=True, type=TaskId())
@click.option("--reason", default="cancelled by the user", show_default=True)
@json_option
def command(ids: tuple[int, ...], reason: str, as_json: bool) -> None:
    current = settings()
    store = store_for(current)
    from cairn.core.model import Cancelled

    results = []
    for task_id in ids:
        store.read_task(task_id)  # NoSuchTask before anything changes
        state = store.move(
            task_id,
            "cancelled",
            lambda s: Cancelled(since=time.time(), reason=reason, work=getattr(s, "work", None)),  # type: ignore[arg-type]
            verb="cancel",
            reason=reason,
        )
        results.append({"id": task_id, "state": state.state})
        if not as_json:
            click.echo(f"cancelled task {task_id}")
    if as_json:
        print_json(results)


main = entrypoint(command, "cancel")
