"""``cairn accept ID``: land a task's work on its target branch."""

from __future__ import annotations

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb


@verb("Land a task: rebase it onto its target, run the checks, fast-forward the target.")
@argument("task_id", type=TASK_ID)
@option("--squash", dest="strategy", flag_value="squash", help="One commit carrying the task's title and id.")
@option("--merge", dest="strategy", flag_value="merge", help="A merge commit.")
@option("--rebase", dest="strategy", flag_value="rebase", help="Rebase and fast-forward (the default).")
@option("--apply", dest="strategy", flag_value="apply", help="Put the changes into your working tree, uncommitted.")
@option("--into", metavar="BRANCH", help="Land on BRANCH instead of the branch the task was queued on (jj: a bookmark or revision).")
@option("--no-check", is_flag=True, help="Skip the checks gate.")
@json_option
def command(task_id: int, strategy: str | None, into: str | None, no_check: bool, as_json: bool) -> None:
    current = settings()
    store = store_for(current)
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


main = entrypoint(command, "accept")
