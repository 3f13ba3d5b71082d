"""Which backend serves a repository."""

from __future__ import annotations

from typing import Any

from cairn.errors import UsageError


def workspaces_for(settings: Any) -> Any:
    if settings.root is None:
        raise UsageError("no repository is known for this state directory", hint="run `cairn init` inside the repository")
    from cairn.workspaces.git import GitWorkspaces

    return GitWorkspaces(settings.root)
