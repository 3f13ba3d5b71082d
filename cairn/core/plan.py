"""A plan: a set of tasks meant to be queued together (``cairn plan``,
``cairn queue --from FILE``, a ticket in the backlog directory).

Pure: text in, a checked ``Plan`` (or one ``PlanError`` naming every bad
entry) out.  The format is specified by docs/plan.schema.json and described
in docs/crew.md; TOML and JSON hold the same table:

    name = "oauth"            # optional: the plan's id (else the file's name)
    goal = "Add OAuth login"  # optional: what the plan is for
    [[tasks]]
    name = "schema"           # how ``after`` names this task (default: its position, "1", "2", ...)
    title = "..."             # optional (default: the prompt's first line)
    prompt = "..."
    locks = ["db/**"]         # path globs it will touch
    after = ["other-name"]    # names of this plan's tasks it waits for
    agent = "claude"          # optional
    priority = "high"         # optional

What must always hold once ``check`` returns: at least one task, unique
names, every ``after`` names another task of the plan, ``after`` has no
cycle, every lock is a relative path glob, and ``order`` lists the tasks so
that each comes after everything it waits for (so ids allocated in that order
always point backwards, and a plan that is half-visible is still consistent).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from cairn.core.globs import glob_problem
from cairn.core.queueing import TITLE_WIDTH
from cairn.core.vocabulary import PRIORITIES
from cairn.errors import UsageError

#: The version of the plan format; a plan may say ``version = 1``.
PLAN_VERSION = 1
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOP_KEYS = {"version", "name", "goal", "tasks"}
_TASK_KEYS = {"name", "title", "prompt", "locks", "after", "agent", "priority"}


class PlanError(UsageError):
    """A plan that cannot be queued; the message names every bad entry."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = "; ".join(problems)
        super().__init__(
            f"{source}: {shown}",
            hint="nothing was queued; fix the plan (its format: docs/crew.md, docs/plan.schema.json) and try again",
        )
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    prompt: str
    title: str | None = None
    locks: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    agent: str | None = None
    priority: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    name: str | None
    goal: str | None
    #: In the plan's own order.
    entries: list[Entry]

    def order(self) -> list[Entry]:
        """Each entry after everything it waits for; otherwise the plan's order."""
        done: set[str] = set()
        left = list(self.entries)
        ordered: list[Entry] = []
        while left:
            ready = next(e for e in left if all(a in done for a in e.after))  # check() ruled out cycles
            ordered.append(ready)
            done.add(ready.name)
            left.remove(ready)
        return ordered


def parse(text: str, source: str) -> Any:
    """The raw table of a plan file: JSON for ``.json``, TOML for ``.toml``, else
    whichever of the two reads it."""
    import tomllib

    as_json = source.endswith(".json") or (not source.endswith(".toml") and text.lstrip().startswith("{"))
    if as_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise PlanError(source, [f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        if not source.endswith(".toml"):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                pass
        raise PlanError(source, [f"not valid TOML ({error})"]) from None


def load(text: str, source: str, *, agents: list[str] | None = None) -> Plan:
    return check(parse(text, source), source, agents=agents)


def check(data: Any, source: str, *, agents: list[str] | None = None) -> Plan:
    """The plan in ``data``, or a PlanError listing what is wrong, entry by entry.

    ``agents``: the profile names the configuration knows; None skips that check.
    """
    if isinstance(data, list):
        data = {"tasks": data}
    if not isinstance(data, dict):
        raise PlanError(source, [f"a plan is a table with a list of tasks, not {type(data).__name__}"])
    problems: list[str] = []
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    version = data.get("version", PLAN_VERSION)
    if version != PLAN_VERSION:
        problems.append(f"version {version!r}: this Cairn reads plan version {PLAN_VERSION}")
    name = _optional_text(data, "name", "the plan", problems)
    if name is not None and not NAME.match(name):
        problems.append(f"the plan's name {name!r}: use letters, digits, '.', '_' and '-' (64 at most)")
    goal = _optional_text(data, "goal", "the plan", problems)
    raw_tasks = data.get("tasks")
    if raw_tasks is None or raw_tasks == []:
        raise PlanError(source, [*problems, "the plan is empty: it needs at least one task under `tasks`"])
    if not isinstance(raw_tasks, list):
        raise PlanError(source, [*problems, "`tasks` must be a list of tables"])
    entries = [_entry(raw, index, problems, agents) for index, raw in enumerate(raw_tasks, start=1)]
    entries_ok = [e for e in entries if e is not None]
    _check_names(entries_ok, problems)
    if len({e.name for e in entries_ok}) == len(entries_ok):
        cycle = _find_cycle(entries_ok)
        if cycle:
            problems.append(f"`after` goes round in a cycle: {' -> '.join(cycle)}")
    if problems:
        raise PlanError(source, problems)
    return Plan(name=name, goal=goal, entries=entries_ok)


def _label(index: int, name: Any) -> str:
    return f"task {index} ({name!r})" if isinstance(name, str) and name else f"task {index}"


def _entry(raw: Any, index: int, problems: list[str], agents: list[str] | None) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(f"task {index}: expected a table with at least a prompt, got {type(raw).__name__}")
        return None
    label = _label(index, raw.get("name"))
    for key in sorted(set(raw) - _TASK_KEYS):
        problems.append(f"{label}: unknown key {key!r} (known: {', '.join(sorted(_TASK_KEYS))})")
    name = _optional_text(raw, "name", label, problems)
    if name is None:
        name = str(index)
    elif not NAME.match(name):
        problems.append(f"{label}: name {name!r}: use letters, digits, '.', '_' and '-' (64 at most)")
    prompt = _optional_text(raw, "prompt", label, problems)
    if prompt is None or not prompt.strip():
        problems.append(f"{label}: the prompt is missing or empty: say what the agent should do")
    title = _optional_text(raw, "title", label, problems)
    if title is not None:
        title = " ".join(title.split())
        if not title:
            problems.append(f"{label}: the title is empty")
        elif len(title) > TITLE_WIDTH * 2:
            problems.append(f"{label}: the title is longer than {TITLE_WIDTH * 2} characters; put the detail in the prompt")
    locks = _text_list(raw, "locks", label, problems)
    for glob in locks:
        why = glob_problem(glob)
        if why:
            problems.append(f"{label}: lock {glob!r} is not a path glob: {why}")
    after = _text_list(raw, "after", label, problems)
    agent = _optional_text(raw, "agent", label, problems)
    if agent is not None and agents is not None and agent not in agents:
        problems.append(f"{label}: unknown agent {agent!r}; known agents: {', '.join(sorted(agents))}")
    priority = _optional_text(raw, "priority", label, problems)
    if priority is not None and priority.lower() not in PRIORITIES:
        problems.append(f"{label}: priority {priority!r}: one of {', '.join(PRIORITIES)}")
    # Returned even when something is wrong, so that the names and ``after``
    # of every entry are still checked and all problems are told at once.
    return Entry(
        name=name, prompt=prompt or "", title=title, locks=[g.strip() for g in locks],
        after=list(dict.fromkeys(after)), agent=agent, priority=priority.lower() if priority else None,
    )


def _check_names(entries: list[Entry], problems: list[str]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            problems.append(f"two tasks are named {entry.name!r}: names must be unique")
        seen.add(entry.name)
    for entry in entries:
        for other in entry.after:
            if other == entry.name:
                problems.append(f"task {entry.name!r}: it waits for itself in `after`")
            elif other not in seen:
                problems.append(f"task {entry.name!r}: `after` names {other!r}, which is not a task of this plan")


def _find_cycle(entries: list[Entry]) -> list[str] | None:
    """One cycle of ``after`` as a path of names (first name repeated at the end)."""
    waits = {e.name: e.after for e in entries}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in done:
            return None
        if name in visiting:
            return [*visiting[visiting.index(name):], name]
        visiting.append(name)
        for other in waits[name]:
            if other not in waits or other == name:
                continue  # reported already: not a task of the plan, or itself
            found = visit(other)
            if found:
                return found
        visiting.pop()
        done.add(name)
        return None

    for entry in entries:
        found = visit(entry.name)
        if found:
            return found
    return None


def _optional_text(table: dict[str, Any], key: str, label: str, problems: list[str]) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{label}: {key} must be text, got {type(value).__name__}")
        return None
    if "\x00" in value:
        problems.append(f"{label}: {key} holds a NUL character")
        return None
    return value


def _text_list(table: dict[str, Any], key: str, label: str, problems: list[str]) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{label}: {key} must be a list of text")
        return []
    return value


def plan_id_from(plan: Plan, source_name: str | None) -> str:
    """A readable id for the plan: its name, else a slug of the file's name or goal."""
    if plan.name:
        return plan.name
    for candidate in (source_name, plan.goal, plan.entries[0].title, plan.entries[0].prompt):
        slug = re.sub(r"[^A-Za-z0-9]+", "-", (candidate or "").lower()).strip("-")[:40].strip("-")
        if slug:
            return slug
    return "plan"
