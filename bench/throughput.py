"""Throughput: 200 tasks whose agent does nothing (``true``), 8 at a time,
against ``tsp -S 8`` running the same 200 commands.

Cairn: the tasks are queued first (untimed), then ``cairn up --until-idle``
is timed from start to exit, when every task is in review.  For each task
that includes a runner (an interpreter start), a workspace (a git worktree,
or one from the pool), committing and diffing the agent's (empty) work,
the state records and the journal.  task-spooler: enqueueing the 200 jobs
and waiting for the last; it makes no workspace and records only the exit
status and the output, so the ratio is the price of isolation and records.
"""

from __future__ import annotations

import json
import shutil
import time

from bench.harness import BenchError, Figures, Row, run
from bench.world import World


def rows(world: World) -> list[Row]:
    tasks, agents = world.scale.throughput_tasks, world.scale.throughput_agents
    pool = world.scale.pool_size
    repo = world.repo("throughput")
    config = f'default_agent = "noop"\nmax_agents = {agents}\n[agents.noop]\ncommand = ["true"]\n[pool]\nsize = {pool}\n'
    home = world.home("throughput", repo, config)
    ids = world.seed(home, ["queued"] * tasks, agent="noop")
    start = time.perf_counter()
    run([str(world.bin / "cairn"), "up", "--until-idle", "-q"], world.cairn_env(home), repo, timeout=3600)
    cairn_seconds = time.perf_counter() - start
    records = [json.loads((home / "tasks" / str(i) / "state.json").read_text()) for i in ids]
    if not {r["state"] for r in records} <= {"review", "failed"}:
        raise BenchError(f"after `cairn up --until-idle` tasks are still {sorted({r['state'] for r in records})}")
    failed = [(i, r.get("reason", "")) for i, r in zip(ids, records) if r["state"] == "failed"]
    baseline = None
    missing = ""
    if shutil.which("tsp", path=world.env["PATH"]):
        baseline = Figures([_tsp(world, tasks, agents)])
    else:
        missing = "tsp is not installed"
    per_task = cairn_seconds / tasks * 1000
    # Issue 18: at most half of the 111 ms a task measured before it.
    return [
        Row("throughput", f"throughput: {tasks} no-op tasks, {agents} at a time, pool of {pool}", f"`tsp -S {agents}`, same commands",
            unit="s", cairn=Figures([cairn_seconds]), baseline=baseline, missing=missing,
            goal="≤ 55 ms a task", judge=lambda c, _b: c.median / tasks * 1000 <= 55.5,
            note=f"One run each: wall time for all. Cairn: {per_task:.0f} ms a task, including per task an interpreter start "
                 "(the runner), a git worktree, the commit and diff of the work, state records and journal; "
                 "tsp forks the command and keeps its output, nothing else."
                 + (f" **{len(failed)} of {tasks} tasks failed**, e.g. task {failed[0][0]}: …{failed[0][1][-160:]}" if failed else "")),
    ]


def _tsp(world: World, tasks: int, agents: int) -> float:
    env = world.tsp_env("throughput", slots=agents)
    run(["tsp", "-n", "true"], env, world.dir)  # the server is up before timing
    run(["tsp", "-w"], env, world.dir)
    start = time.perf_counter()
    ids = [run(["tsp", "true"], env, world.dir).stdout.strip() for _ in range(tasks)]
    for job in ids:
        run(["tsp", "-w", job], env, world.dir)
    return time.perf_counter() - start
