"""Record classes (cairn/core/records.py) behave as the frozen dataclasses they replace."""

from __future__ import annotations

import copy
import importlib
import pickle
import pkgutil
import re
import typing

import pytest

import cairn
from cairn.core import records
from cairn.core.model import DiffStat, GitWork, Review, Task
from cairn.core.records import FrozenRecordError, field, record, replace


@record
class _Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)


@record(kw_only=False)
class _Pair:
    left: str
    right: str = "r"


def test_a_record_is_built_from_keywords_with_its_defaults() -> None:
    point = _Point(x=1)

    assert (point.x, point.y, point.tags) == (1, 0, [])
    assert _Point(x=1).tags is not point.tags  # a factory makes each default afresh
    assert repr(_Point(x=1, y=2)) == "_Point(x=1, y=2, tags=[])"


def test_a_record_refuses_what_a_dataclass_refuses() -> None:
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        _Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        _Point(x=1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        _Point(1)  # type: ignore[call-arg]
    with pytest.raises(FrozenRecordError):
        _Point(x=1).x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        _Point(x=1).other = 2  # type: ignore[attr-defined]


def test_a_positional_record_takes_its_fields_in_order() -> None:
    assert _Pair("a") == _Pair(left="a", right="r")
    with pytest.raises(TypeError, match="multiple values"):
        _Pair("a", left="b")  # type: ignore[misc]


def test_equality_hash_replace_copy_and_pickle() -> None:
    work = GitWork(workspace="/w", branch="cairn/1", base_commit="abc")

    assert work == GitWork(workspace="/w", branch="cairn/1", base_commit="abc")
    assert work != GitWork(workspace="/w", branch="cairn/2", base_commit="abc")
    assert hash(work) == hash(GitWork(workspace="/w", branch="cairn/1", base_commit="abc"))
    assert replace(work, head_commit="def").head_commit == "def" and work.head_commit is None
    assert copy.deepcopy(work) == work and pickle.loads(pickle.dumps(work)) == work
    assert work.label == "cairn/1"  # methods and properties of the class stay
    review = Review(since=1.0, started=1.0, work=work)
    assert review.changed == DiffStat() and review != replace(review, exit_code=1)


def test_inherited_fields_come_first() -> None:
    assert [f.name for f in records.fields(GitWork)] == ["workspace", "branch", "base_commit", "head_commit", "backend"]


def _record_classes() -> list[type]:
    found = []
    for module in pkgutil.walk_packages(cairn.__path__, "cairn."):
        if module.name.endswith("__main__") or module.name.startswith("cairn.tui"):
            continue
        loaded = importlib.import_module(module.name)
        found += [value for value in vars(loaded).values()
                  if isinstance(value, type) and records.is_record(value) and value.__module__ == module.name]
    return found


def test_the_codec_hints_are_what_typing_would_say_for_every_record_class() -> None:
    classes = _record_classes()

    assert Task in classes and len(classes) > 40
    for cls in classes:
        try:
            expected = typing.get_type_hints(cls, include_extras=True)
        except NameError:  # a name imported for the type checker only: never encoded, and neither can say
            with pytest.raises(NameError):
                records.hints(cls)
            continue
        # Markers made inline (``Annotated[float, _AtLeast(0)]``) are new objects at each evaluation.
        assert _shown(records.hints(cls)) == _shown(expected), cls


def _shown(hints: dict[str, object]) -> dict[str, str]:
    return {name: re.sub(r" at 0x[0-9a-f]+", "", repr(hint)) for name, hint in hints.items()}
