"""The jj backend: a jj workspace per task, its work one change (see backend.py)."""

from cairn.backends.jj.backend import JjBackend

__all__ = ["JjBackend"]
