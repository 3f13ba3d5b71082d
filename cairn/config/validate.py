"""Check configuration sources with pydantic and merge them.

Only imported when a source changed since the cached result (see load.py).
Each source is checked on its own first, so a message names the file (or the
environment variable) that holds the bad value, the key, and what is allowed.

The schema's classes are records (cairn/core/records.py), cheap to import on
every command; pydantic knows dataclasses, so it checks each source against
a dataclass twin of each record class (same names, fields, annotations and
defaults, made here on this slow path only), and the result is turned back
into the records.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from cairn.config.schema import Config
from cairn.core import records
from cairn.errors import ConfigError

if TYPE_CHECKING:  # load.py imports this module: the record type only, no circle at run time
    from pydantic_core import ErrorDetails

    from cairn.config.load import Source



@functools.cache
def _twin(cls: type) -> type:
    """A frozen dataclass with the record class's name, fields and defaults, for pydantic."""
    hints = typing.get_type_hints(cls, include_extras=True)
    specs: list[tuple[str, Any, Any]] = []
    for f in records.fields(cls):
        if f.default is not records.MISSING:
            spec = dataclasses.field(default=f.default)
        elif f.default_factory is not records.MISSING:
            spec = dataclasses.field(default_factory=f.default_factory)
        else:
            spec = dataclasses.field()
        specs.append((f.name, _twin_hint(hints[f.name]), spec))
    made = dataclasses.make_dataclass(cls.__name__, specs, frozen=True, kw_only=True, slots=True,
                                      namespace={"__pydantic_config__": getattr(cls, "__pydantic_config__", None)})
    made.__module__ = cls.__module__
    _RECORD_OF[made] = cls
    return made


def _twin_hint(hint: Any) -> Any:
    """``hint`` with every record class in it replaced by its twin."""
    if isinstance(hint, type) and records.is_record(hint):
        return _twin(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return typing.Annotated[(_twin_hint(args[0]), *hint.__metadata__)]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_twin_hint(a) for a in args)]
    if origin in (list, dict):
        return origin[tuple(_twin_hint(a) for a in args)]
    return hint


#: twin -> the record class it stands for.
_RECORD_OF: dict[type, type] = {}


def _as_record(value: Any) -> Any:
    """A value pydantic made of twins, made of the records again."""
    cls = _RECORD_OF.get(type(value))
    if cls is not None:
        return cls(**{f.name: _as_record(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, list):
        return [_as_record(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_record(v) for k, v in value.items()}
    return value


_ADAPTER: TypeAdapter[Any] = TypeAdapter(_twin(Config))


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
        config: Config = _as_record(_ADAPTER.validate_python(data))
        return config
    except ValidationError as error:
        first = error.errors()[0]
        raise ConfigError(_describe(first, source), hint=_hint(source)) from None


def _describe(error: ErrorDetails, source: Source | None) -> str:
    location = ["pass" if part == "pass_" else str(part) for part in error["loc"]]
    key = ".".join(location)
    if source is not None and source.name == "environment" and location:
        where = f"environment variable {source.variables.get(location[0], location[0])}"
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
        if records.is_record(hint):
            hint = typing.get_type_hints(hint).get(part)
        elif typing.get_origin(hint) is dict:
            hint = typing.get_args(hint)[1]  # a table of named entries: the entry's type
        else:
            return []
        # ``X | None``: the table is the X.
        members = [m for m in typing.get_args(hint) if records.is_record(m)]
        if typing.get_origin(hint) in (typing.Union, types.UnionType) and members:
            hint = members[0]
    return sorted(f.name.rstrip("_") for f in records.fields(hint)) if records.is_record(hint) else []


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
                return f"environment variable {source.variables.get(path[0], path[0])}"
            return source.name
    return "configuration"
