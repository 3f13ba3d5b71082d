"""One JSON shape for a task: every command that prints a task with --json
prints the same object, valid against the schema the package carries
(cairn/schemas/task.schema.json), and the journal's lines against
event.schema.json.  The outputs are the installed commands' own, on real
tasks that ran, were accepted, rejected, restored, retried and cancelled.
"""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema
import pytest

from conftest import run_task

FLAT = ("format", "id", "title", "state", "priority", "agent", "created", "since", "target", "retry_of")


def schema(name: str) -> dict:
    return json.loads(files("cairn").joinpath("schemas", name).read_text())


@pytest.fixture(scope="module")
def task_schema() -> dict:
    found = schema("task.schema.json")
    jsonschema.Draft202012Validator.check_schema(found)
    return found


def valid(value: object, against: dict) -> object:
    jsonschema.Draft202012Validator(against).validate(value)
    return value


def printed(result) -> object:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.json()


def test_every_command_prints_a_task_in_the_one_shape(cairn, task_schema):
    queued = valid(printed(cairn("queue", "--json", "-a", "demo", "--priority", "high", "write a.txt: a")), task_schema)
    assert (queued["id"], queued["state"], queued["priority"], queued["format"]) == (1, "queued", "high", 1)
    assert queued["detail"]["task"]["prompt"] == "write a.txt: a"

    spawned = valid(printed(cairn("spawn", "1", "--wait", "--json")), task_schema)
    assert spawned["state"] == "review" and spawned["files"] == 1 and spawned["detail"]["state"]["work"]["branch"] == "cairn/1"

    shown = valid(printed(cairn("status", "1", "--json")), task_schema)
    listed = valid(printed(cairn("status", "--json")), {"type": "array", "items": task_schema})
    assert [t["id"] for t in listed] == [1]
    # status adds what only it knows: isolation and the agent's report for a task shown by id,
    # conflicts_with to a listed one.
    assert shown.pop("isolation") is not None and "report" in shown and listed[0].pop("conflicts_with") == []
    shown.pop("report")
    assert shown == listed[0] == spawned, "a task looks the same whichever command printed it"
    assert queued["detail"]["task"] == shown["detail"]["task"]

    rejected = printed(cairn("reject", "1", "--reason", "not yet", "--json"))
    valid(rejected, {"type": "array", "items": task_schema})
    assert rejected[0]["state"] == "rejected" and rejected[0]["reason"] == "not yet"

    restored = valid(printed(cairn("restore", "1", "--json")), task_schema)
    assert restored["state"] == "review"

    accepted = valid(printed(cairn("accept", "1", "--json")), task_schema)
    assert accepted["state"] == "accepted" and accepted["detail"]["state"]["strategy"] == "rebase"
    assert accepted["detail"]["state"]["commit"]

    run_task(cairn, "write b.txt: b\nexit 1", must_reach_review=False)
    retried = valid(printed(cairn("retry", "2", "--feedback", "try again", "--json")), task_schema)
    assert retried["id"] == 3 and retried["retry_of"] == 2 and retried["state"] == "queued"

    cancelled = printed(cairn("cancel", "3", "--json"))
    valid(cancelled, {"type": "array", "items": task_schema})
    assert cancelled[0]["state"] == "cancelled"

    for task in printed(cairn("status", "--json")):
        assert {k: task[k] for k in FLAT} == {k: printed(cairn("status", str(task["id"]), "--json"))[k] for k in FLAT}


def test_a_waiting_task_says_why_in_status_json(cairn, task_schema):
    cairn("queue", "-a", "demo", "say first")
    cairn("queue", "-a", "demo", "--after", "1", "say second")

    listed = valid(printed(cairn("status", "--json")), {"type": "array", "items": task_schema})

    assert listed[1]["waiting"] and "after task 1" in listed[1]["waiting"]
    assert listed[1]["after"] == [1]


def test_the_journal_lines_match_the_event_schema(cairn):
    run_task(cairn, "write c.txt: c")
    cairn("accept", "1")
    event_schema = schema("event.schema.json")
    jsonschema.Draft202012Validator.check_schema(event_schema)

    lines = cairn("events", "--json").stdout.splitlines()

    events = [valid(json.loads(line), event_schema) for line in lines]
    assert {"init", "queued", "running", "review", "accepted"} <= {e["event"] for e in events}
    assert {e["task"] for e in events if "task" in e} == {1}


def test_the_schema_refuses_what_is_not_a_task(task_schema):
    with pytest.raises(jsonschema.ValidationError):
        valid({"task": {"id": 1}, "state": {"state": "queued"}}, task_schema)  # the shape before format 1
