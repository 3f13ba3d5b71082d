"""gc of 1,000 finished tasks against removing the same set by hand.

When bench/gc_bench.py offers ``rows(world) -> list[Row]`` (world:
bench/world.py; Row: bench/harness.py), its rows are used.  Otherwise, when
the Cairn under test has ``cairn gc``, this measures it on a set made for
the purpose, twice (once for gc, once by hand): 1,000 tasks that failed 30
days ago, each with an unmerged branch ``cairn/<id>`` (one commit) and an
agent log of a few KB; one in ten still has its worktree.  By hand that is:

    git worktree remove --force PATH          (each remaining worktree)
    git update-ref --stdin                    (one transaction: an archive
                                               ref per branch, the branch deleted)
    gzip LOG...                               (the logs, in one command)

which is what gc does with them under the default policy, without its
checks (uncommitted changes and processes inside each workspace, the
task's lock) and records (``gc.json`` per task, the journal).  One run each.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import time
from pathlib import Path

from bench.harness import BenchError, Figures, Row, run
from bench.world import World

DAY = 86400.0


def rows(world: World) -> list[Row]:
    what = f"gc of {world.scale.gc_tasks:,} finished tasks"
    baseline = "by hand: worktree remove, update-ref --stdin, gzip"
    try:
        module = importlib.import_module("bench.gc_bench")
    except ImportError:
        module = None
    measure = getattr(module, "rows", None)
    if callable(measure):
        return list(measure(world))
    has_gc = run([str(world.bin / "cairn"), "gc", "--help"], world.env, world.dir, check=False).returncode == 0
    if not has_gc:
        return [Row("gc", what, baseline, missing="not available: this Cairn has no `cairn gc`")]
    cairn_seconds = _cairn_gc(world)
    raw_seconds = _by_hand(world)
    tasks = world.scale.gc_tasks
    return [
        Row("gc", what, baseline, unit="s", cairn=Figures([cairn_seconds]), baseline=Figures([raw_seconds]),
            goal="≤ 1.5×", judge=lambda c, b: b is not None and c.median <= 1.5 * b.median,
            note=f"{tasks:,} failed tasks, 30 days old, each with an unmerged branch and a log; {_worktrees(tasks)} "
                 "with their worktree. Cairn also checks each workspace (uncommitted changes, processes inside) and "
                 "the task's lock, and writes gc.json per task and the journal. One run each."),
    ]


def _worktrees(tasks: int) -> int:
    return max(1, tasks // 10)


def _make_set(world: World, name: str) -> tuple[Path, Path, list[int]]:
    """A repository and a state directory holding the finished tasks."""
    from cairn.core import codec
    from cairn.core.model import Failed, Task, Work

    repo = world.repo(name)
    home = world.home(name, repo)
    tasks = world.scale.gc_tasks
    base = run(["git", "rev-parse", "HEAD"], world.env, repo).stdout.strip()
    # One commit per branch, all in one git process.
    stream = []
    for task_id in range(1, tasks + 1):
        content = f"work of task {task_id}\n"
        stream += [
            f"commit refs/heads/cairn/{task_id}", "committer Bench <bench@example.com> 1700000000 +0000",
            "data 5", "work", f"from {base}", f"M 644 inline work/{task_id}.txt", f"data {len(content)}", content.rstrip("\n"), "",
        ]
    run(["git", "fast-import", "--quiet"], world.env, repo, input="\n".join(stream) + "\n", timeout=600)
    heads = dict(
        line.split(" ", 1)[::-1]
        for line in run(["git", "for-each-ref", "--format=%(objectname) %(refname:lstrip=2)", "refs/heads/cairn/"], world.env, repo).stdout.splitlines()
    )
    finished = time.time() - 30 * DAY
    log = "".join(f"agent output line {n}\n" for n in range(100))
    for task_id in range(1, tasks + 1):
        branch = f"cairn/{task_id}"
        workspace = home / "workspaces" / str(task_id)
        if task_id <= _worktrees(tasks):
            run(["git", "worktree", "add", "--quiet", str(workspace), branch], world.env, repo)
        task = Task(id=task_id, title=f"gc {task_id}", prompt="x", agent="claude", created=finished - 60, target="main")  # type: ignore[arg-type]
        work = Work(workspace=str(workspace), branch=branch, base_commit=base, head_commit=heads[branch])
        state = Failed(since=finished, reason="bench: failed long ago", started=finished - 60, exit_code=1, work=work)  # type: ignore[arg-type]
        directory = home / "tasks" / str(task_id)
        directory.mkdir(mode=0o700)
        (directory / "task.json").write_text(json.dumps(codec.encode(task)))
        (directory / "state.json").write_text(json.dumps(codec.encode(state)))
        (directory / "agent.log").write_text(log)
    (home / "next-id").write_text(f"{tasks + 1}\n")
    return repo, home, list(range(1, tasks + 1))


def _cairn_gc(world: World) -> float:
    repo, home, ids = _make_set(world, "gc")
    start = time.perf_counter()
    run([str(world.bin / "cairn"), "gc", "-q"], world.cairn_env(home), repo, timeout=1800)
    seconds = time.perf_counter() - start
    left = run(["git", "for-each-ref", "refs/heads/cairn/"], world.env, repo).stdout.strip()
    if left:
        raise BenchError(f"`cairn gc` left {len(left.splitlines())} task branches")
    return seconds


def _by_hand(world: World) -> float:
    repo, home, ids = _make_set(world, "gc-by-hand")
    heads = run(["git", "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/cairn/"], world.env, repo).stdout.splitlines()
    transaction = "".join(
        f"create refs/cairn/archive/{ref.removeprefix('refs/heads/cairn/')} {commit}\ndelete {ref} {commit}\n"
        for commit, ref in (line.split(" ", 1) for line in heads)
    )
    logs = [str(home / "tasks" / str(i) / "agent.log") for i in ids]
    gzip = shutil.which("gzip", path=world.env["PATH"]) or "gzip"
    start = time.perf_counter()
    for task_id in ids[: _worktrees(len(ids))]:
        subprocess.run(["git", "worktree", "remove", "--force", str(home / "workspaces" / str(task_id))], cwd=repo, env=world.env, check=True, capture_output=True)
    subprocess.run(["git", "update-ref", "--stdin"], cwd=repo, env=world.env, input=transaction, text=True, check=True, capture_output=True)
    subprocess.run([gzip, "--", *logs], env=world.env, check=True, capture_output=True)
    return time.perf_counter() - start
