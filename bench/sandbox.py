"""What the bubblewrap sandbox adds to a task's start: queue → agent started,
sandboxed against the same task unsandboxed, in the same run.

Two state directories on one repository shape, identical but for ``sandbox``
(``bwrap`` and ``none``).  Each sample queues one task in each, in alternating
order, and runs it with ``cairn spawn ID --wait``; the figure is, as in
latency.py, the journal's ``queued`` → ``agent-started`` span.  The sandboxed
side includes what the sandbox costs before the agent runs: probing that bwrap
works (once per runner), resolving the declared paths, and bwrap's own
namespaces and mounts (the ``agent-started`` event is written once the bwrap
process is spawned, so the mounts made inside it count only as far as they
delay the spawn).  The agent is ``true``.
"""

from __future__ import annotations

import json
import shutil

from bench.harness import BenchError, Figures, Row, run
from bench.latency import _journal_latencies, _state
from bench.world import World

CONFIG = 'default_agent = "noop"\nsandbox = "{mode}"\n[agents.noop]\ncommand = ["true"]\n'


def rows(world: World) -> list[Row]:
    if shutil.which("bwrap", path=world.env["PATH"]) is None:
        return [Row("sandbox-start", "queue → agent started, sandboxed (bwrap)", "the same, unsandboxed",
                    missing="bwrap is not installed")]
    sides = {mode: _side(world, mode) for mode in ("none", "bwrap")}
    samples = max(2, world.scale.latency_samples // 3)
    for n in range(samples):
        order = ("none", "bwrap") if n % 2 == 0 else ("bwrap", "none")
        for mode in order:
            repo, home, env = sides[mode]
            task_id = int(run([str(world.bin / "cairn"), "queue", f"sandbox sample {n}"], env, repo).stdout.strip())
            run([str(world.bin / "cairn"), "spawn", str(task_id), "--wait"], env, repo, check=False)
            if _state(home, task_id) != "review":
                raise BenchError(f"{mode}: task {task_id} did not reach review: {(home / 'tasks' / str(task_id) / 'agent.log').read_text()[-500:]}")
    bwrap_home, none_home = sides["bwrap"][1], sides["none"][1]
    sandboxed = json.loads((bwrap_home / "tasks" / "1" / "isolation.json").read_text())["sandbox"]
    if sandboxed != "bwrap":
        raise BenchError(f"the sandboxed side ran unsandboxed: {sandboxed}")
    return [Row(
        "sandbox-start", "queue → agent started, sandboxed (bwrap)", "the same task, sandbox = none",
        cairn=Figures(_journal_latencies(bwrap_home)), baseline=Figures(_journal_latencies(none_home)),
        goal="ratio ≤ 1.5", judge=lambda c, b: b is not None and c.median <= 1.5 * b.median,
        note="`cairn spawn --wait`, one task at a time, the two sides alternating; the agent is `true`.",
    )]


def _side(world: World, mode: str):  # type: ignore[no-untyped-def]
    repo = world.repo(f"sandbox-{mode}")
    home = world.home(f"sandbox-{mode}", repo, CONFIG.format(mode=mode))
    env = world.cairn_env(home)
    env.pop("CAIRN_SANDBOX", None)
    return repo, home, env
