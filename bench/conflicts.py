"""``cairn conflicts`` against the raw ``git merge-tree`` calls it makes.

The world's big repository (10,000 files); 20 tasks in review, each a
branch with one commit that edits its own file of one folder (so every pair
overlaps and is merged), and every fifth also the same line of one shared
file (so some pairs really conflict).  The branches are made with one
scratch worktree and written into the state directory as review records
(setup, not timed).

- cold: ``cairn conflicts --json`` with its cache deleted before each sample,
  against the same ``git merge-tree --write-tree --name-only --no-messages
  A B`` calls, one after the other, for every pair it merged (190): what the
  radar costs over the merges it cannot do without;
- warm: ``cairn conflicts --json`` again with the cache kept (no merge runs),
  against the same raw calls: what the cache saves.
Samples alternate between the two sides.
"""

from __future__ import annotations

import json
import subprocess
import time
from itertools import combinations
from pathlib import Path

from bench.harness import Figures, Row, resolve_argv, run, spawn_time, working_directory
from bench.world import World

NOOP = 'default_agent = "noop"\n[agents.noop]\ncommand = ["true"]\n'


def rows(world: World) -> list[Row]:
    repo = world.repo("big")
    home = world.home("conflicts", repo, NOOP)
    tasks = world.scale.conflict_tasks
    heads = _review_tasks(world, repo, home, tasks)
    pairs = list(combinations(heads, 2))
    argv = resolve_argv([str(world.bin / "cairn"), "conflicts", "--json"], world.cairn_env(home))
    env = world.cairn_env(home)
    report = json.loads(run(argv, env, repo).stdout)
    merged = [p for p in report["pairs"] if p["conflict"] is not None]
    if len(merged) != len(pairs):
        raise RuntimeError(f"cairn conflicts merged {len(merged)} pairs, expected {len(pairs)}")
    cache = home / "cache" / "radar.json"
    samples: dict[str, list[float]] = {"cold": [], "warm": [], "raw": []}
    with working_directory(repo):
        for round_ in range(world.scale.conflict_runs):
            for side in (("cairn", "raw") if round_ % 2 == 0 else ("raw", "cairn")):
                if side == "raw":
                    samples["raw"].append(_raw_merges(repo, world.env, pairs) * 1000)
                    continue
                cache.unlink(missing_ok=True)
                samples["cold"].append(spawn_time(argv, env) * 1000)
                samples["warm"].append(spawn_time(argv, env) * 1000)
    conflicting = sum(1 for p in report["pairs"] if p["conflict"])
    note = (f"{tasks} tasks in review, {len(pairs)} overlapping pairs merged ({conflicting} conflict), "
            f"in a {world.scale.big_files}-file repository; the radar also lists branches, diffs each proposal "
            "against its merge base, reads every record and starts an interpreter.")
    return [
        Row("conflicts-cold", "`cairn conflicts`, nothing cached", f"git merge-tree × {len(pairs)} (the calls it makes)",
            cairn=Figures(samples["cold"]), baseline=Figures(samples["raw"]), goal="< 1.3×",
            judge=lambda c, b: b is not None and c.median < 1.3 * b.median, note=note),
        Row("conflicts-warm", "`cairn conflicts`, merges cached", f"git merge-tree × {len(pairs)}",
            cairn=Figures(samples["warm"]), baseline=Figures(samples["raw"]), goal="< 0.5×",
            judge=lambda c, b: b is not None and c.median < 0.5 * b.median),
    ]


def _raw_merges(repo: Path, env: dict[str, str], pairs: list[tuple[str, str]]) -> float:
    start = time.perf_counter()
    for a, b in pairs:
        subprocess.run(["git", "merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", a, b],
                       cwd=repo, env=env, capture_output=True)
    return time.perf_counter() - start


def _review_tasks(world: World, repo: Path, home: Path, count: int) -> list[str]:
    """``count`` tasks in review, each on its own branch; their head commits."""
    from cairn.core import codec
    from cairn.core.model import DiffStat, GitWork, Review, Task
    from cairn.state.layout import Layout

    layout = Layout(home)
    base = run(["git", "rev-parse", "main"], world.env, repo).stdout.strip()
    scratch = world.dir / "conflicts-scratch"
    run(["git", "worktree", "add", "--quiet", "--detach", str(scratch), base], world.env, repo)
    now = time.time()
    heads = []
    for task_id in range(1, count + 1):
        run(["git", "checkout", "--quiet", "--detach", base], world.env, scratch)
        mine = scratch / "src" / "pkg000" / f"mod{task_id:03d}.py"
        mine.write_text(mine.read_text() + f"\n# task {task_id}\n")
        if task_id % 5 == 0:
            shared = scratch / "src" / "pkg000" / "mod000.py"
            shared.write_text(shared.read_text().replace("VALUE = 0", f"VALUE = {task_id}"))
        run(["git", "commit", "-q", "-am", f"bench task {task_id}"], world.env, scratch)
        head = run(["git", "rev-parse", "HEAD"], world.env, scratch).stdout.strip()
        run(["git", "branch", "-f", f"cairn/{task_id}", head], world.env, repo)
        heads.append(head)
        task = Task(id=task_id, title=f"bench task {task_id}", prompt="edit", agent="noop", created=now, target="main")  # type: ignore[arg-type]
        work = GitWork(workspace=str(home / "workspaces" / str(task_id)), branch=f"cairn/{task_id}", base_commit=base, head_commit=head)
        state = Review(since=now, started=now, work=work, changed=DiffStat(files=1, insertions=1))  # type: ignore[arg-type]
        directory = layout.task_dir(task_id)
        directory.mkdir(mode=0o700)
        (directory / "task.json").write_text(json.dumps(codec.encode(task)))
        (directory / "state.json").write_text(json.dumps(codec.encode(state)))
    layout.next_id.write_text(f"{count + 1}\n")
    run(["git", "worktree", "remove", "--force", str(scratch)], world.env, repo)
    return heads
