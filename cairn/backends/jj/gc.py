"""gc in a jj repository: the facts about Cairn's jj workspaces, and removing one.

A jj task's work is the working-copy commit of its workspace ``cairn-<id>``.
``jj workspace forget`` leaves a non-empty change visible but nameless, one
``jj abandon`` from gone and easy to lose among other heads; so before a
workspace goes, each commit only it holds gets a bookmark under
``cairn/archive/`` (docs/gc.md says why a bookmark and not a git ref).
"Only it holds": an ancestor of the workspace's working copy that no
bookmark, tag, remote bookmark or the repository's own working copy (``@``,
where accept squashes) descends from, and that changes something.

Removal, under the task's lock (cairn/gc/perform.py), in this order:
1. snapshot the workspace: whatever is in its files is recorded in its
   change (in jj nothing is "uncommitted"; the snapshot is how nothing is lost);
2. look afresh at what only it holds, and bookmark each commit
   (``jj bookmark create`` fails on a name taken meanwhile: then stop);
3. ``jj workspace forget``, then delete the directory and the workspace's
   own jj config.  Forgetting first means a directory left half-deleted is no
   workspace any more, and a later snapshot can never record the deletion
   into the change.

jj merges concurrent operations by itself, but gc gives it no reason to:
its jj writes run one at a time (``_WRITES``).  A dry run only reads, with
``--ignore-working-copy``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cairn.core.gc import (
    BOOKMARK_PREFIX, ArchiveChange, Commit, JjTrash, RemoveWorkspace, Stray, Workspace, archive_base, archive_name,
)
from cairn.core.model import JjWork, Rejected, State, Work
from cairn.core.records import replace
from cairn.errors import CairnError
from cairn.backends import disk
from cairn.backends.jj.workspaces import JjWorkspaces
from cairn.vcs.jj import is_jj_repository, jj, local_bookmarks, records, workspace_roots

#: One jj write at a time within a gc run.
_WRITES = threading.Lock()


@dataclass(frozen=True, slots=True)
class JjRepository:
    """What jj says, read once per run."""

    #: Workspace name -> the directory it lives in (resolved).
    workspaces: dict[str, str]
    #: ``cairn/archive/*`` bookmark -> the commit it points at.
    bookmarks: dict[str, str]
    #: Where jj workspaces go when the workspace directory lies inside the
    #: repository's tree (JjWorkspaces.place); None when that is the
    #: workspace directory itself, which the git side lists already.
    home: str | None
    #: Why jj could not be asked (not installed, a broken repository): then
    #: no jj workspace is touched, and the git side still runs.
    problem: str | None = None


def read_jj(root: Path, workspace_dir: Path) -> JjRepository | None:
    """None when the repository is not a jj repository."""
    if not is_jj_repository(root):
        return None
    try:
        workspaces = {name: os.path.realpath(path) for name, path in workspace_roots(root).items()}
        bookmarks = archive_bookmarks(root)
    except CairnError as error:
        return JjRepository({}, {}, None, problem=str(error))
    placed = os.path.realpath(JjWorkspaces(root).place(workspace_dir / "0", 0).parent)
    home = placed if placed != os.path.realpath(workspace_dir) else None
    return JjRepository(workspaces, bookmarks, home)


def archive_bookmarks(root: Path) -> dict[str, str]:
    """``cairn/archive/*`` -> its commit; "" for a conflicted one, which then
    matches no commit, so a new name is taken beside it."""
    found = local_bookmarks(root, f"glob:{BOOKMARK_PREFIX}*")
    return {name: commits[0] if len(commits) == 1 else "" for name, commits in found.items()}


def task_workspace_name(task_id: int, work: Work | None, repository: JjRepository | None) -> str | None:
    """The jj workspace of a task: its recorded one, or for a task that
    never recorded work (an interrupted start), ``cairn-<id>`` if jj has it."""
    if work is not None:
        return work.name if isinstance(work, JjWork) else None
    name = f"cairn-{task_id}"
    return name if repository is not None and name in repository.workspaces else None


def static_blocker(path: str, name: str, repository: JjRepository | None) -> str | None:
    """What keeps a jj workspace whatever else is found: cheap, from facts in hand."""
    if repository is None:
        return "a jj workspace, but the repository has no .jj any more: look inside, then remove it yourself"
    if repository.problem is not None:
        return f"jj cannot be asked: {repository.problem}"
    registered = repository.workspaces.get(name)
    if registered is None:
        if os.path.isdir(path):
            return f"jj has no workspace {name} for it: look inside, then remove it yourself"
        return None
    if registered != path:
        return f"jj's workspace {name} lives at {registered}, not here: look inside, then remove it yourself"
    return None


def trash_of(state: State) -> JjTrash | None:
    """A rejected jj task's trash: its hidden commit and the abandon operation."""
    if not isinstance(state, Rejected) or state.previous is None:
        return None
    work = state.previous.work
    if not isinstance(work, JjWork) or not work.head_commit:
        return None
    return JjTrash(work.head_commit, state.operation)


def strays(
    repository: JjRepository, claimed_names: set[str], claimed_paths: set[str], precious: Callable[[str], str | None]
) -> list[Stray]:
    """jj workspaces named ``cairn-<id>`` no task claims, and directories in
    the jj workspace home that are no workspace at all."""
    found = []
    for name, path in sorted(repository.workspaces.items()):
        if name.startswith("cairn-") and name[6:].isdigit() and name not in claimed_names:
            found.append(Stray(Workspace(path, blocked=precious(path), jj=name)))
    if repository.home is not None:
        known = set(repository.workspaces.values()) | claimed_paths
        try:
            names = sorted(os.listdir(repository.home))
        except OSError:
            names = []
        for entry in names:
            path = os.path.join(repository.home, entry)
            if not entry.startswith(".") and path not in known and os.path.isdir(path):
                found.append(Stray(Workspace(path, blocked="not a jj workspace: look inside, then remove it yourself")))
    return found


def only_here(root: Path, name: str) -> tuple[Commit, ...]:
    """The commits nothing but workspace ``name`` keeps visible (see the module's header)."""
    revset = f"heads((::{name}@ ~ ::(present(@) | bookmarks() | remote_bookmarks() | tags())) ~ empty())"
    found = records(root, revset, {"change": "change_id", "commit": "commit_id"})
    return tuple(Commit(str(r["change"]), str(r["commit"])) for r in found)


def look(root: Path, workspace: Workspace) -> Workspace:
    """The workspace with what only it holds, read without touching it."""
    assert workspace.jj is not None
    try:
        return replace(workspace, only_here=only_here(root, workspace.jj))
    except CairnError as error:
        return replace(workspace, blocked=f"jj cannot read it: {error}")


def remove_workspace(
    root: Path, action: RemoveWorkspace, *, untracked: list[str], purge: bool
) -> tuple[int, str | None, list[ArchiveChange]]:
    """(bytes freed, None, archives made) when it went; (0, why, archives made) when it stays."""
    name = action.jj_workspace
    assert name is not None
    path = Path(action.path)
    backend = JjWorkspaces(root, untracked)
    archived: list[ArchiveChange] = []
    with _WRITES:
        try:
            registered = workspace_roots(root).get(name)
            if registered is None:
                if path.is_dir():
                    return 0, f"jj has no workspace {name} for it any more: look inside, then remove it yourself", archived
                return 0, None, archived  # gone already: nothing left to lose
            if os.path.realpath(registered) != os.path.realpath(path):
                return 0, f"jj's workspace {name} lives at {registered}, not here", archived
            if path.is_dir():
                backend.snapshot(path, backend.untracked_config())
            if not purge:
                taken = archive_bookmarks(root)
                for kept in only_here(root, name):
                    bookmark, already = archive_name(archive_base(action.task, name), kept.commit, taken, set())
                    if already:
                        continue
                    jj(root, "bookmark", "create", bookmark, "-r", f"commit_id({kept.commit})", quiet_wc=True)
                    taken[bookmark] = kept.commit
                    archived.append(ArchiveChange(action.task, name, kept.change, kept.commit, bookmark, f"only jj workspace {name} holds it"))
            config_dir = backend.forget(name, path)
        except CairnError as error:
            return 0, f"{error}; nothing was removed", archived
    freed = 0
    if path.is_dir():
        try:
            freed = disk.remove_tree(str(path))
        except OSError as error:
            return 0, f"could not remove all of it: {error.strerror or error}; jj has forgotten it and its work is kept: remove what is left by hand", archived
    if config_dir is not None:
        shutil.rmtree(config_dir, ignore_errors=True)
    return freed, None, archived
