"""``cairn jj-sync``: bring Cairn's records and the jj repository into agreement.

jj users rewrite history by hand, and that is fine: this notices it.

- observe: one ``jj log`` over every task's change; for changes that
  vanished, one ``jj evolog`` over the newest visible commits (a squash lists
  the squashed commit among the destination's predecessors, an abandon leaves
  no trace there) and the operation log (for the abandoning operation);
- plan: a pure function from what was observed to actions;
- apply: describe changes, record new commit ids, move tasks whose change was
  squashed by hand to ``accepted`` and abandoned ones to ``rejected``; report
  divergent changes and stale workspaces with what to do.

Idempotent: a second run finds nothing to do and repeats only the reports.
A running task's change is never rewritten (see cairn/backends/jj/landing.py); it
is only looked at.  The whole sync holds ``locks/accept.lock``, so it never
mistakes an accept in progress (or one being undone) for a hand-made change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.core.model import Accepted, JjKept, JjWork, Queued, Rejected, Review, State, Work
from cairn.core.records import replace
from cairn.errors import CairnError, OperationFailed
from cairn.state import lock
from cairn.state.store import Store

if TYPE_CHECKING:
    from cairn.config.load import Settings
from cairn.vcs.jj import JjError, evolution, jj, operation_mentioning, records
from cairn.backends.bootstrap import teardown_for
from cairn.backends.jj.landing import refuse_if_agents_below
from cairn.backends.jj.workspaces import JjWorkspaces, description_for, divergent_hint, divergent_message, task_message

#: How many of the newest visible commits are searched for a squashed change.
SEARCH_DEPTH = 50


@dataclass(frozen=True, slots=True)
class Observed:
    task_id: int
    title: str
    state: str
    work: JjWork
    #: The change's visible commits: none (squashed or abandoned), one, or several (divergent).
    commits: list[dict[str, Any]] = field(default_factory=list)
    #: The visible commit whose history holds the last recorded commit, if any.
    absorbed_into: dict[str, Any] | None = None
    #: The operation that abandoned the last recorded commit, if jj still lists it.
    abandoned_by: str | None = None
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Action:
    #: describe, record, accepted, rejected, divergent, stale, missing, visible-again
    kind: str
    task_id: int
    message: str
    hint: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def report_only(self) -> bool:
        return self.kind in ("divergent", "stale", "missing", "visible-again")


def sync(store: Store, settings: Settings, *, dry_run: bool = False) -> list[Action]:
    with lock.held(store.layout.accept_lock, timeout=600):
        actions = plan(observe(store, settings))
        if dry_run:
            return actions
        return [apply(store, settings, action) for action in actions]


# -- observe -------------------------------------------------------------------


def observe(store: Store, settings: Settings) -> list[Observed]:
    root = _root(settings)
    tasks = []
    for summary in store.scan().summaries:
        if summary.state in ("queued", "accepted"):
            continue
        try:
            state = store.read_state(summary.id)
        except CairnError:
            continue
        work = getattr(state, "work", None) or getattr(getattr(state, "previous", None), "work", None)
        if isinstance(work, JjWork):
            tasks.append((summary, work))
    if not tasks:
        return []
    revset = " | ".join(f"change_id({work.change_id})" for _, work in tasks)
    by_change: dict[str, list[dict[str, Any]]] = {}
    for commit in records(root, revset, {"change_id": "change_id", "commit_id": "commit_id", "description": "description"}):
        by_change.setdefault(commit["change_id"], []).append(commit)
    vanished = [w.head_commit for s, w in tasks if s.state == "review" and not by_change.get(str(w.change_id)) and w.head_commit]
    absorbers = _absorbers(root, vanished) if vanished else {}
    observed = []
    for summary, work in tasks:
        commits = by_change.get(str(work.change_id), [])
        absorbed = absorbers.get(str(work.head_commit)) if not commits else None
        abandoned = None
        if summary.state == "review" and not commits and absorbed is None and work.head_commit:
            abandoned = operation_mentioning(root, work.head_commit, limit=100)
        stale = summary.state == "review" and len(commits) == 1 and _is_stale(Path(work.workspace))
        observed.append(Observed(summary.id, summary.title, summary.state, work, commits, absorbed, abandoned, stale))
    return observed


def _absorbers(root: Path, heads: list[str]) -> dict[str, dict[str, Any]]:
    """For each commit in ``heads``: the newest visible commit that has it in its history."""
    candidates = records(root, f"latest(visible() ~ root(), {SEARCH_DEPTH})", {"change_id": "change_id", "commit_id": "commit_id"})
    if not candidates:
        return {}
    predecessors: dict[str, list[str]] = {}
    for entry in evolution(root, " | ".join(f"commit_id({c['commit_id']})" for c in candidates)):
        predecessors[entry["commit"]] = entry["predecessors"]
    wanted, found = set(heads), {}
    for candidate in candidates:  # newest first
        seen, todo = set(), list(predecessors.get(candidate["commit_id"], []))
        while todo:
            commit = todo.pop()
            if commit in seen:
                continue
            seen.add(commit)
            if commit in wanted and commit not in found:
                found[commit] = candidate
            todo.extend(predecessors.get(commit, []))
    return found


def _is_stale(path: Path) -> bool:
    """Whether a finished task's workspace was rewritten from elsewhere.  Asking
    snapshots it, which only records what someone edited there by hand."""
    if not path.is_dir():
        return False
    try:
        jj(path, "util", "snapshot")
    except JjError as error:
        return error.stale
    return False


# -- plan ------------------------------------------------------------------------


def plan(observed: list[Observed]) -> list[Action]:
    """What to do about each task: pure, so ``--dry-run`` prints exactly this."""
    actions: list[Action] = []
    for o in observed:
        commits, work = o.commits, o.work
        if len(commits) > 1:
            later = " once its agent has finished" if o.state == "running" else ""
            actions.append(Action("divergent", o.task_id, divergent_message(work, commits), divergent_hint(work, commits) + later))
            continue
        if o.state == "running":
            if not commits:
                actions.append(Action(
                    "missing", o.task_id, f"the change {str(work.change_id)[:12]} was squashed or abandoned while its agent still works",
                    f"`cairn cancel {o.task_id}`, or let it finish and look at `jj log -r {work.name}@`",
                ))
            continue  # never rewritten while its agent runs
        if o.state == "rejected":
            if commits:
                actions.append(Action(
                    "visible-again", o.task_id, f"task {o.task_id} is rejected but its change {str(work.change_id)[:12]} is visible again",
                    f"`cairn restore {o.task_id}` takes it back to review; or `jj abandon {commits[0]['commit_id'][:12]}`",
                ))
            continue
        if not commits:
            if o.state != "review":
                continue  # a failed or cancelled task's change went; nothing waits on it
            if o.absorbed_into is not None:
                into = o.absorbed_into
                actions.append(Action(
                    "accepted", o.task_id, f"accepted: squashed by hand into change {into['change_id'][:12]} ({into['commit_id'][:12]})",
                    data={"change_id": into["change_id"], "commit_id": into["commit_id"]},
                ))
            else:
                actions.append(Action(
                    "rejected", o.task_id, "rejected: its change was abandoned by hand",
                    f"`cairn restore {o.task_id}` brings it back", data={"operation": o.abandoned_by},
                ))
            continue
        (commit,) = commits
        wanted = description_for(commit["description"], task_message(o.task_id, o.title))
        if wanted is not None:
            actions.append(Action("describe", o.task_id, f"described its change {commit['change_id'][:12]}", data={"commit_id": commit["commit_id"], "description": wanted}))
        elif commit["commit_id"] != work.head_commit:
            actions.append(Action("record", o.task_id, f"recorded its change's new commit {commit['commit_id'][:12]}", data={"commit_id": commit["commit_id"]}))
        if o.stale:
            actions.append(Action(
                "stale", o.task_id, f"its workspace {work.workspace} is stale: its change was rewritten from elsewhere",
                f"bring it up to date: cd {work.workspace} && jj workspace update-stale",
            ))
    return actions


# -- apply -----------------------------------------------------------------------


def apply(store: Store, settings: Settings, action: Action) -> Action:
    """Carry out one action; the action as it turned out (a skipped one says why)."""
    if action.report_only:
        return action
    try:
        if action.kind == "describe":
            _describe(store, settings, action)
        elif action.kind == "record":
            _record(store, action.task_id, action.data["commit_id"])
        elif action.kind == "accepted":
            _move_accepted(store, settings, action)
        elif action.kind == "rejected":
            _move_rejected(store, settings, action)
    except CairnError as error:
        return Action("skipped", action.task_id, f"left alone: {error}", error.hint)
    return action


def _describe(store: Store, settings: Settings, action: Action) -> None:
    root = _root(settings)
    commit = action.data["commit_id"]
    refuse_if_agents_below(store, root, f"commit_id({commit})", action.task_id)
    jj(root, "describe", "-r", f"commit_id({commit})", "-m", action.data["description"], quiet_wc=True)
    state = store.read_state(action.task_id)
    work = getattr(state, "work", None)
    if isinstance(work, JjWork):
        (now,) = records(root, f"change_id({work.change_id})", {"commit_id": "commit_id"})
        _record(store, action.task_id, now["commit_id"])
    store.journal("described", task=action.task_id, by="jj-sync")


def _record(store: Store, task_id: int, commit: str) -> None:
    def change(state: State) -> State | None:
        work = getattr(state, "work", None)
        if not isinstance(work, JjWork) or work.head_commit == commit or isinstance(state, (Queued, Rejected)):
            return None
        return replace(state, work=replace(work, head_commit=commit))

    store.update(task_id, change)


def _move_accepted(store: Store, settings: Settings, action: Action) -> None:
    into = action.data

    def change(state: State) -> State:
        if not isinstance(state, Review):
            raise OperationFailed(f"task {action.task_id} is {state.state} now")
        return Accepted(since=time.time(), strategy="squash", target=f"change {into['change_id'][:12]}", commit=into["commit_id"], work=state.work)

    new = store.move(action.task_id, "accepted", change, verb="record as accepted", by="jj-sync", strategy="squash", commit=into["commit_id"])
    _forget_workspace(settings, getattr(new, "work", None))


def _move_rejected(store: Store, settings: Settings, action: Action) -> None:
    operation = action.data.get("operation")

    def change(state: State) -> State:
        if not isinstance(state, Review):
            raise OperationFailed(f"task {action.task_id} is {state.state} now")
        return Rejected(since=time.time(), reason="its change was abandoned in jj", kept=JjKept(operation=operation), previous=replace(state, conflict=[]))

    new = store.move(action.task_id, "rejected", change, verb="record as rejected", by="jj-sync", operation=operation)
    previous = getattr(new, "previous", None)
    _forget_workspace(settings, previous.work if previous is not None else None)


def _root(settings: Settings) -> Path:
    assert settings.root is not None, "jj-sync runs only where a repository is known (cairn/cmd/jj_sync.py)"
    return settings.root


def _forget_workspace(settings: Settings, work: Work | None) -> None:
    if isinstance(work, JjWork):
        teardown_for(settings, None, work.workspace)
        JjWorkspaces(_root(settings), [*settings.config.bootstrap.copy, *settings.config.bootstrap.symlink]).remove(work)
