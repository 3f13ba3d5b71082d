"""A task's workspace on a 10,000-file repository, against ``git worktree add``.

Cairn's side is ``GitWorkspaces.create`` called in-process, as the runner
calls it: it resolves the base (``git rev-parse``), checks for a branch left
by an earlier attempt (``git show-ref``), then makes the worktree, or takes a
warm one from the pool.  The baseline is the one command a person would
type, ``git worktree add -b BRANCH PATH BASE``.  The clone backend's
``CloneBackend.create`` (``git clone --shared``, the checkout, the user's
identity and remotes carried over) is timed against the same baseline, and
its disk use (the whole workspace, ``.git`` included, as ``du`` counts it)
against the worktree's.  The four are interleaved,
each round in a new order; every worktree is removed again, untimed.  The
pool is refilled between rounds, untimed: the scheduler does that in the
background (at nice 10) while nobody waits.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.harness import BenchError, Figures, Row, run
from bench.world import World


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """The bench's environment for in-process git calls, restored after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def rows(world: World) -> list[Row]:
    from cairn.core.model import Task
    from cairn.backends.git import GitBackend as GitWorkspaces
    from cairn.backends.clone import CloneBackend
    from cairn.backends.disk import tree_bytes
    from cairn.backends.git.pool import Pool

    repo = world.repo("big")
    files = world.scale.big_files
    plain = world.home("workspaces", repo)
    pooled = world.home("workspaces-pool", repo, "[pool]\nsize = 1\n")
    base = run(["git", "rev-parse", "HEAD"], world.env, repo).stdout.strip()
    backend = GitWorkspaces(repo)
    pool = Pool(repo, pooled)
    target = world.dir / "workspaces"
    target.mkdir()
    clones = CloneBackend(repo)
    samples: dict[str, list[float]] = {"fresh": [], "pool": [], "clone": [], "git": []}
    disk: dict[str, list[float]] = {"clone": [], "git": []}
    kinds = list(samples)
    number = 0
    with environment(world.env):
        for round_ in range(world.scale.workspace_runs):
            pool.refill(1)
            if [e.commit for e in pool.entries()] != [base]:
                raise BenchError(f"the pool did not fill: {pool.entries()}")
            shift = round_ % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                number += 1
                path = target / f"{kind}-{number}"
                if kind == "git":
                    branch = f"bench/{number}"
                    argv = ["git", "worktree", "add", "--quiet", "-b", branch, str(path), base]
                    start = time.perf_counter()
                    subprocess.run(argv, cwd=repo, check=True, capture_output=True)
                    seconds = time.perf_counter() - start
                elif kind == "clone":
                    task = Task(id=number, title="bench", prompt="bench", agent="claude", created=time.time(), target="main")  # type: ignore[arg-type]
                    start = time.perf_counter()
                    work = clones.create(task, path)
                    seconds = time.perf_counter() - start
                    branch = work.branch
                else:
                    os.environ["CAIRN_HOME"] = str(pooled if kind == "pool" else plain)
                    task = Task(id=number, title="bench", prompt="bench", agent="claude", created=time.time(), target="main")  # type: ignore[arg-type]
                    start = time.perf_counter()
                    work = backend.create(task, path)
                    seconds = time.perf_counter() - start
                    branch = work.branch
                    if kind == "pool" and pool.entries():
                        raise BenchError("the pooled workspace was not taken from the pool")
                samples[kind].append(seconds * 1000)
                if kind in disk:
                    disk[kind].append(tree_bytes(str(path)) / 1e6)
                if kind == "clone":
                    import shutil

                    shutil.rmtree(path)
                else:
                    run(["git", "worktree", "remove", "--force", str(path)], world.env, repo)
                run(["git", "branch", "-D", branch], world.env, repo)
    git = Figures(samples["git"])
    note = ("`GitWorkspaces.create` in-process (rev-parse, show-ref, then the worktree) against the single git command; "
            "bootstrap (copies, symlinks, setup commands) is not part of either.")
    return [
        Row("workspace", f"workspace creation, {files:,} files, no pool", "`git worktree add`", cairn=Figures(samples["fresh"]),
            baseline=git, goal="< 1.15×", judge=lambda c, b: b is not None and c.median < 1.15 * b.median, note=note),
        Row("workspace-pool", f"workspace creation, {files:,} files, pool on", "`git worktree add`", cairn=Figures(samples["pool"]),
            baseline=git, goal="< 0.2×", judge=lambda c, b: b is not None and c.median < 0.2 * b.median,
            note="A ready worktree renamed into place (`git worktree move`) and given its branch (`git switch -c`); "
                 "the refill that made it ran earlier and is not timed."),
        Row("workspace-clone", f"clone workspace creation, {files:,} files (`vcs = \"clone\"`)", "`git worktree add`",
            cairn=Figures(samples["clone"]), baseline=git, goal="< 1.5×", judge=lambda c, b: b is not None and c.median < 1.5 * b.median,
            note="`CloneBackend.create` in-process: the task's branch made at the base, `git clone --shared --no-checkout`, "
                 "`git checkout -b`, identity and remotes copied; objects are borrowed through alternates, never copied."),
        Row("workspace-clone-disk", f"clone workspace disk use, {files:,} files", "a worktree's", unit="MB",
            cairn=Figures(disk["clone"]), baseline=Figures(disk["git"]), goal="< 1.1×",
            judge=lambda c, b: b is not None and c.median < 1.1 * b.median,
            note="The whole workspace as `du` counts it, `.git` included: the checked-out files plus the clone's index and refs."),
    ]
