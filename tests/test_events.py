"""`cairn events`: the journal for people, for jq, and followed as it grows."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time

from conftest import BIN


def test_each_event_is_one_readable_line_in_order(cairn, home):
    cairn("queue", "-a", "demo", "--title", "Greet", "write hello.txt: hi")
    assert cairn("spawn", "1", "--wait").returncode == 0
    result = cairn("events")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[2] == "init", "an event of no task leaves the task column blank"
    task_lines = [line for line in lines if " task 1 " in line]
    assert [line.split()[4] for line in task_lines] == [
        "queued", "running", "phase", "workspace-ready", "phase", "agent-started", "agent-ended", "review"]
    assert "'Greet', agent demo, priority normal" in task_lines[0]
    assert "making the workspace" in task_lines[2] and "starting: " in task_lines[4]
    assert "from running, 1 file +1 -0, checks skipped, took " in task_lines[-1]
    assert "ending exited, exit code 0, took " in task_lines[6]
    date, clock = lines[0].split()[:2]
    assert len(date) == 10 and date[4] == "-" and len(clock) == 8 and clock[2] == ":"


def test_json_prints_the_journal_records_with_their_format(cairn, home):
    cairn("queue", "-a", "demo", "say hi")
    cairn("cancel", "1")
    result = cairn("events", "--json")
    assert result.returncode == 0
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    journal = [json.loads(line) for line in (home / "events.jsonl").read_text().splitlines()]
    assert all(list(event)[0] == "format" and event.pop("format") == 1 for event in printed)
    assert printed == journal
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == ["init", "queued", "cancelled"]


def test_filters_and_last_n(cairn):
    for n in range(3):
        cairn("queue", "-a", "demo", f"say {n}")
    only_two = cairn("events", "--json", "--task", "2").stdout.splitlines()
    assert [json.loads(line)["task"] for line in only_two] == [2]
    last = cairn("events", "--json", "-n", "2").stdout.splitlines()
    assert [json.loads(line).get("task") for line in last] == [2, 3]


def test_a_torn_last_line_and_a_foreign_line_are_skipped(cairn, home):
    cairn("queue", "-a", "demo", "say hi")
    with open(home / "events.jsonl", "a") as journal:
        journal.write("not json at all\n")
        journal.write('{"ts": "2026-01-01T00:00:00.000Z", "event": "half')
    result = cairn("events", "--json")
    assert result.returncode == 0
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == ["init", "queued"]
    assert "line 3 of events.jsonl is not a JSON object (skipped)" in result.stderr


def test_no_events_yet_is_said_not_failed(cairn):
    result = cairn("events")
    assert result.returncode == 0
    assert result.stdout == "" and "no events yet" in result.stderr


class Follower:
    """`cairn events -f --json` running, its output read line by line with a deadline."""

    def __init__(self, repo) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "cairn"), "events", "-f", "--json"], cwd=repo,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def line(self, timeout: float = 10.0) -> dict | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return None
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=10)


def test_follow_prints_new_events_as_they_happen_and_waits_for_torn_lines(cairn, repo, home):
    cairn("queue", "-a", "demo", "say first")
    follower = Follower(repo)
    try:
        assert [follower.line()["event"], follower.line()["event"]] == ["init", "queued"]
        assert follower.line(timeout=0.5) is None

        cairn("queue", "-a", "demo", "say second")
        event = follower.line()
        assert (event["event"], event["task"]) == ("queued", 2)

        with open(home / "events.jsonl", "a") as journal:  # an append caught half-way
            journal.write('{"ts": "2026-01-01T00:00:00.000Z", ')
            journal.flush()
            assert follower.line(timeout=0.6) is None
            journal.write('"event": "whole-at-last"}\n')
        assert follower.line()["event"] == "whole-at-last"
    finally:
        assert follower.stop() == 0, "Ctrl-C is how following ends, not an error"
