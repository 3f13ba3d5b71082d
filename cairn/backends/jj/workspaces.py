"""jj workspaces: each task is one jj change, the working-copy commit of its own
workspace ``cairn-<id>``.

What must always hold:
- The workspace lives outside the repository's tree (a nested workspace would
  be walked by the default workspace's snapshots); a configured location
  inside the tree is moved to ``$XDG_STATE_HOME/cairn/workspaces/``.
- The task's change starts described ("title", blank line, "Cairn task N"),
  so ``jj log`` tells whose it is while the agent works, and is described
  again after it ends if the agent changed that.
- Only the task's own workspace snapshots it; Cairn never rewrites it from
  outside while the agent runs (cairn/backends/jj/landing.py guards that), because
  edits a stale workspace had not yet recorded end up in a divergent copy.
- What bootstrap copied or linked in (``.env``, ``node_modules``) is never
  tracked: the workspace's own jj config excludes it from auto-tracking, so
  it holds for the agent's and the user's jj commands too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from cairn.core.model import DiffStat, JjWork, Task
from cairn.core.records import replace
from cairn.errors import OperationFailed, UsageError
from cairn.vcs.jj import JjError, jj, records, toml_string
from cairn.backends.base import Proposal, commit_message

_COMMIT = {"change_id": "change_id", "commit_id": "commit_id", "description": "description"}


def workspace_name(task_id: int) -> str:
    return f"cairn-{task_id}"


def task_message(task_id: int, title: str) -> str:
    return commit_message(task_id, title)


class JjWorkspaces:
    def __init__(self, root: Path, untracked: list[str] | None = None) -> None:
        self.root = root
        #: Globs of what bootstrap puts in a workspace: never tracked, never the work.
        self.untracked = list(untracked or [])

    # -- the workspace side of the Backend protocol (cairn/backends/base.py) ------------------------------

    def create(self, task: Task, path: Path) -> JjWork:
        name = workspace_name(task.id)
        path = self.place(path, task.id)
        base = self._start_from(task)
        if name in self.workspace_names():
            self._clear_leftover(name)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise OperationFailed(
                f"{path} already exists and is not empty; Cairn will not overwrite it",
                hint=f"look inside, remove it, then start task {task.id} again",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            jj(self.root, "workspace", "add", "--name", name, "-r", base, "-m", task_message(task.id, task.title), str(path))
        except OperationFailed:
            self._undo_add(name, path)
            raise
        self._exclude_untracked(path)
        if task.continue_from:
            # The previous attempt's content, in this task's own new change:
            # the two attempts stay independent (rejecting one never moves the other).
            jj(path, "restore", "--from", f"commit_id({task.continue_from})")
        (head,) = records(self.root, f"{name}@", _COMMIT)
        return JjWork(workspace=str(path), name=name, base_commit=base, head_commit=head["commit_id"], change_id=head["change_id"])

    def commit(self, work: JjWork, message: str, exclude: list[str] | None = None) -> JjWork:
        """Snapshot the workspace and describe the change; the returned JjWork has its commit id."""
        path = Path(work.workspace)
        config = self._track_config(exclude)
        if path.is_dir():
            self.snapshot(path, config)
            self._fold_agent_commits(work, path)
        head = self.change(work)
        wanted = description_for(head["description"], message)
        if wanted is not None:
            inside = path.is_dir()
            jj(path if inside else self.root, "describe", "-r", f"commit_id({head['commit_id']})", "-m", wanted, quiet_wc=not inside)
            head = self.change(work)
        return replace(work, head_commit=head["commit_id"])

    def proposal(self, work: JjWork) -> Proposal:
        revision = self.revision(work)
        (info,) = records(self.root, revision, {
            "commit_id": "commit_id",
            "files": "self.diff().files().len()",
            "added": "self.diff().stat().total_added()",
            "removed": "self.diff().stat().total_removed()",
        })
        diff = jj(self.root, "diff", "-r", revision, "--git", quiet_wc=True, strip=False)
        stat = jj(self.root, "diff", "-r", revision, "--stat", quiet_wc=True, strip=False)
        changed = DiffStat(files=info["files"], insertions=info["added"], deletions=info["removed"])
        return Proposal(head_commit=info["commit_id"], changed=changed, diff=diff, stat=stat)

    def reset(self, work: JjWork, keep: list[str] | None = None) -> None:
        """Back to the described work: what checks or a reviewer left in the
        workspace is dropped (ignored files and ``keep`` stay)."""
        path = Path(work.workspace)
        if not path.is_dir() or not work.head_commit:
            return
        jj(path, "restore", "--from", f"commit_id({work.head_commit})", config=self._track_config(keep))

    def remove(self, work: JjWork) -> None:
        """Forget the workspace and delete its directory; the change stays
        (jj abandons it only if it is empty)."""
        path = Path(work.workspace)
        config_dir = self.forget(work.name, path)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        if config_dir is not None:
            shutil.rmtree(config_dir, ignore_errors=True)

    def forget(self, name: str, path: Path) -> Path | None:
        """Stop jj tracking workspace ``name`` (its files stay; a non-empty
        change stays visible); the workspace's own config directory, which
        the caller deletes with the files, or None."""
        config_dir = self._workspace_config_dir(path)
        if name in self.workspace_names():
            jj(self.root, "workspace", "forget", name, quiet_wc=True)
        return config_dir

    def attach(self, work: JjWork, message: str) -> JjWork:
        """A workspace for the task's work again (restore; an accept whose
        workspace was deleted): on the change itself while it is visible,
        else a new change holding the last recorded commit's content (jj keeps
        hidden commits until its gc)."""
        name, path = work.name, Path(work.workspace)
        if name in self.workspace_names():
            self._clear_leftover(name)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise OperationFailed(f"{path} already exists and is not empty; Cairn will not overwrite it", hint="look inside, remove it, then try again")
        path.parent.mkdir(parents=True, exist_ok=True)
        assert work.change_id
        found = self.commits_of(work.change_id)
        if len(found) > 1:
            raise OperationFailed(divergent_message(work, found), hint=divergent_hint(work, found))
        if found:
            parents = records(self.root, f"change_id({work.change_id})-", {"commit_id": "commit_id"})
            revisions = [arg for parent in parents for arg in ("-r", parent["commit_id"])]
            try:
                jj(self.root, "workspace", "add", "--name", name, *revisions, str(path))
            except OperationFailed:
                self._undo_add(name, path)
                raise
            self._exclude_untracked(path)
            jj(path, "edit", f"change_id({work.change_id})")
            return replace(work, head_commit=found[0]["commit_id"])
        if not work.head_commit or not records(self.root, f"commit_id({work.head_commit})", {"commit_id": "commit_id"}):
            raise OperationFailed(
                f"the work of {name} is gone from the repository: jj's garbage collection removed it",
                hint="`cairn retry` queues the task again from its prompt",
            )
        try:
            jj(self.root, "workspace", "add", "--name", name, "-r", f"commit_id({work.head_commit})-", "-m", message, str(path))
        except OperationFailed:
            self._undo_add(name, path)
            raise
        self._exclude_untracked(path)
        jj(path, "restore", "--from", f"commit_id({work.head_commit})")
        (head,) = records(self.root, f"{name}@", _COMMIT)
        return replace(work, change_id=head["change_id"], head_commit=head["commit_id"])

    # -- questions ---------------------------------------------------------------

    def commits_of(self, change_id: str) -> list[dict[str, Any]]:
        """The visible commits of a change: none when it was abandoned or
        squashed away, two or more when it is divergent."""
        return records(self.root, f"change_id({change_id})", _COMMIT)

    def change(self, work: JjWork) -> dict[str, Any]:
        """The task's change as it is now: exactly one visible commit, or an error saying what to do."""
        assert work.change_id
        found = self.commits_of(work.change_id)
        if not found:
            raise OperationFailed(
                f"the change {work.change_id[:12]} of {work.name} is no longer in the repository (squashed or abandoned by hand?)",
                hint="`cairn jj-sync` records what became of it",
            )
        if len(found) > 1:
            raise OperationFailed(divergent_message(work, found), hint=divergent_hint(work, found))
        return found[0]

    def revision(self, work: JjWork) -> str:
        """A revset for the task's work: its change while visible, else the last commit recorded."""
        if work.change_id and len(self.commits_of(work.change_id)) == 1:
            return f"change_id({work.change_id})"
        if work.head_commit:
            return f"commit_id({work.head_commit})"
        raise OperationFailed(f"the work of {work.name} is no longer in the repository")

    def workspace_names(self) -> list[str]:
        return jj(self.root, "workspace", "list", "-T", 'name ++ "\\n"', quiet_wc=True).splitlines()

    def snapshot(self, path: Path, config: dict[str, str] | None = None) -> None:
        """Record the workspace's files in its change.  A workspace rewritten
        from elsewhere (stale) is brought up to date first; jj keeps edits it
        had not recorded in a divergent copy, which ``change`` then reports."""
        try:
            jj(path, "util", "snapshot", config=config)
        except JjError as error:
            if not error.stale:
                raise
            jj(path, "workspace", "update-stale", config=config)

    # -- placing ------------------------------------------------------------------

    def place(self, path: Path, task_id: int) -> Path:
        """``path``, unless it lies inside the repository's tree."""
        resolved = path.resolve()
        root = self.root.resolve()
        if resolved != root and root not in resolved.parents:
            return path
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        import hashlib  # here: it loads OpenSSL, 3.6 MB in every runner forked from a standby that imported it

        anchor = f"{root.name}-{hashlib.sha1(str(root).encode()).hexdigest()[:10]}"
        return state / "cairn" / "workspaces" / anchor / str(task_id)

    # -- details ------------------------------------------------------------------

    def _start_from(self, task: Task) -> str:
        """The base commit: --continue's parent, --base, the target, else the
        parent of the default workspace's working copy (@ itself changes with
        every snapshot of the user's edits, which would keep rebasing the task)."""
        if task.continue_from:
            revision, what = f"commit_id({task.continue_from})-", f"the parent of {task.continue_from[:12]}"
        else:
            revision = task.base or task.target or "@-"
            what = repr(revision)
        try:
            found = records(self.root, revision, {"commit_id": "commit_id"})
        except JjError as error:
            raise OperationFailed(
                f"task {task.id}: cannot start from {what}: {error}",
                hint="queue it again with --base naming a revision that exists",
            ) from None
        if len(found) != 1:
            raise OperationFailed(
                f"task {task.id}: {what} names {len(found)} commits; a workspace starts from one",
                hint="queue it again with --base naming one revision",
            )
        return str(found[0]["commit_id"])

    def _clear_leftover(self, name: str) -> None:
        """A workspace of this name left by an earlier attempt at the very same
        task (a crash before it ran): forget it if it holds nothing."""
        (head,) = records(self.root, f"{name}@", {"empty": "empty", "change_id": "change_id"})
        if not head["empty"]:
            raise OperationFailed(
                f"jj workspace {name} already exists with work in it; Cairn will not overwrite it",
                hint=f"inspect it with `jj log -r {name}@`, then `jj workspace forget {name}`",
            )
        jj(self.root, "workspace", "forget", name, quiet_wc=True)

    def _undo_add(self, name: str, path: Path) -> None:
        """jj may record a workspace it then fails to check out: take it back."""
        try:
            if name in self.workspace_names():
                jj(self.root, "workspace", "forget", name, quiet_wc=True)
        except OperationFailed:
            pass
        shutil.rmtree(path, ignore_errors=True)

    def _fold_agent_commits(self, work: JjWork, path: Path) -> None:
        """An agent that ran ``jj commit`` or ``jj new`` left its work in
        several changes: fold them back into the task's one change."""
        change = work.change_id
        (at,) = records(self.root, f"{work.name}@", {"change_id": "change_id"})
        if at["change_id"] == change:
            return
        later = records(self.root, f"(change_id({change}):: & ::{work.name}@) ~ change_id({change})", {"commit_id": "commit_id"})
        if not later:
            raise OperationFailed(
                f"the agent moved workspace {work.name} off the task's change {change[:12]}",
                hint=f"look with `jj log -r '{work.name}@ | change_id({change})'` and move the work back by hand",
            )
        revset = " | ".join(f"commit_id({c['commit_id']})" for c in later)
        jj(path, "squash", "--from", revset, "--into", f"change_id({change})", "--use-destination-message")
        jj(path, "edit", f"change_id({change})")

    def _exclude_untracked(self, path: Path) -> None:
        """Before anything snapshots the new workspace: what bootstrap puts there is never tracked."""
        if self.untracked:
            jj(path, "config", "set", "--workspace", "snapshot.auto-track", toml_string(self._auto_track(self.untracked)), quiet_wc=True)

    def untracked_config(self) -> dict[str, str] | None:
        return self._track_config(self.untracked)

    def _track_config(self, untracked: list[str] | None) -> dict[str, str] | None:
        if not untracked:
            return None
        return {"snapshot.auto-track": toml_string(self._auto_track(untracked))}

    @staticmethod
    def _auto_track(untracked: list[str]) -> str:
        import json

        globs = " | ".join(f"root-glob:{json.dumps(p)} | root-glob:{json.dumps(p.rstrip('/') + '/**')}" for p in untracked)
        return f"all() ~ ({globs})"

    @staticmethod
    def _workspace_config_dir(path: Path) -> Path | None:
        """jj keeps a workspace's own config under the user's config directory,
        named by ``.jj/workspace-config-id``; it goes with the workspace."""
        if not (path / ".jj" / "workspace-config-id").is_file():
            return None
        try:
            return Path(jj(path, "config", "path", "--workspace", quiet_wc=True)).parent
        except OperationFailed:
            return None


def one_commit(root: Path, revision: str, what: str, hint: str) -> str:
    """The one commit ``revision`` names, or a UsageError that starts with ``what``."""
    try:
        found = records(root, revision, {"commit_id": "commit_id"})
    except JjError as error:
        raise UsageError(f"{what} {revision!r}: {error}", hint=hint) from None
    if len(found) != 1:
        raise UsageError(f"{what} {revision!r} names {len(found)} commits, not one", hint=hint)
    return str(found[0]["commit_id"])


def description_for(current: str, message: str) -> str | None:
    """The description a task's change should have, or None if it has it.

    ``message`` is "title", blank line, "Cairn task N".  A change that
    already names its task keeps its words (the agent's or the user's); an
    undescribed one gets ``message``; any other gets the task line added.
    """
    marker = message.strip().splitlines()[-1]
    if marker in (line.strip() for line in current.splitlines()):
        return None
    if not current.strip():
        return message
    return f"{current.rstrip()}\n\n{marker}\n"


def divergent_message(work: JjWork, found: list[dict[str, Any]]) -> str:
    commits = ", ".join(c["commit_id"][:12] for c in found)
    return f"the change {str(work.change_id)[:12]} of {work.name} is divergent: {len(found)} commits ({commits})"


def divergent_hint(work: JjWork, found: list[dict[str, Any]]) -> str:
    return f"compare them with `jj log -r 'change_id({work.change_id})'`, `jj abandon` the one you do not want, then run the command again"
