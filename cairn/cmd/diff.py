"""``cairn diff ID [--stat | --name-only]``: read an agent's proposal against the current target.

The task's backend says how (cairn/backends/): git shows a git task's branch,
so the pager and colour follow the user's git settings on a terminal, and it
is plain text when piped; a jj task's change is shown by jj in git's format
(``jj diff -r``).  Once only the recorded preview is left, that is shown.
"""

from __future__ import annotations

import os
import sys

from cairn.cmd._cli import TASK_ID, argument, entrypoint, option, settings, store_for, verb
from cairn.errors import WrongState


@verb("Show a task's proposal against its target: what accepting it would change.")
@argument("task_id", type=TASK_ID)
@option("--stat", dest="form", flag_value="--stat", help="Files and counts only.")
@option("--name-only", dest="form", flag_value="--name-only", help="File names only.")
def command(task_id: int, form: str | None) -> None:
    current = settings()
    store = store_for(current)
    task = store.read_task(task_id)
    state = store.read_state(task_id)
    work = getattr(state, "work", None) or getattr(getattr(state, "previous", None), "work", None)
    if work is None:
        raise WrongState(f"task {task_id} is {state.state}: it has no proposal to show yet")
    from cairn.backends import backend_for

    view = backend_for(current, work).diff_view(work, state, task.target, form)
    if view.text is not None:
        sys.stdout.write(view.text)
        return
    if view.argv is None:
        # Landed or gone: the proposal as it was recorded.
        path = current.layout.preview_diff(task_id)
        if not path.exists():
            raise WrongState(f"task {task_id} is {state.state} and its proposal is no longer kept")
        sys.stdout.write(path.read_text())
        return
    sys.stdout.flush()
    os.execvp(view.argv[0], view.argv)


main = entrypoint(command, "diff")
