"""Landing, rejecting and restoring a task whose work is a jj change.

Landing (the caller, cairn/land/accept.py, holds ``locks/accept.lock`` and the
task's lock):

1. snapshot the task's workspace, so last touches made there land too, and
   the default workspace, so the operation recorded next holds the user's
   edits;
2. record the operation id: every failure from here on ends in
   ``jj op restore`` to it, and the Accepted record keeps it for the user;
3. rebase the change onto where it lands (``-o DEST``; for ``--rebase``
   without a target, ``-B @``: just below the user's working copy);
4. after every rewrite, look for conflicts jj recorded in what was
   rewritten: new ones are reported with their paths and undone;
5. the checks gate, in the task's workspace, on exactly that commit;
6. squash (default) into the destination, or move the target bookmark;
7. bring the default workspace's files up to date (``update-stale``).

Rewrites run with ``--ignore-working-copy``: the user's files change only in
step 7, after everything succeeded, so a conflict never reaches them.

Reject forgets the workspace, then abandons the change (so jj never makes a
replacement working-copy commit for it), and keeps the abandoning operation's
id; restore reverts that operation, or, once jj's log no longer has it,
brings the content back from the hidden commit as a new change.  Both only
until gc expires the trash (``gc.max_age.rejected``, recorded in the task's
gc.json): then restore says the work expired.

Never rewrite a change while its agent runs: a rewrite from outside makes
that workspace stale, and edits it had not recorded end up in a divergent
copy.  ``refuse_if_agents_below`` checks every rewrite against the running
tasks' changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cairn.backends.base import Conflict, Gate, Landed, Say, Trashed
from cairn.backends.jj.workspaces import JjWorkspaces, divergent_hint, divergent_message, one_commit, task_message
from cairn.core.model import JjKept, JjWork, Rejected, Strategy, Task
from cairn.core.records import replace
from cairn.errors import CairnError, OperationFailed, UsageError
from cairn.state.gc_record import read_record
from cairn.state.store import Store
from cairn.vcs.jj import JjError, current_operation, jj, operation_mentioning, records

if TYPE_CHECKING:
    from cairn.backends.jj.backend import JjBackend

STRATEGIES: tuple[Strategy, ...] = ("squash", "rebase")


class JjLanding:
    def __init__(self, backend: JjBackend, store: Store, task: Task, work: JjWork, *, strategy: Strategy, into: str | None,
                 gate: Gate | None, say: Say) -> None:
        self.store, self.task, self.work = store, task, work
        self.root = backend.root
        self.strategy, self.into, self.gate, self.say = strategy, into, gate, say
        self.workspaces = backend
        self.change = f"change_id({work.change_id})"
        self.target = "@"
        self.before: str | None = None

    @property
    def journal(self) -> dict[str, str | None]:
        """The operation recorded before the first rewrite: ``jj op restore`` to it undoes the accept."""
        return {"operation": self.before}

    def run(self) -> Landed:
        strategy, into = self.strategy, self.into
        workspace = Path(self.work.workspace)
        if workspace.is_dir():
            self.workspaces.snapshot(workspace, self.workspaces.untracked_config())
        self.workspaces.change(self.work)  # exactly one visible commit, or say what to do
        self.workspaces.snapshot(self.root)
        self.before = current_operation(self.root, snapshot=False)
        self.work = replace(self.work, operation=self.before)
        try:
            if strategy == "squash":
                commit = self._squash(into or "@")
            else:
                commit = self._rebase(into or self.task.target)
            jj(self.root, "workspace", "update-stale")
        except BaseException:
            self._undo()
            raise
        self.work = replace(self.work, head_commit=self._commit_of(self.change) if strategy == "rebase" else self.work.head_commit)
        return Landed(self.task.id, strategy, self.target, commit, True, work=self.work, journal=self.journal)

    def clean_up(self, landed: Landed, *, delete_branch: bool) -> None:
        try:
            self.workspaces.remove(self.work)
        except CairnError as error:
            self.say(f"the workspace {self.work.workspace} stays: {error}")

    # -- strategies ---------------------------------------------------------------

    def _squash(self, into: str) -> str:
        destination = self._one(into, "squash into")
        self.target = into
        refuse_if_agents_below(self.store, self.root, f"{self.change} | commit_id({destination})", self.task.id)
        watched = f"{self.change} | change_id({self._change_of(destination)})"
        known = conflicted(self.root, f"({watched})::")
        self.say(f"rebasing {self.change_label()} onto {into} ({destination[:12]})")
        self._rewrite(watched, known, "rebase", "-r", self.change, "-o", f"commit_id({destination})")
        self._checks()
        (dest,) = records(self.root, f"commit_id({destination})", {"description": "description"})
        keep = ["--use-destination-message"] if dest["description"].strip() else ["-m", task_message(self.task.id, self.task.title)]
        into_change = f"change_id({self._change_of(destination)})"
        self._rewrite(watched, known, "squash", "--from", self.change, "--into", into_change, *keep)
        return self._commit_of(into_change)

    def _rebase(self, target: str | None) -> str:
        if target:
            onto = self._one(target, "rebase onto")
            self.target = target
            where = ["-o", f"commit_id({onto})"]
            rewritten = self.change
            self.say(f"rebasing {self.change_label()} onto {target} ({onto[:12]})")
        else:
            # Like a fast-forward of the checked-out branch: the work goes in
            # below the user's working copy, which then holds it.
            self.target = "@-"
            where = ["-B", "@"]
            rewritten = f"{self.change} | @"
            self.say(f"rebasing {self.change_label()} in below your working copy (@)")
        refuse_if_agents_below(self.store, self.root, rewritten, self.task.id)
        known = conflicted(self.root, f"({rewritten})::")
        self._rewrite(rewritten, known, "rebase", "-r", self.change, *where)
        self._checks()
        if target and target in bookmarks(self.root):
            jj(self.root, "bookmark", "set", target, "-r", self.change, quiet_wc=True)
        return self._commit_of(self.change)

    # -- steps --------------------------------------------------------------------

    def _rewrite(self, watched: str, known: dict[str, list[str]], *args: str) -> None:
        """One jj rewrite, then the conflicts it made in ``watched`` and its
        descendants (those there before do not count)."""
        jj(self.root, *args, quiet_wc=True)
        now = conflicted(self.root, f"({watched})::")
        new = sorted({path for change, paths in now.items() if change not in known for path in paths})
        if new:
            raise Conflict(self.task.id, _label(self.target), new)

    def _checks(self) -> None:
        if self.gate is None:
            return
        workspace = Path(self.work.workspace)
        if not workspace.is_dir():
            self.work = self.workspaces.attach(self.work, task_message(self.task.id, self.task.title))
        jj(workspace, "workspace", "update-stale")
        commit = self._commit_of(self.change)
        try:
            self.gate(workspace, commit)
        finally:
            self.workspaces.reset(replace(self.work, head_commit=commit), keep=self.workspaces.untracked)

    def _undo(self) -> None:
        """Back to the operation recorded before the first rewrite; the
        workspaces follow (no edits can be lost: both were just snapshotted)."""
        if self.before is None:
            return
        try:
            if current_operation(self.root, snapshot=False) != self.before:
                jj(self.root, "op", "restore", self.before, quiet_wc=True)
            for path in (Path(self.work.workspace), self.root):
                if path.is_dir():
                    jj(path, "workspace", "update-stale")
        except CairnError as error:
            self.say(f"could not undo the accept: {error}; `jj op restore {self.before}` does it")

    # -- questions ------------------------------------------------------------------

    def _one(self, revision: str, doing: str) -> str:
        commit = one_commit(self.root, revision, f"cannot {doing}", "name a bookmark or a revision `jj log` shows")
        if records(self.root, f"commit_id({commit}) & {self.change}::", {"commit_id": "commit_id"}):
            raise UsageError(f"cannot {doing} {revision!r}: it is task {self.task.id}'s change or lies on top of it")
        return commit

    def _change_of(self, commit: str) -> str:
        (found,) = records(self.root, f"commit_id({commit})", {"change_id": "change_id"})
        return str(found["change_id"])

    def _commit_of(self, revision: str) -> str:
        (found,) = records(self.root, revision, {"commit_id": "commit_id"})
        return str(found["commit_id"])

    def change_label(self) -> str:
        return f"change {str(self.work.change_id)[:12]}"


def discard(store: Store, workspaces: JjWorkspaces, task_id: int, work: JjWork) -> Trashed:
    """Forget the task's workspace, then abandon its change.  The JjWork as it
    was last (its commit id names the hidden commit) and the operation that
    abandoned it, for ``cairn restore``."""
    root = workspaces.root
    path = Path(work.workspace)
    if path.is_dir():
        try:
            workspaces.snapshot(path, workspaces.untracked_config())
        except CairnError:
            pass  # the change keeps what was recorded before
    found = workspaces.commits_of(str(work.change_id))
    if len(found) > 1:
        raise OperationFailed(divergent_message(work, found), hint=divergent_hint(work, found))
    if found:
        refuse_if_agents_below(store, root, f"commit_id({found[0]['commit_id']})", task_id)
    before = current_operation(root, snapshot=False)
    workspaces.remove(work)
    if not found:
        return Trashed(work, JjKept())  # gone already (squashed or abandoned by hand)
    head = str(found[0]["commit_id"])
    jj(root, "abandon", f"commit_id({head})", quiet_wc=True)
    return Trashed(replace(work, head_commit=head, operation=before), JjKept(operation=operation_mentioning(root, head)))


def untrash(store: Store, workspaces: JjWorkspaces, task: Task, rejected: Rejected, work: JjWork) -> JjWork:
    """The rejected change visible again in a workspace of its own: the
    abandoning operation reverted while jj's log has it, else the content
    brought back from the hidden commit."""
    _refuse_if_expired(store, task.id, work)
    if work.change_id and not workspaces.commits_of(work.change_id) and rejected.operation:
        try:
            jj(workspaces.root, "op", "revert", rejected.operation, quiet_wc=True)
        except JjError:
            pass  # the operation is gone from jj's log: the content is brought back below
    return workspaces.attach(work, task_message(task.id, task.title))


def _refuse_if_expired(store: Store, task_id: int, work: JjWork) -> None:
    """Rejected work is restorable until gc expires it (gc.max_age.rejected).
    jj may hold the hidden commit for longer, but Cairn no longer promises it."""
    from cairn.core.codec import instant_to_text

    expired = read_record(store.layout.gc_record(task_id)).trash
    if expired is None:
        return
    commit = (expired.commit or work.head_commit or "")[:12]
    raise OperationFailed(
        f"the work of task {task_id} expired: gc expired its trash on {instant_to_text(expired.expired)[:10]}, past gc.max_age.rejected",
        hint=f"`cairn retry {task_id}` queues the task again; until jj's own gc, `jj new {commit}` may still bring the content back by hand",
    )


def refuse_if_agents_below(store: Store, root: Path, revset: str, task_id: int) -> None:
    """Raise if rewriting ``revset`` (which rewrites its descendants too)
    would touch the change of a task whose agent is still running."""
    running = running_changes(store)
    if not running:
        return
    watched = " | ".join(f"change_id({change})" for change in running)
    hits = records(root, f"({revset}):: & ({watched})", {"change_id": "change_id"})
    if hits:
        other = running[hits[0]["change_id"]]
        raise OperationFailed(
            f"task {other}'s agent is still working on a change this would rewrite ({hits[0]['change_id'][:12]})",
            hint=f"wait for it (`cairn wait {other}`), then try again",
        )


def running_changes(store: Store) -> dict[str, int]:
    """change id -> task id, for every running task with a jj change."""
    found = {}
    for summary in store.scan().summaries:
        if summary.state != "running":
            continue
        try:
            work = getattr(store.read_state(summary.id), "work", None)
        except CairnError:
            continue
        if isinstance(work, JjWork):
            found[work.change_id] = summary.id
    return found


def conflicted(root: Path, revset: str) -> dict[str, list[str]]:
    """change id -> conflicted paths, for the commits in ``revset`` that have conflicts."""
    found = records(root, f"({revset}) & conflicts()", {"change_id": "change_id", "paths": "conflicted_files.map(|e| e.path())"})
    return {str(r["change_id"]): [str(p) for p in r["paths"]] for r in found}


def bookmarks(root: Path) -> list[str]:
    return jj(root, "bookmark", "list", "-T", 'name ++ "\\n"', quiet_wc=True).splitlines()


def _label(target: str) -> str:
    return {"@": "your working copy (@)", "@-": "the parent of your working copy (@-)"}.get(target, target)


def proposal_text(workspaces: JjWorkspaces, work: JjWork, form: str | None) -> str:
    """``cairn diff`` of a jj task: its change against its parent, as git would
    print it (``--stat``, ``--name-only`` alike).  A rejected change is hidden
    and found by its commit id."""
    revision = workspaces.revision(work)
    shape = {"--stat": ["--stat"], "--name-only": ["--name-only"]}.get(form or "", ["--git"])
    return jj(workspaces.root, "diff", "-r", revision, *shape, quiet_wc=True, strip=False)
