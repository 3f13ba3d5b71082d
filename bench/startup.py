"""``cairn queue`` and ``cairn status`` with 1,000 tasks in the state directory,
against the interpreter's bare start and against task-spooler doing the same.

The state directory holds 95 % finished tasks and 5 % queued ones (status
explains why each queued task waits, which runs the scheduling decision for
them); task-spooler's queue holds as many jobs: finished, one running, the
rest queued behind it.  Output goes to /dev/null, as in a script.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bench.harness import Figures, Row, interleave, run
from bench.world import World

NOOP = 'default_agent = "noop"\n[agents.noop]\ncommand = ["true"]\n'


def rows(world: World) -> list[Row]:
    scale = world.scale
    repo = world.repo("small")
    home = world.home("startup", repo, NOOP)
    queued = max(1, scale.tasks // 20)
    world.seed(home, ["accepted"] * (scale.tasks - queued) + ["queued"] * queued, agent="noop")
    env = world.cairn_env(home)
    cairn = str(world.bin / "cairn")
    commands = {
        "python": [str(world.python), "-c", "pass"],
        "queue": [cairn, "queue", "bench: one more task"],
        "status": [cairn, "status"],
    }
    editable = Path(sys.executable).parent / "cairn"
    if editable.exists() and editable.parent != world.bin:
        commands["status (editable)"] = [str(editable), "status"]
    has_tsp = shutil.which("tsp", path=env["PATH"]) is not None
    if has_tsp:
        env = {**env, **_fill_tsp(world, scale.tasks, queued)}
        commands["tsp"] = ["tsp", "true", "bench: one more task"]
        commands["tsp -l"] = ["tsp", "-l"]
    samples = interleave(commands, env, repo, runs=scale.startup_runs, warmup=3)
    figures = {name: Figures(values) for name, values in samples.items()}
    tasks = f"{scale.tasks:,} tasks"
    # Issue 18: at most 5× the bare start, and at most 50 ms wherever the bare start is at most 10 ms.
    under_5x = (lambda c, b: b is not None and c.median <= 5 * b.median and (b.median > 10 or c.median <= 50))
    hook = ""
    if "status (editable)" in figures:
        hook = (f" For comparison, the same `cairn status` from the editable install in {editable.parent.parent.name}/ "
                f"took {figures['status (editable)'].median:.1f} ms (median).")
    result = [
        Row("queue-vs-python", f"`cairn queue`, {tasks}", "`python -c pass`", cairn=figures["queue"],
            baseline=figures["python"], goal="≤ 5× (≤ 50 ms if bare ≤ 10 ms)", judge=under_5x,
            note=f"Each run records one more task (the state directory grows by {scale.startup_runs + 3} tasks); "
                 "the baseline is the same interpreter the installed `cairn` runs on, started bare."),
        Row("status-vs-python", f"`cairn status`, {tasks}", "`python -c pass`", cairn=figures["status"],
            baseline=figures["python"], goal="≤ 5× (≤ 50 ms if bare ≤ 10 ms)", judge=under_5x,
            note=f"{scale.tasks - queued:,} finished and {queued} queued tasks listed, each queued one with why it waits." + hook),
    ]
    if has_tsp:
        result += [
            Row("queue-vs-tsp", f"`cairn queue`, {tasks}", "`tsp true …` (enqueue)", cairn=figures["queue"], baseline=figures["tsp"],
                note="task-spooler is a small C client talking to its server over a socket: a floor, not a goal."),
            Row("status-vs-tsp", f"`cairn status`, {tasks}", "`tsp -l`", cairn=figures["status"], baseline=figures["tsp -l"]),
        ]
    else:
        result.append(Row("queue-vs-tsp", f"`cairn queue` / `cairn status`, {tasks}", "`tsp`", missing="tsp is not installed"))
    return result


def _fill_tsp(world: World, jobs: int, queued: int) -> dict[str, str]:
    """A task-spooler queue as full as the state directory: finished jobs, one
    running (it holds the single slot), the rest queued behind it."""
    env = world.tsp_env("startup", slots=1)
    cwd = world.dir
    finished = jobs - queued
    batch = 100  # each waiting job is a client process holding a connection: stay well under TS_MAXCONN
    for start in range(0, finished, batch):
        for _ in range(min(batch, finished - start)):
            run(["tsp", "-n", "true", "finished job"], env, cwd)
        run(["tsp", "-w"], env, cwd)
    run(["tsp", "sleep", "3600"], env, cwd)
    for _ in range(queued - 1):
        run(["tsp", "true", "queued job"], env, cwd)
    return {k: v for k, v in env.items() if k.startswith("TS_")}
