"""The shape of a task that works in a repository of its own: clone at the
base, work, hand back a branch.

Used by the clone backend (a clone on this machine, objects shared with the
user's repository through git's alternates) and meant for any place a task
runs away from the user's repository (a remote executor clones from a URL,
works, and hands ``cairn/<id>`` back the same way).  Three steps, each one
git command or a few, none of them touching the user's working tree:

- ``clone_at``: a repository at ``path`` with branch ``cairn/<id>`` checked
  out at the base commit; ``shared``: objects borrowed from the source
  (``git clone --shared``), so nothing is copied but the checked-out files;
  the user's identity and remotes come along, so the agent commits as the
  user and ``origin`` means what it means to them;
- the agent works there: commits, branches, rewrites its history, runs hooks;
- ``hand_back``: fetch the clone's branch into ``refs/heads/cairn/<id>`` of
  the user's repository (forced only where the task's own history may have
  been rewritten), so diff, checks, accept, reject and gc work on it as on
  any branch.

What must hold: a clone made with ``shared`` is only as whole as the
source's objects; the base it starts from is kept reachable there by the
task's branch, which is made at the base before the clone is.
"""

from __future__ import annotations

from pathlib import Path

from cairn.vcs.git import GitError, git, git_ok

#: The name the user's repository has inside a clone: where Cairn fetches from and hands back to.
SOURCE_REMOTE = "cairn"


def clone_at(source: str, path: Path, branch: str, base: str, *, shared: bool) -> None:
    """A repository at ``path`` on ``branch`` at ``base``, cloned from ``source``
    (a path or URL).  Leaves nothing behind when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sharing = ["--shared"] if shared else []
    try:
        git(path.parent, "clone", "--quiet", "--no-checkout", "--no-tags", *sharing, "--origin", SOURCE_REMOTE, source, str(path))
        # The base may be no branch's tip (a --base commit): it is in the shared objects all the same.
        git(path, "checkout", "--quiet", "-b", branch, base)
    except BaseException:
        _remove(path)
        raise


def carry_settings(source: Path, path: Path) -> None:
    """The user's identity and remotes, from the source repository's own config:
    an agent in the clone commits as they would and fetches from where they do."""
    for key in ("user.name", "user.email"):
        value = git(source, "config", "--local", "--get", key, check=False)
        if value:
            git(path, "config", key, value)
    listed = git(source, "config", "--local", "--get-regexp", r"^remote\.", check=False)
    for line in listed.splitlines():
        key, _, value = line.partition(" ")
        if key.startswith(f"remote.{SOURCE_REMOTE}."):
            continue  # Cairn's own name for the user's repository wins
        git(path, "config", "--add", key, value)


def current_head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD")


def point_branch_at_head(path: Path, branch: str) -> None:
    """Wherever the agent left HEAD (another branch, a detached HEAD, a
    rewritten history), the task's branch is that commit and is checked out;
    the files do not change, and the agent's own branches stay as they are."""
    git(path, "checkout", "--quiet", "-B", branch, "HEAD")


def hand_back(root: Path, path: Path, branch: str, *, force: bool) -> None:
    """``branch`` of the clone at ``path`` into ``refs/heads/<branch>`` of the
    repository at ``root``.  Without ``force`` only a fast-forward: commits
    made on the user's side would otherwise be overwritten."""
    spec = f"{'+' if force else ''}refs/heads/{branch}:refs/heads/{branch}"
    git(root, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", str(path), spec)


def branches_not_on(path: Path, branch: str) -> list[str]:
    """The clone's own branches holding commits that neither ``branch`` nor
    the source repository has: what deleting the clone would lose."""
    lost = []
    names = git(path, "for-each-ref", "--format=%(refname:short)", "refs/heads/").splitlines()
    for name in names:
        if name == branch:
            continue
        own = git(path, "rev-list", "--max-count=1", f"refs/heads/{name}", "--not", f"refs/heads/{branch}", "--remotes", check=False)
        if own:
            lost.append(name)
    return lost


def is_clone_of(path: Path, root: Path) -> bool:
    """Whether ``path`` is a repository of its own whose ``cairn`` remote is ``root``."""
    if not (path / ".git").is_dir():
        return False
    url = git(path, "config", "--get", f"remote.{SOURCE_REMOTE}.url", check=False)
    return bool(url) and Path(url).resolve() == root.resolve()


def holds_unpublished(path: Path, branch: str) -> bool:
    """Whether the clone's ``branch`` has commits the source repository lacks."""
    try:
        return bool(git(path, "rev-list", "--max-count=1", f"refs/heads/{branch}", "--not", "--remotes"))
    except GitError:
        return True


def has_branch(path: Path, branch: str) -> bool:
    return git_ok(path, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}")


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
