"""Facts about the user's repository that landing needs: worktrees and dirty paths."""

from __future__ import annotations

import os
from pathlib import Path

from cairn.vcs.git import GitError, Started, git, started
from cairn.vcs.revisions import git_dir_of


def worktree_with_branch(root: Path, branch: str) -> Path | None:
    """The worktree that has ``branch`` checked out, if any (read from the
    repository's files where that is certain: cairn/vcs/refs.py)."""
    from cairn.vcs import refs

    found = refs.worktree_with_branch(root, branch)
    if found is None or isinstance(found, Path):
        return found
    current: Path | None = None
    for line in git(root, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = Path(line.removeprefix("worktree "))
        elif line == f"branch refs/heads/{branch}" and current is not None:
            return current
    return None


def add_worktree(root: Path, path: Path, commitish: str, *, new_branch: str | None = None, detach: bool = False) -> None:
    """``git worktree add`` of ``commitish`` at ``path`` (on ``new_branch``, made
    there, or detached), in two steps so that worktrees are made side by side.

    Registering the worktree changes the repository's shared ``.git`` (its
    worktree list, a new branch) and so takes its turn at the repository's
    worktree lock (cairn/vcs/git.py); writing the files, the long part on a
    big repository, is a ``reset --hard`` inside the new worktree, which
    touches only that worktree's own files and index, outside the lock.  It
    is the checkout ``git worktree add`` itself runs.  If it fails, the
    half-made worktree is removed (and the branch, if made here and still at
    ``commitish``), as git does when its own checkout fails: nothing is left
    that could pass for a workspace.  Whoever records the workspace does so
    only once this returns, so a half-made one is never anyone's work.
    """
    extra = ["-b", new_branch] if new_branch else ["--detach"] if detach else []
    git(root, "worktree", "add", "--quiet", "--no-checkout", *extra, str(path), commitish)
    try:
        git(path, "reset", "--quiet", "--hard", "--no-recurse-submodules")
    except GitError:
        _discard_unfinished(root, path, commitish, new_branch)
        raise


def _discard_unfinished(root: Path, path: Path, commitish: str, new_branch: str | None) -> None:
    import shutil

    from cairn.vcs.git import git_ok

    shutil.rmtree(path, ignore_errors=True)
    git(root, "worktree", "prune", check=False)
    if new_branch:
        git_ok(root, "update-ref", "-d", f"refs/heads/{new_branch}", commitish)  # only if nothing moved it since


def stage_all(worktree: Path, keep_out: list[str] | None = None) -> None:
    """Stage everything in the worktree but ``keep_out`` (globs of what
    bootstrap put there: a ``.env``, a ``node_modules`` link).

    An index filter, not a pathspec: ``git add -A -- . ':(exclude).env'``
    fails outright when ``.env`` is ignored (git's "paths are ignored" error),
    which is exactly how bootstrap files usually are.  So everything is
    staged, then ``git reset`` puts the kept-out paths back in the index as
    the commit has them: an untracked copy is unstaged, a tracked file that
    bootstrap overwrote keeps its committed content, ignored or not.
    """
    git(worktree, "add", "-A", "--", ".")
    if keep_out:
        git(worktree, "reset", "--quiet", "--", *(f":(glob){p}" for p in keep_out))


def stranded_files(worktree: Path, index: Started | None = None) -> list[str]:
    """Files in the worktree that no commit of it can hold, so that removing
    it would lose them: anything inside a submodule's directory that is not
    initialised there (git sees only the gitlink), and uncommitted changes in
    one that is.  Paths relative to the worktree.  ``index``: its
    ``start_index_listing``, when that was started after the last change to its index."""
    listing = index.output(strip=False) if index is not None else git(worktree, *_INDEX_LISTING, strip=False)
    entries = listing.split("\0")
    gitlinks = [entry.split("\t", 1)[1] for entry in entries if entry.startswith("160000 ")]
    found: list[str] = []
    for sub in gitlinks:
        directory = worktree / sub
        if not directory.is_dir():
            continue
        if (directory / ".git").exists():
            found += [f"{sub}/{path}" for path in dirty_paths(directory)]
            continue
        for current, dirs, files in os.walk(directory):
            found += sorted(os.path.relpath(os.path.join(current, name), worktree) for name in files)
    return found


_INDEX_LISTING = ("ls-files", "-z", "--stage")


def start_index_listing(worktree: Path) -> Started:
    """What ``stranded_files`` reads of the worktree's index, asked now."""
    return started(worktree, *_INDEX_LISTING)


def refuse_if_stranded(worktree: Path, index: Started | None = None) -> None:
    """Raise rather than let a workspace go while it holds files no commit can keep
    (``index``: as for ``stranded_files``)."""
    stranded = stranded_files(worktree, index)
    if stranded:
        from cairn.errors import OperationFailed

        raise OperationFailed(
            f"the workspace {worktree} holds files inside a git submodule, which no commit of the task can keep: "
            f"{_shown(stranded)}; Cairn leaves it as it is",
            hint="copy them out (or commit them in the submodule), delete them there, then try again",
        )


def _shown(paths: list[str]) -> str:
    return ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")


def dirty_paths(worktree: Path, exclude: list[str] | None = None) -> list[str]:
    """Paths with uncommitted changes, staged or not, and untracked files;
    ``exclude``: globs left out (what bootstrap put in a workspace)."""
    return _dirty_in(git(worktree, *_status_argv(exclude), strip=False))


def start_dirty_paths(worktree: Path, exclude: list[str] | None = None) -> Started:
    """``dirty_paths``, asked now; ``dirty_paths_answer`` reads the answer (git runs meanwhile)."""
    return started(worktree, *_status_argv(exclude))


def dirty_paths_answer(asked: Started) -> list[str]:
    return _dirty_in(asked.output(strip=False))


def _status_argv(exclude: list[str] | None) -> list[str]:
    spec = ["--", ".", *(f":(exclude,glob){p}" for p in exclude)] if exclude else []
    return ["status", "--porcelain=v1", "-z", "--untracked-files=all", *spec]


def _dirty_in(out: str) -> list[str]:
    paths: list[str] = []
    entries = out.split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        paths.append(path)
        if "R" in status or "C" in status:
            index += 1  # the rename's source follows
    return paths


def rebase_in_progress(worktree: Path) -> bool:
    """Whether a rebase (or ``git am``) stopped half-way in this worktree."""
    git_dir = git_dir_of(worktree)
    return (git_dir / "rebase-merge").exists() or (git_dir / "rebase-apply").exists()


def checked_out_ref(worktree: Path) -> str | None:
    """The ref the worktree's HEAD names (``refs/heads/…``); None when detached."""
    try:
        text = (git_dir_of(worktree) / "HEAD").read_text().strip()
    except OSError:
        return None
    return text.removeprefix("ref:").strip() if text.startswith("ref:") else None


def rebasing_worktree(root: Path, branch: str) -> Path | None:
    """The worktree where a rebase of ``branch`` is under way, if any.

    During a rebase the branch is not checked out anywhere (HEAD is
    detached), yet git will set it to the rebased commits when the rebase
    ends: moving it meanwhile would be undone behind the user's back.  git
    names the branch in ``rebase-merge/head-name`` (``rebase-apply/`` for the
    apply backend) in the worktree's own git directory.
    """
    common = git_dir_of(root).resolve()
    try:
        common = (common / (common / "commondir").read_text().strip()).resolve()
    except OSError:
        pass  # no commondir: it is the common directory itself
    wanted = f"refs/heads/{branch}"
    linked = sorted(common.joinpath("worktrees").glob("*")) if common.joinpath("worktrees").is_dir() else []
    for git_dir in (common, *linked):
        for state in ("rebase-merge", "rebase-apply"):
            try:
                named = (git_dir / state / "head-name").read_text().strip()
            except OSError:
                continue
            if named == wanted:
                return root if git_dir == common else _linked_worktree(git_dir)
    return None


def _linked_worktree(git_dir: Path) -> Path:
    """A linked worktree's directory: its git directory's ``gitdir`` file names the worktree's ``.git`` file."""
    try:
        return Path(git_dir.joinpath("gitdir").read_text().strip()).parent
    except OSError:
        return git_dir


def changed_paths(root: Path, old: str, new: str) -> list[str]:
    out = git(root, "diff", "--name-only", "-z", "--no-renames", old, new, strip=False)
    return [p for p in out.split("\0") if p]


def head_commit(worktree: Path) -> str:
    """The commit the worktree's HEAD is at: read from its HEAD and the ref
    files where they settle it (a branch checked out, its tip a plain ref),
    else from git (a detached HEAD, anything unusual).  One git process
    fewer for each task a runner finishes."""
    from cairn.vcs import refs

    ref = checked_out_ref(worktree)
    if ref is not None and ref.startswith("refs/heads/"):
        tip = refs.branch_tip(worktree, ref.removeprefix("refs/heads/"))
        if isinstance(tip, str):
            return tip
    return git(worktree, "rev-parse", "HEAD")


def branch_commit(root: Path, branch: str) -> str | None:
    """The branch's tip, read from the ref files where that is certain (cairn/vcs/refs.py), else from git."""
    from cairn.vcs import refs
    from cairn.vcs.git import commit_of

    found = refs.branch_tip(root, branch)
    if found is None or isinstance(found, str):
        return found
    return commit_of(root, f"refs/heads/{branch}")
