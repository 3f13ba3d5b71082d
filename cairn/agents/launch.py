"""From an agent profile to the argv and environment of one run.  Pure.

No shell ever sees a prompt: placeholders are replaced inside argv elements,
so ``{prompt}`` becomes exactly one argument whatever it contains.
"""

from __future__ import annotations

from typing import Any

from cairn.config.schema import AgentProfile

PLACEHOLDERS = ("prompt", "prompt_file", "workspace", "task_id", "session")


def render_argv(profile: AgentProfile, *, prompt: str, prompt_file: str, workspace: str, task_id: int,
                session: str | None = None) -> list[str]:
    """The agent's argv; with ``session`` and a profile that can resume, the ``resume`` argv.

    A prompt no argument can carry (a NUL byte, over the kernel's 128 KiB per
    argument) is replaced in ``{prompt}`` by a line saying where the whole
    prompt is, for a profile that also gets it on standard input or as
    ``{prompt_file}``; ``cairn queue`` refuses it for any other profile
    (core/queueing.py)."""
    from cairn.core.queueing import fits_on_command_line, has_long_form

    if not fits_on_command_line(prompt) and has_long_form(profile.command, profile.stdin):
        where = "on standard input" if profile.stdin else f"in the file {prompt_file}"
        prompt = f"Your task is too long for the command line: read the whole of it {where}, and do what it says."
    values = {"prompt": prompt, "prompt_file": prompt_file, "workspace": workspace, "task_id": str(task_id)}
    template = profile.command
    if session and profile.resume:
        values["session"] = session
        template = profile.resume
    return [_fill(part, values) for part in template]


def _fill(part: str, values: dict[str, str]) -> str:
    # A single pass over the template: text inside a prompt that looks like
    # a placeholder is never expanded again.
    out: list[str] = []
    index = 0
    while index < len(part):
        if part[index] == "{":
            end = part.find("}", index)
            name = part[index + 1 : end] if end != -1 else ""
            if name in values:
                out.append(values[name])
                index = end + 1
                continue
        out.append(part[index])
        index += 1
    return "".join(out)


def task_variables(task_id: int, workspace: str, home: str, prompt_file: str, ports: Any = None) -> dict[str, str]:
    """What every program Cairn starts for a task is told about it (ports: a PortBlock, or None)."""
    values = {"CAIRN_TASK_ID": str(task_id), "CAIRN_WORKSPACE": workspace, "CAIRN_HOME": home, "CAIRN_PROMPT_FILE": prompt_file}
    if ports is not None:
        values.update(CAIRN_PORT=str(ports.first), CAIRN_PORT_COUNT=str(ports.count))
    return values


def agent_environment(base: dict[str, str], profile: AgentProfile, *, task_id: int, workspace: str, home: str, prompt_file: str) -> dict[str, str]:
    """Unfiltered: ``base`` with the profile's ``env`` and the task's variables.
    Runs use cairn.agents.sandbox.Confinement.environment, which applies ``[env]``."""
    env = dict(base)
    env.update(profile.env)
    env.update(task_variables(task_id, workspace, home, prompt_file))
    return env
