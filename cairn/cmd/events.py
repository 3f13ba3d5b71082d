"""``cairn events [-f] [--json] [-n N] [--task ID]...``: the journal, for people or for jq.

Human-readable: one line an event, local time first.  ``--json``: the
journal's own lines, unchanged (JSON Lines).  ``-f`` follows new lines as
they are appended; a torn last line is printed once it is whole.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any

from cairn.cmd._cli import TASK_ID, Number, echo, entrypoint, json_option, option, settings, store_for, verb

#: Fields shown in the line's head, or folded into a phrase, not as key=value.
_SHOWN = {"ts", "event", "task", "previous", "files", "insertions", "deletions", "title", "duration_ms"}


@verb("Print the journal of everything that happened (events.jsonl); -f follows new events.")
@option("-f", "--follow", is_flag=True, help="Keep printing events as they happen (Ctrl-C stops).")
@option("-n", "--lines", type=Number(int, min=0), help="Only the last N events to begin with.")
@option("--task", dest="tasks", multiple=True, type=TASK_ID, help="Only events of this task (repeatable).")
@json_option
def command(follow: bool, lines: int | None, tasks: tuple[int, ...], as_json: bool) -> int:
    current = settings()
    store_for(current)
    from cairn.state.journal import Reader

    reader = Reader(current.layout.events)
    wanted = set(tasks)
    entries = [e for e in reader.read() if _selected(e, wanted)]
    if lines is not None:
        entries = entries[len(entries) - lines:] if lines else []
    _print(entries, as_json)
    if not follow:
        if not entries and not as_json:
            echo("no events yet" + (" for that task" if wanted else ""), err=True)
        return 0
    delay = 0.05
    try:
        while True:
            fresh = [e for e in reader.read() if _selected(e, wanted)]
            _print(fresh, as_json)
            delay = 0.05 if fresh else min(delay * 1.5, 0.5)
            time.sleep(delay)
    except KeyboardInterrupt:
        return 0  # the way out of following, not an error


def _selected(entry: Any, wanted: set[int]) -> bool:
    if entry.record is None:
        echo(f"cairn events: line {entry.number} of events.jsonl is not a JSON object (skipped)", err=True)
        return False
    return not wanted or entry.record.get("task") in wanted


def _print(entries: list[Any], as_json: bool) -> None:
    if not entries:
        return
    text = "\n".join(_json_line(e.record) if as_json else describe(e.record) for e in entries) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()


#: Version of the event shape `--json` prints (cairn/schemas/event.schema.json): the
#: journal's record with ``format`` in front; ``task`` is a task's ``id``.
EVENT_JSON_FORMAT = 1


def _json_line(record: dict[str, Any]) -> str:
    import json

    return json.dumps({"format": EVENT_JSON_FORMAT, **{k: v for k, v in record.items() if k != "format"}}, ensure_ascii=False)


def describe(record: dict[str, Any]) -> str:
    """One event as a line: ``2026-01-02 10:11:12  task 3   review  from running, 2 files +5 -1``."""
    when = _local_time(record.get("ts"))
    task = record.get("task")
    who = f"task {task}" if task is not None else ""
    details = []
    if record.get("title"):
        details.append(repr(record["title"]))
    if record.get("previous"):
        details.append(f"from {record['previous']}")
    if record.get("files"):
        details.append(f"{record['files']} file{'s' if record['files'] != 1 else ''} +{record.get('insertions', 0)} -{record.get('deletions', 0)}")
    for key, value in record.items():
        if key in _SHOWN or value is None:
            continue
        if isinstance(value, list):
            value = ",".join(map(str, value))
        elif key == "commit" and isinstance(value, str):
            value = value[:12]  # as git shows it; --json keeps it whole
        details.append(f"{key.replace('_', ' ')} {value}")
    if isinstance(record.get("duration_ms"), (int, float)):
        details.append(f"took {record['duration_ms']} ms")
    line = f"{when}  {who:<8}  {record.get('event', '?')}"
    return f"{line}  {', '.join(details)}" if details else line


def _local_time(stamp: Any) -> str:
    from cairn.core.codec import text_to_instant

    try:
        return datetime.fromtimestamp(text_to_instant(stamp)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, AttributeError, OSError):
        return f"{str(stamp):<19}"


main = entrypoint(command, "events")
