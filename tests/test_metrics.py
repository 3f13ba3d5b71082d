"""`cairn metrics`: per-task times and outcomes, and a summary per agent,
as a table, as CSV a spreadsheet opens, and as JSON."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from conftest import git

#: docs/watching.md, "cairn metrics": the CSV header, in order.
DOCUMENTED_COLUMNS = [
    "id", "title", "agent", "outcome", "attempt", "retry_of",
    "queued", "started", "finished", "landed",
    "wait_seconds", "run_seconds", "review_seconds", "total_seconds",
    "checks", "files", "insertions", "deletions", "reason",
    "cost_usd", "input_tokens", "output_tokens",
]


@pytest.fixture
def known_run(cairn, repo):
    """Five tasks with known ends: accepted, rejected, failed, a retry in review, cancelled."""
    (repo / "cairn.toml").write_text('[checks]\ncommands = [["true"]]\n')
    git(repo, "add", "cairn.toml")
    git(repo, "commit", "-qm", "checks")
    cairn("queue", "-a", "demo", "--title", "Alpha", "write a.txt: one\nappend a.txt: two")
    cairn("queue", "-a", "demo", "--title", "Beta", "write b.txt: b")
    cairn("queue", "-a", "demo", "--title", "Gamma", "exit 1")
    assert cairn("up", "--until-idle").returncode == 0
    assert cairn("accept", "1").returncode == 0
    assert cairn("reject", "2", "--reason", "wrong file").returncode == 0
    assert cairn("retry", "2", "--feedback", "use c.txt").stdout.strip() == "4"
    assert cairn("up", "--until-idle").returncode == 0
    cairn("queue", "-a", "demo", "--title", "Epsilon", "say never")
    assert cairn("cancel", "5").returncode == 0


def iso(text: str) -> datetime:
    assert text.endswith("Z"), text
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None and value.utcoffset().total_seconds() == 0
    return value


def test_the_csv_has_a_header_one_row_a_task_and_iso_times(cairn, known_run):
    result = cairn("metrics", "--csv")
    assert result.returncode == 0, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout, newline=""))
    assert reader.fieldnames == DOCUMENTED_COLUMNS
    rows = {int(row["id"]): row for row in reader}
    assert sorted(rows) == [1, 2, 3, 4, 5]

    assert [rows[i]["outcome"] for i in range(1, 6)] == ["accepted", "rejected", "failed", "review", "cancelled"]
    assert [rows[i]["attempt"] for i in range(1, 6)] == ["1", "1", "1", "2", "1"]
    assert rows[4]["retry_of"] == "2" and rows[1]["retry_of"] == ""
    assert [rows[i]["agent"] for i in range(1, 6)] == ["demo"] * 5

    one = rows[1]
    queued, started, finished, landed = (iso(one[k]) for k in ("queued", "started", "finished", "landed"))
    assert queued <= started <= finished <= landed
    assert float(one["run_seconds"]) == pytest.approx((finished - started).total_seconds(), abs=0.002)
    assert float(one["total_seconds"]) == pytest.approx((landed - queued).total_seconds(), abs=0.002)
    assert float(one["review_seconds"]) == pytest.approx((landed - finished).total_seconds(), abs=0.002)
    assert (one["files"], one["insertions"], one["deletions"]) == ("1", "2", "0")
    assert one["checks"] == "passed"

    for i in (2, 3, 4):
        assert rows[i]["started"] and rows[i]["finished"] and rows[i]["landed"] == ""
    assert rows[2]["checks"] == "passed" and rows[4]["checks"] == "passed" and rows[3]["checks"] == ""
    assert rows[3]["reason"] == "the agent exited with status 1" and rows[3]["files"] == "0"
    five = rows[5]
    assert five["started"] == five["finished"] == five["run_seconds"] == ""
    assert five["reason"] == "cancelled by the user"


def test_the_summary_counts_rates_and_medians(cairn, known_run):
    result = cairn("metrics", "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert [t["id"] for t in report["tasks"]] == [1, 2, 3, 4, 5]
    summary = report["summary"]
    assert summary["tasks"] == 5
    assert summary["outcomes"] == {"accepted": 1, "cancelled": 1, "failed": 1, "rejected": 1, "review": 1}
    assert (summary["reached_review"], summary["accepted"], summary["rejected"]) == (3, 1, 1)
    assert summary["acceptance_rate"] == 0.5
    one = report["tasks"][0]
    span = (iso(one["landed"]) - iso(one["queued"])).total_seconds()
    assert summary["span_seconds"] == pytest.approx(span, abs=0.002)
    assert summary["throughput_per_hour"] == pytest.approx(3600 / max(span, 1), rel=0.01)  # a span under a second counts as one
    (demo,) = summary["agents"]
    runs = sorted(t["run_seconds"] for t in report["tasks"] if t["id"] in (1, 2, 4))
    assert demo == {
        "agent": "demo", "tasks": 5, "reached_review": 3, "accepted": 1, "rejected": 1, "failed": 1,
        "acceptance_rate": 0.5, "median_time_to_review_seconds": pytest.approx(runs[1], abs=0.002),
    }


def test_the_table_reads_on_a_terminal(cairn, known_run):
    result = cairn("metrics")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "OUTCOME", "AGENT", "TRY", "WAIT", "RUN", "REVIEW", "CHECKS", "CHANGED"]
    assert lines[1].split()[:4] == ["1", "accepted", "demo", "1"] and "1f +2 -0" in lines[1]
    assert lines[4].split()[:4] == ["4", "review", "demo", "2"]
    assert "5 tasks: 1 accepted, 1 cancelled, 1 failed, 1 rejected, 1 review" in result.stdout
    assert "acceptance rate 50% (1 of 2 proposals decided)" in result.stdout
    assert all(len(line) <= 80 for line in lines)


def test_no_tasks_yet(cairn):
    result = cairn("metrics", "--csv")
    assert result.returncode == 0
    assert result.stdout.strip() == ",".join(DOCUMENTED_COLUMNS)
    assert cairn("metrics").stdout == "no tasks yet\n"


# -- the computation --------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


def at(seconds: float) -> str:
    from cairn.core.codec import instant_to_text

    return instant_to_text(T0 + seconds)


def records():
    from cairn.core.model import Accepted, Checks, DiffStat, Failed, Review, Task, GitWork

    work = GitWork(workspace="/w", branch="cairn/x", base_commit="abc")

    def task(task_id: int, agent: str, created: float, retry_of: int | None = None) -> Task:
        return Task(id=task_id, title=f"t{task_id}", prompt="p", agent=agent, created=T0 + created, retry_of=retry_of)  # type: ignore[arg-type]

    return [
        (task(1, "claude", 0), Accepted(since=T0 + 100, strategy="rebase", target="main", commit="c1", work=work)),  # type: ignore[arg-type]
        (task(2, "codex", 0), Failed(since=T0 + 20, reason="exit 1", started=T0 + 5)),  # type: ignore[arg-type]
        (task(3, "codex", 30, retry_of=2), Review(since=T0 + 90, started=T0 + 40, work=work, changed=DiffStat(files=2, insertions=5, deletions=1), checks=Checks(status="failed"))),  # type: ignore[arg-type]
        (task(4, "claude", 30, retry_of=3), Review(since=T0 + 200, started=T0 + 170, work=work)),  # type: ignore[arg-type]
    ]


def journal():
    return [
        {"ts": at(0), "event": "queued", "task": 1},
        {"ts": at(10), "event": "running", "task": 1, "previous": "queued"},
        {"ts": at(70), "event": "review", "task": 1, "previous": "running", "files": 3, "insertions": 7, "deletions": 2, "checks": "passed"},
        {"ts": at(99), "event": "checks", "task": 1, "status": "failed", "at": "accept"},
        {"ts": at(99.5), "event": "checks", "task": 1, "status": "passed", "at": "accept"},
        {"ts": at(100), "event": "accepted", "task": 1, "previous": "review"},
        {"ts": at(5), "event": "running", "task": 2, "previous": "queued"},
        {"ts": at(20), "event": "failed", "task": 2, "previous": "running", "files": 0, "insertions": 0, "deletions": 0},
        {"ts": "not a time", "event": "running", "task": 3},
        {"event": "running", "task": 3},
        {"ts": at(1), "event": "queued", "task": 99},
    ]


def test_times_come_from_the_journal_and_the_records_fill_the_gaps():
    from cairn.core.metrics import compute

    report = compute(records(), journal())
    one, two, three, four = report.tasks
    assert (one.wait, one.run, one.review, one.total) == (10, 60, 30, 100)
    assert (one.files, one.insertions, one.deletions, one.checks) == (3, 7, 2, "passed")
    assert (one.finished_as, one.attempt) == ("review", 1)
    assert (two.run, two.finished_as, two.reason, two.landed) == (15, "failed", "exit 1", None)
    # No usable events for 3 and 4: the records say when they started and reached review.
    assert (three.started, three.finished, three.run) == (T0 + 40, T0 + 90, 50)
    assert (three.files, three.checks, three.attempt) == (2, "failed", 2)
    assert (four.attempt, four.run, four.time_to_review) == (3, 30, 30)


def test_the_summary_per_agent():
    from cairn.core.metrics import compute, totals_json

    totals = totals_json(compute(records(), journal()).totals)
    assert totals["tasks"] == 4 and totals["accepted"] == 1 and totals["rejected"] == 0
    assert totals["acceptance_rate"] == 1.0
    assert totals["span_seconds"] == 100 and totals["throughput_per_hour"] == 36.0
    agents = {a["agent"]: a for a in totals["agents"]}
    assert agents["claude"]["median_time_to_review_seconds"] == 45  # runs of 60 and 30
    assert agents["codex"]["median_time_to_review_seconds"] == 50  # the failed run does not count
    assert agents["codex"]["acceptance_rate"] is None, "nothing decided, no rate"


# -- --timings: Cairn's own operations, from the journal's duration_ms


def test_timings_count_every_operation_of_a_run(cairn, known_run):
    assert cairn("gc").returncode == 0

    result = cairn("metrics", "--timings", "--json")

    assert result.returncode == 0, result.stderr
    rows = {row["operation"]: row for row in result.json()["operations"]}
    assert rows["queue"]["count"] == 4  # `cairn retry` queues too, but only `cairn queue` is timed
    assert rows["start"]["count"] == rows["workspace"]["count"] == rows["agent"]["count"] == rows["finish"]["count"] == 4
    assert rows["checks"]["count"] >= 3  # at the end of each run that exited 0, and again at accept
    assert rows["gc"]["count"] == 1
    assert rows["accept"]["count"] == rows["reject"]["count"] == 1
    for row in rows.values():
        assert 0 <= row["p50_ms"] <= row["p95_ms"] <= row["max_ms"]
        assert row["mean_ms"] <= row["max_ms"]
    assert "OPERATION" in cairn("metrics", "--timings").stdout


def test_timings_over_a_window_leave_older_operations_out(cairn, home):
    cairn("queue", "counted")
    events = home / "events.jsonl"
    old = '{"ts": "2020-01-01T00:00:00.000Z", "event": "queued", "task": 99, "duration_ms": 9999999}\n'
    events.write_text(old + events.read_text())

    everything = cairn("metrics", "--timings", "--json").json()["operations"]
    recent = cairn("metrics", "--timings", "--since", "1h", "--json").json()["operations"]

    assert [(r["operation"], r["count"]) for r in everything] == [("queue", 2)]
    assert [(r["operation"], r["count"]) for r in recent] == [("queue", 1)]
    assert recent[0]["max_ms"] < 9999999


def test_timings_per_operation_are_exact():
    from cairn.core.timings import timings

    events = [{"ts": "2026-01-01T00:00:00.000Z", "event": "queued", "duration_ms": ms} for ms in (10, 20, 30, 40, 100)]
    events += [{"event": "agent-ended", "duration_ms": 1000}, {"event": "queued"}, {"event": "queued", "duration_ms": True},
               {"event": "brand-new-phase", "duration_ms": 7}]

    (queue, agent, new) = timings(events)

    assert (queue.operation, queue.count, queue.mean, queue.p50, queue.max) == ("queue", 5, 40.0, 30.0, 100.0)
    assert queue.p95 == pytest.approx(88.0)
    assert (agent.operation, agent.count) == ("agent", 1)
    assert (new.operation, new.count) == ("brand-new-phase", 1)
    assert timings(events, since=datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp()) == []
