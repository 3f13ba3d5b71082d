"""From a task being queued to its agent's process running, with the scheduler up.

Cairn's figure comes from its own journal: the ``queued`` event (written by
``cairn queue`` once the task is on disk) to the ``agent-started`` event
(written by the runner right after the agent's process was spawned).  In
between: inotify wakes the scheduler, it scans and decides, starts a runner
(a new interpreter), which claims the task, makes the workspace, and spawns
the agent.  One task at a time, each left to finish (and the pool to refill)
before the next, as when a person queues work now and then.

The baseline: ``tsp CMD`` to CMD's own first instruction (``date`` writing
the clock), with task-spooler's server already up and a slot free.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from bench.harness import BenchError, Figures, Row, run, wait_until
from bench.world import World


def config(pool: int) -> str:
    return f'default_agent = "noop"\nmax_agents = 4\n[agents.noop]\ncommand = ["true"]\n[pool]\nsize = {pool}\n'


def rows(world: World) -> list[Row]:
    samples = world.scale.latency_samples
    pool_size = world.scale.pool_size
    on = _cairn_latency(world, "latency-pool", pool_size, samples)
    off = _cairn_latency(world, "latency", 0, samples)
    has_tsp = shutil.which("tsp", path=world.env["PATH"]) is not None
    baseline = Figures(_tsp_latency(world, samples)) if has_tsp else None
    missing = "" if has_tsp else "tsp is not installed"
    under_50 = (lambda c, _b: c.p95 <= 50)
    under_100 = (lambda c, _b: c.p95 <= 100)
    note = ("From the `queued` to the `agent-started` event in events.jsonl (millisecond timestamps); "
            "it includes the runner's interpreter start and the workspace.")
    return [
        Row("latency-pool", f"queue → agent started, scheduler running, pool of {pool_size}", "`tsp CMD` → CMD runs",
            cairn=on, baseline=baseline, goal="p95 ≤ 50 ms", judge=under_50, missing=missing, note=note),
        Row("latency", "queue → agent started, scheduler running, no pool", "`tsp CMD` → CMD runs",
            cairn=off, baseline=baseline, goal="p95 ≤ 100 ms", judge=under_100, missing=missing),
    ]


def _cairn_latency(world: World, name: str, pool: int, samples: int) -> Figures:
    from cairn.workspaces.pool import Pool

    repo = world.repo(name)
    home = world.home(name, repo, config(pool))
    env = world.cairn_env(home)
    scheduler = world.start([str(world.bin / "cairn"), "up", "-q"], env, repo, home / "up.log")
    warm = Pool(repo, home)

    def pool_ready() -> bool:
        return not warm.wants_refill(pool) and _refill_idle(home)

    try:
        wait_until(lambda: (home / "scheduler.json").exists() or scheduler.poll() is not None, 60, "the scheduler to start")
        if scheduler.poll() is not None:
            raise BenchError(f"`cairn up` exited {scheduler.returncode}: {(home / 'up.log').read_text()[-500:]}")
        for n in range(samples):
            if pool:
                wait_until(pool_ready, 120, "the pool to fill")
            task_id = int(run([str(world.bin / "cairn"), "queue", f"latency sample {n}"], env, repo).stdout.strip())
            wait_until(lambda: _state(home, task_id) in ("review", "failed"), 120, f"task {task_id} to finish", poll=0.01)
            if _state(home, task_id) != "review":
                raise BenchError(f"task {task_id} failed: {(home / 'tasks' / str(task_id) / 'agent.log').read_text()[-500:]}")
    finally:
        world.stop(scheduler)
    return Figures(_journal_latencies(home))


def _refill_idle(home: Path) -> bool:
    from cairn.state.lock import is_held

    return not is_held(home / "pool" / "refill.lock")


def _state(home: Path, task_id: int) -> str | None:
    try:
        return json.loads((home / "tasks" / str(task_id) / "state.json").read_bytes())["state"]
    except (OSError, ValueError, KeyError):
        return None


def _journal_latencies(home: Path) -> list[float]:
    from cairn.core.codec import text_to_instant

    queued: dict[int, float] = {}
    latencies = []
    for line in (home / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "queued":
            queued[event["task"]] = text_to_instant(event["ts"])
        elif event["event"] == "agent-started" and event["task"] in queued:
            latencies.append((text_to_instant(event["ts"]) - queued[event["task"]]) * 1000)
    return latencies


def _tsp_latency(world: World, samples: int) -> list[float]:
    env = world.tsp_env("latency", slots=1)
    stamps = world.dir / "tsp-latency"
    stamps.mkdir()
    run(["tsp", "-n", "true"], env, world.dir)  # the server is up before the first sample
    run(["tsp", "-w"], env, world.dir)
    latencies = []
    for n in range(samples):
        stamp = stamps / str(n)
        before = time.time()
        run(["tsp", "sh", "-c", f"date +%s.%N > {stamp}.tmp && mv {stamp}.tmp {stamp}"], env, world.dir)
        wait_until(stamp.exists, 30, "the tsp job to run", poll=0.005)
        latencies.append((float(stamp.read_text()) - before) * 1000)
        run(["tsp", "-w"], env, world.dir)
    return latencies
