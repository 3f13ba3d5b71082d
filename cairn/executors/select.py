"""Which executor runs a task, and where its code travels: from the task's
recorded executor, never from today's default (a queued task keeps the place
it was queued for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cairn.errors import ConfigError
from cairn.executors.base import Executor
from cairn.executors.shipping import Route


def executor_config(settings: Any, name: str) -> Any:
    return getattr(settings.config.executors, name)


def route_for(settings: Any, name: str) -> Route:
    config = executor_config(settings, name)
    shared = Path(config.shared_dir).expanduser() if config.shared_dir else None
    if name == "slurm" and shared is None:
        raise ConfigError(
            "[executors.slurm] shared_dir is not set: Slurm jobs need a directory this machine and the nodes both see",
            hint="set shared_dir to a path on the shared filesystem (docs/executors.md)",
        )
    if config.remote is None and shared is None:
        raise ConfigError(
            f"[executors.{name}] has neither remote nor shared_dir: the work could not come back from the cluster",
            hint="set remote to a git URL the nodes can push to, or shared_dir to a shared directory (docs/executors.md)",
        )
    if shared is not None:
        shared.mkdir(parents=True, exist_ok=True)
    return Route(remote=config.remote, shared_dir=shared)


def executor_for(settings: Any, name: str) -> Executor:
    config = executor_config(settings, name)
    if name == "ray":
        from cairn.executors.ray import RayJobs

        return RayJobs(config)
    if name == "slurm":
        from cairn.executors.slurm import Slurm

        shared_dir = route_for(settings, name).shared_dir
        assert shared_dir is not None  # route_for refuses Slurm without a shared directory
        return Slurm(config, shared_dir)
    raise ConfigError(f"no executor {name!r}", hint="executors are local, ray and slurm")
