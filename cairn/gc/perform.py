"""Carrying out a gc plan: the one place gc changes anything.

Order and checks are what keep work safe:
1. workspaces, in parallel, each under its task's lock: the task must still
   be in the state it was planned in, its runner gone, and one last
   ``git status`` must show nothing uncommitted right before the directory
   goes; a jj workspace is snapshotted, what only it holds bookmarked, then
   forgotten (cairn/backends/jj/gc.py);
2. ``git worktree prune``, then a fresh look at which branches are still
   checked out anywhere (a workspace that stayed keeps its branch);
3. branches in one ``git update-ref`` transaction: each archive ref is
   created (``create`` fails if the name is taken) in the same transaction
   that deletes its branch, and a delete names the commit gc planned with,
   so a branch that moved meanwhile is left alone; if the transaction fails,
   each branch is tried on its own so one problem costs only that branch;
4. trash refs (the task re-checked under its lock; a jj task's trash
   expires by its gc.json, written under that same lock, which restore
   reads), logs, signal files, the journal;
5. gc's own record: ``tasks/<id>/gc.json`` and one ``gc`` event per action.
Anything that cannot be done is noted and left for the next run.  Stopping
(SIGTERM under ``--every``) ends the run between steps, never inside one.
"""

from __future__ import annotations

import gzip
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cairn.core import codec
from cairn.core.gc import (
    SIGNAL_GRACE, Action, ArchiveBranch, ArchiveChange, ArchivedCommit, CompressLog, DeleteBranch, DeletedBranch, DropLog,
    ExpiredTrash, ExpireJjTrash, ExpireTrash, Facts, GcRecord, Note, Plan, RemovedWorkspace, RemoveSignal, RemoveWorkspace,
    RotateJournal, tally, workspace_label,
)
from cairn.core.records import replace
from cairn.errors import CairnError
from cairn.backends import disk
from cairn.backends.jj import gc as jj_gc
from cairn.backends.git.gc import is_git, read_repository
from cairn.gc.collect import SEGMENT_PREFIX, WORKERS, Unsaved
from cairn.state.gc_record import read_record
from cairn.progress import SILENT, Progress
from cairn.state import atomic
from cairn.state.lock import LockTimeout, is_held
from cairn.state.store import Store
from cairn.vcs.git import GitError, git

#: gc's record in a task's directory (docs/gc.md).
LOCK_WAIT = 10.0


@dataclass
class Report:
    dry_run: bool
    done: list[Action] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    bytes_freed: int = 0
    #: True when a stop request ended the run early.
    stopped: bool = False

    def counts(self) -> dict[str, int]:
        return {**tally(self.done), "bytes_freed": self.bytes_freed}

    def as_json(self) -> dict[str, Any]:
        def listed(kind: str) -> list[dict[str, Any]]:
            return [{"what": n.what, "reason": n.reason, "task": n.task} for n in self.notes if n.kind == kind]

        return {"dry_run": self.dry_run, **self.counts(), "skipped": listed("skipped"), "orphans": listed("orphan")}


@dataclass(frozen=True)
class Context:
    store: Store
    root: Path
    #: What bootstrap copies or links into a workspace: never part of the work.
    exclude: list[str]
    #: The last look before a workspace goes, by its task's backend (cairn/gc/collect.py).
    unsaved: Unsaved
    stopping: Callable[[], bool] = lambda: False
    #: Keep no copies: a jj workspace goes without bookmarking what only it holds.
    purge: bool = False
    #: Where the run is, for a person watching and for the journal (cairn/progress.py).
    progress: Progress = SILENT
    #: ``bootstrap.teardown`` for (task id or None, workspace path), right before it goes.
    teardown: Callable[[int | None, str], None] | None = None


def perform(plan: Plan, facts: Facts, context: Context) -> Report:
    report = Report(dry_run=False, notes=list(plan.notes))
    planned = {t.id: (t.state, t.since) for t in facts.tasks}
    _workspaces(plan, context, planned, report)
    if is_git(context.root):
        git(context.root, "worktree", "prune", check=False)
    steps: list[tuple[str, str, Callable[[], None]]] = [
        ("branches", "archiving and deleting branches", lambda: _branches(plan, context, report)),
        ("trash", "expiring trash", lambda: _trash(plan, context, planned, report)),
        ("files", "compressing logs, removing stale files", lambda: _files(plan, context, report)),
    ]
    for name, text, step in steps:
        if context.stopping():
            report.stopped = True
            break
        context.progress.phase(name, text)
        step()
    _record(context.store, report.done)
    return report


# -- 1. workspaces -------------------------------------------------------------------


def _workspaces(plan: Plan, context: Context, planned: dict[int, tuple[str, float]], report: Report) -> None:
    actions = [a for a in plan.actions if isinstance(a, RemoveWorkspace)]
    if not actions:
        return
    context.progress.phase("workspaces", f"removing {len(actions)} workspace{'s' if len(actions) != 1 else ''}")
    finished = iter(range(1, len(actions) + 1))

    def remove(action: RemoveWorkspace) -> Outcome:
        outcome = _remove_workspace(action, context, planned)
        context.progress.step(next(finished), len(actions), workspace_label(action.task, action.path, action.jj_workspace))
        return outcome

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(remove, actions))
    for action, (freed, problem, archived) in zip(actions, outcomes):
        report.done += archived  # kept under their bookmarks whether or not the workspace went
        if problem is None:
            report.done.append(replace(action, bytes=freed))
            report.bytes_freed += freed
        elif problem:
            report.notes.append(Note("skipped", workspace_label(action.task, action.path, action.jj_workspace), problem, action.task))
        else:
            report.stopped = True


Outcome = tuple[int, str | None, list[ArchiveChange]]


def _remove_workspace(action: RemoveWorkspace, context: Context, planned: dict[int, tuple[str, float]]) -> Outcome:
    """(bytes freed, None, archives) when it went; (0, why, archives) when it
    stays; (0, "", []) when stopped first.  Archives: jj bookmarks set on the way."""
    if context.stopping():
        return 0, "", []
    if action.task is None:
        return _remove_checked(action, context)
    store = context.store
    try:
        with store.locked(action.task, timeout=LOCK_WAIT) as state:
            if (state.state, state.since) != planned.get(action.task):
                return 0, f"the task changed meanwhile (now {state.state}); left for the next run", []
            if is_held(store.layout.runner_lock(action.task)):
                return 0, "its runner is still finishing", []
            return _remove_checked(action, context)
    except LockTimeout:
        return 0, "another command holds the task's lock; left for the next run", []
    except CairnError as error:
        return 0, str(error), []


def _remove_checked(action: RemoveWorkspace, context: Context) -> Outcome:
    if context.teardown is not None and os.path.isdir(action.path):
        context.teardown(action.task, action.path)
    if action.end_processes:
        disk.end_processes(action.end_processes, action.path)
    if action.jj_workspace is not None:
        return jj_gc.remove_workspace(context.root, action, untracked=context.exclude, purge=context.purge)
    freed, problem = _remove_worktree(action, context)
    return freed, problem, []


def _remove_worktree(action: RemoveWorkspace, context: Context) -> tuple[int, str | None]:
    if not os.path.isdir(action.path):
        return 0, None  # gone already: nothing left to lose
    # The last look, right before the directory goes: nothing uncommitted.
    problem = context.unsaved(action.task, action.path)
    if problem:
        return 0, problem
    try:
        return disk.remove_tree(action.path), None
    except OSError as error:
        return 0, f"could not remove all of it: {error.strerror or error}; what is left is still registered with git"


# -- 2. branches -------------------------------------------------------------------


def _branches(plan: Plan, context: Context, report: Report) -> None:
    deletes = [a for a in plan.actions if isinstance(a, DeleteBranch)]
    if not deletes:
        return
    archives = {a.branch: a for a in plan.actions if isinstance(a, ArchiveBranch)}
    still_out = {w.branch: w.path for w in read_repository(context.root).worktrees.values() if w.branch}
    pairs: list[tuple[ArchiveBranch | None, DeleteBranch]] = []
    for delete in deletes:
        where = still_out.get(delete.branch)
        if where:
            owner = f" of task {delete.task}" if delete.task is not None else ""
            report.notes.append(Note("skipped", f"branch {delete.branch}{owner}", f"still checked out in {where}", delete.task))
            continue
        pairs.append((archives.get(delete.branch), delete))
    if not pairs:
        return
    if _update_refs(context.root, [line for pair in pairs for line in _ref_lines(*pair)]) is None:
        for archive, delete in pairs:
            report.done += [a for a in (archive, delete) if a is not None]
        return
    for archive, delete in pairs:  # one at a time, so one problem costs one branch
        problem = _update_refs(context.root, _ref_lines(archive, delete))
        if problem is None:
            report.done += [a for a in (archive, delete) if a is not None]
        else:
            owner = f" of task {delete.task}" if delete.task is not None else ""
            report.notes.append(Note("skipped", f"branch {delete.branch}{owner}", f"git refused: {problem}", delete.task))


def _ref_lines(archive: ArchiveBranch | None, delete: DeleteBranch) -> list[str]:
    lines = [f"create {archive.ref} {archive.commit}"] if archive is not None else []
    return [*lines, f"delete refs/heads/{delete.branch} {delete.commit}"]


def _update_refs(root: Path, lines: list[str]) -> str | None:
    """Apply ``lines`` as one ``git update-ref --stdin`` transaction; None, or git's complaint."""
    try:
        git(root, "update-ref", "-m", "cairn gc", "--stdin", input="\n".join(lines) + "\n")
        return None
    except GitError as error:
        detail = error.stderr.strip().splitlines()
        return detail[-1].removeprefix("fatal: ") if detail else str(error)


# -- 3. trash -------------------------------------------------------------------------


def _trash(plan: Plan, context: Context, planned: dict[int, tuple[str, float]], report: Report) -> None:
    for jj_action in (a for a in plan.actions if isinstance(a, ExpireJjTrash)):
        _expire_jj_trash(jj_action, context, planned, report)
    expiring = []
    for action in (a for a in plan.actions if isinstance(a, ExpireTrash)):
        if action.task is not None:
            try:
                # A restore holds this lock while it copies the trash back to a
                # branch: after it, the task is no longer what was planned.
                with context.store.locked(action.task, timeout=LOCK_WAIT) as state:
                    if (state.state, state.since) != planned.get(action.task):
                        report.notes.append(Note("skipped", f"trash {action.ref}", f"task {action.task} changed meanwhile (now {state.state})", action.task))
                        continue
            except (LockTimeout, CairnError) as error:
                report.notes.append(Note("skipped", f"trash {action.ref}", f"cannot check task {action.task}: {error}", action.task))
                continue
        expiring.append(action)
    if not expiring:
        return
    if _update_refs(context.root, [f"delete {a.ref} {a.commit}" for a in expiring]) is None:
        report.done += expiring
        return
    for action in expiring:
        problem = _update_refs(context.root, [f"delete {action.ref} {action.commit}"])
        if problem is None:
            report.done.append(action)
        else:
            report.notes.append(Note("skipped", f"trash {action.ref}", f"git refused: {problem}", action.task))


def _expire_jj_trash(action: ExpireJjTrash, context: Context, planned: dict[int, tuple[str, float]], report: Report) -> None:
    """Written under the task's lock, as restore reads it: a restore either
    ran before (the task is no longer what was planned) or sees the expiry."""
    what = f"trash of task {action.task} (jj commit {action.commit[:12]})"
    try:
        with context.store.locked(action.task, timeout=LOCK_WAIT) as state:
            if (state.state, state.since) != planned.get(action.task):
                report.notes.append(Note("skipped", what, f"task {action.task} changed meanwhile (now {state.state})", action.task))
                return
            path = context.store.layout.gc_record(action.task)
            record = read_record(path)
            if record.trash is None:
                expired = ExpiredTrash(commit=action.commit, operation=action.operation, expired=time.time())
                atomic.write_json(path, codec.encode(replace(record, trash=expired)))
    except (LockTimeout, CairnError, OSError) as error:
        report.notes.append(Note("skipped", what, f"cannot record it for task {action.task}: {error}", action.task))
        return
    report.done.append(action)


# -- 4. logs, signal files, the journal ----------------------------------------------


def _files(plan: Plan, context: Context, report: Report) -> None:
    # Logs are compressed side by side: each waits on its own two fsyncs.
    logs = [action for action in plan.actions if isinstance(action, CompressLog)]
    with ThreadPoolExecutor(WORKERS) as pool:
        for log, outcome in zip(logs, pool.map(lambda a: _compressed(a, context), logs)):
            if isinstance(outcome, Note):
                report.notes.append(outcome)
            elif outcome is None:
                report.stopped = True
            elif outcome >= 0:
                report.bytes_freed += outcome
                report.done.append(log)
    if report.stopped:
        return
    for action in plan.actions:
        if context.stopping():
            report.stopped = True
            return
        try:
            if isinstance(action, CompressLog):
                continue  # above
            elif isinstance(action, DropLog):
                Path(action.path).unlink()
                report.bytes_freed += action.bytes
            elif isinstance(action, RemoveSignal):
                path = Path(action.path)
                if time.time() - path.stat().st_mtime < SIGNAL_GRACE:
                    continue  # rewritten meanwhile: a fresh cancel, not a stale one
                path.unlink()
            elif isinstance(action, RotateJournal):
                rotate(Path(action.path))
            else:
                continue
        except FileNotFoundError:
            continue  # someone else removed it: nothing to do
        except OSError as error:
            report.notes.append(Note("skipped", str(getattr(action, "path", action)), f"{error.strerror or error}", action.task))
            continue
        report.done.append(action)


def _compressed(action: CompressLog, context: Context) -> int | Note | None:
    """Bytes freed; -1 when someone else removed the log; a Note when it could
    not be compressed; None when gc is stopping (it was left as it was)."""
    if context.stopping():
        return None
    try:
        return compress(Path(action.path))
    except FileNotFoundError:
        return -1
    except OSError as error:
        return Note("skipped", action.path, f"{error.strerror or error}", action.task)


def compress(path: Path) -> int:
    """Replace ``path`` by ``path.gz``, written whole before the original goes; bytes saved."""
    target = path.with_name(path.name + ".gz")
    temporary = path.with_name(f".{target.name}.{os.getpid()}.tmp")
    before = path.stat().st_size
    try:
        with open(path, "rb") as source, atomic.open_private(temporary) as raw:
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=0) as packed:
                shutil.copyfileobj(source, packed, 1 << 20)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    atomic.fsync_dir(path.parent)
    path.unlink()
    return max(0, before - target.stat().st_size)


def rotate(events: Path) -> Path:
    """Move ``events.jsonl`` aside as a segment; appenders start a new one by
    themselves (each append opens the path afresh)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    segment = events.with_name(f"{SEGMENT_PREFIX}{stamp}.jsonl")
    number = 1
    while segment.exists() or segment.with_name(segment.name + ".gz").exists():
        number += 1
        segment = events.with_name(f"{SEGMENT_PREFIX}{stamp}-{number}.jsonl")
    os.rename(events, segment)
    atomic.fsync_dir(events.parent)
    return segment


# -- 5. gc's own record -----------------------------------------------------------------


def _record(store: Store, done: list[Action]) -> None:
    now = time.time()
    by_task: dict[int, list[Action]] = {}
    for action in done:
        store.journal("gc", **_event(action))
        if action.task is not None:
            by_task.setdefault(action.task, []).append(action)

    def write(item: tuple[int, list[Action]]) -> None:
        task_id, actions = item
        try:
            with store.locked(task_id, timeout=LOCK_WAIT):
                path = store.layout.gc_record(task_id)
                # Not fsynced: the journal has it, and the record is a convenience.
                record = atomic.json_bytes(codec.encode(_merge(read_record(path), actions, now))) + b"\n"
                atomic.write_bytes(path, record, durable=False)
        except (LockTimeout, CairnError, OSError):
            pass  # the journal has it; the record is a convenience

    # In parallel: each write waits on its own fsyncs.
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(write, by_task.items()))


def _merge(record: GcRecord, actions: list[Action], now: float) -> GcRecord:
    logs = dict(record.logs)
    for action in actions:
        if isinstance(action, RemoveWorkspace):
            record = replace(record, workspace=RemovedWorkspace(path=action.path, removed=now, reason=action.reason))
        elif isinstance(action, DeleteBranch):
            record = replace(record, branch=DeletedBranch(name=action.branch, commit=action.commit, deleted=now, archive_ref=action.archived))
        elif isinstance(action, ExpireTrash):
            record = replace(record, trash=ExpiredTrash(ref=action.ref, commit=action.commit, expired=now))
        elif isinstance(action, ExpireJjTrash) and record.trash is None:  # written already, under the lock
            record = replace(record, trash=ExpiredTrash(commit=action.commit, operation=action.operation, expired=now))
        elif isinstance(action, ArchiveChange):
            kept = ArchivedCommit(change=action.change, commit=action.commit, bookmark=action.bookmark, archived=now)
            record = replace(record, archived=[*record.archived, kept])
        elif isinstance(action, CompressLog):
            logs[Path(action.path).name] = "compressed"
        elif isinstance(action, DropLog):
            logs[Path(action.path).name.removesuffix(".gz")] = "dropped"
    return replace(record, logs=logs)


_EVENT_NAMES = {
    RemoveWorkspace: "remove-workspace", ArchiveChange: "archive-change", ArchiveBranch: "archive-branch",
    DeleteBranch: "delete-branch", ExpireTrash: "expire-trash", ExpireJjTrash: "expire-trash", CompressLog: "compress",
    DropLog: "drop", RemoveSignal: "remove-signal", RotateJournal: "rotate-journal",
}


def _event(action: Action) -> dict[str, Any]:
    fields: dict[str, Any] = {"action": _EVENT_NAMES[type(action)], "task": action.task}
    for name, key in (
        ("path", "path"), ("jj_workspace", "workspace"), ("workspace", "workspace"), ("branch", "branch"), ("change", "change"),
        ("commit", "commit"), ("ref", "ref"), ("bookmark", "bookmark"), ("operation", "operation"), ("archived", "archived"),
        ("bytes", "bytes"), ("reason", "reason"),
    ):
        value = getattr(action, name, None)
        if value not in (None, 0, ""):
            fields[key] = value
    return fields
