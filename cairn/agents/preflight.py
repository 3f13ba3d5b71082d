"""Preflight: can each agent run here, now?  The I/O half of core/readiness.py.

Cheap enough for every scheduler turn: a PATH lookup and a few ``stat``s per
agent with queued tasks; the version (a subprocess) only for ``cairn agents``.
The environment is the one the agent would get (ours plus its profile's), and
``~`` in a credential file is that environment's HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cairn.core.readiness import Readiness, assess

#: A CLI that takes longer than this to print its version is reported without one.
VERSION_TIMEOUT = 60.0


def check(agent: str, profile: Any, root: Path | None, *, with_version: bool = False) -> Readiness:
    env = {**os.environ, **profile.env}
    binary = shutil.which(profile.command[0], path=env.get("PATH"))
    files = profile.credentials.files if profile.credentials is not None else []
    existing = {name for name in files if _credential_file(name, env, root).exists()}
    version = _version(profile.version, env) if with_version and binary and profile.version else None
    return assess(agent, profile, binary=binary, env=env, existing=existing, version=version)


def holds(settings: Any, agents: Iterable[str]) -> dict[str, str]:
    """Agent -> why its queued tasks may not start, for each agent that cannot run."""
    config = settings.config
    if not config.preflight:
        return {}
    held = {}
    for agent in set(agents):
        profile = config.agents.get(agent)
        if profile is None:
            continue
        readiness = check(agent, profile, settings.root)
        if readiness.problem is not None:
            held[agent] = readiness.problem
    return held


def held_for(settings: Any, summaries: Iterable[Any]) -> dict[str, str]:
    """``holds`` for the agents of the queued tasks among ``summaries``; none queued: nothing to check."""
    queued = {s.agent for s in summaries if s.state == "queued"}
    return holds(settings, queued) if queued else {}


def _credential_file(name: str, env: dict[str, str], root: Path | None) -> Path:
    if name.startswith("~/"):
        return Path(env.get("HOME") or os.path.expanduser("~")) / name[2:]
    path = Path(name)
    return path if path.is_absolute() or root is None else root / path


def _version(argv: list[str], env: dict[str, str]) -> str | None:
    try:
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=VERSION_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in (done.stdout or done.stderr).splitlines() if line.strip()]
    # Some print a warning first (codex, about its helper binaries): the version is the last line.
    return lines[-1] if lines else None
