"""Frozen, slotted, keyword-only record classes, made without generating code.

``@record`` is what ``@dataclass(frozen=True, kw_only=True, slots=True)``
was for the state directory's records and the configuration: the same
constructor, equality, hash, repr and immutability, and ``replace`` and
``fields`` in place of ``dataclasses.replace`` and ``dataclasses.fields``.

Why not dataclasses: ``@dataclass`` writes each class's ``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__`` as
source text and compiles it with ``exec`` at import — about 1.5 ms a class,
so the record and configuration classes cost every ``cairn queue``,
``accept``, ``reject`` and ``diff`` 30-60 ms, plus ``inspect``, which
``dataclasses`` imports (docs/performance.md).  Here every record class shares
one set of plain methods that read the class's field table.

What must always hold: the fields are the annotated names of the class and
of its record bases, base fields first, in order; a field without a default
must be given; ``ClassVar`` annotations are not fields.  mypy checks a record
like a dataclass (``dataclass_transform``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: this is on every hot path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    R = TypeVar("R")
    C = TypeVar("C", bound=type)
else:
    def dataclass_transform(**_options):
        return lambda decorated: decorated


class FrozenRecordError(AttributeError):
    """A field of a record was assigned or deleted: records never change (``replace`` makes a new one)."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: A field's default when it has none.
MISSING: Any = _Missing()


class Field:
    """One field: its name, its annotation as written (and the module it was
    written in, whose names it uses), its default or default factory."""

    __slots__ = ("name", "annotation", "module", "default", "default_factory")

    def __init__(self, name: str, annotation: str, module: str, default: Any, default_factory: Any) -> None:
        self.name = name
        self.annotation = annotation
        self.module = module
        self.default = default
        self.default_factory = default_factory

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.default_factory is MISSING

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    """A field whose default is made afresh for each record (``field(default_factory=list)``)."""
    return _Factory(default_factory)


def _init(self: Any, *given: Any, **values: Any) -> None:
    cls = type(self)
    table = cls.__record_fields__
    if given:
        if cls.__record_keywords_only__ or len(given) > len(table):
            raise TypeError(f"{cls.__qualname__}() takes {0 if cls.__record_keywords_only__ else len(table)} "
                            f"positional arguments but {len(given)} were given")
        for f, value in zip(table, given):
            if f.name in values:
                raise TypeError(f"{cls.__qualname__}() got multiple values for argument {f.name!r}")
            values[f.name] = value
    for f in table:
        if f.name in values:
            value = values.pop(f.name)
        elif f.default is not MISSING:
            value = f.default
        elif f.default_factory is not MISSING:
            value = f.default_factory()
        else:
            raise TypeError(f"{cls.__qualname__}() missing required argument: {f.name!r}")
        object.__setattr__(self, f.name, value)
    if values:
        raise TypeError(f"{cls.__qualname__}() got an unexpected keyword argument {next(iter(values))!r}")


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in type(self).__record_fields__)


def _eq(self: Any, other: object) -> Any:
    if type(other) is not type(self):
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in type(self).__record_fields__)
    return f"{type(self).__qualname__}({shown})"


def _refuse_set(self: Any, name: str, value: Any) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r}: a {type(self).__qualname__} never changes")


def _refuse_delete(self: Any, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r}: a {type(self).__qualname__} never changes")


def _getstate(self: Any) -> dict[str, Any]:
    return {f.name: getattr(self, f.name) for f in type(self).__record_fields__}


def _setstate(self: Any, state: dict[str, Any]) -> None:
    # pickle and copy restore a record through here: the frozen __setattr__ would refuse.
    for name, value in state.items():
        object.__setattr__(self, name, value)


_METHODS = {
    "__init__": _init, "__eq__": _eq, "__hash__": _hash, "__repr__": _repr, "__setattr__": _refuse_set,
    "__delattr__": _refuse_delete, "__getstate__": _getstate, "__setstate__": _setstate,
}


if TYPE_CHECKING:
    from typing import overload
else:
    def overload(declared):
        return declared


@overload
def record(cls: C, /) -> C: ...


@overload
def record(*, kw_only: bool = True) -> Callable[[C], C]: ...


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def record(cls: Any = None, /, *, kw_only: bool = True) -> Any:
    """The class as a frozen, slotted record (see the module's docstring): keyword
    arguments only, unless ``@record(kw_only=False)`` (then in field order too)."""
    if cls is None:
        return lambda decorated: _make(decorated, kw_only)
    return _make(cls, kw_only)


def _make(cls: C, keywords_only: bool) -> C:
    inherited: list[Field] = [f for base in reversed(cls.__mro__[1:]) for f in base.__dict__.get("__record_fields__", ())]
    table = {f.name: f for f in inherited}
    namespace = dict(cls.__dict__)
    own: list[str] = []
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        default = namespace.pop(name, MISSING)
        factory = MISSING
        if isinstance(default, _Factory):
            default, factory = MISSING, default.make
        table[name] = Field(name, text, cls.__module__, default, factory)
        if name not in {f.name for f in inherited}:
            own.append(name)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    namespace["__slots__"] = tuple(own)
    namespace["__qualname__"] = cls.__qualname__
    namespace["__record_fields__"] = tuple(table.values())
    namespace["__record_keywords_only__"] = keywords_only
    namespace.update(_METHODS)
    made: C = type(cls)(cls.__name__, cls.__bases__, namespace)
    return made


def is_record(value: object) -> bool:
    """A record class or a record."""
    return hasattr(value if isinstance(value, type) else type(value), "__record_fields__")


def fields(value: Any) -> tuple[Field, ...]:
    """A record's (or a record class's) fields, in order."""
    fields_of: tuple[Field, ...] = getattr(value if isinstance(value, type) else type(value), "__record_fields__")
    return fields_of


def hints(cls: type) -> dict[str, Any]:
    """Each field's type, evaluated from its annotation in its module (what
    ``typing.get_type_hints(cls, include_extras=True)`` gives, at a fraction
    of its cost: the codec asks for each record class it meets)."""
    import sys

    evaluated: dict[str, Any] = {}
    by_module: dict[str, list[Field]] = {}
    for f in fields(cls):
        by_module.setdefault(f.module, []).append(f)
    for module, written in by_module.items():
        # One expression for all of a module's fields: compiling is most of an eval's cost.
        values = eval(f"({''.join(f'{f.annotation},' for f in written)})", vars(sys.modules[module]))
        evaluated.update(zip((f.name for f in written), values))
    return {f.name: type(None) if evaluated[f.name] is None else evaluated[f.name] for f in fields(cls)}  # as typing says a bare None


def replace(value: R, /, **changes: Any) -> R:
    """A copy of the record with ``changes`` made (as ``dataclasses.replace``)."""
    current = {f.name: getattr(value, f.name) for f in fields(value)}
    current.update(changes)
    return type(value)(**current)
