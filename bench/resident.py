"""The scheduler at rest: its resident memory with 50 agents running, and
its CPU while it has nothing to decide.

Each agent is ``cat FIFO``: it blocks on a named pipe without using any CPU
until the bench opens the pipe for writing.  The tasks are queued one after
another, each once the one before has its agent.  task-spooler's server runs as
many such jobs at the same time, and both are measured over the same
window, with psutil (resident set size; user + system CPU time of the
process and all its threads, split into five slices for median and p95).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path

import psutil

from bench.harness import BenchError, Figures, Row, run, wait_until
from bench.world import World

SLICES = 5


def rows(world: World) -> list[Row]:
    agents = world.scale.resident_agents
    window = world.scale.idle_seconds
    repo = world.repo("resident")
    fifo = world.dir / "release-cairn.fifo"
    os.mkfifo(fifo)
    home = world.home("resident", repo, f'default_agent = "hold"\n[agents.hold]\ncommand = ["cat", "{fifo}"]\n')
    ids: list[int] = []

    tsp_server = None
    tsp_fifo = world.dir / "release-tsp.fifo"
    if shutil.which("tsp", path=world.env["PATH"]):
        os.mkfifo(tsp_fifo)
        env = world.tsp_env("resident", slots=agents)
        for _ in range(agents):
            run(["tsp", "cat", str(tsp_fifo)], env, world.dir)
        tsp_server = world.tsp_server(env)

    scheduler = world.start([str(world.bin / "cairn"), "up", "-q", "--max-agents", str(agents)], world.cairn_env(home), repo, home / "up.log")
    try:
        # One task at a time, each queued once the one before has its agent (or
        # has failed): a burst of 50 runs into git's concurrent `worktree add`
        # failure (see the throughput row), and this row is about memory.
        for _ in range(agents):
            ids += world.seed(home, ["queued"], agent="hold")
            wait_until(lambda: _started(home) + _failed(home, ids) >= len(ids) or scheduler.poll() is not None, 120,
                       f"the agent of task {ids[-1]} to start", poll=0.02)
            if scheduler.poll() is not None:
                raise BenchError(f"`cairn up` exited {scheduler.returncode}: {(home / 'up.log').read_text()[-500:]}")
        failures = _failures(home, ids)
        running = agents - len(failures)
        time.sleep(min(2.0, window))  # let the last turn's work settle
        process = psutil.Process(scheduler.pid)
        runners = _runners(process)
        watched = {"cairn": process, **({"tsp": tsp_server} if tsp_server else {})}
        memory: dict[str, list[float]] = {name: [] for name in watched}
        cpu: dict[str, list[float]] = {name: [] for name in watched}
        first = {name: _cpu(p) for name, p in watched.items()}
        for _ in range(SLICES):
            before = {name: _cpu(p) for name, p in watched.items()}
            started = time.monotonic()
            time.sleep(window / SLICES)
            elapsed = time.monotonic() - started
            for name, p in watched.items():
                cpu[name].append((_cpu(p) - before[name]) / elapsed * 100)
                memory[name].append(p.memory_info().rss / 2**20)
        spent = {name: (_cpu(p) - first[name]) * 1000 for name, p in watched.items()}
        sizes = [_rss(r) for r in runners]
        sizes = [size for size in sizes if size]
        runner_mb = sum(sizes) / len(sizes) / 2**20 if sizes else 0.0
        _release(fifo, lambda: all(_state(home, i) != "running" for i in ids))
        wait_until(lambda: all(_state(home, i) in ("review", "failed") for i in ids), 600, "the agents to finish", poll=0.2)
    finally:
        world.stop(scheduler)
        if tsp_server is not None:
            _release(tsp_fifo, lambda: not _any_reader(tsp_fifo), timeout=30)
    missing = "" if tsp_server else "tsp is not installed"
    failed = ""
    if failures:
        failed = (f" **{len(failures)} of {agents} tasks failed before their agent started**, e.g. task "
                  f"{failures[0][0]}: …{failures[0][1][-160:]}")
    return [
        Row("scheduler-rss", f"scheduler resident memory, {running} agents running", f"tsp server, {agents} jobs running",
            unit="MB", cairn=Figures(memory["cairn"]), baseline=Figures(memory["tsp"]) if tsp_server else None, missing=missing,
            note=f"The `cairn up` process alone. Each running agent also has its runner, {runner_mb:.0f} MB resident on average "
                 f"({len(sizes)} measured); task-spooler's counterpart is a client process per job." + failed),
        Row("scheduler-idle-cpu", f"scheduler CPU while idle, {running} agents running, {window:g} s", "tsp server, same window",
            unit="%", cairn=Figures(cpu["cairn"]), baseline=Figures(cpu["tsp"]) if tsp_server else None, missing=missing,
            goal="< 1%", judge=lambda c, _b: c.median < 1.0,
            note=f"CPU time over the whole window: Cairn {spent['cairn']:.0f} ms"
                 + (f", tsp {spent['tsp']:.0f} ms" if "tsp" in spent else "")
                 + " (the kernel counts in 10 ms ticks)."),
    ]


def _runners(scheduler: psutil.Process) -> list[psutil.Process]:
    """The scheduler's runners: those its standby forked (cairn/engine/standby.py),
    the standby itself, and any it started fresh (cairn/engine/runner.py)."""
    try:
        descendants = scheduler.children(recursive=True)
    except psutil.Error:
        return []
    return [p for p in descendants if any(m in " ".join(_cmdline(p)) for m in ("cairn.engine.runner", "cairn.engine.standby"))]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:  # a runner that just ended: a zombie until the scheduler reaps it
        return []


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _started(home: Path) -> int:
    try:
        text = (home / "events.jsonl").read_text()
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if '"agent-started"' in line)


def _failed(home: Path, ids: list[int]) -> int:
    return sum(_state(home, i) == "failed" for i in ids)


def _failures(home: Path, ids: list[int]) -> list[tuple[int, str]]:
    found = []
    for task_id in ids:
        try:
            record = json.loads((home / "tasks" / str(task_id) / "state.json").read_bytes())
        except (OSError, ValueError):
            continue
        if record.get("state") == "failed":
            found.append((task_id, str(record.get("reason", ""))[-200:]))
    return found


def _state(home: Path, task_id: int) -> str | None:
    try:
        return json.loads((home / "tasks" / str(task_id) / "state.json").read_bytes())["state"]
    except (OSError, ValueError, KeyError):
        return None


def _release(fifo: Path, done: object, timeout: float = 600) -> None:
    """Open the pipe for writing and close it, until ``done()``: every ``cat``
    blocked on it sees end-of-file and exits."""
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: no reader right now
                raise
        if time.monotonic() > deadline:
            raise BenchError(f"agents blocked on {fifo} did not end")
        time.sleep(0.05)


def _any_reader(fifo: Path) -> bool:
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        return True
    except OSError:
        return False
