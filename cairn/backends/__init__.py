"""Where a task's work lives: one ``Backend`` (cairn/backends/base.py), one folder each.

- ``git``: a git worktree per task on branch ``cairn/<id>``, the warm pool (cairn/backends/git/);
- ``clone``: a repository of its own per task, objects shared with the user's (cairn/backends/clone/);
- ``jj``: a jj workspace per task, its work one change (cairn/backends/jj/).

``backend_for`` is the only reader of the ``vcs`` setting and of a record's
``backend``: new work follows the configuration (``vcs = "jj"``, or
``"auto"`` in a jj repository; else git); work that exists goes back to the
backend that made it, whatever the configuration says now, so changing
``vcs`` never strands a task.  The backends are imported here, on first
use: a command that never touches work never loads one.
"""

from __future__ import annotations

from cairn.errors import UsageError

TYPE_CHECKING = False  # `cairn queue --base` comes through here: no typing at run time
if TYPE_CHECKING:
    from typing import Any

    from cairn.backends.base import Backend
    from cairn.config.load import Settings
    from cairn.core.model import Work

#: The backends by the name a record keeps; ``vcs`` may also be ``auto``.
NAMES = ("git", "clone", "jj")


def new_work_backend(settings: Settings) -> str:
    """The backend new work in this repository gets: ``git``, ``clone`` or ``jj``."""
    vcs = settings.config.vcs
    root = settings.root
    if vcs == "jj":
        from cairn.vcs.jj import is_jj_repository

        if root is None or not is_jj_repository(root):
            raise UsageError(
                f'vcs = "jj" is configured, but {root} is not a jj repository',
                hint='run `jj git init --colocate` there, or set vcs = "auto"',
            )
        return "jj"
    if vcs == "auto":
        return "jj" if root is not None and (root / ".jj").is_dir() else "git"
    return vcs


def backend_for(settings: Settings, work: Work | None = None) -> Backend[Any]:
    """The backend that serves ``work`` (the one it was made with), or new work when None."""
    root = settings.root
    if root is None:
        raise UsageError("no repository is known for this state directory", hint="run `cairn init` inside the repository")
    name = work.backend if work is not None else new_work_backend(settings)
    keep_out = settings.keep_out
    if name == "jj":
        from cairn.backends.jj import JjBackend

        return JjBackend(root, keep_out)
    if name == "clone":
        from cairn.backends.clone import CloneBackend

        return CloneBackend(root, keep_out)
    from cairn.backends.git import GitBackend

    return GitBackend(root, keep_out)
