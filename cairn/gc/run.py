"""One gc run: hold the gc lock, gather facts, plan, re-check what would go, perform.

Planning and checking alternate until they agree: the plan names the
workspaces it would remove, ``check`` looks at just those (uncommitted
changes, processes inside, sizes), and a workspace found blocked is planned
around, which can bring in the next oldest under the size limit.  Each round
checks only workspaces not checked before, so it ends.

One gc at a time per state directory (``locks/gc.lock``, held for the run);
``--dry-run`` changes nothing and takes no lock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cairn.core.gc import FINISHED, DropLog, Facts, Plan, Policy, RemoveWorkspace, plan
from cairn.errors import OperationFailed, UsageError
from cairn.gc.collect import Unsaved, check, gather, unsaved_checker
from cairn.gc.perform import Context, Report, perform
from cairn.progress import SILENT, Progress
from cairn.state import lock
from cairn.state.store import Store, elapsed_ms


class GcBusy(OperationFailed):
    pass


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line may change for one run; None: the configuration's value."""

    max_age: float | None = None
    keep: int | None = None
    max_size: int | None = None
    purge: bool = False
    orphans: bool = False
    force: bool = False
    dry_run: bool = False


def policy_for(config: Any, options: Options) -> Policy:
    gc = config.gc
    ages = {state: getattr(gc.max_age, state) for state in FINISHED}
    if options.max_age is not None:
        ages = dict.fromkeys(FINISHED, options.max_age)
    return Policy(
        max_age=ages,
        keep=gc.keep if options.keep is None else options.keep,
        max_size=gc.max_size if options.max_size is None else options.max_size,
        log_age=gc.log_age,
        purge=options.purge,
        orphans=options.orphans,
        force=options.force,
    )


def gc_lock_path(layout: Any) -> Any:
    return layout.gc_lock


def collect_garbage(settings: Any, options: Options, *, stopping: Callable[[], bool] = lambda: False,
                    progress: Progress = SILENT) -> Report:
    if settings.root is None:
        raise UsageError("no repository is known for this state directory", hint="run `cairn gc` inside the repository")
    store = Store(settings.layout)
    if not store.exists():
        return Report(dry_run=options.dry_run)
    store.check_format()
    if options.dry_run:
        return _run(store, settings, options, stopping, progress)
    settings.layout.locks.mkdir(exist_ok=True)
    fd = lock.open_lock(gc_lock_path(settings.layout))
    try:
        if not lock.try_lock(fd):
            raise GcBusy(
                f"another gc is running for {settings.layout.home}",
                hint="it holds locks/gc.lock; try again when it has finished",
            )
        return _run(store, settings, options, stopping, progress)
    finally:
        os.close(fd)


def _run(store: Store, settings: Any, options: Options, stopping: Callable[[], bool], progress: Progress) -> Report:
    began = time.monotonic()
    policy = policy_for(settings.config, options)
    now = time.time()
    progress.phase("gather", "looking at the tasks, branches and workspaces")
    facts = gather(store, settings, measure_all=policy.max_size is not None, now=now)
    bootstrap = settings.config.bootstrap
    exclude = [*bootstrap.copy, *bootstrap.symlink]
    unsaved = unsaved_checker(store, settings, exclude)
    facts, chosen = settle(store, settings.root, facts, policy, now, unsaved=unsaved, measure=options.dry_run)
    if options.dry_run:
        freed = sum(a.bytes for a in chosen.actions if isinstance(a, (RemoveWorkspace, DropLog)))
        return Report(dry_run=True, done=list(chosen.actions), notes=list(chosen.notes), bytes_freed=freed)
    from cairn.backends.bootstrap import teardown_for

    report = perform(chosen, facts, Context(store, settings.root, exclude, unsaved, stopping, purge=policy.purge,
                                            teardown=lambda task, path: teardown_for(settings, task, path),
                                            progress=progress))
    store.journal("gc-run", **report.counts(), skipped=sum(1 for n in report.notes if n.kind == "skipped"), duration_ms=elapsed_ms(began))
    return report


def settle(store: Store, root: Any, facts: Facts, policy: Policy, now: float, *, unsaved: Unsaved, measure: bool) -> tuple[Facts, Plan]:
    """Plan until every workspace the plan would remove has been checked; the
    facts as checked and the final plan."""
    checked: set[str] = set()
    owners = {t.workspace.path: t.id for t in facts.tasks if t.workspace is not None}
    while True:
        chosen = plan(facts, policy, now)
        fresh = [a for a in chosen.actions if isinstance(a, RemoveWorkspace) and a.path not in checked]
        if not fresh:
            return facts, chosen
        workspaces = {w.path: w for w in _workspaces(facts)}
        found = check(store, root, [(owners.get(a.path), workspaces[a.path]) for a in fresh], unsaved=unsaved, measure=measure)
        checked.update(found)
        facts = facts.with_workspaces(found)


def _workspaces(facts: Facts) -> list[Any]:
    return [t.workspace for t in facts.tasks if t.workspace is not None] + [s.workspace for s in facts.strays]
