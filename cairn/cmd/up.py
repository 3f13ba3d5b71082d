"""``cairn up``: the scheduler.  What ``devenv up`` runs as the ``cairn`` process."""

from __future__ import annotations

import time

from cairn.cmd._cli import Number, echo, entrypoint, option, settings, store_for, verb


@verb("Run the scheduler: start queued tasks as their turn comes, within the agent limit.")
@option("--max-agents", type=Number(int, min=1), help="Agents at once (default: max_agents from the configuration).")
@option("--until-idle", is_flag=True, help="Exit 0 once nothing runs and nothing queued can start.")
@option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def command(max_agents: int | None, until_idle: bool, quiet: bool) -> int:
    current = settings()
    store_for(current, create=True)
    from cairn.engine.scheduler import Scheduler

    def say(line: str) -> None:
        if not quiet:
            echo(f"{time.strftime('%H:%M:%S')} {line}")

    scheduler = Scheduler(current, max_agents=max_agents or current.config.max_agents, until_idle=until_idle, say=say)
    return scheduler.run()


main = entrypoint(command, "up")
