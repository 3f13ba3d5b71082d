"""``cairn spawn ID [--wait]``: start one queued task now, scheduler or not."""

from __future__ import annotations

import time

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.core.lifecycle import wrong_state_message
from cairn.errors import EXIT_FAILED, EXIT_OK, OperationFailed, WrongState


@verb("Start a queued task now, without waiting for the scheduler or its agent limit.")
@argument("task_id", type=TASK_ID)
@option("--wait", dest="wait_for_it", is_flag=True, help="Wait for the agent to end; exit 0 if the task reached review.")
@json_option
def command(task_id: int, wait_for_it: bool, as_json: bool) -> int:
    current = settings()
    store = store_for(current)
    state = store.read_state(task_id)
    if state.state != "queued":
        raise WrongState(wrong_state_message(task_id, state.state, "spawn"))
    from cairn.core.model import Failed
    from cairn.core.schedule import plan
    from cairn.engine.launch import launch
    from cairn.engine.waiting import wait_until_settled

    from cairn.agents.preflight import holds
    from cairn.land.radar import paths_to_avoid

    held = holds(current, [store.read_task(task_id).agent])
    summaries = store.scan().summaries
    decided = plan(summaries, current.config.max_agents, only={task_id}, ignore_limit=True,
                   review_paths=paths_to_avoid(store, current, summaries), held=held)
    if task_id in decided.fail:
        reason = decided.fail[task_id]
        store.move(task_id, "failed", lambda _: Failed(since=time.time(), reason=reason), verb="spawn", reason=reason)
        raise OperationFailed(f"task {task_id} can never start: {reason}; it is now failed")
    if task_id in decided.waiting:
        raise WrongState(f"task {task_id} cannot start yet: it waits ({decided.waiting[task_id]})")
    process = launch(current, task_id)
    states = wait_until_settled(store, current, [task_id], 30.0, leave=("queued",))
    if states[task_id] == "queued":
        if process is not None and process.poll() is None:
            process.kill()
        raise OperationFailed(f"the runner for task {task_id} did not start within 30s", hint=f"see {current.layout.agent_log(task_id)}")
    if wait_for_it:
        states = wait_until_settled(store, current, [task_id], None)
    if as_json:
        from cairn.core.task_json import task_json

        print_json(task_json(store.read_task(task_id), store.read_state(task_id)))
    else:
        echo(f"task {task_id}: {states[task_id]}")
    if wait_for_it:
        return EXIT_OK if states[task_id] in ("review", "accepted") else EXIT_FAILED
    return EXIT_OK


main = entrypoint(command, "spawn")
