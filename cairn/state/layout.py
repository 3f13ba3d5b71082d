"""Names in the state directory, and where it is.

The whole layout is specified in docs/state-directory.md; this module is the
only place that spells a path inside it.
"""

from __future__ import annotations

import os
from pathlib import Path


FORMAT_NAME = "cairn-state"


def find_repo_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git`` or ``.jj``.

    Walks the tree instead of running ``git rev-parse``: a subprocess would cost
    more than the whole of ``cairn status``.  A ``.git`` file (a linked
    worktree) counts, so a command run inside a task's workspace finds the
    workspace's own root; CAIRN_HOME is set there by the runner anyway.
    """
    current = start.resolve()
    for directory in (current, *current.parents):
        if (directory / ".git").exists() or (directory / ".jj").is_dir():
            return directory
    return None




class Layout:
    """Every path in one state directory.  Immutable; a plain class, not a
    dataclass, because ``dataclasses`` imports ``inspect`` (docs/performance.md)."""

    __slots__ = ("home",)
    home: Path

    def __init__(self, home: Path) -> None:
        object.__setattr__(self, "home", home)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Layout is immutable: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        return self.home == other.home if isinstance(other, Layout) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.home)

    def __repr__(self) -> str:
        return f"Layout(home={self.home!r})"

    @property
    def meta(self) -> Path:
        """The header: format version, the repository served, creation time."""
        return self.home / "meta.json"

    @property
    def gitignore(self) -> Path:
        return self.home / ".gitignore"

    @property
    def config_file(self) -> Path:
        return self.home / "config.toml"

    @property
    def events(self) -> Path:
        return self.home / "events.jsonl"

    @property
    def next_id(self) -> Path:
        return self.home / "next-id"

    @property
    def tasks(self) -> Path:
        return self.home / "tasks"

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    @property
    def signals(self) -> Path:
        return self.home / "signals"

    @property
    def workspaces(self) -> Path:
        return self.home / "workspaces"

    @property
    def tmp(self) -> Path:
        return self.home / "tmp"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def plans(self) -> Path:
        """One record per plan queued together (``cairn plan``, ``queue --from``)."""
        return self.home / "plans"

    def plan_file(self, plan_id: str) -> Path:
        return self.plans / f"{plan_id}.json"

    @property
    def scheduler_lock(self) -> Path:
        return self.locks / "scheduler.lock"

    @property
    def pauses(self) -> Path:
        """``<agent>.json``: a rate-limit pause of that agent's queue, left by the runner that met it."""
        return self.home / "pauses"

    @property
    def holds(self) -> Path:
        """Agent -> why the scheduler holds its queued tasks (not ready, rate-limited, over budget)."""
        return self.home / "holds.json"

    @property
    def scheduler_info(self) -> Path:
        return self.home / "scheduler.json"

    @property
    def ids_lock(self) -> Path:
        return self.locks / "ids.lock"

    @property
    def accept_lock(self) -> Path:
        return self.locks / "accept.lock"

    @property
    def gc_lock(self) -> Path:
        return self.locks / "gc.lock"

    @property
    def gc_periodic(self) -> Path:
        """What the scheduler's last periodic gc printed."""
        return self.tmp / "gc-periodic.json"

    def gc_record(self, task_id: int) -> Path:
        """What gc removed of a task, and where it archived the work."""
        return self.tasks / str(task_id) / "gc.json"

    def task_dir(self, task_id: int) -> Path:
        return self.tasks / str(task_id)

    def task_file(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "task.json"

    def state_file(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "state.json"

    def task_lock(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "lock"

    def runner_lock(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "runner.lock"

    def agent_log(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "agent.log"

    def agent_events(self, task_id: int) -> Path:
        """The machine-readable events the agent printed, one JSON object a line."""
        return self.tasks / str(task_id) / "agent.jsonl"

    def report_file(self, task_id: int) -> Path:
        """What the agent reported about its run (cairn/core/reports.py)."""
        return self.tasks / str(task_id) / "report.json"

    def prompt_file(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "prompt.md"

    def exit_file(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "exit.json"

    def preview_diff(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "preview.diff"

    def preview_stat(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "preview.stat"

    def checks_lock(self, task_id: int) -> Path:
        """Held while the task's checks run; there and free: they were killed (land/checks.py)."""
        return self.tasks / str(task_id) / "checks.lock"

    def checks_log(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "checks.log"

    def review_file(self, task_id: int) -> Path:
        return self.tasks / str(task_id) / "review.md"

    def isolation_file(self, task_id: int) -> Path:
        """How the task's programs were confined: sandbox, environment names, port block."""
        return self.tasks / str(task_id) / "isolation.json"

    @property
    def ports(self) -> Path:
        """One lease file per port block, flocked by whoever holds the block."""
        return self.home / "ports"

    #: Subdirectories ``cairn init`` makes.
    def directories(self) -> tuple[Path, ...]:
        return (self.tasks, self.locks, self.signals, self.workspaces, self.tmp, self.cache, self.plans)

    def own_names(self) -> frozenset[str]:
        """Every name Cairn may put at the top of the directory (and
        ``config.toml``, which a user may write before the first command)."""
        files = (self.meta, self.gitignore, self.config_file, self.events, self.next_id, self.scheduler_info)
        # "pool": the warm worktrees of cairn/workspaces/pool.py; "ports": cairn/state/ports.py.
        return frozenset([*(p.name for p in (*files, *self.directories())), "pool", "ports", self.holds.name, self.pauses.name])


def home_record(root: Path) -> Path | None:
    """``cairn-home`` in the repository's own directory (``.git``, the
    common one when ``.git`` is a file; ``.jj/repo`` for jj without git): the
    state directory that serves the repository.  Branches ``cairn/<id>`` and
    refs ``refs/cairn/*`` are named by task id, so two state directories on
    one repository would take each other's; the record lets the second one
    refuse.  Found by reading files: no git is started."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git / "cairn-home"
    if dot_git.is_file():
        try:
            pointer = dot_git.read_text().strip()
        except OSError:
            return None
        if pointer.startswith("gitdir:"):
            git_dir = (root / pointer.removeprefix("gitdir:").strip()).resolve()
            try:
                git_dir = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
            except OSError:
                pass  # no commondir: the git directory is the common one
            return git_dir / "cairn-home" if git_dir.is_dir() else None
        return None
    jj_repo = root / ".jj" / "repo"
    return jj_repo / "cairn-home" if jj_repo.is_dir() else None


def default_home(root: Path) -> Path:
    return root / ".cairn"


def home_from_environment() -> Path | None:
    value = os.environ.get("CAIRN_HOME")
    # Absolute: runners start in the state directory itself, where a relative path means something else.
    return Path(value).expanduser().absolute() if value else None
