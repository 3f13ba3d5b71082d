"""``cairn metrics [--csv | --json] [--timings [--since DURATION]]``: how each task went,
and how each agent does; or how long Cairn's own operations take.

Reads every task's records and the journal, computes (cairn/core/metrics.py)
and prints: a table and a summary; ``--csv`` one row a task under a header,
ISO 8601 UTC times and durations in seconds, for a spreadsheet; ``--json``
the tasks and the summary together.  ``--timings``: from the journal's
``duration_ms`` alone (cairn/core/timings.py), count, mean, p50, p95 and max
per operation (queue, start, workspace, agent, checks, finish, accept,
reject, gc) over the last ``--since`` (default: the whole journal).
"""

from __future__ import annotations

import sys
from typing import Any

from cairn.cmd._cli import Parsed, echo, entrypoint, option, print_json, settings, store_for, verb
from cairn.core.durations import parse_duration


@verb("Per-task times, attempts, checks, changes and outcome, and a summary per agent.")
@option("--csv", dest="form", flag_value="csv", help="One row a task, with a header: for a spreadsheet.")
@option("--json", dest="form", flag_value="json", help="Tasks and summary as JSON.")
@option("--timings", is_flag=True, help="How long Cairn's own operations took: count, mean, p50, p95, max per operation.")
@option("--since", type=Parsed("DURATION", parse_duration, positive=True),
        help="With --timings: only operations in this last stretch of time (90s, 10m, 2h, 1d; default: the whole journal).")
def command(form: str | None, timings: bool, since: float | None) -> int:
    current = settings()
    store = store_for(current)
    if timings or since is not None:
        return _timings(current, form, since)
    from cairn.core.metrics import COLUMNS, compute, task_row, totals_json
    from cairn.errors import CairnError
    from cairn.state.journal import read_events

    records = []
    for task_id in store.task_ids():
        try:
            records.append((store.read_task(task_id), store.read_state(task_id)))
        except CairnError as error:
            echo(f"cairn metrics: skipped task {task_id}: {error}", err=True)
    report = compute(records, read_events(current.layout.events))
    rows = [task_row(t) for t in report.tasks]
    spent, by_agent, by_day = _spend(current.layout, report.tasks)
    for row in rows:
        got = spent.get(row["id"]) or {}
        row.update({key: got.get(key) for key in SPEND_COLUMNS})
    if form == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=(*COLUMNS, *SPEND_COLUMNS), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    elif form == "json":
        summary = totals_json(report.totals)
        summary["spend"] = {"agents": [a.as_json() for a in by_agent], "days": [d.as_json() for d in by_day]}
        print_json({"tasks": rows, "summary": summary})
    else:
        echo(_text(report) + _spend_text(by_agent, by_day), nl=False)
    return 0


#: What each task's agent reported spending (report.json), after the other columns.
SPEND_COLUMNS = ("cost_usd", "input_tokens", "output_tokens")


def _spend(layout: Any, tasks: Any) -> tuple[dict[int, dict[str, Any]], Any, Any]:
    from cairn.core.spend import add_up
    from cairn.state.reports import read_report

    spent = {t.id: r for t in tasks if (r := read_report(layout, t.id))}
    by_agent, by_day = add_up((t.agent, t.finished, spent[t.id]) for t in tasks if t.id in spent)
    return spent, by_agent, by_day


def _spend_text(by_agent: Any, by_day: Any) -> str:
    if not by_agent:
        return ""
    lines = ["", "SPENT BY     TASKS  COST      TOKENS IN  TOKENS OUT"]
    for row in [*by_agent, *by_day]:
        lines.append(f"{row.key:<12} {row.tasks:<6} ${row.cost_usd:<8.2f} {row.input_tokens:<10} {row.output_tokens}")
    return "\n".join(lines) + "\n"


def _timings(current: Any, form: str | None, since: float | None) -> int:
    import time

    from cairn.core.timings import timings
    from cairn.state.journal import read_events

    rows = timings(read_events(current.layout.events), since=time.time() - since if since is not None else None)
    if form == "json":
        print_json({"since": since, "operations": [row.as_json() for row in rows]})
        return 0
    if form == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=["operation", "count", "mean_ms", "p50_ms", "p95_ms", "max_ms"], lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(row.as_json() for row in rows)
        return 0
    if not rows:
        echo("no timings recorded" + (" in that window" if since is not None else " yet"), err=True)
        return 0
    headers = ("OPERATION", "COUNT", "MEAN", "P50", "P95", "MAX")
    table = [(r.operation, str(r.count), *(_ms(v) for v in (r.mean, r.p50, r.p95, r.max))) for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in table]
    echo("\n".join(lines))
    return 0


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def _text(report: Any) -> str:
    from cairn.core.durations import format_duration

    def duration(value: float | None) -> str:
        return format_duration(value) if value is not None else "-"

    if not report.tasks:
        return "no tasks yet\n"
    headers = ("ID", "OUTCOME", "AGENT", "TRY", "WAIT", "RUN", "REVIEW", "CHECKS", "CHANGED")
    rows = [
        (
            str(t.id), t.outcome, t.agent, str(t.attempt), duration(t.wait), duration(t.run), duration(t.review),
            t.checks or "-", f"{t.files}f +{t.insertions} -{t.deletions}" if t.files else "-",
        )
        for t in report.tasks
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]

    totals = report.totals
    counts = ", ".join(f"{n} {state}" for state, n in sorted(totals.outcomes.items(), key=lambda kv: (-kv[1], kv[0])))
    lines += ["", f"{totals.tasks} task{'s' if totals.tasks != 1 else ''}: {counts}"]
    decided = totals.accepted + totals.rejected
    if totals.acceptance_rate is not None:
        lines.append(f"acceptance rate {totals.acceptance_rate:.0%} ({totals.accepted} of {decided} proposals decided)")
    if totals.throughput_per_hour is not None:
        lines.append(f"throughput {totals.throughput_per_hour:.2f} landed an hour over {format_duration(totals.span or 0)}")
    agent_headers = ("AGENT", "TASKS", "REVIEWED", "ACCEPTED", "REJECTED", "FAILED", "RATE", "MEDIAN TO REVIEW")
    agent_rows = [
        (
            a.agent, str(a.tasks), str(a.reached_review), str(a.accepted), str(a.rejected), str(a.failed),
            f"{a.acceptance_rate:.0%}" if a.acceptance_rate is not None else "-", duration(a.median_time_to_review),
        )
        for a in totals.agents
    ]
    widths = [max(len(h), *(len(r[i]) for r in agent_rows)) for i, h in enumerate(agent_headers)]
    lines += ["", "  ".join(h.ljust(w) for h, w in zip(agent_headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in agent_rows]
    return "\n".join(lines) + "\n"


main = entrypoint(command, "metrics")
