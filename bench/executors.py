"""A remote task's overhead against the same task run here, per engine.

Two spans of one task's life, each a ratio against the same span of a local
task measured in the same run:

- **start**: the ``queued`` journal event to the agent's own first clock
  reading (the agent writes ``date`` before it does anything);
- **finish**: the agent's last clock reading to the ``review`` event.

The agent is one shell line writing two stamps and a file, so the figures
are Cairn's and the engine's overhead: for a remote task the base pushed to
a bare repository, the job submitted, scheduled, the remote runner started
and its clone, then the push, the watcher's next poll, the fetch and the
local workspace.  The clusters are the ones the tests use (tests/clusters.py):
a Ray head on 127.0.0.1, a one-node Slurm cluster, so the figures carry no
network latency and overstate nothing a real cluster would not add.
Samples alternate local, remote, local, remote, one task at a time.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.harness import BenchError, Figures, Row, run, wait_until
from bench.world import CHECKOUT, QUICK, World

AGENT = 'date +%s.%N > "$STAMPS/$CAIRN_TASK_ID.start"; echo "$CAIRN_TASK_ID" > out-$CAIRN_TASK_ID.txt; date +%s.%N > "$STAMPS/$CAIRN_TASK_ID.end"'


def rows(world: World) -> list[Row]:
    import sys

    sys.path.insert(0, str(CHECKOUT / "tests"))
    import clusters

    samples = max(2, world.scale.latency_samples // 6)
    out: list[Row] = []
    for engine in ("ray", "slurm"):
        missing = clusters.ray_missing() if engine == "ray" else clusters.slurm_missing()
        if world.scale is QUICK:
            missing = "not in --quick: it starts a Ray head and a Slurm cluster (python -m bench --only executors)"
        if missing:
            out += _missing(engine, missing)
            continue
        directory = Path(tempfile.mkdtemp(prefix=f"cairn-bench-{engine}-", dir=world.dir))
        try:
            cluster = clusters.start_ray(directory, world.env) if engine == "ray" else clusters.start_slurm(directory)
        except (RuntimeError, TimeoutError) as error:
            out += _missing(engine, f"the {engine} cluster did not start here: {str(error)[-200:]}")
            continue
        try:
            out += _measure(world, engine, cluster, directory, samples)
        finally:
            cluster.stop()
    return out


def _missing(engine: str, why: str) -> list[Row]:
    return [Row(f"executor-{engine}-{span}", f"{engine}: {what}", "the same task, local", missing=why)
            for span, what in (("start", "queue → agent started"), ("finish", "agent ended → review"))]


def _measure(world: World, engine: str, cluster, directory: Path, samples: int) -> list[Row]:  # type: ignore[no-untyped-def]
    # A repository per engine: the engines' state directories number their tasks
    # from 1 alike, and two on one repository would both want branch cairn/1.
    repo = world.repo(f"executor-{engine}")
    remote = directory / "remote.git"
    run(["git", "init", "-q", "--bare", str(remote)], world.env, directory)
    stamps = directory / "stamps"
    stamps.mkdir()
    section = [f"[executors.{engine}]", f'remote = "{remote}"', f'command = ["{world.bin / "cairn-remote-run"}"]']
    extra: dict[str, str] = {"STAMPS": str(stamps)}
    if engine == "ray":
        section += [f'address = "{cluster.address}"', 'env = ["PATH", "STAMPS"]']
        extra["RAY_AUTH_TOKEN"] = cluster.env["RAY_AUTH_TOKEN"]
    else:
        section += [f'shared_dir = "{directory / "shared"}"', 'env = ["PATH", "HOME", "STAMPS"]']
        extra["SLURM_CONF"] = cluster.env["SLURM_CONF"]
    # Unconfined here too: the nodes run no sandbox, and the stamps lie outside the workspace.
    config = ('default_agent = "stamp"\nsandbox = "none"\n[agents.stamp]\ncommand = ["sh", "-c", ' + json.dumps(AGENT) + "]\n"
              + "\n".join(section) + "\n")
    home = world.home(f"executor-{engine}", repo, config)
    env = world.cairn_env(home, **extra)
    scheduler = world.start([str(world.bin / "cairn"), "up", "-q"], env, repo, home / "up.log")
    spans: dict[str, dict[str, list[float]]] = {"local": {"start": [], "finish": []}, engine: {"start": [], "finish": []}}
    try:
        wait_until(lambda: (home / "scheduler.json").exists() or scheduler.poll() is not None, 60, "the scheduler to start")
        for n in range(samples * 2):
            where = "local" if n % 2 == 0 else engine
            task_id = int(run([str(world.bin / "cairn"), "queue", "--executor", where, f"sample {n}"], env, repo).stdout.strip())
            wait_until(lambda: _state(home, task_id) in ("review", "failed"), 300, f"task {task_id} to finish", poll=0.02)
            if _state(home, task_id) != "review":
                raise BenchError(f"task {task_id} on {where} failed: {(home / 'tasks' / str(task_id) / 'agent.log').read_text()[-500:]}")
            # The journal line follows the state on disk (docs/state-directory.md).
            wait_until(lambda: _journal(home, task_id) is not None, 30, f"task {task_id}'s review event", poll=0.02)
            queued, review = _journal(home, task_id)  # type: ignore[misc]
            started = float((stamps / f"{task_id}.start").read_text())
            ended = float((stamps / f"{task_id}.end").read_text())
            spans[where]["start"].append((started - queued) * 1000)
            spans[where]["finish"].append((review - ended) * 1000)
    finally:
        world.stop(scheduler)
    note = ("Ray head / one-node Slurm cluster on this machine, a bare repository as the remote; "
            "the agent writes its own clock first and last.")
    return [
        Row(f"executor-{engine}-start", f"{engine}: queue → agent started", "the same task, local",
            cairn=Figures(spans[engine]["start"]), baseline=Figures(spans["local"]["start"]), note=note),
        Row(f"executor-{engine}-finish", f"{engine}: agent ended → review", "the same task, local",
            cairn=Figures(spans[engine]["finish"]), baseline=Figures(spans["local"]["finish"])),
    ]


def _state(home: Path, task_id: int) -> str | None:
    try:
        return json.loads((home / "tasks" / str(task_id) / "state.json").read_bytes())["state"]
    except (OSError, ValueError, KeyError):
        return None


def _journal(home: Path, task_id: int) -> tuple[float, float] | None:
    from cairn.core.codec import text_to_instant

    queued = review = None
    for line in (home / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("task") != task_id:
            continue
        if event["event"] == "queued":
            queued = text_to_instant(event["ts"])
        elif event["event"] == "review":
            review = text_to_instant(event["ts"])
    if queued is None or review is None:
        return None
    return queued, review


