"""``cairn completion SHELL``: the shell completion script, for bash, zsh or fish.

The script knows the verbs and their options (rendered from the commands'
declarations by cairn/cmd/_shells.py, so it cannot drift from them).  What
changes between two Tabs — task ids, agent names — it asks for with
``cairn completion --list tasks|agents``, the hot path here: it reads the
names in ``tasks/`` (or, for a few states, the summary cache `cairn status`
reads) and the cached configuration, and imports nothing else.
"""

from __future__ import annotations

from cairn.cmd._cli import Choice, argument, echo, entrypoint, option, settings, verb
from cairn.core.vocabulary import STATES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cairn.config.load import Settings

SHELLS = ("bash", "zsh", "fish")
LISTS = ("tasks", "agents", "states")


@verb("Print the completion script for SHELL (bash, zsh or fish); see docs/cli.md for where it goes.")
@argument("shell", required=False, type=Choice(SHELLS))
@option("--list", dest="listing", type=Choice(LISTS), help="Print the task ids, agent names or states to offer, one a line (what the script calls on Tab).")
@option("--state", dest="states", multiple=True, type=Choice(STATES), help="With --list tasks: only tasks in this state (repeatable).")
def command(shell: str | None, listing: str | None, states: tuple[str, ...]) -> int:
    if listing is not None:
        for word in _words(listing, states):
            echo(word)
        return 0
    if shell is None:
        from cairn.errors import UsageError

        raise UsageError("say which shell: `cairn completion bash`, `zsh` or `fish`")
    from cairn.cmd._shells import script

    echo(script(shell), nl=False)
    return 0


def _words(listing: str, states: tuple[str, ...]) -> list[str]:
    if listing == "states":
        return list(STATES)
    try:
        current = settings()
    except Exception:  # noqa: BLE001 - outside a repository a Tab offers nothing, silently
        return []
    if listing == "agents":
        return sorted(current.agent_names)
    return [str(i) for i in _task_ids(current, set(states))]


def _task_ids(current: Settings, states: set[str]) -> list[int]:
    """Newest first: the task a person means is most often the last one."""
    layout = current.layout
    if states:
        from cairn.state.store import Store

        store = Store(layout)
        if not store.exists():
            return []
        return sorted((s.id for s in store.scan().summaries if s.state in states), reverse=True)
    import os

    try:
        names = os.listdir(layout.tasks)
    except OSError:
        return []
    return sorted((int(n) for n in names if n.isdigit()), reverse=True)


main = entrypoint(command, "completion")
