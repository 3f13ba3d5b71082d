"""The git backend: worktrees on branches ``cairn/<id>`` and a warm pool (see backend.py)."""

from cairn.backends.git.backend import GitBackend

__all__ = ["GitBackend"]
