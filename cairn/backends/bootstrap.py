"""Make a fresh workspace ready to work in, and tidy up before it goes.

In: copy the ignored files ``.worktreeinclude`` names (gitignore syntax at the
repository root, the convention Claude Code and other tools share) and those
``bootstrap.copy`` names (``.env``), symlink heavy directories
(``node_modules``), run setup — in the task's sandbox, with its environment and
port block.  Out: ``bootstrap.teardown`` (stop a dev server, drop a test
database) right before a workspace is removed.

Setup output goes to the task's log; a failing setup command fails the task
before the agent starts, with its output there for the user to read.  A
failing teardown is logged and the workspace still goes: its work is
committed by then, and a workspace kept for a teardown would be kept forever.
"""

from __future__ import annotations

import os
from pathlib import Path

from cairn.errors import OperationFailed

# What making a workspace ready needs (copies, globs, child processes) is
# imported where it is used: `cairn accept` and `cairn reject` come through
# here only for the teardown, which most projects do not configure.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any

    from cairn.config.schema import Bootstrap
    from cairn.progress import Progress

    Wrap = Callable[[list[str]], list[str]]

INCLUDE_FILE = ".worktreeinclude"


def bootstrap(config: Bootstrap, source: Path, workspace: Path, log: IO[bytes], env: dict[str, str],
              wrap: Wrap | None = None, progress: Progress | None = None) -> None:
    import shutil

    from cairn.agents import children
    from cairn.progress import SILENT

    progress = progress or SILENT
    for relative in worktree_includes(source):
        found, target = source / relative, workspace / relative
        if target.exists() or target.is_symlink():
            continue  # tracked content, or copied already
        target.parent.mkdir(parents=True, exist_ok=True)
        if found.is_dir() and not found.is_symlink():
            shutil.copytree(found, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(found, target, follow_symlinks=False)
        _say(log, f"copied {relative} ({INCLUDE_FILE})")
    for pattern in config.copy:
        for found in _matches(source, pattern):
            target = workspace / found.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            if found.is_dir():
                shutil.copytree(found, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(found, target)
            _say(log, f"copied {found.relative_to(source)}")
    for pattern in config.symlink:
        for found in _matches(source, pattern):
            target = workspace / found.relative_to(source)
            if target.is_symlink() or target.exists():
                continue  # tracked content wins over a symlink
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(found, target)
            _say(log, f"linked {found.relative_to(source)}")
    for number, argv in enumerate(config.setup, 1):
        text = f"setup {number}/{len(config.setup)}: {' '.join(argv)}"
        _say(log, text)
        progress.phase("setup", text)
        try:
            if wrap is not None and not findable(argv[0], env, workspace):
                raise FileNotFoundError(argv[0])  # bwrap would only say so in its own words
            finished = children.run(wrap(argv) if wrap else argv, cwd=workspace, env=env, timeout=config.setup_timeout, stdout=log)
        except FileNotFoundError:
            raise OperationFailed(f"setup command not found: {argv[0]}") from None
        if finished.timed_out:
            raise OperationFailed(f"setup command timed out after {config.setup_timeout:g}s: {' '.join(argv)}")
        if finished.returncode is None:
            raise OperationFailed(f"setup was stopped: {' '.join(argv)}")
        if finished.returncode != 0:
            raise OperationFailed(f"setup command failed with exit status {finished.returncode}: {' '.join(argv)}")


def findable(command: str, env: dict[str, str], cwd: Path) -> bool:
    """Whether ``command`` would be found as subprocess finds it (PATH, or a path from ``cwd``)."""
    if "/" in command:
        return os.access(cwd / command, os.X_OK)
    import shutil

    return shutil.which(command, path=env.get("PATH")) is not None


def worktree_includes(source: Path) -> list[str]:
    """Ignored paths of ``source`` that its ``.worktreeinclude`` matches, relative
    to it (a wholly ignored directory as one entry).  Only ignored ones: a
    tracked or merely untracked file is the work's business, not bootstrap's."""
    if not (source / INCLUDE_FILE).is_file() or not (source / ".git").exists():
        return []
    from cairn.vcs.git import git

    def listed(*how: str) -> list[str]:
        out = git(source, "ls-files", "-z", "--others", "--ignored", "--directory", *how, strip=False, check=False)
        return [entry for entry in out.split("\0") if entry]

    ignored = {entry.rstrip("/") for entry in listed("--exclude-standard")}
    chosen: list[str] = []
    for entry in listed(f"--exclude-from={source / INCLUDE_FILE}"):
        path = entry.rstrip("/")
        parts = path.split("/")
        if any("/".join(parts[:n]) in ignored for n in range(1, len(parts) + 1)):
            chosen.append(path)  # ignored itself, or inside an ignored directory
        elif entry.endswith("/"):
            chosen += sorted(p for p in ignored if p.startswith(path + "/"))  # the ignored part of it
    return sorted(set(chosen))


def teardown(config: Bootstrap, workspace: Path, log: Any, env: dict[str, str], wrap: Wrap | None = None) -> None:
    """Run ``bootstrap.teardown`` in ``workspace``; each failure is logged, none raises."""
    if not config.teardown or not workspace.is_dir():
        return
    import subprocess

    from cairn.agents import children

    for argv in config.teardown:
        _say(log, f"teardown: {' '.join(argv)}")
        try:
            finished = children.run(wrap(argv) if wrap else argv, cwd=workspace, env=env, timeout=config.setup_timeout,
                                    stdout=log if log is not None else subprocess.DEVNULL)
        except OSError as error:
            _say(log, f"teardown command could not run: {argv[0]}: {error.strerror or error}")
            continue
        if finished.returncode != 0:
            why = "timed out" if finished.timed_out else f"exit status {finished.returncode}"
            _say(log, f"teardown command failed ({why}): {' '.join(argv)}; the workspace is removed all the same")


def _matches(source: Path, pattern: str) -> list[Path]:
    import glob

    return [Path(p) for p in sorted(glob.glob(str(source / pattern), recursive=True, include_hidden=True))]


def _say(log: Any, line: str) -> None:
    if log is None:
        return
    log.write(f"[cairn] {line}\n".encode())
    log.flush()


def teardown_for(settings: Any, task_id: int | None, workspace: str | Path) -> None:
    """``bootstrap.teardown`` for a workspace about to be removed, in the sandbox
    and environment its task had; output appended to the task's log.  Never raises."""
    config = settings.section("bootstrap")
    path = Path(workspace)
    if not config.teardown or not path.is_dir():
        return
    from cairn.agents.sandbox import for_task
    from cairn.errors import CairnError
    from cairn.state.store import Store

    layout = settings.layout
    log: Any = None
    try:
        task = Store(layout).read_task(task_id) if task_id is not None else None
    except CairnError:
        task = None
    if task_id is not None and layout.agent_log(task_id).exists():
        log = open(layout.agent_log(task_id), "ab")
    try:
        with for_task(settings, task, str(path), ports=False) as confined:
            teardown(config, path, log, confined.environment(), confined.wrap)
    except CairnError as error:
        _say(log, f"teardown skipped: {error}")
    finally:
        if log is not None:
            log.close()
