"""The one place Cairn runs tmux: a session per task, named after the task and
its state directory so two repositories never collide."""

from __future__ import annotations

import os
import shutil
import subprocess
import zlib
from pathlib import Path


def available() -> bool:
    return shutil.which("tmux") is not None


def session_name(home: Path, task_id: int) -> str:
    tag = zlib.crc32(str(home).encode()) & 0xFFFF
    return f"cairn-{task_id}-{tag:04x}"


def new_session(name: str, argv: list[str], cwd: Path) -> None:
    """Start ``argv`` (exec'd by tmux, no shell) in a new detached session."""
    completed = subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", str(cwd), "--", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if completed.returncode != 0:
        raise OSError(f"tmux new-session failed: {completed.stderr.strip() or completed.returncode}")


def has_session(name: str) -> bool:
    return (
        subprocess.run(["tmux", "has-session", "-t", f"={name}"], capture_output=True, stdin=subprocess.DEVNULL).returncode
        == 0
    )


def attach_argv(name: str) -> list[str]:
    """Inside tmux, switch this client; outside, attach a new one."""
    if os.environ.get("TMUX"):
        return ["tmux", "switch-client", "-t", f"={name}"]
    return ["tmux", "attach-session", "-t", f"={name}"]

