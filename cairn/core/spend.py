"""What the agents reported spending, per task, per agent, per day.  Pure.

``cairn metrics`` reads each task's ``report.json`` (cost in dollars, input
and output tokens, as its agent reported them) and asks this to add them up;
a day is the local calendar day the task's run ended.  Agents that report no
cost count as none (Codex reports tokens only).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Spend:
    key: str
    tasks: int
    cost_usd: float
    input_tokens: int
    output_tokens: int

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "tasks": self.tasks, "cost_usd": round(self.cost_usd, 6),
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


def add_up(rows: Iterable[tuple[str, float | None, dict[str, Any]]]) -> tuple[list[Spend], list[Spend]]:
    """``rows``: (agent, when its run ended, report) of each task with a report; (per agent, per day)."""
    agents: dict[str, list[dict[str, Any]]] = {}
    days: dict[str, list[dict[str, Any]]] = {}
    for agent, ended, report in rows:
        agents.setdefault(agent, []).append(report)
        if ended is not None:
            days.setdefault(time.strftime("%Y-%m-%d", time.localtime(ended)), []).append(report)
    return [_sum(k, v) for k, v in sorted(agents.items())], [_sum(k, v) for k, v in sorted(days.items())]


def _sum(key: str, reports: list[dict[str, Any]]) -> Spend:
    return Spend(
        key=key,
        tasks=len(reports),
        cost_usd=sum(float(r.get("cost_usd") or 0.0) for r in reports),
        input_tokens=sum(int(r.get("input_tokens") or 0) for r in reports),
        output_tokens=sum(int(r.get("output_tokens") or 0) for r in reports),
    )
