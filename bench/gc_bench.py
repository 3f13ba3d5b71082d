"""``cairn gc`` of N finished tasks against removing the same set by hand, in one run.

    .venv/bin/python bench/gc_bench.py [--tasks 1000] [--files 20] [--per-task] [--json] [--keep]

Builds identical sets in separate repositories, in a temporary directory with
its own HOME and git identity: N tasks that failed 30 days ago, each with its
worktree (the base tree: ``--files`` small files) and an unmerged branch
``cairn/<id>`` one commit ahead of main.  Then times, once each:

    cairn gc           the installed command, default policy: every workspace
                       removed (after its checks: task lock, runner, uncommitted
                       changes, processes inside), every branch archived to
                       refs/cairn/archive/<id> and deleted, gc.json and the journal written
    by hand            rm -rf on all the worktrees (one command), git worktree
                       prune, git branch -D on all the branches (one command):
                       no checks, no archive, no record
    one at a time      (--per-task) the loop a script would run: git worktree
                       remove --force PATH, git branch -D BRANCH, per task

and checks each left no worktree and no branch.  Self-contained: it needs only
git and this checkout's ``cairn`` (the interpreter's bin directory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = 86400.0


def environment(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "GIT_"))}
    env.update(
        HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"),
        GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com", GIT_CONFIG_NOSYSTEM="1", CAIRN_TMUX="never",
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
    )
    return env


def sh(argv: list[str], cwd: Path, env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]


def make_set(root: Path, name: str, tasks: int, files: int, env: dict[str, str]) -> tuple[Path, list[Path], list[str]]:
    """A repository whose state directory holds ``tasks`` failed tasks, each with worktree and branch."""
    sys.path.insert(0, str(CHECKOUT))
    from cairn.core.model import Failed, Task, GitWork
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    repo = root / name
    repo.mkdir()
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    for number in range(files):
        path = repo / "src" / f"module_{number}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(f"def function_{number}_{line}():\n    return {line}\n" for line in range(40)))
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-qm", "base"], repo, env)
    base = sh(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()

    # Every task's commit in one git process; worktrees one by one, as Cairn makes them.
    stream = []
    for task_id in range(1, tasks + 1):
        content = f"what the agent of task {task_id} wrote\n"
        stream.append(
            f"commit refs/heads/cairn/{task_id}\ncommitter Bench <bench@example.com> 1700000000 +0000\n"
            f"data 11\nagent work\nfrom {base}\nM 100644 inline work/{task_id}.txt\ndata {len(content)}\n{content}\n"
        )
    sh(["git", "fast-import", "--quiet"], repo, env, input="".join(stream))
    heads = {}
    for line in sh(["git", "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/cairn/"], repo, env).stdout.splitlines():
        branch, commit = line.split(" ")
        heads[branch] = commit

    store = Store(Layout(repo / ".cairn"))
    store.init(repo)
    finished = time.time() - 30 * DAY
    workspaces, branches = [], []
    for task_id in range(1, tasks + 1):
        branch = f"cairn/{task_id}"
        workspace = store.layout.workspaces / str(task_id)
        sh(["git", "worktree", "add", "--quiet", str(workspace), branch], repo, env)
        work = GitWork(workspace=str(workspace), branch=branch, base_commit=base, head_commit=heads[branch])
        store.create_task(
            lambda new_id: Task(id=new_id, title=f"task {new_id}", prompt="x", agent="claude", created=finished - 600, target="main"),  # type: ignore[arg-type]
            lambda _task: Failed(since=finished, reason="the agent exited with status 1", started=finished - 600, exit_code=1, work=work),  # type: ignore[arg-type]
        )
        workspaces.append(workspace)
        branches.append(branch)
    return repo, workspaces, branches


def leftovers(repo: Path, env: dict[str, str]) -> tuple[int, int]:
    worktrees = sh(["git", "worktree", "list", "--porcelain"], repo, env).stdout.count("\nworktree ") + 1
    branches = len(sh(["git", "for-each-ref", "refs/heads/cairn/"], repo, env).stdout.splitlines())
    return worktrees - 1, branches


def time_gc(repo: Path, env: dict[str, str]) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    done = sh([str(BIN / "cairn"), "gc", "--json"], repo, env)
    return time.perf_counter() - start, json.loads(done.stdout)


def time_by_hand(repo: Path, workspaces: list[Path], branches: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    sh(["rm", "-rf", "--", *map(str, workspaces)], repo, env)
    sh(["git", "worktree", "prune"], repo, env)
    sh(["git", "branch", "-D", "--quiet", *branches], repo, env)
    return time.perf_counter() - start


def time_per_task(repo: Path, workspaces: list[Path], branches: list[str], env: dict[str, str]) -> float:
    """The loop a careful script runs: git refuses ``branch -D`` while a worktree
    has the branch, so each worktree goes through ``git worktree remove``."""
    start = time.perf_counter()
    for workspace, branch in zip(workspaces, branches):
        sh(["git", "worktree", "remove", "--force", str(workspace)], repo, env)
        sh(["git", "branch", "-D", "--quiet", branch], repo, env)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--files", type=int, default=20, help="files in the base tree, so in each worktree")
    parser.add_argument("--per-task", action="store_true", help="also time the per-task loop by hand")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="cairn-gc-bench-"))
    env = environment(root)
    try:
        started = time.perf_counter()
        sets = {name: make_set(root, name, args.tasks, args.files, env) for name in ("gc", "by-hand", *(["per-task"] if args.per_task else []))}
        setup = time.perf_counter() - started

        gc_repo, _, _ = sets["gc"]
        gc_seconds, counts = time_gc(gc_repo, env)
        assert leftovers(gc_repo, env) == (0, 0), f"cairn gc left {leftovers(gc_repo, env)} (worktrees, branches): {counts}"
        archived = len(sh(["git", "for-each-ref", "refs/cairn/archive/"], gc_repo, env).stdout.splitlines())
        assert archived == args.tasks, f"{archived} archive refs for {args.tasks} unmerged branches"

        hand_repo, hand_workspaces, hand_branches = sets["by-hand"]
        hand_seconds = time_by_hand(hand_repo, hand_workspaces, hand_branches, env)
        assert leftovers(hand_repo, env) == (0, 0)
        results: dict[str, object] = {
            "tasks": args.tasks, "files_per_worktree": args.files, "setup_seconds": round(setup, 2),
            "gc_seconds": round(gc_seconds, 3), "by_hand_seconds": round(hand_seconds, 3),
            "ratio": round(gc_seconds / hand_seconds, 2), "gc_counts": counts,
        }
        if args.per_task:
            loop_repo, loop_workspaces, loop_branches = sets["per-task"]
            loop_seconds = time_per_task(loop_repo, loop_workspaces, loop_branches, env)
            assert leftovers(loop_repo, env) == (0, 0)
            results["per_task_seconds"] = round(loop_seconds, 3)
            results["ratio_per_task"] = round(gc_seconds / loop_seconds, 2)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    tasks = args.tasks
    print(f"{tasks:,} failed tasks, 30 days old, each with a worktree ({args.files} files) and an unmerged branch; sets built in {setup:.0f}s")
    print(f"  cairn gc                          {gc_seconds:8.2f} s  {1000 * gc_seconds / tasks:6.2f} ms/task  "
          f"(removed {counts['workspaces']} workspaces, archived and deleted {counts['branches']} branches)")
    print(f"  by hand: rm -rf, prune, branch -D {hand_seconds:8.2f} s  {1000 * hand_seconds / tasks:6.2f} ms/task  (no checks, no archive, no record)")
    if "per_task_seconds" in results:
        loop = float(results["per_task_seconds"])  # type: ignore[arg-type]
        print(f"  by hand, one task at a time       {loop:8.2f} s  {1000 * loop / tasks:6.2f} ms/task")
    print(f"  gc / by hand: {gc_seconds / hand_seconds:.1f}x" + (f"; gc / one at a time: {results['ratio_per_task']}x" if args.per_task else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
