"""Cairn: a crew of AI coding agents working in parallel on one repository.

Layers (see docs/architecture.md): ``core`` holds pure decisions, ``state`` the
state-directory file format, ``cmd`` one small module per entrypoint.
"""

__version__ = "0.1.0"
