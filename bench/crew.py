"""A crew of eight kept busy: 500 one-second tasks on 8 slots, and what the
crew costs while it runs.

The tasks (agent ``sleep 1``, pool of 2) are seeded queued, then ``cairn up
--until-idle`` runs them all, timed from its start to its exit.  The ideal is
``tasks / slots`` seconds: every slot full, no gap between two tasks and no
overhead.  During the run the bench samples, every half second:

- the scheduler's CPU time (user + system, its threads included; runners
  are other processes), as a share of one core over the whole run;
- the resident memory of every runner process (the runner of each running
  task, and the standby);
- ``cairn status`` (1 agent's worth of CPU, on a crew that is busy and a
  state directory whose records keep changing), against the same command on
  the same state directory idle: half of the idle samples before the run
  (500 queued tasks), half after (500 in review).
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from bench.harness import BenchError, Figures, Row, resolve_argv, spawn_time, working_directory
from bench.resident import _cpu, _rss, _runners, _state
from bench.world import World


def rows(world: World) -> list[Row]:
    tasks, slots, seconds = world.scale.crew_tasks, world.scale.throughput_agents, world.scale.crew_seconds
    repo = world.repo("crew")
    config = (f'default_agent = "sleep"\nmax_agents = {slots}\n[agents.sleep]\ncommand = ["sleep", "{seconds:g}"]\n'
              f"[pool]\nsize = {world.scale.pool_size}\n")
    home = world.home("crew", repo, config)
    ids = world.seed(home, ["queued"] * tasks, agent="sleep")
    env = world.cairn_env(home)
    status = resolve_argv([str(world.bin / "cairn"), "status"], env)
    idle = _status_samples(status, env, repo, world.scale.startup_runs // 2)

    scheduler = world.start([str(world.bin / "cairn"), "up", "--until-idle", "-q"], env, repo, home / "up.log")
    began = time.perf_counter()
    watched = psutil.Process(scheduler.pid)
    busy: list[float] = []
    runner_mb: list[float] = []
    cpu = 0.0
    try:
        while scheduler.poll() is None:
            try:
                cpu = _cpu(watched)
                runner_mb += [_rss(p) / 2**20 for p in _runners(watched)]
            except psutil.Error:
                break  # it just exited
            busy += _status_samples(status, env, repo, 1)
            time.sleep(0.5)
        wall = time.perf_counter() - began
    finally:
        world.stop(scheduler)
    idle += _status_samples(status, env, repo, world.scale.startup_runs // 2)
    states = [_state(home, i) for i in ids]
    if not set(states) <= {"review", "failed"}:
        raise BenchError(f"after `cairn up --until-idle` tasks are still {sorted(set(states))}")
    failed = states.count("failed")
    ideal = tasks / slots * seconds
    cpu_share = cpu / wall * 100
    runner_mb = [mb for mb in runner_mb if mb > 0]
    lost = f" **{failed} of {tasks} tasks failed.**" if failed else ""
    return [
        Row("crew-wall", f"{tasks} tasks of {seconds:g} s, {slots} slots, pool of {world.scale.pool_size}: wall",
            f"ideal: {tasks} / {slots} × {seconds:g} s", unit="s", cairn=Figures([wall]), baseline=Figures([ideal]),
            goal="≤ 1.15× the ideal", judge=lambda c, b: b is not None and c.median <= 1.15 * b.median,
            note=f"`cairn up --until-idle` from start to exit; {len(busy)} `cairn status` ran meanwhile.{lost}"),
        Row("crew-scheduler-cpu", "scheduler CPU over that run, share of one core", "—", unit="%",
            cairn=Figures([cpu_share]), goal="≤ 10 %", judge=lambda c, _b: c.median <= 10.0,
            note=f"The `cairn up` process (all its threads): {cpu:.1f} s of CPU in {wall:.1f} s."),
        Row("crew-status", f"`cairn status` while {slots} agents run, {tasks} tasks", "the same, crew idle",
            cairn=Figures(busy), baseline=Figures(idle), goal="≤ 2×", judge=lambda c, b: b is not None and c.median <= 2 * b.median,
            note="Sampled every half second during the run; idle: before the run (all queued) and after it (all in review)."),
        Row("runner-rss", f"runner resident memory, during that run ({len(runner_mb)} samples)", "—", unit="MB",
            cairn=Figures(runner_mb or [0.0]), goal="≤ 20 MB each", judge=lambda c, _b: bool(runner_mb) and c.p95 <= 20.0,
            note="Every runner process of the scheduler at each sample: the runner of each running task (forked by the standby) and the standby. Judged on the p95."),
    ]


def _status_samples(argv: list[str], env: dict[str, str], cwd: Path, count: int) -> list[float]:
    with working_directory(cwd):
        return [spawn_time(argv, env) * 1000 for _ in range(count)]

