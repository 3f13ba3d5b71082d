"""``cairn cancel``: a queued task never starts; a finished one cannot be cancelled."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import events, state_of

pytestmark = pytest.mark.usefixtures("warm_config")


def test_cancel_a_queued_task(cairn, add_task, home: Path) -> None:
    add_task("never mind")

    result = cairn("cancel", "1")

    assert result.returncode == 0
    assert result.stdout == "task 1: cancelled\n"
    state = state_of(home, 1)
    assert state["state"] == "cancelled"
    assert state["reason"] == "cancelled by the user"
    last = events(home)[-1]
    assert (last["event"], last["task"], last["previous"]) == ("cancelled", 1, "queued")
    assert cairn("status", "--json").json()[0]["state"] == "cancelled"


def test_cancel_records_the_reason_given(cairn, add_task, home: Path) -> None:
    add_task("never mind")

    cairn("cancel", "1", "--reason", "duplicate of #4")

    assert state_of(home, 1)["reason"] == "duplicate of #4"
    assert events(home)[-1]["reason"] == "duplicate of #4"
    assert "duplicate of #4" in cairn("status").stdout


def test_cancel_json_reports_each_task(cairn, add_task) -> None:
    add_task("one")
    add_task("two")

    result = cairn("cancel", "1", "2", "--json")

    assert result.returncode == 0
    assert [(t["id"], t["state"], t["detail"]["state"]["state"]) for t in result.json()] == [(1, "cancelled", "cancelled"), (2, "cancelled", "cancelled")]


def test_cancelling_twice_exits_4_naming_the_state(cairn, add_task, home: Path) -> None:
    add_task("never mind")
    cairn("cancel", "1")
    before = state_of(home, 1)
    journal = events(home)

    result = cairn("cancel", "1")

    assert result.returncode == 4
    assert "task 1 is cancelled, cannot cancel it" in result.stderr
    assert "Traceback" not in result.stderr
    assert state_of(home, 1) == before
    assert events(home) == journal


def test_cancelling_a_failed_task_exits_4(cairn, add_task, store, home: Path) -> None:
    from cairn.core.model import Failed

    add_task("doomed")
    store.move(1, "failed", lambda _: Failed(since=time.time(), reason="the agent crashed"))

    result = cairn("cancel", "1")

    assert result.returncode == 4
    assert "task 1 is failed" in result.stderr
    assert state_of(home, 1)["state"] == "failed"


def test_cancel_a_running_task_keeps_its_work_record(cairn, add_task, set_running, home: Path) -> None:
    add_task("long job")
    set_running(1)
    work = state_of(home, 1)["work"]

    result = cairn("cancel", "1")

    assert result.returncode == 0, result.stderr
    state = state_of(home, 1)
    assert state["state"] == "cancelled"
    assert state["work"] == work


def test_cancel_an_unknown_task_exits_3(cairn, add_task) -> None:
    add_task("one")

    result = cairn("cancel", "9")

    assert result.returncode == 3
    assert "no task 9" in result.stderr


def test_cancel_with_one_unknown_id_cancels_none(cairn, add_task, home: Path) -> None:
    add_task("one")
    add_task("two")

    result = cairn("cancel", "1", "9", "2")

    assert result.returncode == 3
    assert "no task 9" in result.stderr
    assert [state_of(home, i)["state"] for i in (1, 2)] == ["queued", "queued"]


def test_cancel_without_an_id_exits_2(cairn) -> None:
    result = cairn("cancel")

    assert result.returncode == 2
    assert "Missing argument" in result.stderr


def test_cancel_with_a_bad_id_exits_2(cairn) -> None:
    result = cairn("cancel", "first")

    assert result.returncode == 2
    assert "'first' is not a task id" in result.stderr
