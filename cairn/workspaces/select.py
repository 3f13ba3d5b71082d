"""Which backend serves a repository.

A new workspace follows the configuration: ``vcs = "jj"``, or ``"auto"`` in a
jj repository (``.jj`` at the root, colocated with git or not); else git.
Existing work always goes back to the backend that made it (``work.backend``),
so changing ``vcs`` never strands a task.
"""

from __future__ import annotations

from typing import Any

from cairn.errors import UsageError


def uses_jj(settings: Any) -> bool:
    """Whether new workspaces in this repository are jj workspaces."""
    vcs = settings.config.vcs
    if vcs == "jj":
        from cairn.vcs.jj import is_jj_repository

        if not is_jj_repository(settings.root):
            raise UsageError(
                f'vcs = "jj" is configured, but {settings.root} is not a jj repository',
                hint='run `jj git init --colocate` there, or set vcs = "auto"',
            )
        return True
    return vcs == "auto" and (settings.root / ".jj").is_dir()


def workspaces_for(settings: Any, work: Any = None) -> Any:
    if settings.root is None:
        raise UsageError("no repository is known for this state directory", hint="run `cairn init` inside the repository")
    if (work.backend == "jj") if work is not None else uses_jj(settings):
        from cairn.workspaces.jj import JjWorkspaces

        return JjWorkspaces(settings.root, settings.config.bootstrap)
    from cairn.workspaces.git import GitWorkspaces

    bootstrap = settings.config.bootstrap
    return GitWorkspaces(settings.root, keep_out=[*bootstrap.copy, *bootstrap.symlink])
