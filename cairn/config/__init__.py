"""Configuration: the schema (pure dataclasses) and the loader (files, environment, cache)."""
