"""The facts gc decides on, read from the state directory, git, jj and the disk.

Cheap facts are gathered for everything at once (a few git calls whatever
the number of tasks); the costly ones (uncommitted changes, processes inside,
sizes) only for the workspaces a plan wants to remove, by ``check``, in
parallel.

Order matters where tasks appear meanwhile: git's worktrees and refs, and
jj's workspaces, are listed before the task directories, so a worktree,
branch or jj workspace made for a task queued during the run always finds
that task already listed, and is never taken for an orphan.

A plain jj repository has no git repository at its root: git is not asked
there.  A colocated one has both, and tasks of either backend (``vcs``
may have changed): each task's workspace is looked at by its own backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.core.gc import (
    BOOKMARK_PREFIX, BRANCH_PREFIX, FINISHED, Branch, Facts, JjTrash, JournalFile, LogFile, Ref, SignalFile, Stray,
    TaskFacts, Workspace,
)
from cairn.core.model import Rejected, State, Work
from cairn.core.records import replace
from cairn.errors import CairnError
from cairn.backends import backend_for, disk
from cairn.backends.git.gc import Repository, merged_into, read_repository, unsaved_work, worktree_blocker
from cairn.backends.jj import gc as jj_gc
from cairn.state.gc_record import read_record
from cairn.state.lock import is_held
from cairn.state.store import Store

if TYPE_CHECKING:
    from cairn.config.load import Settings

#: Parallel git calls and directory walks: they wait on the disk and on git, not on Python.
WORKERS = 8
#: The logs gc compresses, by file name in the task's directory.
LOG_NAMES = ("agent.log", "checks.log")
#: Rotated journal segments beside events.jsonl: ``events-<UTC time>.jsonl[.gz]``.
SEGMENT_PREFIX = "events-"


def gather(store: Store, settings: Any, *, measure_all: bool, now: float) -> Facts:
    root: Path = settings.root
    layout = store.layout
    repository = read_repository(root)
    jj_repository = jj_gc.read_jj(root, settings.workspace_dir)
    known_ids = frozenset(store.task_ids())  # after git and jj: see the module's header
    summaries = store.scan().summaries
    main_path = next(iter(repository.worktrees), None)  # git lists the main worktree first
    checked_out = {w.branch: w.path for w in repository.worktrees.values() if w.branch}
    untouchable = [p for p in (main_path, str(root), str(layout.home)) if p]

    workspace_root = os.path.realpath(settings.workspace_dir)
    claimed: set[str] = set()
    claimed_jj: set[str] = set()
    named_branches: set[str] = set()
    tasks: list[TaskFacts] = []
    active_paths: list[str] = []
    needed: dict[str, int] = {}
    for summary in summaries:
        try:
            state = store.read_state(summary.id)
        except CairnError:
            continue  # reported by `cairn status`; its id stays in known_ids, so nothing of it is touched
        work = _work_of(state)
        recorded = os.path.realpath(work.workspace) if work is not None else None
        default = os.path.join(workspace_root, str(summary.id))
        jj_name = jj_gc.task_workspace_name(summary.id, work, jj_repository)
        jj_path = jj_repository.workspaces.get(jj_name) if jj_repository is not None and jj_name else None
        paths = [p for p in (recorded, jj_path, default) if p]
        claimed.update(paths)
        # A git or clone task's branch; a jj task has none (its bookmarks are gc's own).
        branch_name = getattr(work, "branch", None) or f"{BRANCH_PREFIX}{summary.id}"
        named_branches.add(branch_name)
        present = next((p for p in paths if os.path.isdir(p)), None)
        if jj_name is not None:
            claimed_jj.add(jj_name)
            # A workspace jj still has counts even when its directory is gone: forgetting it is gc's.
            present = present or jj_path
        if summary.state not in FINISHED:
            # Listed so every decision sees its state; the plan never touches it.
            tasks.append(TaskFacts(summary.id, summary.state, summary.since, summary.target))
            if present:
                active_paths.append(present)
            if summary.state in ("queued", "running"):
                needed.update(dict.fromkeys(_starts_from(store, summary.id), summary.id))
            continue
        workspace = None
        if present is not None and jj_name is not None:
            workspace = Workspace(present, blocked=_holds_precious(present, untouchable) or jj_gc.static_blocker(present, jj_name, jj_repository), jj=jj_name)
        elif present is not None:
            workspace = Workspace(present, blocked=_static_blocker(present, work, settings, repository, workspace_root, untouchable))
        branch = None
        if branch_name in repository.branches:
            elsewhere = checked_out.get(branch_name)
            branch = Branch(branch_name, repository.branches[branch_name], merged=False, checked_out_in=elsewhere if elsewhere != present else None)
        trash: Ref | JjTrash | None = None
        if isinstance(state, Rejected) and state.trash_ref and state.trash_ref in repository.refs:
            trash = Ref(state.trash_ref, repository.refs[state.trash_ref])
        elif (jj_trash := jj_gc.trash_of(state)) is not None and not _trash_expired(store, summary.id):
            trash = jj_trash
        tasks.append(
            TaskFacts(summary.id, summary.state, summary.since, getattr(state, "target", None) or summary.target, workspace, branch, trash, _logs(layout.task_dir(summary.id)))
        )
    tasks = _mark_merged(root, tasks)

    jj_paths = set(jj_repository.workspaces.values()) if jj_repository is not None else set()
    strays = _strays(repository, workspace_root, claimed | jj_paths, untouchable)
    if jj_repository is not None:
        strays += jj_gc.strays(jj_repository, claimed_jj, claimed, lambda path: _holds_precious(path, untouchable))
    stray_branches = []
    # jj's archive bookmarks show in a colocated git as branches cairn/archive/…: gc's own, never orphans.
    unnamed = {b for b in repository.branches if b not in named_branches and not b.startswith(BOOKMARK_PREFIX)}
    head_merged = merged_into(root, "HEAD", unnamed)
    for name, commit in sorted(repository.branches.items()):
        if name in unnamed:
            stray_branches.append(Branch(name, commit, merged=name in head_merged, checked_out_in=checked_out.get(name)))

    active_bytes = 0
    if measure_all:
        sizes = _measure([*active_paths, *(t.workspace.path for t in tasks if t.workspace)])
        active_bytes = sum(sizes[p] for p in active_paths)
        tasks = [replace(t, workspace=replace(t.workspace, bytes=sizes[t.workspace.path])) if t.workspace else t for t in tasks]
    return Facts(
        tasks=tuple(tasks),
        known_ids=known_ids,
        active_bytes=active_bytes,
        strays=tuple(strays),
        stray_branches=tuple(stray_branches),
        refs=repository.refs,
        bookmarks=jj_repository.bookmarks if jj_repository is not None else {},
        signals=tuple(_signals(layout.signals, now)),
        journal=tuple(_journal(layout.events, now)),
        needed=needed,
    )


def _starts_from(store: Store, task_id: int) -> list[str]:
    """The refs a task not yet settled starts from (``--continue``, ``--base``), spelled in full."""
    try:
        task = store.read_task(task_id)
    except CairnError:
        return []
    refs = []
    for revision in (task.continue_from, task.base):
        if revision and revision.startswith("refs/"):
            refs.append(revision)
        elif revision and revision.startswith(BRANCH_PREFIX):
            refs.append(f"refs/heads/{revision}")
    return refs


def _trash_expired(store: Store, task_id: int) -> bool:
    """A jj task's trash expires by a record in its gc.json, not by a deleted ref."""
    return read_record(store.layout.gc_record(task_id)).trash is not None


def _work_of(state: State) -> Work | None:
    if isinstance(state, Rejected):
        return state.previous.work if state.previous is not None else None
    return getattr(state, "work", None)


def _static_blocker(path: str, work: Work | None, settings: Settings, repository: Repository, workspace_root: str, untouchable: list[str]) -> str | None:
    """What keeps a workspace whatever else is found: cheap, from facts in hand.
    A task's workspace is judged by its own backend; one no work was recorded
    for (an interrupted start) is looked at as a git worktree."""
    precious = _holds_precious(path, untouchable)
    if precious:
        return precious
    if work is not None:
        return backend_for(settings, work).gc_blocker(path, repository, workspace_root)
    return worktree_blocker(path, repository, workspace_root)


def _holds_precious(path: str, untouchable: list[str]) -> str | None:
    for precious in untouchable:
        real = os.path.realpath(precious)
        if real == path or real.startswith(path.rstrip("/") + "/"):
            return f"it is or holds {real}, which gc never removes"
    return None


def _mark_merged(root: Path, tasks: list[TaskFacts]) -> list[TaskFacts]:
    by_target: dict[str | None, list[str]] = {}
    for task in tasks:
        if task.branch is not None:
            by_target.setdefault(task.target, []).append(task.branch.name)
    merged = {target: merged_into(root, target, names) for target, names in by_target.items()}
    return [
        replace(t, branch=replace(t.branch, merged=t.branch.name in merged[t.target])) if t.branch is not None else t
        for t in tasks
    ]


def _strays(repository: Repository, workspace_root: str, claimed: set[str], untouchable: list[str]) -> list[Stray]:
    """Worktrees in the workspace directory or on a ``cairn/*`` branch, and
    directories in the workspace directory, that no task record claims."""
    strays = []
    for index, (path, worktree) in enumerate(repository.worktrees.items()):
        if index == 0 or path in claimed or not os.path.isdir(path):
            continue  # the main worktree, a task's, or one gone already (`git worktree prune` forgets it)
        inside = path.startswith(workspace_root + "/")
        if inside or (worktree.branch or "").startswith(BRANCH_PREFIX):
            blocked = _holds_precious(path, untouchable)
            if blocked is None and worktree.locked:
                blocked = f"locked with `git worktree lock`; `git worktree unlock {path}` lets gc remove it"
            strays.append(Stray(Workspace(path, blocked=blocked), worktree.branch))
    try:
        names = sorted(os.listdir(workspace_root))
    except OSError:
        names = []
    for name in names:
        path = os.path.join(workspace_root, name)
        if name.startswith(".") or path in claimed or path in repository.worktrees or not os.path.isdir(path):
            continue
        strays.append(Stray(Workspace(path, blocked="not a git worktree: look inside, then remove it yourself")))
    return strays


def _logs(directory: Path) -> tuple[LogFile, ...]:
    logs = []
    for name in LOG_NAMES:
        for candidate, compressed in ((directory / name, False), (directory / f"{name}.gz", True)):
            try:
                size = candidate.stat().st_size
            except OSError:
                continue
            logs.append(LogFile(str(candidate), size, compressed))
    return tuple(logs)


def _signals(directory: Path, now: float) -> list[SignalFile]:
    found = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        suffix = entry.name.removeprefix("cancel-")
        task = int(suffix) if entry.name.startswith("cancel-") and suffix.isdigit() else None
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        found.append(SignalFile(entry.path, task, age))
    return found


def _journal(events: Path, now: float) -> list[JournalFile]:
    parts = []
    try:
        info = events.stat()
        parts.append(JournalFile(str(events), info.st_size, now - info.st_mtime, current=True))
    except OSError:
        pass
    for entry in sorted(os.scandir(events.parent), key=lambda e: e.name):
        if entry.name.startswith(SEGMENT_PREFIX) and entry.name.endswith((".jsonl", ".jsonl.gz")):
            info = entry.stat(follow_symlinks=False)
            parts.append(JournalFile(entry.path, info.st_size, now - info.st_mtime, current=False, compressed=entry.name.endswith(".gz")))
    return parts


def _measure(paths: list[str]) -> dict[str, int]:
    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(paths, pool.map(disk.tree_bytes, paths)))


# -- the costly checks, for the workspaces a plan would remove --------------------


def check(
    store: Store, root: Path, workspaces: list[tuple[int | None, Workspace]], *, unsaved: Unsaved, measure: bool
) -> dict[str, Workspace]:
    """Each workspace with what stops its removal now: a runner still
    finishing, uncommitted changes, a HEAD on no branch, a filesystem mounted
    inside, processes working inside; for a jj workspace, what only it holds
    (jj records every file, so nothing is uncommitted); and its size when ``measure``."""
    points = disk.mount_points()
    inside = disk.processes_inside(w.path for _, w in workspaces)

    def one(item: tuple[int | None, Workspace]) -> Workspace:
        task, workspace = item
        blocked = workspace.blocked
        if blocked is None and task is not None and is_held(store.layout.runner_lock(task)):
            blocked = "its runner is still finishing"
        if blocked is None:
            mount = disk.mounts_inside(workspace.path, points)
            blocked = f"a filesystem is mounted inside it ({mount})" if mount else None
        if blocked is None and workspace.jj is not None:
            looked = jj_gc.look(root, workspace)
            blocked, workspace = looked.blocked, looked
        elif blocked is None:
            blocked = unsaved(task, workspace.path)
        size = disk.tree_bytes(workspace.path) if measure and workspace.bytes is None else workspace.bytes
        return replace(workspace, blocked=blocked, processes=inside.get(workspace.path, ()), bytes=size)

    with ThreadPoolExecutor(WORKERS) as pool:
        return {w.path: checked for (_, w), checked in zip(workspaces, pool.map(one, workspaces))}


#: Why removing the workspace at a path (of a task, or a stray) would lose something, or None.
Unsaved = Callable[[int | None, str], str | None]


def unsaved_checker(store: Store, settings: Settings, exclude: list[str]) -> Unsaved:
    """The last look before a workspace goes, by the backend of the task's
    work (read afresh: the caller may hold the task's lock); a stray is a git
    worktree or a directory, looked at as git would."""
    root = settings.root
    assert root is not None

    def unsaved(task_id: int | None, path: str) -> str | None:
        work = None
        if task_id is not None:
            try:
                work = _work_of(store.read_state(task_id))
            except CairnError as error:
                return f"its task's record cannot be read: {error}"
        if work is None:
            return unsaved_work(root, path, exclude)
        return backend_for(settings, work).gc_unsaved(path, exclude)

    return unsaved
