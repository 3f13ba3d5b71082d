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
state and the journal, and it starts an interpreter; so the by-hand figure
includes one interpreter start (``python -c pass``) beside the git commands
(issue 18's goal: at most twice that, and 50 ms).  Preparing a sample is not
timed; cairn and by-hand samples alternate.

Two more rows on the same kind of task in review: ``cairn reject`` (goal: 50
ms) against its git by hand (worktree remove, update-ref of the trash ref,
branch -D), and ``cairn diff ID`` to its first byte on a pipe, the opening of
a proposal (goal: 100 ms), against ``git diff`` of the same span.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.harness import BenchError, Figures, Row, resolve_argv, run, spawn_time, working_directory
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
        for round_ in range(world.scale.accept_runs):
            order = ("cairn", "git") if round_ % 2 == 0 else ("git", "cairn")
            for side in order:
                seconds = lander.cairn_reject() if side == "cairn" else lander.reject_by_hand()
                samples.setdefault((side, "reject"), []).append(seconds * 1000)
            for side in order:
                seconds = lander.cairn_diff() if side == "cairn" else lander.git_diff()
                samples.setdefault((side, "diff"), []).append(seconds * 1000)
    within = (lambda c, b: b is not None and c.median <= 50 and c.median <= 2 * b.median)
    return [
        Row("accept-ff", "`cairn accept`, fast-forward", "git: merge --ff-only, worktree remove, branch -D; `python -c pass`",
            cairn=Figures(samples[("cairn", False)]), baseline=Figures(samples[("git", False)]),
            goal="≤ 50 ms and ≤ 2×", judge=within,
            note="Cairn also checks the user's uncommitted changes and whether the target moved, takes its locks, "
                 "records state and journal."),
        Row("accept-rebase", "`cairn accept`, rebase", "git: rebase, merge --ff-only, worktree remove, branch -D; `python -c pass`",
            cairn=Figures(samples[("cairn", True)]), baseline=Figures(samples[("git", True)]),
            goal="≤ 50 ms and ≤ 2×", judge=within),
        Row("reject", "`cairn reject`", "git: worktree remove, update-ref, branch -D",
            cairn=Figures(samples[("cairn", "reject")]), baseline=Figures(samples[("git", "reject")]),
            goal="≤ 50 ms", judge=lambda c, _b: c.median <= 50,
            note="Cairn also commits what the workspace holds before removing it, checks the task's state under its lock, "
                 "records state and journal."),
        Row("diff-first-byte", "`cairn diff ID`, to its first byte", "`git diff TARGET...BRANCH`, to its first byte",
            cairn=Figures(samples[("cairn", "diff")]), baseline=Figures(samples[("git", "diff")]),
            goal="≤ 100 ms", judge=lambda c, _b: c.median <= 100,
            note="Output on a pipe, as a pager reads it: from the spawn to the first byte."),
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
        task_id = self._in_review(moved)
        argv = [str(self.world.bin / "cairn"), "accept", str(task_id)]
        with working_directory(self.repo):
            seconds = spawn_time(argv, self.world.cairn_env(self.home))
        state = self.store.read_state(task_id).state
        if state != "accepted":
            raise RuntimeError(f"task {task_id} is {state} after `cairn accept`")
        return seconds

    def cairn_reject(self) -> float:
        task_id = self._in_review(False)
        argv = [str(self.world.bin / "cairn"), "reject", str(task_id)]
        with working_directory(self.repo):
            seconds = spawn_time(argv, self.world.cairn_env(self.home))
        state = self.store.read_state(task_id).state
        if state != "rejected":
            raise RuntimeError(f"task {task_id} is {state} after `cairn reject`")
        return seconds

    def cairn_diff(self) -> float:
        self.diffed = self._in_review(False)
        return _first_byte([str(self.world.bin / "cairn"), "diff", str(self.diffed)], self.world.cairn_env(self.home), self.repo)

    def git_diff(self) -> float:
        argv = resolve_argv(["git", "diff", f"main...cairn/{self.diffed}", "--"], self.world.env)
        return _first_byte(argv, self.world.env, self.repo)

    def reject_by_hand(self) -> float:
        branch, path = self._raw_branch(False)
        sha = self._git(self.repo, "rev-parse", branch)
        steps = [
            (self.repo, ["git", "worktree", "remove", "--force", str(path)]),
            (self.repo, ["git", "update-ref", f"refs/raw-trash/{self.count}", sha]),
            (self.repo, ["git", "branch", "--quiet", "-D", branch]),
        ]
        return self._timed(steps)

    def _in_review(self, moved: bool) -> int:
        """A task in review whose agent committed one new file (the target moved since, if ``moved``)."""
        from cairn.core.model import DiffStat, Queued, Review, Running, Task
        from cairn.workspaces.git import GitWorkspaces

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
        return task.id

    def _raw_branch(self, moved: bool) -> tuple[str, Path]:
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
        return branch, path

    def by_hand(self, moved: bool) -> float:
        branch, path = self._raw_branch(moved)
        steps = []
        if moved:
            steps.append((path, ["git", "rebase", "--quiet", "main"]))
        steps += [
            (self.repo, ["git", "merge", "--quiet", "--ff-only", branch]),
            (self.repo, ["git", "worktree", "remove", "--force", str(path)]),
            (self.repo, ["git", "branch", "--quiet", "-D", branch]),
            (self.repo, [str(self.world.python), "-c", "pass"]),  # the interpreter's start
        ]
        return self._timed(steps)

    def _timed(self, steps: list[tuple[Path, list[str]]]) -> float:
        env = self.world.env
        seconds = 0.0
        for cwd, argv in steps:
            with working_directory(cwd):
                seconds += spawn_time(resolve_argv(argv, env), env)
        return seconds


def _first_byte(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from spawning ``argv`` to the first byte on its stdout (a pipe); then it is read to the end."""
    read, write = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, write, 1), (os.POSIX_SPAWN_CLOSE, read), (os.POSIX_SPAWN_CLOSE, write)]
    devnull = os.open(os.devnull, os.O_RDWR)
    actions += [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    with working_directory(cwd):
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    os.close(write)
    os.close(devnull)
    with os.fdopen(read, "rb") as out:
        first = out.read(1)
        seconds = time.perf_counter() - start
        out.read()
    _, status = os.waitpid(pid, 0)
    if not first or os.waitstatus_to_exitcode(status) != 0:
        raise BenchError(f"{' '.join(argv)} printed nothing or failed (exit {os.waitstatus_to_exitcode(status)})")
    return seconds
