"""``cairn cancel ID...``: a queued task never starts; a running agent is stopped, its work kept.

A running task is cancelled through its runner: a ``signals/cancel-<id>``
file says why, SIGTERM wakes the runner, which stops the agent's whole process
tree, commits what it left and records ``cancelled``.  If the runner is gone,
recovery does the same here.
"""

from __future__ import annotations

import os
import signal
import time

from cairn.cmd._cli import TASK_ID, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.core.lifecycle import wrong_state_message
from cairn.errors import OperationFailed, WrongState
from cairn.state import atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cairn.config.load import Settings
    from cairn.core.model import Running
    from cairn.state.store import Store


@verb("Cancel tasks: a queued task never starts; a running agent is stopped and its work committed.")
@argument("ids", many=True, required=True, type=TASK_ID)
@option("--reason", default="cancelled by the user", show_default=True)
@json_option
def command(ids: tuple[int, ...], reason: str, as_json: bool) -> None:
    current = settings()
    store = store_for(current)
    from cairn.core.model import Cancelled, Running

    for task_id in ids:
        store.read_task(task_id)  # NoSuchTask before anything changes
    results = []
    for task_id in ids:
        with store.locked(task_id) as state:
            if state.state == "queued":
                store.write_state(task_id, Cancelled(since=time.time(), reason=reason))
                queued = True
            elif isinstance(state, Running):
                queued = False
                atomic.write_json(current.layout.signals / f"cancel-{task_id}", {"reason": reason, "at": time.time()})
            else:
                raise WrongState(wrong_state_message(task_id, state.state, "cancel"))
        if queued:
            store.journal("cancelled", task=task_id, previous="queued", reason=reason)
        else:
            _stop_running(store, current, task_id, state)
        final_state = store.read_state(task_id)
        final = final_state.state
        results.append((task_id, final_state))
        if not as_json:
            echo(f"task {task_id}: {final}")
    if as_json:
        from cairn.core.task_json import task_json

        print_json([task_json(store.read_task(i), s) for i, s in results])


def _stop_running(store: Store, current: Settings, task_id: int, state: Running) -> None:
    from cairn.engine.recovery import recover, runner_alive
    from cairn.engine.waiting import wait_until_settled

    if runner_alive(store, task_id):
        try:
            os.kill(state.runner_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    else:
        recover(store, current, task_id)
    states = wait_until_settled(store, current, [task_id], 60.0, leave=("running",))
    if states[task_id] == "running":
        raise OperationFailed(f"task {task_id} did not stop within 60s", hint="its runner may be stuck; see `cairn logs`")


main = entrypoint(command, "cancel")
