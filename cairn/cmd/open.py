"""``cairn open ID``: the task's workspace in your editor, or its diff in your difftool."""

from __future__ import annotations

import os
import shlex

from cairn.cmd._cli import TASK_ID, argument, entrypoint, option, settings, store_for, verb
from cairn.errors import UsageError, WrongState


@verb("Open a task's workspace in $VISUAL / $EDITOR, or with --difftool in `git difftool -d`.")
@argument("task_id", type=TASK_ID)
@option("--difftool", is_flag=True, help="Compare with the target in git's configured difftool.")
def command(task_id: int, difftool: bool) -> None:
    current = settings()
    store = store_for(current)
    task = store.read_task(task_id)
    state = store.read_state(task_id)
    work = getattr(state, "work", None)
    if work is None or not os.path.isdir(work.workspace):
        raise WrongState(f"task {task_id} is {state.state} and has no workspace to open")
    if difftool:
        span = f"{task.target}...{work.branch}" if task.target else f"{work.base_commit}..{work.branch}"
        os.execvp("git", ["git", "-C", str(current.root), "difftool", "-d", span])
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UsageError("set $VISUAL or $EDITOR to open a workspace", hint=f"or look yourself: cd {work.workspace}")
    argv = [*shlex.split(editor), work.workspace]
    os.execvp(argv[0], argv)


main = entrypoint(command, "open")
