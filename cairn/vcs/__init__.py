"""Thin wrappers over the version-control tools: one checked call per tool."""
