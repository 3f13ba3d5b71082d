"""Make a fresh workspace ready to work in: copy untracked files the project
needs (``.env``), symlink heavy directories (``node_modules``), run setup.

Setup output goes to the task's log; a failing setup command fails the task
before the agent starts, with its output there for the user to read.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path
from typing import IO

from cairn.agents import children
from cairn.config.schema import Bootstrap
from cairn.errors import OperationFailed
from cairn.progress import SILENT, Progress


def bootstrap(config: Bootstrap, source: Path, workspace: Path, log: IO[bytes], env: dict[str, str], progress: Progress = SILENT) -> None:
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
            finished = children.run(argv, cwd=workspace, env=env, timeout=config.setup_timeout, stdout=log)
        except FileNotFoundError:
            raise OperationFailed(f"setup command not found: {argv[0]}") from None
        if finished.timed_out:
            raise OperationFailed(f"setup command timed out after {config.setup_timeout:g}s: {' '.join(argv)}")
        if finished.returncode is None:
            raise OperationFailed(f"setup was stopped: {' '.join(argv)}")
        if finished.returncode != 0:
            raise OperationFailed(f"setup command failed with exit status {finished.returncode}: {' '.join(argv)}")


def _matches(source: Path, pattern: str) -> list[Path]:
    return [Path(p) for p in sorted(glob.glob(str(source / pattern), recursive=True, include_hidden=True))]


def _say(log: IO[bytes], line: str) -> None:
    log.write(f"[cairn] {line}\n".encode())
    log.flush()
