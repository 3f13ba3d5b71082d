"""The seam between Cairn and where a task's work lives.

A backend owns a task's work from its workspace to its landing: it resolves
revisions, makes the workspace at a base, commits what the agent left,
resets it, describes the proposal, lands it on a target, trashes and
untrashes it (reject, restore), tells gc what it holds and removes it, and
syncs with hand-made changes.  Everything around that (locks, state moves,
the journal, notifications, the checks gate, the reviewer) is the caller's
and is the same for every backend: cairn/land/, cairn/gc/, cairn/engine/.

What must always hold, for every backend:
- ``remove`` never runs before the agent's work is committed to the task's
  branch (git) or change (jj); a workspace whose changes cannot be put there
  is refused, never deleted;
- a failed ``land`` leaves the work and the target as they were;
- what ``trash`` returns is enough for ``untrash`` to bring the work back
  until gc expires it;
- work keeps the backend it was made with: ``backend_for(settings, work)``
  (cairn/backends/__init__.py) picks by the record, never by the setting.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cairn.core.records import field, record
from cairn.errors import OperationFailed

if TYPE_CHECKING:
    from cairn.backends.git.gc import Repository
    from cairn.config.load import Settings
    from cairn.core.model import DiffStat, Kept, Rejected, State, Strategy, Task, Work
    from cairn.progress import Progress
    from cairn.state.store import Store

#: The work records a backend serves: ``GitWork`` and ``CloneWork`` (a branch of
#: the user's repository, ``BranchWork``) for git and clone, ``JjWork`` for jj.
W = TypeVar("W", bound="Work")

#: The checks gate, passed in by the caller: runs the checks in ``workspace``
#: (which holds exactly ``commit``) and raises if they fail.
Gate = Callable[[Path, str], None]
#: One line of progress for the user.
Say = Callable[[str], None]


def branch_name(task_id: int) -> str:
    """The git branch that holds a task's work in the user's repository."""
    return f"cairn/{task_id}"


def commit_message(task_id: int, title: str) -> str:
    """How Cairn describes a task's work: its title, a blank line, ``Cairn task N``."""
    return f"{title}\n\nCairn task {task_id}\n"


@record(kw_only=False)
class Proposal:
    head_commit: str
    changed: DiffStat
    diff: str
    stat: str


class Conflict(OperationFailed):
    """The work does not land cleanly on the target; nothing was changed."""

    def __init__(self, task_id: int, target: str, paths: list[str]) -> None:
        super().__init__(
            f"task {task_id} conflicts with {target} in: {', '.join(paths) or '(unknown paths)'}",
            hint=f"nothing was changed; `cairn retry {task_id}` asks the agent to redo it on the current {target}",
        )
        self.paths = paths


@record(kw_only=False)
class Landed:
    task_id: int
    strategy: Strategy
    target: str
    commit: str | None
    moved: bool  # False: the target had not moved, no rebase was needed
    #: The work as it stands once landed (recorded in the Accepted state).
    work: Work | None = None
    #: Extra fields for the ``accepted`` and ``conflict`` events (jj: the operation to undo it).
    journal: dict[str, str | None] = field(default_factory=dict)


@record(kw_only=False)
class Trashed:
    """What a rejected task keeps: its work as it was last, and where it is
    kept (recorded as the Rejected state's ``kept``; None: nothing to keep)."""

    work: Work
    kept: Kept | None = None


@record(kw_only=False)
class DiffView:
    """How ``cairn diff`` shows a proposal: a command to run (the user's pager
    and colours follow), text to print, or None when only the recorded
    preview is left."""

    argv: list[str] | None = None
    text: str | None = None


class SyncAction(Protocol):
    """One thing ``cairn jj-sync`` did or would do, or reports."""

    @property
    def kind(self) -> str: ...

    @property
    def task_id(self) -> int: ...

    @property
    def message(self) -> str: ...

    @property
    def hint(self) -> str | None: ...

    @property
    def report_only(self) -> bool: ...

    @property
    def data(self) -> dict[str, Any]: ...


class Landing(Protocol):
    """One accept in progress: made by ``Backend.landing``, run under the locks."""

    @property
    def target(self) -> str:
        """Where it lands, as the user should read it (``main``, ``your working copy (@)``)."""
        ...

    @property
    def journal(self) -> dict[str, str | None]:
        """Extra journal fields, also when it fails (jj: the operation recorded before)."""
        ...

    def run(self) -> Landed:
        """Land the work; raises ``Conflict`` (nothing changed) or another CairnError."""
        ...

    def clean_up(self, landed: Landed, *, delete_branch: bool) -> None:
        """After the Accepted state is written: remove the workspace (and the
        branch, if asked).  Reports problems through ``say``; never raises."""
        ...


class Backend(Protocol[W]):
    """Where a task's work lives.  One implementation per folder under cairn/backends/."""

    #: The name recorded in ``work.backend``.
    name: str
    root: Path
    #: Whether its work is a branch of the user's repository, so the merge
    #: train (cairn/land/train.py) can rebase it with others.
    lands_in_train: bool

    # -- revisions and workspaces --------------------------------------------------

    def check_base(self, revision: str) -> str:
        """The commit ``revision`` names (``cairn queue --base``), or a UsageError."""
        ...

    def create(self, task: Task, path: Path) -> W:
        """A new workspace at ``path`` (or where the backend must place it) at the task's base."""
        ...

    def commit(self, work: W, message: str, exclude: list[str] | None = None) -> W:
        """Commit everything in the workspace but ``exclude``; the returned work has ``head_commit``."""
        ...

    def reset(self, work: W, keep: list[str] | None = None) -> None:
        """Put the workspace back to its committed work (checks and reviewers leave files)."""
        ...

    def proposal(self, work: W) -> Proposal:
        """The work against its base: diff, stat and counts."""
        ...

    def changed_paths(self, work: W) -> list[str]:
        """The paths the work changes against its base."""
        ...

    def diff_view(self, work: W, state: State, target: str | None, form: str | None) -> DiffView:
        """What ``cairn diff`` shows for the task in ``state``."""
        ...

    def difftool(self, work: W, target: str | None) -> list[str]:
        """The command ``cairn open --difftool`` runs: the work against its target in the user's difftool."""
        ...

    def top_up(self, settings: Settings, fork: Callable[[], Any] | None = None) -> bool:
        """For the scheduler after each turn: prepare workspaces ahead (git's warm
        pool).  ``fork``: the standby's (cairn/engine/launch.py), which forks the
        refill rather than starting an interpreter for it; None when it cannot."""
        ...

    # -- landing ---------------------------------------------------------------------

    def landing(self, store: Store, task: Task, work: W, *, strategy: str | None, configured: str,
                into: str | None, gate: Gate | None, say: Say, progress: Progress | None = None) -> Landing:
        """An accept of ``work`` by ``strategy`` (None: the backend's default,
        ``configured`` if it has that one) onto ``into`` (None: the task's
        target): checks both (a UsageError names what this backend can do) and
        changes nothing yet.  ``progress`` takes the landing's phases (rebase, land)."""
        ...

    # -- reject and restore -------------------------------------------------------------

    def trash(self, store: Store, task_id: int, work: W) -> Trashed:
        """Reject: the workspace goes, the work is kept where ``untrash`` finds it."""
        ...

    def after_trash(self, trashed: Trashed) -> None:
        """Once the Rejected state is written: drop what only the live task needed (git: its branch)."""
        ...

    def untrash(self, store: Store, task: Task, rejected: Rejected, work: W) -> W:
        """Restore: the workspace back with the trashed work; all or nothing."""
        ...

    def after_untrash(self, store: Store, rejected: Rejected) -> None:
        """Once the Review state is written again: drop the trash copy unless a queued task starts from it."""
        ...

    def kept_note(self, task_id: int, rejected: Rejected) -> str:
        """For the user, after a reject: where the work is kept and how it comes back."""
        ...

    def keep_for_retry(self, task_id: int, work: W) -> tuple[str, Trashed]:
        """For the reviewer's automatic retry: the revision the retry starts
        from, kept until gc, and where it is kept (the superseded attempt's trash)."""
        ...

    def continue_from(self, task_id: int, state: State) -> str | None:
        """Where ``retry --continue`` of a task in ``state`` starts, or None if nothing is left."""
        ...

    # -- gc and sync -----------------------------------------------------------------------

    def gc_blocker(self, path: str, repository: Repository, workspace_root: str) -> str | None:
        """What keeps the task's workspace at ``path`` from gc whatever else is
        found (cheap, from the facts read once per run), or None."""
        ...

    def gc_unsaved(self, path: str, exclude: list[str]) -> str | None:
        """The last look before gc deletes the workspace at ``path``: why that
        would lose something, or None.  ``exclude``: what bootstrap put there."""
        ...

    def sync(self, store: Store, settings: Settings, *, dry_run: bool) -> list[SyncAction]:
        """``cairn jj-sync``: reconcile records with hand-made changes (a UsageError where there is nothing to sync)."""
        ...
