"""Which agents may start nothing now, and why: rate-limit pauses and the day's budget.  Pure.

The scheduler asks this each turn, with what it read from disk (the pause
files an agent's runner left, the cost each task's agent reported today),
and adds the preflight's answers; ``core.schedule.plan`` then holds those
agents' queued tasks with the reason, and ``cairn status`` shows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any


def paused(pauses: Mapping[str, Mapping[str, Any]], now: float) -> dict[str, str]:
    """Agent -> reason, for each pause not yet over (``{"until": time, "reason": text}``)."""
    held = {}
    for agent, pause in pauses.items():
        until = pause.get("until")
        if isinstance(until, (int, float)) and until > now:
            clock = time.strftime("%H:%M", time.localtime(until))
            held[agent] = f"{pause.get('reason') or f'{agent}: rate limited'}; paused until {clock}"
    return held


def over_the_day(spent: Iterable[Mapping[str, Any]], per_day: float | None, per_day_tokens: int | None) -> str | None:
    """Why nothing more starts today, or None: ``spent`` is today's reports (cost, tokens)."""
    reports = list(spent)
    cost = sum(r.get("cost_usd") or 0.0 for r in reports)
    tokens = sum((r.get("input_tokens") or 0) + (r.get("output_tokens") or 0) for r in reports)
    if per_day is not None and cost >= per_day:
        return f"the day's budget is spent (${cost:.2f} of ${per_day:.2f}): nothing starts until tomorrow or a higher budget.per_day"
    if per_day_tokens is not None and tokens >= per_day_tokens:
        return (f"the day's token budget is spent ({tokens} of {per_day_tokens}): "
                "nothing starts until tomorrow or a higher budget.per_day_tokens")
    return None


def over_the_task(report: Any, per_task: float | None, per_task_tokens: int | None) -> str | None:
    """Why a running task must stop for its budget, or None."""
    if report is None:
        return None
    if per_task is not None and report.cost_usd is not None and report.cost_usd > per_task:
        return f"over its budget: the agent reported ${report.cost_usd:.2f}, budget.per_task is ${per_task:.2f}"
    tokens = (report.input_tokens or 0) + (report.output_tokens or 0)
    if per_task_tokens is not None and tokens > per_task_tokens:
        return f"over its budget: the agent reported {tokens} tokens, budget.per_task_tokens is {per_task_tokens}"
    return None
