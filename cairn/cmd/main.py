"""``cairn <verb> ...``: the git-style dispatcher.

A built-in verb runs in this process (no second interpreter start); any other
``cairn-<verb>`` found on PATH is exec'd, so scripts can add verbs of their
own.  ``cairn <verb>`` and ``cairn-<verb>`` take the same arguments.
"""

from __future__ import annotations

import importlib
import os
import sys

from cairn import __version__
from cairn.errors import EXIT_USAGE

#: verb -> one line of help.  Listed here so ``cairn --help`` imports nothing else.
VERBS: dict[str, str] = {
    "demo": "the main job, offline: scripted agents in a throwaway repository",
    "init": "create the state directory (done for you on first use)",
    "queue": "record a task for an agent",
    "plan": "a planner agent splits a goal into tasks, queued together",
    "status": "list tasks, or show one in full",
    "cancel": "cancel a queued or running task",
    "up": "run the scheduler: start queued tasks as their turn comes",
    "spawn": "start one queued task now, without the scheduler",
    "wait": "wait until tasks have left queued and running",
    "logs": "print (or follow) what a task's agent printed",
    "attach": "join the tmux session of a running agent",
    "diff": "read a task's proposal against its target",
    "open": "open a task's workspace in your editor or difftool",
    "accept": "land a task on its target branch (rebase, check, fast-forward)",
    "conflicts": "which tasks in review collide: overlapping paths and real merge conflicts",
    "reject": "discard a proposal (kept restorable until gc)",
    "restore": "bring a rejected task back to review",
    "retry": "queue a new attempt with feedback",
    "jj-sync": "reconcile tasks with a jj repository (describe, notice hand-made squashes and abandons)",
    "gc": "remove what finished tasks left behind; unmerged work is archived first",
    "tui": "a live dashboard: watch the crew, review and land with single keys",
    "events": "print (or follow) the journal of everything that happened",
    "metrics": "per-task times, attempts and outcomes; how each agent does",
    "agents": "the agent profiles: ready or what is missing, version",
    "completion": "print the shell completion script for bash, zsh or fish",
}


def usage() -> str:
    width = max(map(len, VERBS))
    lines = [
        "usage: cairn <verb> [ARGS]...   (also: cairn-<verb> [ARGS]...)",
        "",
        "Run a crew of coding agents in parallel, each in its own workspace.",
        "",
        "verbs:",
        *(f"  {verb.ljust(width)}  {text}" for verb, text in VERBS.items()),
        "",
        "`cairn <verb> --help` tells more; docs/cli.md has them all.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(usage(), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    verb, rest = argv[0], argv[1:]
    if verb in ("-h", "--help", "help"):
        print(usage())
        sys.exit(0)
    if verb in ("-V", "--version", "version"):
        print(f"cairn {__version__}")
        sys.exit(0)
    if verb in VERBS:
        from cairn.cmd._cli import run

        module = importlib.import_module(f"cairn.cmd.{verb.replace('-', '_')}")
        sys.exit(run(module.command, f"cairn {verb}", rest))
    import shutil

    external = shutil.which(f"cairn-{verb}")
    if external:
        os.execv(external, [external, *rest])
    import difflib

    close = difflib.get_close_matches(verb, VERBS, n=1)
    hint = f"did you mean `cairn {close[0]}`?" if close else "`cairn --help` lists the verbs"
    print(f"cairn: {verb!r} is not a cairn verb\n  {hint}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
