"""What ``cairn queue --from FILE`` and ``cairn plan`` share: reading a plan
file, queueing it whole, showing it as a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cairn.core.plan import Plan, load
from cairn.errors import UsageError


def read_plan_file(path: Path, agents: list[str]) -> Plan:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the plan {path}: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"the plan {path} is not UTF-8 text (byte {error.start})") from None
    return load(text, str(path), agents=agents)


def queue_whole(current: Any, store: Any, plan: Plan, *, source: Path | None, default_agent: str | None,
                name_hint: str | None = None) -> Any:
    """Queue every task of ``plan`` (all or none); the plan's record."""
    from cairn.core.queueing import check_agent
    from cairn.state.plans import queue_plan

    agent = check_agent(default_agent or current.default_agent, current.agent_names)
    store.ensure(current.root)
    from cairn.cmd.queue import _current_branch

    return queue_plan(
        store, plan, default_agent=agent, target=_current_branch(current.root),
        source=str(source.resolve()) if source else None, name_hint=name_hint or (source.stem if source else None),
    )


def plan_table(plan: Plan, default_agent: str) -> str:
    """The plan as a terminal table, in the order it would be queued."""
    rows = [("#", "name", "after", "locks", "agent", "prio", "title")]
    for number, entry in enumerate(plan.order(), start=1):
        from cairn.core.queueing import make_title

        rows.append((
            str(number), entry.name, ",".join(entry.after) or "-", ",".join(entry.locks) or "-",
            entry.agent or default_agent, entry.priority or "normal", make_title(entry.prompt, entry.title),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows)


def report_queued(record: Any, as_json: bool) -> None:
    from cairn.cmd._cli import echo

    if as_json:
        from cairn.cmd._cli import print_json

        print_json(record.to_json())
        return
    ids = " ".join(str(i) for i in record.tasks.values())
    echo(f"plan {record.id}: queued {len(record.tasks)} tasks: {ids}")
    echo(f"  `cairn status --plan {record.id}` follows them; `cairn accept --plan {record.id}` lands them as a train")
