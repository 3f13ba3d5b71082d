"""How tasks look on a terminal: the status table and one task in full.

Plain text that reads the same without colour; only the shape lives here,
the data comes from the records.
"""

from __future__ import annotations

from cairn.core.durations import format_duration
from cairn.core.summary import Summary

TYPE_CHECKING = False  # typing is not imported at run time on the hot path (docs/performance.md)
if TYPE_CHECKING:
    from typing import Any

_HEADERS = ("ID", "STATE", "PRIORITY", "AGENT", "AGE", "TITLE")


def note_for(summary: Summary, waiting: str | None, now: float) -> str:
    """The last column: why a task waits, how a proposal looks, why it ended."""
    if summary.state == "queued":
        return f"waits: {waiting}" if waiting else "starts next"
    if summary.state == "running":
        if waiting:  # the runner is gone: say so rather than look alive
            return waiting
        parts = [f"running {format_duration(now - summary.since)}"]
        if summary.executor != "local":
            parts.append(f"{summary.executor} job {summary.job_id}" if summary.job_id else f"submitting to {summary.executor}")
        if summary.idle_since:
            parts.append(f"idle {format_duration(now - summary.idle_since)}")
        return ", ".join(parts)
    if summary.state == "review":
        if summary.files == 0:
            parts = ["no changes"]
        else:
            parts = [f"{summary.files} file{'s' if summary.files != 1 else ''} +{summary.insertions} -{summary.deletions}"]
        if summary.checks and summary.checks != "skipped":
            parts.append(f"checks {summary.checks}")
        if summary.conflict:
            parts.append(f"conflict: {', '.join(summary.conflict[:3])}{'…' if len(summary.conflict) > 3 else ''}")
        if waiting:  # the conflict radar: another proposal it collides with
            parts.append(waiting)
        return ", ".join(parts)
    return summary.reason or ""


def status_table(summaries: list[Summary], waiting: dict[int, str], now: float, width: int | None) -> str:
    if not summaries:
        return ""
    rows = [
        (
            str(s.id),
            s.state,
            s.priority,
            s.agent,
            format_duration(now - s.created),
            s.title,
            note_for(s, waiting.get(s.id), now),
        )
        for s in summaries
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS[:5])]
    lines = ["  ".join(h.ljust(w) for h, w in zip(_HEADERS[:5], widths)) + "  TITLE"]
    for row in rows:
        left = "  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths))
        title, note = row[5], row[6]
        text = f"{title}  ({note})" if note else title
        line = f"{left}  {text}"
        if width and len(line) > width:
            line = line[: max(width - 1, 10)] + "…"
        lines.append(line)
    return "\n".join(lines) + "\n"


def task_details(layout: Any, task: Any, state: Any) -> str:
    from cairn.core import codec
    from cairn.core.codec import instant_to_text

    lines = [
        f"task {task.id}: {task.title}",
        f"  state      {state.state} since {instant_to_text(state.since)}",
        f"  priority   {task.priority}",
        f"  agent      {task.agent}",
        f"  created    {instant_to_text(task.created)}",
    ]
    if task.target:
        lines.append(f"  target     {task.target}")
    if task.base:
        lines.append(f"  base       {task.base}")
    if task.after:
        lines.append(f"  after      {', '.join(map(str, task.after))}")
    if task.locks:
        lines.append(f"  locks      {', '.join(task.locks)}")
    if task.timeout:
        lines.append(f"  timeout    {format_duration(task.timeout)}")
    if task.retry_of:
        lines.append(f"  retry of   {task.retry_of}")
    if task.plan:
        lines.append(f"  plan       {task.plan}")
    detail = codec.encode(state)
    for key in ("reason", "exit_code", "strategy", "commit", "trash_ref", "agent_pid", "tmux_session", "conflict", "verdict", "finding",
                "executor", "job_id"):
        value = detail.get(key)
        if value not in (None, [], ""):
            lines.append(f"  {key.replace('_', ' '):<10} {value}")
    work = detail.get("work")
    if work:
        lines.append(f"  workspace  {work['workspace']}")
        lines.append(f"  branch     {work['branch']}")
    changed = detail.get("changed")
    if changed and state.state in ("review", "failed"):
        lines.append(f"  changed    {changed['files']} files, +{changed['insertions']} -{changed['deletions']}")
    checks = detail.get("checks")
    if checks:
        lines.append(f"  checks     {checks['status']}")
    from cairn.state.reports import read_report

    lines.extend(report_lines(read_report(layout, task.id)))
    lines += isolation_lines(read_isolation(layout, task.id), task.id)
    log = layout.agent_log(task.id)
    if log.exists():
        lines.append(f"  log        {log}")
    lines.append("  prompt:")
    lines.extend(f"    {line}" for line in task.prompt.splitlines())
    return "\n".join(lines)


def report_brief(report: dict[str, Any] | None) -> str:
    """What the agent reported, in one short line for the dashboard's heading."""
    if not report:
        return ""
    parts = []
    if report.get("cost_usd") is not None:
        parts.append(f"${report['cost_usd']:.2f}")
    if report.get("input_tokens") is not None or report.get("output_tokens") is not None:
        parts.append(f"{report.get('input_tokens') or 0}+{report.get('output_tokens') or 0} tokens")
    if report.get("turns") is not None:
        parts.append(f"{report['turns']} turns")
    if report.get("session_id"):
        parts.append(f"session {report['session_id']}")
    return ", ".join(parts)


def report_lines(report: dict[str, Any] | None) -> list[str]:
    from cairn.core.codec import instant_to_text

    if not report:
        return []
    lines = []
    if report.get("session_id"):
        lines.append(f"  session    {report['session_id']}")
    if report.get("cost_usd") is not None:
        lines.append(f"  cost       ${report['cost_usd']:.4g}")
    if report.get("input_tokens") is not None or report.get("output_tokens") is not None:
        lines.append(f"  tokens     {report.get('input_tokens') or 0} in, {report.get('output_tokens') or 0} out")
    if report.get("turns") is not None:
        lines.append(f"  turns      {report['turns']}")
    if report.get("final_message"):
        first = str(report["final_message"]).strip().splitlines()[0]
        lines.append(f"  said       {first[:200]}")
    if report.get("error"):
        lines.append(f"  agent said {report['error']}")
    if report.get("rate_limited"):
        lines.append("  rate limit reached" + (f", resets {instant_to_text(report['resets_at'])}" if report.get("resets_at") else ""))
    return lines


def read_isolation(layout: Any, task_id: int) -> dict[str, Any] | None:
    """``tasks/<id>/isolation.json``, or None before the runner wrote it (or if unreadable)."""
    from cairn.state.reports import read_record

    return read_record(layout.isolation_file(task_id))


def isolation_lines(isolation: dict[str, Any] | None, task_id: int) -> list[str]:
    if isolation is None:
        return []
    if isolation.get("sandbox") == "bwrap":
        shown = f"bwrap, network {'on' if isolation.get('network') else 'off'}"
    else:
        shown = f"none ({isolation.get('reason') or 'not sandboxed'})"
    lines = [f"  sandbox    {shown}"]
    if isolation.get("port"):
        last = isolation["port"] + int(isolation.get("port_count") or 1) - 1
        lines.append(f"  ports      {isolation['port']}-{last}")
    if isolation.get("withheld"):
        lines.append(f"  withheld   {len(isolation['withheld'])} variables of Cairn's environment (`cairn status {task_id} --json` names them)")
    return lines
