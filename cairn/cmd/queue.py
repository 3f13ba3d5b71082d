"""``cairn queue [OPTIONS] [PROMPT]...``: record a task; print its id."""

from __future__ import annotations

import time

from cairn.cmd._cli import TASK_ID, Choice, argument, echo, entrypoint, json_option, option, print_json, settings, store_for, verb
from cairn.core import queueing
from cairn.core.vocabulary import EXECUTORS, PRIORITIES
from cairn.errors import NoSuchTask, UsageError

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any


@verb("Record a task for an agent and print its id. The prompt is the arguments joined "
      "by spaces, or the contents of --file (- reads standard input).")
@argument("prompt", many=True)
@option("-p", "--priority", type=Choice(PRIORITIES, case_sensitive=False), default="normal", show_default=True)
@option("-a", "--agent", help="Agent profile (default: the configured default_agent).")
@option("--title", help="A short title (default: the prompt's first line).")
@option("-f", "--file", dest="prompt_file", metavar="FILE", help="Read the prompt from a file; - for stdin.")
@option("--after", type=TASK_ID, multiple=True, help="Start only once task ID is accepted (repeatable).")
@option("--lock", dest="locks", multiple=True, metavar="GLOB", help="Paths the task will touch (repeatable).")
@option("--base", metavar="REV", help="Start the workspace from REV instead of the target's tip.")
@option("--timeout", metavar="DURATION", help="Stop the agent after this long (90s, 10m, 2h, 1d).")
@option("--executor", type=Choice(EXECUTORS), help="Where the agent runs (default: the configured executor; docs/executors.md).")
@option("--from", dest="plan_file", metavar="FILE", help="Queue every task of a plan file (TOML or JSON), all or none.")
@option("--sandbox", type=Choice(["auto", "none", "bwrap"]), help="Confine the agent with bubblewrap (default: the configured sandbox).")
@json_option
def command(
    prompt: tuple[str, ...],
    priority: str,
    agent: str | None,
    title: str | None,
    prompt_file: str | None,
    after: tuple[int, ...],
    locks: tuple[str, ...],
    base: str | None,
    timeout: str | None,
    executor: str | None,
    plan_file: str | None,
    sandbox: str | None,
    as_json: bool,
) -> None:
    if plan_file is not None:
        return _queue_plan(plan_file, agent, given=bool(prompt or prompt_file or title or after or locks or base or timeout or sandbox), as_json=as_json)
    began = time.monotonic()
    if prompt and prompt_file is not None:
        raise UsageError("give the prompt as arguments or with --file, not both")
    text = _read_prompt(prompt_file) if prompt_file is not None else " ".join(prompt)
    text = queueing.check_prompt(text)
    task_title = queueing.make_title(text, title)
    seconds = queueing.check_timeout(timeout)
    lock_globs = queueing.check_locks(locks)

    if sandbox == "bwrap":
        import shutil

        if shutil.which("bwrap") is None:
            from cairn.agents.sandbox import INSTALL_HINT

            raise UsageError("--sandbox bwrap: bubblewrap (bwrap) is not installed; nothing was queued", hint=INSTALL_HINT)
    current = settings()
    chosen = queueing.check_agent(agent or current.default_agent, current.agent_names)
    if not queueing.fits_on_command_line(text):
        # Rare: only then is the profile itself read.
        profile = current.config.agents[chosen]
        queueing.check_prompt_for(text, chosen, profile.command, profile.stdin)
    store = store_for(current)  # created below, once the input is known to be good
    for dependency in after:
        if not store.has_task(dependency):
            raise NoSuchTask(dependency, hint="--after names a task that must exist; `cairn status` lists them")
    if base is not None:
        if current.root is None:
            raise UsageError("--base needs a repository; run Cairn inside one")
        from cairn.backends import backend_for

        backend_for(current).check_base(base)
    store.ensure(current.root)
    target = _current_branch(current.root)
    where = executor or current.default_executor

    from cairn.core.model import PRIORITY_NAMES, SANDBOXES, Queued, Task, one_of

    rank = one_of(priority.lower(), PRIORITY_NAMES) or "normal"  # the option accepts only these names

    def build(task_id: int) -> Task:
        return Task(
            id=task_id,
            title=task_title,
            prompt=text,
            priority=rank,
            agent=chosen,
            created=time.time(),
            target=target,
            base=base,
            after=sorted(set(after)),
            locks=lock_globs,
            timeout=seconds,
            executor=None if where == "local" else where,
            sandbox=one_of(sandbox, SANDBOXES) if sandbox else None,
        )

    task = store.create_task(build, lambda t: Queued(since=t.created))
    from cairn.state.store import elapsed_ms

    try:
        store.journal("queued", task=task.id, title=task.title, agent=task.agent, priority=task.priority, duration_ms=elapsed_ms(began))
    except OSError as error:
        # The task is on disk whole: it is queued, and saying so keeps a
        # retrying script from queueing it twice.
        from cairn.errors import describe_os_error

        echo(f"cairn queue: task {task.id} is queued, but events.jsonl does not record it: {describe_os_error(error)}", err=True)
    if as_json:
        from cairn.core.task_json import task_json

        print_json(task_json(task, store.read_state(task.id)))
    else:
        echo(task.id)


def _queue_plan(plan_file: str, agent: str | None, *, given: bool, as_json: bool) -> None:
    """``--from FILE``: the tasks and their settings come from the plan."""
    from pathlib import Path

    from cairn.cmd._plans import queue_whole, read_plan_file, report_queued

    if given:
        raise UsageError("--from takes every task and its settings from the plan file: give no prompt or other task options",
                         hint="-a/--agent still sets the agent of tasks the plan does not give one")
    current = settings()
    path = Path(plan_file)
    plan = read_plan_file(path, current.agent_names)
    report_queued(queue_whole(current, store_for(current), plan, source=path, default_agent=agent), as_json)


def _read_prompt(name: str) -> str:
    """The file's text exactly (bytes, so no newline translation), or a UsageError."""
    import sys

    try:
        if name == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(name, "rb") as handle:
                raw = handle.read()
    except OSError as error:
        raise UsageError(f"--file {name}: {error.strerror}", hint="give a readable file, or - for standard input") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(
            f"--file {name}: not UTF-8 text (byte {error.start}: {error.reason})",
            hint="give the prompt as UTF-8 text",
        ) from None


def _current_branch(root: Any) -> str | None:
    """The branch checked out where the command runs (a linked worktree has its own)."""
    from pathlib import Path

    from cairn.vcs.revisions import current_branch

    return current_branch(root, Path.cwd()) if root is not None else None


main = entrypoint(command, "queue")
