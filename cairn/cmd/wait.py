"""``cairn wait ID... [--timeout D]``: block until each task has left queued/running."""

from __future__ import annotations

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.errors import EXIT_FAILED, EXIT_OK, UsageError

GOOD = ("review", "accepted")


@verb("Wait until each task has left queued and running. Exit 0 only if all reached review or accepted.")
@argument("ids", many=True, required=True, type=TASK_ID)
@option("--timeout", metavar="DURATION", help="Give up after this long (exit 1).")
@json_option
def command(ids: tuple[int, ...], timeout: str | None, as_json: bool) -> int:
    seconds = None
    if timeout is not None:
        from cairn.core.durations import parse_duration

        try:
            seconds = parse_duration(timeout)
        except ValueError as error:
            raise UsageError(f"--timeout: {error}") from None
    current = settings()
    store = store_for(current)
    for task_id in ids:
        store.read_task(task_id)
    from cairn.engine.waiting import wait_until_settled
    from cairn.state.scheduler_info import running_scheduler

    queued = [i for i in ids if store.read_state(i).state == "queued"]
    if queued and running_scheduler(current.layout) is None:
        listed = ", ".join(map(str, queued))
        echo(f"cairn wait: task {listed} is queued and no scheduler is running: "
                   f"start one with `cairn up`, or `cairn spawn ID`", err=True)

    states = wait_until_settled(store, current, list(ids), seconds)
    timed_out = any(s in ("queued", "running") for s in states.values())
    if as_json:
        print_json({"states": {str(k): v for k, v in states.items()}, "timed_out": timed_out})
    else:
        for task_id, state in states.items():
            echo(f"task {task_id}: {state}")
    if timed_out:
        echo(f"cairn wait: timed out after {timeout}", err=True)
        return EXIT_FAILED
    return EXIT_OK if all(s in GOOD for s in states.values()) else EXIT_FAILED


main = entrypoint(command, "wait")
