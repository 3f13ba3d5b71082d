"""``cairn attach ID``: join the tmux session a task's agent runs in."""

from __future__ import annotations

import os

from cairn.cmd._cli import TASK_ID, argument, entrypoint, settings, store_for, verb
from cairn.errors import WrongState


@verb("Attach to the tmux session of a running task (detach again with C-b d).")
@argument("task_id", type=TASK_ID)
def command(task_id: int) -> None:
    current = settings()
    store = store_for(current)
    state = store.read_state(task_id)
    if state.state != "running":
        raise WrongState(
            f"task {task_id} is {state.state}: only a running agent has a session to attach to",
            hint=f"`cairn logs {task_id}` shows what it printed",
        )
    session = getattr(state, "tmux_session", None)
    from cairn.agents import tmux

    if not session or not tmux.available() or not tmux.has_session(session):
        raise WrongState(
            f"task {task_id} runs headless (no tmux session)",
            hint=f"follow its output with `cairn logs -f {task_id}`",
        )
    argv = tmux.attach_argv(session)
    os.execvp(argv[0], argv)


main = entrypoint(command, "attach")
