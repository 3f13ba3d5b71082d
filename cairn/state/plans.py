"""Queueing a plan's tasks together, and the plan records in ``plans/``.

All or none: every task of the plan is staged under ``tmp/`` while
``locks/ids.lock`` is held, and only once all are written are they renamed
into ``tasks/``, in the plan's dependency order, so ids run in that order and
every ``after`` points at a smaller id.  A failure while staging leaves
nothing behind.  Renames within one filesystem do not fail short of a crash;
if one does, the tasks already renamed are cancelled (never deleted: a
scheduler may have started one) with a reason saying so.
``plans/<id>.json`` is written last: it names the plan's tasks by plan name
and id.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cairn.core import codec
from cairn.core.plan import Plan, plan_id_from
from cairn.core.queueing import make_title
from cairn.errors import UsageError
from cairn.state import atomic, lock
from cairn.state.store import Store

_MODE = 0o700


@dataclass(frozen=True, slots=True)
class PlanRecord:
    id: str
    goal: str | None
    created: float
    source: str | None
    #: plan name -> task id, in the order they were queued.
    tasks: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"format": 1, "id": self.id, "goal": self.goal, "created": codec.instant_to_text(self.created),
                "source": self.source, "tasks": self.tasks}


def queue_plan(
    store: Store, plan: Plan, *, default_agent: str, target: str | None, source: str | None, name_hint: str | None,
) -> PlanRecord:
    from cairn.core.model import Queued, Task

    layout = store.layout
    layout.plans.mkdir(mode=_MODE, exist_ok=True)
    now = time.time()
    with lock.held(layout.ids_lock):
        plan_id = _free_plan_id(store, plan_id_from(plan, name_hint))
        first = store._next_id()
        while layout.task_dir(first).exists():  # a crash after a rename, before next-id
            first += 1
        ids: dict[str, int] = {}
        staged: list[tuple[Path, int]] = []
        try:
            for offset, entry in enumerate(plan.order()):
                task_id = first + offset
                if layout.task_dir(task_id).exists():
                    raise UsageError(f"task {task_id} appeared while the plan was being queued; nothing was queued",
                                     hint="try again")
                ids[entry.name] = task_id
                task = Task(
                    id=task_id, title=make_title(entry.prompt, entry.title), prompt=entry.prompt,
                    priority=(entry.priority or "normal"),  # type: ignore[arg-type]
                    agent=entry.agent or default_agent, created=now,  # type: ignore[arg-type]
                    target=target, after=sorted(ids[name] for name in entry.after), locks=list(entry.locks),
                    plan=plan_id,
                )
                staging = layout.tmp / f".task-{task_id}-{os.getpid()}"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(mode=_MODE)
                staged.append((staging, task_id))
                atomic.write_json(staging / "task.json", codec.encode(task))
                atomic.write_json(staging / "state.json", codec.encode(Queued(since=now)))  # type: ignore[arg-type]
            renamed: list[int] = []
            try:
                for staging, task_id in staged:
                    os.rename(staging, layout.task_dir(task_id))
                    renamed.append(task_id)
            except BaseException:
                _cancel_partial(store, renamed)
                raise
        except BaseException:
            for staging, _ in staged:
                shutil.rmtree(staging, ignore_errors=True)
            raise
        atomic.fsync_dir(layout.tasks)
        atomic.write_text(layout.next_id, f"{first + len(staged)}\n")
        record = PlanRecord(id=plan_id, goal=plan.goal, created=now, source=source, tasks=ids)
        atomic.write_json(layout.plan_file(plan_id), record.to_json())
    for entry in plan.order():
        task_id = ids[entry.name]
        store.journal("queued", task=task_id, title=make_title(entry.prompt, entry.title),
                      agent=entry.agent or default_agent, priority=entry.priority or "normal", plan=plan_id)
    store.journal("plan-queued", plan=plan_id, tasks=list(ids.values()))
    return record


def _cancel_partial(store: Store, task_ids: list[int]) -> None:
    from cairn.core.model import Cancelled

    reason = "its plan could not be queued whole"
    for task_id in task_ids:
        try:
            store.move(task_id, "cancelled", lambda s: Cancelled(since=time.time(), reason=reason,  # type: ignore[arg-type]
                                                                 work=getattr(s, "work", None)), reason=reason)
        except Exception:  # noqa: BLE001 — the original error is the one to report
            pass


def _free_plan_id(store: Store, wanted: str) -> str:
    candidate, number = wanted, 1
    while store.layout.plan_file(candidate).exists():
        number += 1
        candidate = f"{wanted}-{number}"
    return candidate


def read_plan(store: Store, plan_id: str) -> PlanRecord:
    path = store.layout.plan_file(plan_id)
    try:
        data = json.loads(path.read_bytes())
        return PlanRecord(id=data["id"], goal=data.get("goal"), created=codec.text_to_instant(data["created"]),
                          source=data.get("source"), tasks={str(k): int(v) for k, v in data["tasks"].items()})
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in store.layout.plans.glob("*.json"))) if store.layout.plans.is_dir() else ""
        raise UsageError(f"no plan {plan_id!r}", hint=f"plans: {known}" if known else "no plan was queued yet") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UsageError(f"the plan record {path} cannot be read: {error}") from None


def plan_of_tasks(store: Store) -> dict[int, str]:
    """task id -> plan id, for every readable plan record (the TUI's groups)."""
    found: dict[int, str] = {}
    try:
        names = sorted(os.listdir(store.layout.plans))
    except OSError:
        return found
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            try:
                record = read_plan(store, name[: -len(".json")])
            except UsageError:
                continue
            for task_id in record.tasks.values():
                found[task_id] = record.id
    return found
