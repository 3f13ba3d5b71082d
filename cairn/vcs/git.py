"""The one place Cairn runs git.

Every call is checked, runs in a given directory, never opens an editor or a
pager, and on failure raises ``GitError`` carrying the command line and git's
own stderr, so the user sees what git said.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cairn.errors import OperationFailed

#: git must never wait for a human: no editor, no pager, no credential prompt.
_QUIET_ENV = {
    "GIT_EDITOR": "true",
    "GIT_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_MERGE_AUTOEDIT": "no",
    "LC_ALL": "C",
}


class GitError(OperationFailed):
    def __init__(self, args: list[str], cwd: Path, returncode: int, stderr: str) -> None:
        detail = stderr.strip().splitlines()
        shown = detail[-1] if detail else f"exit status {returncode}"
        super().__init__(f"git {' '.join(args)} failed in {cwd}: {shown}")
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(_QUIET_ENV)
    if extra:
        env.update(extra)
    return env


def git(
    cwd: Path | str,
    *args: str,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
    strip: bool = True,
) -> str:
    """Run git; its stdout (stripped unless told otherwise)."""
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=git_env(env),
    )
    if check and completed.returncode != 0:
        raise GitError(list(args), Path(cwd), completed.returncode, completed.stderr)
    return completed.stdout.strip() if strip else completed.stdout


def git_ok(cwd: Path | str, *args: str, env: dict[str, str] | None = None) -> bool:
    """True if git exits 0 (for questions like ``merge-base --is-ancestor``)."""
    return (
        subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=git_env(env)).returncode == 0
    )
