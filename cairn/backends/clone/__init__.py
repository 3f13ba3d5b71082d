"""The clone backend: a repository of its own per task, objects shared (see backend.py)."""

from cairn.backends.clone.backend import CloneBackend

__all__ = ["CloneBackend"]
