"""Isolated workspaces, one per task, behind one interface (``base.Workspaces``)."""
