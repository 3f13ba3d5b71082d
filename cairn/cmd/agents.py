"""``cairn agents [NAME]... [--json]``: each agent profile, and whether it can run here.

The same preflight the scheduler asks before an agent's first task (binary
on PATH, credentials present), plus the version each CLI reports.  Exit 0
when every listed agent is ready, 1 when one is not.
"""

from __future__ import annotations

from cairn.cmd._cli import argument, echo, entrypoint, json_option, print_json, settings, verb
from cairn.errors import EXIT_FAILED, EXIT_OK


@verb("List the agent profiles: ready or what is missing (binary, credentials), version, command.")
@argument("names", many=True)
@json_option
def command(names: tuple[str, ...], as_json: bool) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from cairn.agents.preflight import check
    from cairn.core.queueing import check_agent

    current = settings()
    profiles = current.config.agents
    chosen = [check_agent(name, list(profiles)) for name in names] or sorted(profiles)
    # Each CLI takes a while to print its version: ask them all at once.
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        found = list(pool.map(lambda name: check(name, profiles[name], current.root, with_version=True), chosen))
    if as_json:
        print_json([
            {"agent": r.agent, "ready": r.ready, "problem": r.problem, "binary": r.binary, "version": r.version,
             "command": profiles[r.agent].command, "stdin": profiles[r.agent].stdin,
             "description": profiles[r.agent].description}
            for r in found
        ])
    else:
        width = max(len(r.agent) for r in found)
        for r in found:
            status = "ready" if r.ready else "not ready"
            line = f"{r.agent.ljust(width)}  {status:<9}  {r.version or '-'}"
            echo(line if r.ready else f"{line}\n{' ' * width}  {r.problem}")
    return EXIT_OK if all(r.ready for r in found) else EXIT_FAILED


main = entrypoint(command, "agents")
