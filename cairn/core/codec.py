"""Records (cairn/core/records.py) to and from JSON values, checked field by field.

Why not pydantic here: ``cairn status`` decodes thousands of records and must
start in a few tens of milliseconds, and importing pydantic alone costs ten
times the interpreter's start.  This codec knows just the types the state
directory uses: str, int, float, bool, ``Instant``, ``X | None``, ``list[X]``,
``dict[str, X]``, ``Literal[...]``, nested records, and unions of records
told apart by a ``Literal`` field (a discriminated union).

Invariant: ``decode(cls, encode(value)) == value`` for every record type.
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin

from cairn.core import records
from cairn.core.instants import instant_to_text as instant_to_text, text_to_instant as text_to_instant  # part of the codec's interface

#: Seconds since the epoch in memory, a plain float (``time.time()``); an ISO
#: 8601 UTC string on disk.  The marker tells the codec, and the type checker
#: sees a float.
Instant = Annotated[float, "cairn-instant"]

T = TypeVar("T")


class DecodeError(ValueError):
    """A value does not fit its record type; ``path`` says where (``checks.status``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return records.hints(cls)


@cache
def _discriminators(union: Any) -> tuple[str, dict[str, type]]:
    """For a union of records: the tag field's name (the first field that
    is a ``Literal`` of one value) and tag -> class."""
    members = [m for m in get_args(union) if m is not type(None)]
    hints = _hints(members[0])
    field_name = next(f.name for f in records.fields(members[0]) if get_origin(hints[f.name]) is Literal)
    table: dict[str, type] = {}
    for member in members:
        (tag,) = get_args(_hints(member)[field_name])
        table[tag] = member
    return field_name, table


def encode(value: Any) -> Any:
    """A record (or a value inside one) as JSON-ready data, ``None`` fields kept."""
    if records.is_record(value) and not isinstance(value, type):
        kind: Any = type(value)
        hints = _hints(kind)
        return {
            f.name: _encode_field(hints[f.name], getattr(value, f.name))
            for f in records.fields(value)
        }
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def _encode_field(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if _is_instant(hint) or (_is_optional(hint) and _is_instant(_strip_none(hint))):
        return instant_to_text(value)
    return encode(value)


def _is_instant(hint: Any) -> bool:
    # The type first: comparing a union or a list alias with an Annotated one is typing's slow path.
    return hint is Instant or (type(hint) is type(Instant) and hint == Instant)


def decode(hint: type[T] | Any, data: Any, path: str = "") -> T:
    """``data`` checked against ``hint`` and built into it; raises DecodeError."""
    return cast(T, _decode(hint, data, path))


def _decode(hint: Any, data: Any, path: str) -> Any:
    origin = get_origin(hint)
    if hint is Any:
        return data
    if _is_instant(hint):
        if isinstance(data, str):
            try:
                return text_to_instant(data)
            except ValueError:
                pass
        raise DecodeError(path, f"expected an ISO 8601 time, got {data!r}")
    if origin is Annotated:  # another marker (the configuration's durations and sizes): the type underneath
        return _decode(get_args(hint)[0], data, path)
    if origin in (Union, types.UnionType):
        return _decode_union(hint, data, path)
    if origin is Literal:
        if data in get_args(hint):
            return data
        allowed = ", ".join(repr(a) for a in get_args(hint))
        raise DecodeError(path, f"expected one of {allowed}, got {data!r}")
    if origin is list:
        if not isinstance(data, list):
            raise DecodeError(path, f"expected a list, got {type(data).__name__}")
        (item,) = get_args(hint)
        return [_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise DecodeError(path, f"expected a table, got {type(data).__name__}")
        _, item = get_args(hint)
        return {str(k): _decode(item, v, f"{path}.{k}" if path else str(k)) for k, v in data.items()}
    if records.is_record(hint):
        return _decode_record(hint, data, path)
    if hint is float:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return float(data)
    elif hint is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
    elif isinstance(data, hint):
        return data
    raise DecodeError(path, f"expected {getattr(hint, '__name__', hint)}, got {type(data).__name__}")


def _decode_union(hint: Any, data: Any, path: str) -> Any:
    if data is None and _is_optional(hint):
        return None
    inner = _strip_none(hint)
    if get_origin(inner) not in (Union, types.UnionType):
        return _decode(inner, data, path)
    field_name, table = _discriminators(inner)
    tag = data.get(field_name) if isinstance(data, dict) else None
    if tag not in table:
        allowed = ", ".join(table)
        raise DecodeError(_join(path, field_name), f"expected one of {allowed}, got {tag!r}")
    return _decode_record(table[tag], data, path)


def _decode_record(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise DecodeError(path, f"expected a table, got {type(data).__name__}")
    hints = _hints(cls)
    values = {}
    for f in records.fields(cls):
        if f.name in data:
            values[f.name] = _decode(hints[f.name], data[f.name], _join(path, f.name))
        elif f.required:
            raise DecodeError(_join(path, f.name), "missing")
    # Unknown keys are ignored on purpose: a newer Cairn may add fields within
    # the same format version, and an older reader must still read the record.
    return cls(**values)


def _is_optional(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)


def _strip_none(hint: Any) -> Any:
    args = tuple(a for a in get_args(hint) if a is not type(None))
    return args[0] if len(args) == 1 else Union[args]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
