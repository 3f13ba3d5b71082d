"""The merge train: land a batch of tasks in review, in order, checked once.

Under ``locks/accept.lock`` and every task's own lock, for one target:

1. refuse early, changing nothing: a task not in review, a jj task, a
   workspace with changes not on its branch or off it, a target being
   rebased somewhere, tasks bound for different targets;
2. in a scratch worktree of the repository (``tmp/train-<pid>``, detached, so
   no branch and no task's workspace is touched), rebase each task's work
   onto the one before, starting from the target's tip (the order:
   cairn/core/train.py); a conflict stops the train at that task;
3. run the checks once on the last result; if they fail, bisect the prefixes
   to find the first task that breaks them (cairn/core/train.py);
4. fast-forward the target to the last good result — one move for the whole
   landed segment: ``merge --ff-only`` where it is checked out (it never
   overwrites uncommitted changes), else ``update-ref`` with the old value —
   then record each landed task accepted (its commit is its own rebased
   commit, which the target passed through) and remove its workspace and
   branch as ``cairn accept`` does;
5. record on the task that stopped the train what was found (``finding``; a
   conflict's paths in ``conflict``), and leave it and the rest in review.

Never loses work: until step 4 nothing but objects and the scratch worktree
is written; the tasks' branches keep their commits until they have landed.
The scratch worktree is removed whatever happens.  ``--dry-run`` does step 2
and reports (no checks run, nothing moved).
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cairn.core.model import Accepted, Review, Task, Work
from cairn.core.records import replace
from cairn.core.train import Car, first_breaking, train_order
from cairn.errors import CairnError, OperationFailed, UsageError, WrongState
from cairn.notify import notify
from cairn.state import lock
from cairn.state.store import Store
from cairn.vcs.git import GitError, git, git_ok, identity_env
from cairn.vcs.interrupts import uninterrupted
from cairn.vcs.worktrees import rebase_in_progress, rebasing_worktree, worktree_with_branch


@dataclass
class Stayed:
    id: int
    reason: str


@dataclass
class TrainReport:
    target: str
    order: list[int]
    dry_run: bool
    landed: list[tuple[int, str]] = field(default_factory=list)
    stayed: list[Stayed] = field(default_factory=list)
    #: The target's tip at the end (unchanged when nothing landed).
    commit: str | None = None
    #: Prefix lengths whose checks ran, and whether they passed (the bisection, for the report).
    checks_runs: list[tuple[int, bool]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "order": self.order, "dry_run": self.dry_run,
            "landed": [{"id": i, "commit": c} for i, c in self.landed],
            "stayed": [{"id": s.id, "reason": s.reason} for s in self.stayed],
            "commit": self.commit,
            "checks_runs": [{"tasks": n, "passed": ok} for n, ok in self.checks_runs],
        }


@dataclass
class _Car:
    task: Task
    state: Review
    work: Work
    head: str
    #: Its work rebased onto the cars before it, once the train got that far.
    rebased: str | None = None


def _workspaces(settings: Any, work: Work) -> Any:
    from cairn.backends import backend_for

    return backend_for(settings, work)


def run_train(store: Store, settings: Any, ids: list[int], *, into: str | None, check: bool, dry_run: bool,
              say: Callable[[str], None]) -> TrainReport:
    if not ids:
        raise UsageError("no task in review to land", hint="`cairn status --state review` lists them")
    root: Path = settings.root
    with lock.held(store.layout.accept_lock, timeout=600), ExitStack() as held:
        states = {task_id: held.enter_context(store.locked(task_id)) for task_id in sorted(set(ids))}
        cars = _board(store, settings, states, into)
        target = into or cars[0].task.target or ""
        order = train_order([Car(c.task.id, c.task.after, c.task.priority, c.task.created) for c in cars])
        by_id = {c.task.id: c for c in cars}
        cars = [by_id[i] for i in order]
        tip = git(root, "rev-parse", "--verify", f"refs/heads/{target}")
        report = TrainReport(target=target, order=order, dry_run=dry_run, commit=tip)
        where = rebasing_worktree(root, target)
        if where is not None:
            raise OperationFailed(f"{target} is being rebased in {where}; the train did not start, nothing was changed",
                                  hint="finish or abort that rebase, then accept again")
        scratch = store.layout.tmp / f"train-{os.getpid()}"
        git(root, "worktree", "add", "--quiet", "--detach", str(scratch), tip)
        try:
            say(f"train of {len(cars)} onto {target} ({tip[:12]}): {' '.join(map(str, order))}")
            stopped = _couple(root, scratch, cars, tip, say, target)
            coupled = [c for c in cars if c.rebased is not None]
            if dry_run:
                return _dry_report(report, cars, coupled, stopped, check and bool(settings.config.checks.commands))
            landing = coupled
            if coupled and check and settings.config.checks.commands:
                landing, broke = _checked_prefix(store, settings, scratch, coupled, report, say)
                if broke is not None:
                    _record_finding(store, broke[0], broke[1])
                    report.stayed.append(Stayed(broke[0].task.id, broke[1]))
            if landing:
                with uninterrupted():  # the target moved and its tasks not recorded would disagree
                    report.commit = _move_target(root, target, tip, landing[-1].rebased or tip)
                    for car in landing:
                        _record_landed(store, car, target, report)
            _report_the_rest(store, cars, landing, report, stopped)
        finally:
            git(root, "worktree", "remove", "--force", str(scratch), check=False)
            if scratch.exists():
                import shutil

                shutil.rmtree(scratch, ignore_errors=True)
                git(root, "worktree", "prune", check=False)
    for task_id, commit in report.landed:
        notify(settings, task_id, "accepted", by_id[task_id].task.title)
        _clean_up(settings, by_id[task_id], say)
    return report


def _board(store: Store, settings: Any, states: dict[int, Any], into: str | None) -> list[_Car]:
    """Every task checked for the train before anything happens."""
    cars: list[_Car] = []
    for task_id, state in states.items():
        if not isinstance(state, Review):
            raise WrongState(f"task {task_id} is {state.state}, not in review; the train did not start, nothing was changed",
                             hint="name only tasks in review (`cairn status --state review`)")
        task = store.read_task(task_id)
        work = state.work
        workspaces = _workspaces(settings, work)
        if not workspaces.lands_in_train:
            raise UsageError(f"task {task_id} is a {workspaces.name} change: the merge train lands git tasks; nothing was changed",
                             hint=f"accept it on its own: `cairn accept {task_id}` (docs/backends.md)")
        head = workspaces.tip(work)
        if head is None:
            raise OperationFailed(f"task {task_id}'s branch {work.label} is gone and no commit of its work is recorded; nothing was changed",
                                  hint=f"leave it out, or `cairn retry {task_id}`")
        if Path(work.workspace).is_dir():
            workspaces.refuse_unless_on_branch(work)
            edits = workspaces.edits(work)
            if edits:
                raise OperationFailed(
                    f"task {task_id}'s workspace {work.workspace} has changes not committed to {work.label}: "
                    f"{', '.join(edits[:8])}; the train did not start, nothing was changed",
                    hint="commit them there (they land with it) or discard them, then accept again",
                )
        if not git_ok(settings.root, "cat-file", "-e", f"{head}^{{commit}}"):
            # A clone's commits live in its own repository until fetched.
            git(settings.root, "fetch", "--quiet", work.workspace, head)
        cars.append(_Car(task, state, replace(work, head_commit=head), head))
    targets: dict[str, list[int]] = {}
    for car in cars:
        targets.setdefault(into or car.task.target or "(detached)", []).append(car.task.id)
    if len(targets) > 1:
        shown = "; ".join(f"{t}: {', '.join(map(str, ids))}" for t, ids in targets.items())
        raise UsageError(f"the tasks land on different branches ({shown}); a train has one target",
                         hint="accept each branch's tasks in their own train, or give --into BRANCH")
    if "(detached)" in targets:
        raise UsageError("a task was queued on a detached HEAD: say where the train lands with --into BRANCH")
    return cars


def _couple(root: Path, scratch: Path, cars: list[_Car], tip: str, say: Callable[[str], None],
            into_target: str | None = None) -> tuple[_Car, str] | None:
    """Rebase each car onto the one before in the scratch worktree; the car a
    conflict stopped, with why, or None when all were coupled."""
    current = tip
    env = identity_env(scratch)
    for car in cars:
        fork = git(root, "merge-base", tip, car.head, check=False) or car.work.base_commit
        git(scratch, "checkout", "--quiet", "--detach", car.head)
        try:
            git(scratch, "rebase", "--quiet", "--onto", current, fork, env=env)
        except GitError as error:
            paths = [p for p in git(scratch, "diff", "--name-only", "--diff-filter=U").splitlines() if p] \
                if rebase_in_progress(scratch) else []
            git(scratch, "rebase", "--abort", check=False)
            git(scratch, "checkout", "--quiet", "--detach", current, check=False)
            before = [c.task.id for c in cars if c.rebased is not None]
            target = cars[0].task.target if into_target is None else into_target
            landed = f"task{'s' if len(before) > 1 else ''} {', '.join(map(str, before))}"
            on = f"{landed} on {target}" if before else target
            if paths:
                why = f"conflicts with {on} in: {', '.join(paths)}"
                car.state = replace(car.state, conflict=paths)
            else:
                why = f"could not be rebased onto {on}: {error}"
            say(f"task {car.task.id} {why}: the train stops here")
            return car, why
        car.rebased = git(scratch, "rev-parse", "HEAD")
        current = car.rebased
        say(f"task {car.task.id} rebased ({car.rebased[:12]})")
    return None


def _checked_prefix(store: Store, settings: Any, scratch: Path, coupled: list[_Car], report: TrainReport,
                    say: Callable[[str], None]) -> tuple[list[_Car], tuple[_Car, str] | None]:
    """The cars that can land: all when the checks pass on the whole, else those
    before the first that breaks them (and it, with the finding)."""
    from cairn.land.checks import run_checks, summary_line

    results: dict[int, Any] = {}
    config = settings.config.bootstrap
    # The checks need what a task's workspace has: the bootstrap's copies,
    # links and setup; kept from one run of the checks to the next.
    keep = [f"--exclude={pattern}" for pattern in (*config.copy, *config.symlink)]
    _bootstrap(settings, scratch, coupled[-1].rebased or "", store.layout.tmp / f"{scratch.name}.log")

    def passes(count: int) -> bool:
        last = coupled[count - 1]
        git(scratch, "checkout", "--quiet", "--force", "--detach", last.rebased or "")
        say(f"running checks on tasks {', '.join(str(c.task.id) for c in coupled[:count])} ({(last.rebased or '')[:12]})")
        result = run_checks(settings.config.checks, scratch, store.layout.checks_log(last.task.id))
        git(scratch, "clean", "-fdq", *keep, check=False)  # what the checks left is theirs
        store.journal("checks", task=last.task.id, status=result.status, at="train")
        results[count] = result
        report.checks_runs.append((count, result.status != "failed"))
        return result.status != "failed"

    if passes(len(coupled)):
        return coupled, None
    count = first_breaking(len(coupled), passes)
    breaker = coupled[count - 1]
    before = [c.task.id for c in coupled[: count - 1]]
    on = f" on top of tasks {', '.join(map(str, before))}" if before else ""
    why = f"broke the checks{on}: {summary_line(results[count])} (output in {store.layout.checks_log(breaker.task.id)})"
    say(f"task {breaker.task.id} {why}")
    return coupled[: count - 1], (breaker, why)



def _bootstrap(settings: Any, scratch: Path, commit: str, log_path: Path) -> None:
    from cairn.backends.bootstrap import bootstrap

    git(scratch, "checkout", "--quiet", "--force", "--detach", commit)
    with open(log_path, "wb") as log:
        bootstrap(settings.config.bootstrap, settings.root, scratch, log, dict(os.environ))
    log_path.unlink()  # kept only when the bootstrap failed: its error names it


def _move_target(root: Path, target: str, tip: str, commit: str) -> str:
    checkout = worktree_with_branch(root, target)
    if checkout is not None:
        try:
            git(checkout, "merge", "--quiet", "--ff-only", commit)
        except GitError as error:
            last = error.stderr.strip().splitlines()[-1] if error.stderr.strip() else str(error)
            raise OperationFailed(
                f"could not fast-forward {target} in {checkout}: {last}; nothing landed, every task stays in review",
                hint="commit or stash your changes there, then accept again",
            ) from None
    else:
        try:
            git(root, "update-ref", "-m", "cairn accept (train)", f"refs/heads/{target}", commit, tip)
        except GitError:
            raise OperationFailed(f"{target} moved while the train ran; nothing landed, every task stays in review",
                                  hint="accept again: the train starts from the new tip") from None
    return commit


def _record_landed(store: Store, car: _Car, target: str, report: TrainReport) -> None:
    commit = car.rebased or car.head
    work = replace(car.work, head_commit=commit)
    store.write_state(car.task.id, Accepted(since=time.time(), strategy="rebase", target=target, commit=commit, work=work))
    store.journal("accepted", task=car.task.id, previous="review", strategy="rebase", target=target, commit=commit,
                  train=report.order)
    report.landed.append((car.task.id, commit))


def _record_finding(store: Store, car: _Car, why: str) -> None:
    store.write_state(car.task.id, replace(car.state, finding=why))


def _report_the_rest(store: Store, cars: list[_Car], landing: list[_Car], report: TrainReport,
                     stopped: tuple[_Car, str] | None) -> None:
    landed = {c.task.id for c in landing}
    reported = {s.id for s in report.stayed}
    if stopped is not None and stopped[0].task.id not in reported:
        car, why = stopped
        _record_finding(store, car, why)
        if car.state.conflict:
            store.journal("conflict", task=car.task.id, target=report.target, paths=car.state.conflict)
        report.stayed.append(Stayed(car.task.id, why))
        reported.add(car.task.id)
    first = report.stayed[0].id if report.stayed else None
    for car in cars:
        if car.task.id not in landed and car.task.id not in reported:
            report.stayed.append(Stayed(car.task.id, f"behind task {first} in the train" if first else "not reached"))


def _dry_report(report: TrainReport, cars: list[_Car], coupled: list[_Car], stopped: tuple[_Car, str] | None,
                checks: bool) -> TrainReport:
    report.landed = [(c.task.id, c.rebased or "") for c in coupled]
    if stopped is not None:
        report.stayed.append(Stayed(stopped[0].task.id, stopped[1]))
    first = report.stayed[0].id if report.stayed else None
    for car in cars:
        if car.rebased is None and (stopped is None or car is not stopped[0]):
            report.stayed.append(Stayed(car.task.id, f"behind task {first} in the train"))
    if checks and coupled:
        report.checks_runs = []  # none ran: a dry run only says that they would, once on the whole
    return report


def _clean_up(settings: Any, car: _Car, say: Callable[[str], None]) -> None:
    """As ``cairn accept`` does once a task landed: its workspace goes, and its
    branch when so configured; a problem is reported, never raised."""
    workspaces = _workspaces(settings, car.work)
    try:
        left = workspaces.remove(car.work)
    except CairnError as error:
        say(f"task {car.task.id}: the workspace stays, and so does {car.work.label}: {error}")
        return
    if left.head_commit != car.head:
        say(f"task {car.task.id}: {car.work.label} keeps the edits made in the workspace during the train")
    elif settings.config.accept.delete_branch:
        workspaces.delete_branch(left, car.head)
