"""Check configuration sources with pydantic and merge them.

Only imported when a source changed since the cached result (see load.py).
Each source is checked on its own first, so a message names the file (or the
environment variable) that holds the bad value, the key, and what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cairn.config.load import Source
from cairn.config.load import ENVIRONMENT_KEYS
from cairn.config.schema import Config
from cairn.errors import ConfigError

_ADAPTER = TypeAdapter(Config)
_VARIABLE_FOR_KEY = {key: variable for variable, key in ENVIRONMENT_KEYS.items()}


def validate(sources: list[Source]) -> Config:
    for source in sources:
        _check(source.data, source)
    merged: dict[str, Any] = {}
    for source in sources:
        merged = merge(merged, source.data)
    config = _check(merged, None)
    _check_references(config, sources)
    return config


def merge(base: dict[str, Any], override: dict[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """``override`` over ``base``: tables merge key by key, except that an agent
    profile is replaced whole (half of one profile and half of another would
    run a command nobody wrote)."""
    result = dict(base)
    for key, value in override.items():
        whole = path == ("agents",)
        if isinstance(value, dict) and isinstance(result.get(key), dict) and not whole:
            result[key] = merge(result[key], value, (*path, key))
        else:
            result[key] = value
    return result


def _check(data: dict[str, Any], source: Source | None) -> Config:
    env = data.get("env")
    if isinstance(env, dict) and "pass" in env:
        # ``[env] pass`` is stored as ``pass_``: a Python keyword cannot name a field.
        data = {**data, "env": {("pass_" if k == "pass" else k): v for k, v in env.items()}}
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(_describe(first, source), hint=_hint(source)) from None


def _describe(error: dict[str, Any], source: Source | None) -> str:
    location = ["pass" if part == "pass_" else str(part) for part in error["loc"]]
    key = ".".join(location)
    if source is not None and source.name == "environment" and location:
        where = f"environment variable {_VARIABLE_FOR_KEY.get(location[0], location[0])}"
    elif source is not None:
        where = f"{source.name}: {key}"
    else:
        where = f"configuration: {key}"
    kind = error.get("type", "")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"{where}: unknown setting; known here: {', '.join(_known_keys(location[:-1]))}"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    shown = error.get("input")
    if kind != "missing" and not isinstance(shown, dict) and "got " not in message:
        message += f" (got {shown!r})"
    return f"{where}: {message}"


def _known_keys(parents: list[str]) -> list[str]:
    """The setting names allowed in the table at ``parents`` (``agents.x`` -> a profile's)."""
    hint: Any = Config
    for part in parents:
        if dataclasses.is_dataclass(hint):
            hint = typing.get_type_hints(hint).get(part)
        elif typing.get_origin(hint) is dict:
            hint = typing.get_args(hint)[1]  # a table of named entries: the entry's type
        else:
            return []
        # ``X | None``: the table is the X.
        members = [m for m in typing.get_args(hint) if dataclasses.is_dataclass(m)]
        if typing.get_origin(hint) in (typing.Union, types.UnionType) and members:
            hint = members[0]
    return sorted(f.name.rstrip("_") for f in dataclasses.fields(hint)) if dataclasses.is_dataclass(hint) else []


def _hint(source: Source | None) -> str:
    if source is None:
        return "docs/configuration.md lists every setting"
    if source.name == "environment":
        return "fix or unset that variable; docs/configuration.md lists every setting"
    return f"fix it in {source.name}; docs/configuration.md lists every setting"


def _check_references(config: Config, sources: list[Source]) -> None:
    known = sorted(config.agents)
    if config.default_agent not in config.agents:
        raise ConfigError(
            f"{_origin(sources, 'default_agent')}: default_agent is {config.default_agent!r}, "
            f"which is not a known agent; known: {', '.join(known)}",
            hint=f"set it to one of those, or define [agents.{config.default_agent}]",
        )
    if config.reviewer.agent is not None and config.reviewer.agent not in config.agents:
        raise ConfigError(
            f"{_origin(sources, 'reviewer', 'agent')}: reviewer.agent is {config.reviewer.agent!r}, "
            f"which is not a known agent; known: {', '.join(known)}"
        )
    if config.planner.agent is not None and config.planner.agent not in config.agents:
        raise ConfigError(
            f"{_origin(sources, 'planner', 'agent')}: planner.agent is {config.planner.agent!r}, "
            f"which is not a known agent; known: {', '.join(known)}"
        )
    for name, profile in config.agents.items():
        if not profile.command:
            raise ConfigError(
                f"{_origin(sources, 'agents', name)}: agents.{name}.command is empty: "
                f"give the agent's argv, e.g. [\"my-agent\", \"{{prompt}}\"]"
            )


def _origin(sources: list[Source], *path: str) -> str:
    """For messages: the source whose value for ``path`` is in force (the last that sets it)."""
    for source in reversed(sources):
        data: Any = source.data
        for part in path:
            data = data.get(part) if isinstance(data, dict) else None
        if data is not None:
            if source.name == "environment":
                return f"environment variable {_VARIABLE_FOR_KEY.get(path[0], path[0])}"
            return source.name
    return "configuration"
