"""``cairn diff ID [--stat | --name-only]``: read an agent's proposal against the current target.

git shows it, so the pager and colour follow the user's git settings on a
terminal, and it is plain text when piped.  A jj task's change is shown by
jj in git's format (``jj diff -r``), through Cairn's jj wrapper.
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
    if work.backend == "jj" and state.state != "accepted":
        from cairn.land.jj_land import proposal_text

        sys.stdout.write(proposal_text(current, work, form))
        return
    from cairn.vcs.worktrees import branch_commit

    root = current.root
    head = branch_commit(root, work.branch) if state.state in ("review", "failed", "cancelled", "running") else None
    if state.state == "rejected":
        head = getattr(state, "trash_ref", None)
    if head is None:
        # Landed or gone: the proposal as it was recorded.
        path = current.layout.preview_diff(task_id)
        if not path.exists():
            raise WrongState(f"task {task_id} is {state.state} and its proposal is no longer kept")
        sys.stdout.write(path.read_text())
        return
    target = task.target if task.target and branch_commit(root, task.target) else None
    span = f"{target}...{head}" if target else f"{work.base_commit}..{head}"
    argv = ["git", "-C", str(root), "diff", *([form] if form else []), span, "--"]
    sys.stdout.flush()
    os.execvp("git", argv)


main = entrypoint(command, "diff")
