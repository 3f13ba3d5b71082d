"""``cairn jj-sync [--dry-run] [--json]``: reconcile Cairn's tasks with the jj repository.

Safe to run from a Makefile or on an interval: it is idempotent, and it exits
0 whatever it found (divergent changes and stale workspaces are reported with
what to do; they are the human's to resolve).
"""

from __future__ import annotations

from cairn.cmd._cli import echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.errors import UsageError


@verb("Describe each jj task's change with its title and id; record changes you squashed (accepted) "
     "or abandoned (rejected) by hand; report divergent changes and stale workspaces.")
@option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@json_option
def command(dry_run: bool, as_json: bool) -> None:
    current = settings()
    from cairn.workspaces.select import uses_jj

    if current.root is None or not uses_jj(current):
        raise UsageError(f"{current.root or current.home} is not a jj repository: jj-sync has nothing to do", hint="it serves repositories where Cairn makes jj workspaces")
    store = store_for(current)
    if not store.exists():
        actions = []
    else:
        from cairn.land.jj_sync import sync

        actions = sync(store, current, dry_run=dry_run)
    if as_json:
        print_json([{"task": a.task_id, "action": a.kind, "message": a.message, "hint": a.hint, **a.data} for a in actions])
        return
    for action in actions:
        echo(f"task {action.task_id}: {'would: ' if dry_run and not action.report_only else ''}{action.message}")
        if action.hint:
            echo(f"  {action.hint}")
    if not actions:
        echo("in sync: nothing to do")


main = entrypoint(command, "jj-sync")
