"""``cairn accept`` against the git commands that land the same work by hand.

Each sample is a task in review whose agent committed one new file; in the
rebase case the target gained a commit on another file after the task began.
The same is prepared for the baseline on a plain branch and worktree, then
landed by hand:

    fast-forward:  git merge --ff-only BRANCH       (in the main worktree)
                   git worktree remove --force PATH
                   git branch -D BRANCH
    rebase:        git rebase main                   (in the task's worktree), then the same three

``cairn accept`` does those and also: it refuses if the user's uncommitted
changes are in the way (``git status``), asks whether the target moved
(``merge-base``), holds the accept lock and the task's lock, records the
state and the journal, and it starts an interpreter.  Preparing a sample is
not timed; cairn and by-hand samples alternate.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.harness import Figures, Row, run, spawn_time, working_directory
from bench.world import World
from bench.workspaces import environment

NOOP = 'default_agent = "noop"\n[agents.noop]\ncommand = ["true"]\n'


def rows(world: World) -> list[Row]:
    repo = world.repo("accept")
    home = world.home("accept", repo, NOOP)
    lander = _Lander(world, repo, home)
    samples: dict[tuple[str, bool], list[float]] = {}
    with environment(world.cairn_env(home)):
        for round_ in range(world.scale.accept_runs):
            for moved in (False, True):
                order = ("cairn", "git") if round_ % 2 == 0 else ("git", "cairn")
                for side in order:
                    seconds = lander.cairn(moved) if side == "cairn" else lander.by_hand(moved)
                    samples.setdefault((side, moved), []).append(seconds * 1000)
    within = (lambda c, b: b is not None and c.median < 1.2 * b.median + 30)
    return [
        Row("accept-ff", "`cairn accept`, fast-forward", "git: merge --ff-only, worktree remove, branch -D",
            cairn=Figures(samples[("cairn", False)]), baseline=Figures(samples[("git", False)]),
            goal="< 1.2× + 30 ms", judge=within,
            note="Cairn also checks the user's uncommitted changes and whether the target moved, takes its locks, "
                 "records state and journal, and starts an interpreter."),
        Row("accept-rebase", "`cairn accept`, rebase", "git: rebase, merge --ff-only, worktree remove, branch -D",
            cairn=Figures(samples[("cairn", True)]), baseline=Figures(samples[("git", True)]),
            goal="< 1.2× + 30 ms", judge=within),
    ]


class _Lander:
    def __init__(self, world: World, repo: Path, home: Path) -> None:
        from cairn.state.layout import Layout
        from cairn.state.store import Store

        self.world, self.repo, self.home = world, repo, home
        self.store = Store(Layout(home))
        self.count = 0

    def _git(self, cwd: Path, *args: str) -> str:
        return run(["git", *args], self.world.env, cwd).stdout.strip()

    def _move_target(self) -> None:
        self.count += 1
        self.world.commit(self.repo, f"main/{self.count}.txt", f"the target moves {self.count}\n", "the target moves")

    def cairn(self, moved: bool) -> float:
        from cairn.core.model import DiffStat, Queued, Review, Running, Task
        from cairn.backends.git import GitBackend as GitWorkspaces

        now = time.time()
        task = self.store.create_task(
            lambda i: Task(id=i, title=f"accept sample {i}", prompt="add a file", agent="noop", created=now, target="main"),  # type: ignore[arg-type]
            lambda t: Queued(since=t.created),
        )
        backend = GitWorkspaces(self.repo)
        work = backend.create(task, self.home / "workspaces" / str(task.id))
        Path(work.workspace, "work", f"task-{task.id}.txt").parent.mkdir(exist_ok=True)
        Path(work.workspace, "work", f"task-{task.id}.txt").write_text(f"work of task {task.id}\n")
        work = backend.commit(work, f"accept sample {task.id}")
        if moved:
            self._move_target()
        self.store.move(task.id, "running", lambda _: Running(since=now, runner_pid=1, work=work))  # type: ignore[arg-type]
        self.store.move(task.id, "review", lambda _: Review(since=now, started=now, work=work, changed=DiffStat(files=1, insertions=1)))  # type: ignore[arg-type]
        argv = [str(self.world.bin / "cairn"), "accept", str(task.id)]
        with working_directory(self.repo):
            seconds = spawn_time(argv, self.world.cairn_env(self.home))
        state = self.store.read_state(task.id).state
        if state != "accepted":
            raise RuntimeError(f"task {task.id} is {state} after `cairn accept`")
        return seconds

    def by_hand(self, moved: bool) -> float:
        self.count += 1
        branch = f"raw/{self.count}"
        path = self.world.dir / "raw" / str(self.count)
        path.parent.mkdir(exist_ok=True)
        self._git(self.repo, "worktree", "add", "--quiet", "-b", branch, str(path), "main")
        (path / "work").mkdir(exist_ok=True)
        (path / "work" / f"raw-{self.count}.txt").write_text(f"work by hand {self.count}\n")
        self._git(path, "add", "-A")
        self._git(path, "commit", "--quiet", "-m", f"by hand {self.count}")
        if moved:
            self._move_target()
        env = self.world.env
        steps = []
        if moved:
            steps.append((path, ["git", "rebase", "--quiet", "main"]))
        steps += [
            (self.repo, ["git", "merge", "--quiet", "--ff-only", branch]),
            (self.repo, ["git", "worktree", "remove", "--force", str(path)]),
            (self.repo, ["git", "branch", "--quiet", "-D", branch]),
        ]
        from bench.harness import resolve_argv

        seconds = 0.0
        for cwd, argv in steps:
            with working_directory(cwd):
                seconds += spawn_time(resolve_argv(argv, env), env)
        return seconds
