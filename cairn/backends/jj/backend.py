"""The jj backend: each task is one jj change, the working-copy commit of its
own workspace ``cairn-<id>``.

The workspace side is workspaces.py; landing, reject and restore are
landing.py (rewrites guarded against running agents); gc's facts and
removal are gc.py; ``cairn jj-sync`` is sync.py.  This class puts them behind
the ``Backend`` protocol (cairn/backends/base.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.backends.base import DiffView, Gate, Say, Trashed
from cairn.backends.jj import landing as jj_landing
from cairn.backends.jj.workspaces import JjWorkspaces, one_commit
from cairn.core.model import JjKept, JjWork, Rejected, State, Task, one_of
from cairn.errors import UsageError
from cairn.state.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from cairn.backends.base import SyncAction
    from cairn.backends.git.gc import Repository
    from cairn.config.load import Settings
    from cairn.progress import Progress


class JjBackend(JjWorkspaces):
    name = "jj"
    lands_in_train = False  # one change, landed by squash or rebase on its own

    def check_base(self, revision: str) -> str:
        return one_commit(self.root, revision, "--base", "give one bookmark, change or revset that `jj log -r` knows")

    def changed_paths(self, work: JjWork) -> list[str]:
        from cairn.vcs.jj import jj

        out = jj(self.root, "diff", "-r", self.revision(work), "--name-only", quiet_wc=True)
        return [line for line in out.splitlines() if line]

    def diff_view(self, work: JjWork, state: State, target: str | None, form: str | None) -> DiffView:
        if state.state == "accepted":
            return DiffView()  # squashed into its destination: the proposal as it was recorded
        return DiffView(text=jj_landing.proposal_text(self, work, form))

    def difftool(self, work: JjWork, target: str | None) -> list[str]:
        # jj's own diff tool support: ui.diff-editor / merge-tools, as the user configured them.
        return ["jj", "-R", str(self.root), "--ignore-working-copy", "diff", "--tool", "git", "-r", self.revision(work)]

    def top_up(self, settings: Settings, fork: Callable[[], Any] | None = None) -> bool:
        return False  # a jj workspace is cheap to make: nothing is prepared ahead

    def landing(self, store: Store, task: Task, work: JjWork, *, strategy: str | None, configured: str,
                into: str | None, gate: Gate | None, say: Say, progress: Progress | None = None) -> jj_landing.JjLanding:
        chosen = one_of(strategy or "squash", jj_landing.STRATEGIES)
        if chosen is None:
            raise UsageError(f"task {task.id} is a jj change: it lands by squash (the default) or --rebase, not --{strategy}")
        return jj_landing.JjLanding(self, store, task, work, strategy=chosen, into=into, gate=gate, say=say)

    def trash(self, store: Store, task_id: int, work: JjWork) -> Trashed:
        return jj_landing.discard(store, self, task_id, work)

    def after_trash(self, trashed: Trashed) -> None:
        """Nothing: the abandoned change is hidden, and jj keeps it until its own gc."""

    def untrash(self, store: Store, task: Task, rejected: Rejected, work: JjWork) -> JjWork:
        return jj_landing.untrash(store, self, task, rejected, work)

    def after_untrash(self, store: Store, rejected: Rejected) -> None:
        """Nothing: the change is visible again, no copy was kept."""

    def kept_note(self, task_id: int, rejected: Rejected) -> str:
        if not rejected.operation:
            return ""
        return f"its change was abandoned in jj operation {rejected.operation[:12]}: `cairn restore {task_id}` brings it back"

    def keep_for_retry(self, task_id: int, work: JjWork) -> tuple[str, Trashed]:
        # The commit id: jj keeps the commit findable by id once the change is abandoned.
        return str(work.head_commit), Trashed(work, JjKept())

    def continue_from(self, task_id: int, state: State) -> str | None:
        work = getattr(state, "work", None) or getattr(getattr(state, "previous", None), "work", None)
        return work.head_commit if work is not None else None

    def gc_blocker(self, path: str, repository: Repository, workspace_root: str) -> str | None:
        # jj's own facts decide about a jj workspace (cairn/backends/jj/gc.py); reaching here means jj has no such workspace.
        return "a jj workspace jj does not list: look inside, then remove it yourself"

    def gc_unsaved(self, path: str, exclude: list[str]) -> str | None:
        return "a jj workspace: only jj's own look (cairn/backends/jj/gc.py) may clear it"

    def sync(self, store: Store, settings: Settings, *, dry_run: bool) -> list[SyncAction]:
        if not store.exists():
            return []  # no tasks yet: nothing to reconcile
        from cairn.backends.jj.sync import sync

        return list(sync(store, settings, dry_run=dry_run))
