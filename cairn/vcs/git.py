"""The one place Cairn runs git.

Every call is checked, runs in a given directory, never opens an editor or a
pager, and on failure raises ``GitError`` carrying the command line and git's
own stderr, so the user sees what git said.

No git Cairn runs ever runs a repository hook (``core.hooksPath=/dev/null``,
passed in the environment so it covers every subcommand): in a linked
worktree an agent can write the hooks of the user's repository, and a hook it
planted must never run when Cairn commits, rebases or merges another task's
work (``--no-verify`` skips only some hooks; ``post-commit`` and
``post-checkout`` still ran).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cairn.errors import OperationFailed

#: git must never wait for a human: no editor, no pager, no credential prompt.
_QUIET_ENV = {
    "GIT_EDITOR": "true",
    "GIT_PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_MERGE_AUTOEDIT": "no",
    "LC_ALL": "C",
    # Reading the user's status must never rewrite their index behind their back.
    "GIT_OPTIONAL_LOCKS": "0",
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
    env.update(_without_hooks(env))
    return env


def _without_hooks(env: dict[str, str]) -> dict[str, str]:
    """``core.hooksPath=/dev/null`` added to the configuration the environment
    already passes (GIT_CONFIG_COUNT and its pairs), which is kept."""
    try:
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": "core.hooksPath",
        f"GIT_CONFIG_VALUE_{count}": os.devnull,
    }


def git(
    cwd: Path | str,
    *args: str,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
    strip: bool = True,
) -> str:
    """Run git; its stdout (stripped unless told otherwise)."""
    # A fetch checks the objects behind every worktree's HEAD, and a worktree
    # being registered has a placeholder HEAD for a moment ("bad object
    # worktrees/N/HEAD"): it takes its turn like a worktree command.
    if args and args[0] in ("worktree", "fetch"):
        with _worktrees_locked(Path(cwd)):
            return _run(cwd, args, check, input, env, strip)
    return _run(cwd, args, check, input, env, strip)


@contextmanager
def _worktrees_locked(cwd: Path) -> Iterator[None]:
    """Serialise Cairn's ``git worktree`` calls on one repository.

    git does not guard its worktree list against concurrent writers: an
    ``add`` that scans ``.git/worktrees/`` while a ``remove`` deletes an entry
    fails with "failed to read .git/worktrees/N/commondir".  With agents
    starting while others land, that happens; a lock in the repository's git
    directory makes every Cairn process take turns.
    """
    git_dir = cwd / ".git"
    if not git_dir.is_dir():
        yield
        return
    from cairn.state.lock import held

    with held(git_dir / "cairn-worktrees.lock", timeout=300):
        yield


def _run(cwd: Path | str, args: tuple[str, ...], check: bool, input: str | None, env: dict[str, str] | None, strip: bool) -> str:
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        # A file an agent wrote in Latin-1 is still a file: git's bytes come
        # back unchanged (undecodable ones as surrogates) and go out the same.
        encoding="utf-8",
        errors="surrogateescape",
        env=git_env(env),
    )
    if check and completed.returncode != 0:
        raise GitError(list(args), Path(cwd), completed.returncode, completed.stderr)
    return completed.stdout.strip() if strip else completed.stdout


class Started:
    """A git command started now and answered later (``started``), so that a
    command asking git several independent questions waits for the slowest
    rather than for their sum.  Read it once, with ``output`` or ``succeeded``;
    ``close`` (idempotent) reaps it unread, for a caller that stops early."""

    def __init__(self, cwd: Path | str, args: tuple[str, ...], env: dict[str, str] | None) -> None:
        if args and args[0] == "worktree":
            raise ValueError("git worktree commands take the worktree lock: run them with git()")
        self.cwd, self.args = cwd, args
        self._process = subprocess.Popen(
            ["git", *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            encoding="utf-8", errors="surrogateescape", env=git_env(env),
        )
        self._answer: tuple[int, str, str] | None = None

    def _wait(self) -> tuple[int, str, str]:
        if self._answer is None:
            stdout, stderr = self._process.communicate()
            self._answer = (self._process.returncode, stdout, stderr)
        return self._answer

    def output(self, *, check: bool = True, strip: bool = True) -> str:
        """As ``git()`` would have returned (or raised)."""
        code, stdout, stderr = self._wait()
        if check and code != 0:
            raise GitError(list(self.args), Path(self.cwd), code, stderr)
        return stdout.strip() if strip else stdout

    def succeeded(self) -> bool:
        """As ``git_ok()`` would have said."""
        return self._wait()[0] == 0

    def close(self) -> None:
        self._wait()


def started(cwd: Path | str, *args: str, env: dict[str, str] | None = None) -> Started:
    """``git(cwd, *args)`` started now, its answer read later (``Started``)."""
    return Started(cwd, args, env)


def git_ok(cwd: Path | str, *args: str, env: dict[str, str] | None = None) -> bool:
    """True if git exits 0 (for questions like ``merge-base --is-ancestor``)."""
    return (
        subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=git_env(env)).returncode == 0
    )


def commit_of(cwd: Path | str, revision: str) -> str | None:
    """The commit ``revision`` names (a branch, ref, tag or sha), or None if it names none."""
    try:
        return git(cwd, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}") or None
    except GitError:
        return None


#: For commits Cairn makes when the user has no git identity configured at all.
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "Cairn",
    "GIT_AUTHOR_EMAIL": "cairn@localhost",
    "GIT_COMMITTER_NAME": "Cairn",
    "GIT_COMMITTER_EMAIL": "cairn@localhost",
}


def identity_env(cwd: Path | str) -> dict[str, str] | None:
    """Extra environment so a commit made in ``cwd`` has an author: None when
    the user's own identity is configured (theirs is used)."""
    return None if git_ok(cwd, "config", "user.email") else _FALLBACK_IDENTITY
