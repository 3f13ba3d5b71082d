"""What ``cairn gc`` removes, and why: a plan decided from facts, without I/O.

The shell (cairn/gc/) gathers facts about finished tasks, their workspaces
(git worktrees or jj workspaces), branches, trash and logs, about stray
worktrees, jj workspaces and branches, signal files and the journal;
``plan`` turns them into small actions, each carrying its reason.  One place performs them (cairn/gc/perform.py); ``--dry-run``
prints the same list instead.  docs/gc.md explains the policies to users.

What must always hold (tests/test_gc_plan.py checks each, hypothesis where it pays):
- nothing is planned for a queued, running or review task, and nothing named
  after an existing task (a digit directory, ``cairn/<id>``, ``cairn-<id>``)
  counts as orphaned;
- a branch whose commits are not on its target is archived under
  ``refs/cairn/archive/`` before it is deleted, unless ``purge``;
- a branch is deleted only when its task's workspace is absent or removed
  earlier in the same plan, and never while another worktree has it checked out;
- a blocked workspace (uncommitted changes, a process inside without
  ``force``, locked, not a worktree) is never removed: it is noted instead;
- with ``keep`` N, exactly the newest N finished workspaces survive the age
  and count rules; the size limit is the last word and removes oldest first;
- orphans are only noted unless ``orphans``;
- a jj workspace goes only after each commit nothing but it holds has a
  bookmark under ``cairn/archive/`` (planned first, never a name holding
  other commits), unless ``purge`` (tests/test_gc_jj.py);
- a rejected jj task's trash expires (a record: jj keeps the hidden commit)
  at the same age as a git task's trash ref.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal, Union

from cairn.core.codec import Instant
from cairn.core.durations import format_duration
from cairn.core.records import field, record, replace

FINISHED = ("accepted", "rejected", "failed", "cancelled")
#: States gc never touches: the work is not settled, or a human has not decided yet.
PROTECTED = frozenset({"queued", "running", "review"})

ARCHIVE_PREFIX = "refs/cairn/archive/"
TRASH_PREFIX = "refs/cairn/trash/"
BRANCH_PREFIX = "cairn/"
#: jj: the bookmarks gc keeps work under (docs/gc.md says why a bookmark).  In
#: a colocated repository they show in git as branches ``cairn/archive/…``,
#: which are never a task's branch and never an orphan.
BOOKMARK_PREFIX = "cairn/archive/"

#: events.jsonl is rotated into a segment once it grows past this.
JOURNAL_LIMIT = 8 << 20
#: A cancel signal this fresh may still be on its way to its runner.
SIGNAL_GRACE = 60.0
#: A rotated segment is compressed only once no late append can still reach it.
SEGMENT_GRACE = 60.0

_TASK_BRANCH = re.compile(r"cairn/(\d+)")
_TASK_JJ_WORKSPACE = re.compile(r"cairn-(\d+)")


# -- facts ------------------------------------------------------------------------


@record(kw_only=False)
class Policy:
    #: Seconds after which each finished state's workspace, branch and trash go.
    max_age: Mapping[str, float]
    #: Exactly the newest N finished workspaces stay, whatever their age; 0: no count rule.
    keep: int = 0
    #: Bytes all task workspaces may take together; None: no limit.
    max_size: int | None = None
    #: Logs of tasks finished longer ago than this are compressed (dropped with ``purge``).
    log_age: float = 3 * 86400.0
    #: Keep no copies: unmerged branches go without an archive, old logs are dropped.
    purge: bool = False
    #: Remove orphans instead of only reporting them.
    orphans: bool = False
    #: End processes working inside a workspace instead of skipping it.
    force: bool = False
    journal_limit: int = JOURNAL_LIMIT


@record(kw_only=False)
class Process:
    pid: int
    name: str


@record(kw_only=False)
class Commit:
    """jj: one commit, by the change it belongs to and its own id."""

    change: str
    commit: str


@record(kw_only=False)
class Workspace:
    path: str
    #: Disk usage, when the shell measured it (the size limit needs it).
    bytes: int | None = None
    #: Why it may not go whatever the policy: uncommitted changes, a locked
    #: worktree, not a worktree of this repository, a runner still finishing.
    blocked: str | None = None
    #: Processes whose working directory is inside: they block it unless ``force``.
    processes: tuple[Process, ...] = ()
    #: jj: the workspace's name (``cairn-<id>``); None for a git worktree.
    jj: str | None = None
    #: jj: the commits nothing but this workspace keeps visible (no bookmark,
    #: tag or the repository's own working copy descends from them).
    only_here: tuple[Commit, ...] = ()


@record(kw_only=False)
class Branch:
    name: str
    commit: str
    #: Its tip is reachable from the task's target (for an orphan: from HEAD).
    merged: bool
    #: A worktree other than the owner's own workspace that has it checked out.
    checked_out_in: str | None = None


@record(kw_only=False)
class Ref:
    name: str
    commit: str


@record(kw_only=False)
class JjTrash:
    """A rejected jj task's work: its abandoned (hidden) commit, restorable
    until gc expires it; jj, not Cairn, holds the commit."""

    commit: str
    #: The operation that abandoned it (``cairn restore`` reverts it).
    operation: str | None = None


@record(kw_only=False)
class LogFile:
    path: str
    bytes: int
    compressed: bool


@record(kw_only=False)
class TaskFacts:
    id: int
    state: str
    since: float
    target: str | None = None
    workspace: Workspace | None = None
    branch: Branch | None = None
    trash: Ref | JjTrash | None = None
    logs: tuple[LogFile, ...] = ()


@record(kw_only=False)
class Stray:
    """A worktree or directory that looks like Cairn's and that no task record names."""

    workspace: Workspace
    branch: str | None = None


@record(kw_only=False)
class SignalFile:
    path: str
    #: The task it is for (``cancel-<id>``); None: not a name Cairn writes, left alone.
    task: int | None
    age: float


@record(kw_only=False)
class JournalFile:
    path: str
    bytes: int
    #: Seconds since it was last written.
    age: float
    #: True for ``events.jsonl`` itself, False for a rotated segment.
    current: bool
    compressed: bool = False


@record(kw_only=False)
class Facts:
    tasks: tuple[TaskFacts, ...] = ()
    #: Every task directory's id, readable or not: a corrupt record must never
    #: make its task's branch or workspace look orphaned.
    known_ids: frozenset[int] = frozenset()
    #: Bytes in the workspaces of tasks gc may not touch, toward the size limit.
    active_bytes: int = 0
    strays: tuple[Stray, ...] = ()
    #: ``cairn/*`` branches that no task record names.
    stray_branches: tuple[Branch, ...] = ()
    #: Every ref under ``refs/cairn/`` and the commit it holds.
    refs: Mapping[str, str] = field(default_factory=dict)
    #: jj: every bookmark under ``cairn/archive/`` and the commit it holds.
    bookmarks: Mapping[str, str] = field(default_factory=dict)
    signals: tuple[SignalFile, ...] = ()
    journal: tuple[JournalFile, ...] = ()
    #: Refs a queued or running task still starts from (``retry --continue``,
    #: ``--base cairn/7``) -> that task's id: they stay whatever their age.
    needed: Mapping[str, int] = field(default_factory=dict)

    def with_workspaces(self, updated: Mapping[str, Workspace]) -> Facts:
        """The same facts with some workspaces (by path) replaced by what a check found."""

        def swap(workspace: Workspace | None) -> Workspace | None:
            return updated.get(workspace.path, workspace) if workspace is not None else None

        tasks = tuple(replace(t, workspace=swap(t.workspace)) if t.workspace else t for t in self.tasks)
        strays = tuple(replace(s, workspace=updated.get(s.workspace.path, s.workspace)) for s in self.strays)
        return replace(self, tasks=tasks, strays=strays)


# -- actions ----------------------------------------------------------------------


@record(kw_only=False)
class RemoveWorkspace:
    task: int | None
    path: str
    reason: str
    bytes: int = 0
    #: With ``force``: processes to end before the directory goes.
    end_processes: tuple[Process, ...] = ()
    #: jj: the workspace to forget (``jj workspace forget``) with the directory.
    jj_workspace: str | None = None


@record(kw_only=False)
class ArchiveChange:
    """jj: a bookmark on a commit only a workspace about to go holds, set before it goes."""

    task: int | None
    workspace: str
    change: str
    commit: str
    bookmark: str
    reason: str


@record(kw_only=False)
class ArchiveBranch:
    task: int | None
    branch: str
    commit: str
    ref: str
    reason: str


@record(kw_only=False)
class DeleteBranch:
    task: int | None
    branch: str
    commit: str
    reason: str
    #: Where its commits stay: an archive ref, or None when they are on the target (or purged).
    archived: str | None = None


@record(kw_only=False)
class ExpireTrash:
    task: int | None
    ref: str
    commit: str
    reason: str


@record(kw_only=False)
class ExpireJjTrash:
    """A rejected jj task stops being restorable: recorded in its gc.json,
    which ``cairn restore`` reads; nothing in the repository changes."""

    task: int
    commit: str
    operation: str | None
    reason: str


@record(kw_only=False)
class CompressLog:
    task: int | None
    path: str
    bytes: int
    reason: str


@record(kw_only=False)
class DropLog:
    task: int | None
    path: str
    bytes: int
    reason: str


@record(kw_only=False)
class RemoveSignal:
    task: int | None
    path: str
    reason: str


@record(kw_only=False)
class RotateJournal:
    path: str
    bytes: int
    reason: str
    task: None = None


Action = Union[
    RemoveWorkspace, ArchiveChange, ArchiveBranch, DeleteBranch, ExpireTrash, ExpireJjTrash, CompressLog, DropLog, RemoveSignal, RotateJournal,
]


@record(kw_only=False)
class Note:
    """Something a rule picked that stays, or an orphan: printed, never performed."""

    kind: Literal["skipped", "orphan"]
    what: str
    reason: str
    task: int | None = None


@record(kw_only=False)
class Plan:
    #: In the order they must run: jj archives, workspaces, then branches
    #: (archive before delete), trash, logs, signals, journal.
    actions: tuple[Action, ...] = ()
    notes: tuple[Note, ...] = ()


# -- the plan ---------------------------------------------------------------------


def plan(facts: Facts, policy: Policy, now: float) -> Plan:
    finished = [t for t in facts.tasks if t.state in FINISHED]
    notes: list[Note] = []
    removals = _workspace_removals(finished, facts.active_bytes, policy, now, notes)
    removed = {action.task for action in removals}
    branch_actions = _branch_actions(finished, removed, facts, policy, now, notes)
    trash: list[Action] = []
    for task in finished:
        if task.state != "rejected" or task.trash is None or not _expired(task, policy, now):
            continue
        if isinstance(task.trash, JjTrash):
            # jj keeps the commit; what expires is Cairn's promise to restore it.
            trash.append(ExpireJjTrash(task.id, task.trash.commit, task.trash.operation, _age_reason(task, policy, now)))
            continue
        if _still_needed(task.trash.name, facts.needed, task.id, notes):
            continue
        trash.append(ExpireTrash(task.id, task.trash.name, task.trash.commit, _age_reason(task, policy, now)))
    orphan_removals, orphan_branches, orphan_trash = _orphans(facts, policy, notes)
    going = [a for a in (*removals, *orphan_removals) if isinstance(a, RemoveWorkspace)]
    archives = [] if policy.purge else _jj_archives(going, facts)
    actions: list[Action] = [
        *archives, *removals, *orphan_removals, *branch_actions, *orphan_branches, *trash, *orphan_trash,
        *_log_actions(finished, policy, now),
        *_signal_actions(facts, now),
        *_journal_actions(facts.journal, policy),
    ]
    return Plan(tuple(actions), tuple(notes))


def _expired(task: TaskFacts, policy: Policy, now: float) -> bool:
    limit = policy.max_age.get(task.state)
    return limit is not None and now - task.since > limit


def _age_reason(task: TaskFacts, policy: Policy, now: float) -> str:
    return f"{task.state} {format_duration(now - task.since)} ago, past max age {format_duration(policy.max_age[task.state])}"


def blocker(workspace: Workspace, force: bool) -> str | None:
    """Why ``workspace`` cannot go in this run, or None."""
    if workspace.blocked:
        return workspace.blocked
    if workspace.processes and not force:
        shown = ", ".join(f"{p.pid} ({p.name})" for p in workspace.processes[:3])
        more = f" and {len(workspace.processes) - 3} more" if len(workspace.processes) > 3 else ""
        return f"process {shown}{more} works inside it; --force ends it first"
    return None


def newest_first(tasks: Iterable[TaskFacts]) -> list[TaskFacts]:
    return sorted(tasks, key=lambda t: (-t.since, -t.id))


def _workspace_removals(
    finished: list[TaskFacts], active_bytes: int, policy: Policy, now: float, notes: list[Note]
) -> list[RemoveWorkspace]:
    ranked = newest_first(t for t in finished if t.workspace is not None)
    chosen: dict[int, str] = {}
    for rank, task in enumerate(ranked):
        if policy.keep and rank < policy.keep:
            continue
        if _expired(task, policy, now):
            chosen[task.id] = _age_reason(task, policy, now)
        elif policy.keep:
            chosen[task.id] = f"older than the newest {policy.keep} finished workspaces (keep {policy.keep})"
    blocked = {t.id: blocker(t.workspace, policy.force) for t in ranked if t.workspace is not None}
    if policy.max_size is not None:
        staying = [t for t in ranked if t.id not in chosen or blocked[t.id]]
        total = active_bytes + sum((t.workspace.bytes or 0) if t.workspace else 0 for t in staying)
        for task in reversed(staying):  # oldest first
            if total <= policy.max_size:
                break
            if blocked[task.id] or task.id in chosen:
                continue
            chosen[task.id] = f"the oldest while workspaces take {format_bytes(total)}, over max size {format_bytes(policy.max_size)}"
            total -= (task.workspace.bytes or 0) if task.workspace else 0
        if total > policy.max_size:
            notes.append(Note("skipped", "size limit", f"workspaces still take {format_bytes(total)}, over {format_bytes(policy.max_size)}: the rest belong to active tasks or are blocked"))
    removals = []
    for task in sorted((t for t in ranked if t.id in chosen), key=lambda t: t.id):
        workspace = task.workspace
        assert workspace is not None
        why_not = blocked[task.id]
        if why_not:
            notes.append(Note("skipped", workspace_label(task.id, workspace.path, workspace.jj), why_not, task.id))
            continue
        removals.append(
            RemoveWorkspace(task.id, workspace.path, chosen[task.id], workspace.bytes or 0, workspace.processes if policy.force else (), workspace.jj)
        )
    return removals


def workspace_label(task: int | None, path: str, jj: str | None) -> str:
    """How output names a workspace: ``workspace of task 3 (/…/3)``,
    ``jj workspace cairn-3 of task 3 (/…/3)``, ``orphan worktree /…``."""
    if task is None:
        return f"orphan jj workspace {jj} ({path})" if jj else f"orphan worktree {path}"
    return f"jj workspace {jj} of task {task} ({path})" if jj else f"workspace of task {task} ({path})"


def _jj_archives(removals: list[RemoveWorkspace], facts: Facts) -> list[ArchiveChange]:
    """A bookmark for each commit only a jj workspace about to go holds
    (``archive_base``, then ``-2``, ``-3``... when taken)."""
    workspaces = {w.path: w for w in _all_workspaces(facts)}
    taken: set[str] = set()
    archives = []
    for removal in removals:
        name = removal.jj_workspace
        if name is None:
            continue
        for kept in workspaces[removal.path].only_here:
            bookmark, already = archive_name(archive_base(removal.task, name), kept.commit, facts.bookmarks, taken)
            taken.add(bookmark)
            if not already:
                archives.append(ArchiveChange(removal.task, name, kept.change, kept.commit, bookmark, f"only jj workspace {name} holds it"))
    return archives


def archive_base(task: int | None, workspace: str) -> str:
    """The bookmark a jj workspace's work is kept under: ``cairn/archive/<id>``,
    for an orphan ``cairn/archive/orphans/<workspace>``."""
    return f"{BOOKMARK_PREFIX}{task}" if task is not None else f"{BOOKMARK_PREFIX}orphans/{workspace}"


def _all_workspaces(facts: Facts) -> list[Workspace]:
    return [t.workspace for t in facts.tasks if t.workspace is not None] + [s.workspace for s in facts.strays]


def archive_name(base: str, commit: str, refs: Mapping[str, str], taken: set[str]) -> tuple[str, bool]:
    """The archive ref for ``commit``: ``base``, else ``base-2``, ``base-3``...;
    True when that ref already holds this very commit (nothing to write)."""
    candidate, number = base, 1
    while True:
        existing = refs.get(candidate)
        if existing == commit:
            return candidate, True
        if existing is None and candidate not in taken:
            return candidate, False
        number += 1
        candidate = f"{base}-{number}"


def _retire_branch(
    owner: int | None, branch: Branch, base: str, reason: str, target: str | None,
    refs: Mapping[str, str], taken: set[str], policy: Policy,
) -> list[Action]:
    """Archive (if its commits would be lost) then delete one branch."""
    if branch.merged or policy.purge:
        return [DeleteBranch(owner, branch.name, branch.commit, reason)]
    ref, already = archive_name(base, branch.commit, refs, taken)
    taken.add(ref)
    deleted = DeleteBranch(owner, branch.name, branch.commit, reason, archived=ref)
    if already:
        return [deleted]
    where = f"not on {target}" if target else "on no other branch"
    return [ArchiveBranch(owner, branch.name, branch.commit, ref, f"it holds commits {where}"), deleted]


def _still_needed(ref: str, needed: Mapping[str, int], owner: int | None, notes: list[Note]) -> bool:
    """True (and noted) when a queued or running task starts from ``ref``."""
    user = needed.get(ref)
    if user is None:
        return False
    what = ref.removeprefix("refs/heads/")
    kind = "trash" if ref.startswith(TRASH_PREFIX) else "branch"
    notes.append(Note("skipped", f"{kind} {what}" + (f" of task {owner}" if owner is not None else ""), f"task {user} starts from it", owner))
    return True


def _branch_actions(
    finished: list[TaskFacts], removed: set[int | None], facts: Facts, policy: Policy, now: float, notes: list[Note]
) -> list[Action]:
    actions: list[Action] = []
    taken: set[str] = set()
    for task in sorted(finished, key=lambda t: t.id):
        branch = task.branch
        if branch is None or not _expired(task, policy, now):
            continue
        if task.workspace is not None and task.id not in removed:
            continue  # checked out in its workspace, which stays (a note says why if it was blocked)
        if branch.checked_out_in:
            notes.append(Note("skipped", f"branch {branch.name} of task {task.id}", f"checked out in {branch.checked_out_in}", task.id))
            continue
        if _still_needed(f"refs/heads/{branch.name}", facts.needed, task.id, notes):
            continue
        actions += _retire_branch(task.id, branch, f"{ARCHIVE_PREFIX}{task.id}", _age_reason(task, policy, now), task.target, facts.refs, taken, policy)
    return actions


def owner_of(name: str, known_ids: frozenset[int]) -> int | None:
    """The existing task a directory name (``7``), branch (``cairn/7``) or jj
    workspace (``cairn-7``) belongs to, if any."""
    match = _TASK_BRANCH.fullmatch(name) or _TASK_JJ_WORKSPACE.fullmatch(name)
    digits = match.group(1) if match else name
    if digits.isdigit() and int(digits) in known_ids:
        return int(digits)
    return None


def _orphans(facts: Facts, policy: Policy, notes: list[Note]) -> tuple[list[Action], list[Action], list[Action]]:
    known = facts.known_ids
    hint = "no task behind it; `cairn gc --orphans` removes it"
    removals: list[Action] = []
    removed_paths: set[str] = set()
    for stray in facts.strays:
        path = stray.workspace.path
        if owner_of(path.rstrip("/").rsplit("/", 1)[-1], known) is not None:
            continue
        if stray.branch is not None and owner_of(stray.branch, known) is not None:
            continue
        name = stray.workspace.jj
        if name is not None and owner_of(name, known) is not None:
            continue
        what = f"jj workspace {name} ({path})" if name is not None else f"worktree {path}"
        if not policy.orphans:
            notes.append(Note("orphan", what, hint))
            continue
        why_not = blocker(stray.workspace, policy.force)
        if why_not:
            notes.append(Note("skipped", f"orphan {what}", why_not))
            continue
        removals.append(RemoveWorkspace(None, path, "no task behind it", stray.workspace.bytes or 0, stray.workspace.processes if policy.force else (), name))
        removed_paths.add(path)
    branches: list[Action] = []
    taken: set[str] = set()
    for branch in facts.stray_branches:
        if owner_of(branch.name, known) is not None:
            continue
        if not policy.orphans:
            notes.append(Note("orphan", f"branch {branch.name}", hint))
            continue
        if branch.checked_out_in and branch.checked_out_in not in removed_paths:
            notes.append(Note("skipped", f"orphan branch {branch.name}", f"checked out in {branch.checked_out_in}"))
            continue
        if _still_needed(f"refs/heads/{branch.name}", facts.needed, None, notes):
            continue
        branches += _retire_branch(None, branch, f"{ARCHIVE_PREFIX}orphans/{branch.name}", "no task behind it", "HEAD", facts.refs, taken, policy)
    trash: list[Action] = []
    for name, commit in sorted(facts.refs.items()):
        suffix = name.removeprefix(TRASH_PREFIX)
        if not name.startswith(TRASH_PREFIX) or (suffix.isdigit() and int(suffix) in known):
            continue
        if policy.orphans:
            if not _still_needed(name, facts.needed, None, notes):
                trash.append(ExpireTrash(None, name, commit, "no task behind it"))
        else:
            notes.append(Note("orphan", f"trash {name}", hint))
    return removals, branches, trash


def _log_actions(finished: list[TaskFacts], policy: Policy, now: float) -> list[Action]:
    actions: list[Action] = []
    for task in sorted(finished, key=lambda t: t.id):
        if now - task.since <= policy.log_age:
            continue
        reason = f"{task.state} {format_duration(now - task.since)} ago, past log age {format_duration(policy.log_age)}"
        for log in task.logs:
            if policy.purge:
                actions.append(DropLog(task.id, log.path, log.bytes, reason))
            elif not log.compressed:
                actions.append(CompressLog(task.id, log.path, log.bytes, reason))
    return actions


def _signal_actions(facts: Facts, now: float) -> list[Action]:
    states = {t.id: t.state for t in facts.tasks}
    actions: list[Action] = []
    for signal in facts.signals:
        if signal.task is None or signal.age < SIGNAL_GRACE:
            continue
        state = states.get(signal.task)
        if state is None and signal.task in facts.known_ids:
            continue  # its record cannot be read: leave it to a human
        if state in ("queued", "running"):
            continue
        reason = f"task {signal.task} is {state}" if state else f"there is no task {signal.task}"
        actions.append(RemoveSignal(signal.task, signal.path, reason))
    return actions


def _journal_actions(journal: tuple[JournalFile, ...], policy: Policy) -> list[Action]:
    actions: list[Action] = []
    for part in journal:
        if part.current and part.bytes > policy.journal_limit:
            actions.append(RotateJournal(part.path, part.bytes, f"{format_bytes(part.bytes)}, over {format_bytes(policy.journal_limit)}"))
        elif not part.current and not part.compressed and part.age >= SEGMENT_GRACE:
            actions.append(CompressLog(None, part.path, part.bytes, "a rotated journal segment"))
    return actions


# -- reporting --------------------------------------------------------------------

_VERBS: dict[type, tuple[str, str]] = {
    RemoveWorkspace: ("remove", "removed"),
    ArchiveChange: ("archive", "archived"),
    ArchiveBranch: ("archive", "archived"),
    DeleteBranch: ("delete", "deleted"),
    ExpireTrash: ("expire", "expired"),
    ExpireJjTrash: ("expire", "expired"),
    CompressLog: ("compress", "compressed"),
    DropLog: ("drop", "dropped"),
    RemoveSignal: ("remove", "removed"),
    RotateJournal: ("rotate", "rotated"),
}


def describe(action: Action, *, done: bool) -> str:
    """One line: ``removed workspace of task 3 (/…/3, 12 MiB): failed 20d ago, past max age 14d``."""
    verb = _VERBS[type(action)][1 if done else 0]
    owner = f" of task {action.task}" if action.task is not None else ""
    if isinstance(action, RemoveWorkspace):
        where = action.path + (f", {format_bytes(action.bytes)}" if action.bytes else "")
        if action.jj_workspace is not None:
            what = f"jj workspace {action.jj_workspace}{owner} ({where})" if action.task is not None else f"orphan jj workspace {action.jj_workspace} ({where})"
        else:
            what = f"workspace{owner} ({where})" if action.task is not None else f"orphan worktree ({where})"
        if action.end_processes:
            ended = ", ".join(f"{p.pid} ({p.name})" for p in action.end_processes)
            what += f" after ending process {ended}"
    elif isinstance(action, ArchiveBranch):
        what = f"branch {action.branch}{owner} to {action.ref}"
    elif isinstance(action, DeleteBranch):
        kept = f"; its commits stay in {action.archived}" if action.archived else ""
        return f"{verb} branch {action.branch}{owner}: {action.reason}{kept}"
    elif isinstance(action, ArchiveChange):
        what = f"change {action.change[:12]} ({action.commit[:12]}){owner} to bookmark {action.bookmark}"
    elif isinstance(action, ExpireTrash):
        what = f"trash {action.ref}{owner}"
    elif isinstance(action, ExpireJjTrash):
        what = f"trash{owner} (jj commit {action.commit[:12]})"
    elif isinstance(action, (CompressLog, DropLog)):
        what = f"{action.path} ({format_bytes(action.bytes)})"
    elif isinstance(action, RemoveSignal):
        what = f"signal file {action.path}"
    else:
        what = action.path
    return f"{verb} {what}: {action.reason}"


COUNT_KEYS = ("workspaces", "branches", "archived", "trash", "logs", "signals", "journal")


def tally(actions: Iterable[Action]) -> dict[str, int]:
    """How many of each kind, under the names ``--json`` prints."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for action in actions:
        if isinstance(action, RemoveWorkspace):
            counts["workspaces"] += 1
        elif isinstance(action, DeleteBranch):
            counts["branches"] += 1
        elif isinstance(action, (ArchiveBranch, ArchiveChange)):
            counts["archived"] += 1
        elif isinstance(action, (ExpireTrash, ExpireJjTrash)):
            counts["trash"] += 1
        elif isinstance(action, (CompressLog, DropLog)):
            counts["journal" if action.task is None else "logs"] += 1
        elif isinstance(action, RemoveSignal):
            counts["signals"] += 1
        elif isinstance(action, RotateJournal):
            counts["journal"] += 1
    return counts


def format_bytes(count: float) -> str:
    """``512 B``, ``12 KiB``, ``3.4 MiB``, ``1.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{int(count)} B"
            return f"{count:.1f} {unit}" if count < 10 else f"{count:.0f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


# -- gc's own record in a task's directory -------------------------------------


@record
class RemovedWorkspace:
    path: str
    removed: Instant
    reason: str


@record
class DeletedBranch:
    name: str
    commit: str
    deleted: Instant
    #: Where the commits are kept, or None when they were on the target (or purged).
    archive_ref: str | None = None


@record
class ArchivedCommit:
    """jj: a commit kept under a bookmark before its workspace was forgotten."""

    change: str
    commit: str
    bookmark: str
    archived: Instant


@record
class ExpiredTrash:
    #: The git trash ref deleted; None for a jj task (jj held its commit).
    ref: str | None = None
    commit: str
    expired: Instant
    #: jj: the operation that had abandoned the commit.
    operation: str | None = None


@record
class GcRecord:
    """``tasks/<id>/gc.json``: what gc did to a task (docs/gc.md).  Written by gc
    alone, under the task's lock; ``state.json`` is left as the lifecycle wrote it."""

    format: int = 1
    workspace: RemovedWorkspace | None = None
    branch: DeletedBranch | None = None
    trash: ExpiredTrash | None = None
    #: Log file name -> ``compressed`` or ``dropped``.
    logs: dict[str, str] = field(default_factory=dict)
    #: jj: the commits kept under bookmarks when the workspace went.
    archived: list[ArchivedCommit] = field(default_factory=list)


def summary_line(counts: Mapping[str, int], *, dry_run: bool, stopped: bool = False) -> str:
    """``gc: 2 workspaces, 1 branch (1 archived), 3 logs; 1.2 MiB freed``."""

    def amount(number: int, one: str, many: str) -> str:
        return f"{number} {one if number == 1 else many}"

    parts = []
    if counts.get("workspaces"):
        parts.append(amount(counts["workspaces"], "workspace", "workspaces"))
    if counts.get("branches"):
        archived = f" ({counts['archived']} archived)" if counts.get("archived") else ""
        parts.append(amount(counts["branches"], "branch", "branches") + archived)
    elif counts.get("archived"):
        parts.append(amount(counts["archived"], "change archived", "changes archived"))  # jj: no branches to delete
    for key, one, many in (("trash", "trash ref", "trash refs"), ("logs", "log", "logs"), ("signals", "signal file", "signal files"), ("journal", "journal file", "journal files")):
        if counts.get(key):
            parts.append(amount(counts[key], one, many))
    head = "gc --dry-run:" if dry_run else "gc:"
    tail = " (stopped early)" if stopped else ""
    if not parts:
        return f"{head} nothing to collect{tail}"
    freed = counts.get("bytes_freed", 0)
    if dry_run:
        return f"{head} {', '.join(parts)} would go" + (f"; {format_bytes(freed)} freed" if freed else "") + "; nothing was changed"
    return f"{head} {', '.join(parts)}" + (f"; {format_bytes(freed)} freed" if freed else "") + tail
