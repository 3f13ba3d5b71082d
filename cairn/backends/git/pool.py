"""The warm pool: git worktrees made ahead of time at the target's tip (``[pool]``).

A fresh ``git worktree add`` writes every file of the repository, seconds on
a large one, and an agent waits for it.  The pool pays that cost earlier, off
the critical path: a new task's workspace is then a ready worktree renamed
into place and given its branch, a few milliseconds at any size.

    $CAIRN_HOME/pool/
      <commit>-<tag>/   a ready worktree: detached at <commit>, clean, untouched
      .new-<tag>/       being made, refreshed or removed: claims never look at it
      lock              flock, held while an entry is taken or put in place
      refill.lock       flock, held by the one process topping the pool up
      tip.json          what the last refill saw: the commit and the ref files' stamp
      refill.log        the last refill's output

Who does what:
- the runner (``GitWorkspaces.create`` calls ``claim``): under ``lock``, take an
  entry at exactly the task's base commit with ``git worktree move``; then
  ``git switch -c cairn/<id>`` there (HEAD already is the base: no file is
  written).  No such entry, or any trouble at all: the caller makes a fresh
  worktree as if there were no pool.  The pool never fails a task.
- the scheduler, after each turn, calls ``top_up_soon``: a listdir and a few
  stats; when the pool is short, stale (the target moved) or disabled with
  entries left, it starts ``python -m cairn.backends.git.pool refill HOME``,
  detached, at low priority (or has its standby fork that refill, imports
  done: ``refill_here``; a crew's claims leave a small pool short all the time).  The scheduler and not the runner, because a
  runner is a child subreaper that stops every process it leaves behind: a
  refill it started would die with it.
- a refill (one at a time, ``refill.lock``): removes what a refill that died
  left, refreshes entries whose commit is not the tip any more (a
  ``checkout --detach`` writes only the files that changed), adds entries up to
  ``size``, removes any beyond, and records ``tip.json``.

Locks, always in this order: ``lock``, then the repository's worktree lock
that cairn/vcs/git.py takes around every ``git worktree`` call.  A refill
holds the latter only for short calls (registering a worktree with
``--no-checkout``, ``move``, ``prune``), never while files are written, so a
claim never waits for a checkout.

Invariants: a name under pool/ without a leading dot is a registered worktree
of the repository, detached at the commit it names, with no changes; entries
change names only under ``lock``.  pool/ belongs to the pool: gc leaves it
alone, and ``python -m cairn.backends.git.pool drain`` (or ``size = 0`` with a
scheduler running) empties it.  The pool and the workspaces must be on one
filesystem, since claiming is a rename.  The entries show in ``git worktree
list`` as detached worktrees under the state directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.state import atomic, lock

if TYPE_CHECKING:
    from collections.abc import Callable

    from cairn.config.load import Settings
from cairn.vcs.git import GitError, git

_BUILDING = ".new-"
_HEX = frozenset("0123456789abcdef")
#: After a refill that failed, the scheduler waits this long before it starts another.
RETRY_AFTER = 60.0


def pool_dir(home: Path) -> Path:
    return home / "pool"


def is_pool_path(home: Path, path: Path) -> bool:
    """True for the pool's directory and anything in it (for gc: not a task's workspace)."""
    try:
        Path(path).resolve().relative_to(pool_dir(home).resolve())
        return True
    except ValueError:
        return False


class Entry:
    """A ready worktree.  (A plain class: this module is imported by every runner.)"""

    __slots__ = ("path", "commit")

    def __init__(self, path: Path, commit: str) -> None:
        self.path = path
        self.commit = commit

    def __repr__(self) -> str:
        return f"Entry({str(self.path)!r}, {self.commit!r})"


class Pool:
    def __init__(self, root: Path, home: Path) -> None:
        self.root = root
        self.dir = pool_dir(home)

    def entries(self) -> list[Entry]:
        """The ready worktrees, in name order; none when there is no pool."""
        try:
            names = sorted(os.listdir(self.dir))
        except OSError:
            return []
        return [Entry(self.dir / n, c) for n in names if (c := _commit_of(n))]

    # -- taking one (the runner) ------------------------------------------------

    def claim(self, branch: str, base: str, path: Path) -> bool:
        """Put a ready worktree at ``base`` at ``path`` on a new ``branch``; False: none was taken."""
        ready = self.entries()
        if not any(e.commit == base for e in ready):
            if ready:
                self._mark_stale()
            return False
        try:
            with lock.held(self.dir / "lock", timeout=10):
                entry = next((e for e in self.entries() if e.commit == base), None)
                if entry is None:
                    return False
                git(self.root, "worktree", "move", str(entry.path), str(path))
        except (OSError, lock.LockTimeout, GitError):
            return False
        try:
            git(path, "switch", "--quiet", "-c", branch)
        except GitError:
            self._remove(path)
            return False
        return True

    def _mark_stale(self) -> None:
        """A claim missed: the next look by the scheduler refills (tip.json gone = unknown)."""
        try:
            (self.dir / "tip.json").unlink(missing_ok=True)
        except OSError:
            pass

    # -- deciding whether to refill (the scheduler, every turn) --------------------

    def wants_refill(self, size: int) -> bool:
        """Cheap: is the pool short, stale, or disabled with entries left?  No git run here."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return size > 0
        except OSError:
            return False
        entries = [c for n in names if (c := _commit_of(n))]
        if size == 0:
            return bool(entries) or any(n.startswith(_BUILDING) for n in names)
        recorded = self._recorded()
        if recorded is None or recorded.get("stamp") != self._stamp():
            return True
        if recorded.get("commit") is None:
            return False  # nothing to make worktrees of (no commit yet) until the refs change
        return len(entries) < size or any(c != recorded["commit"] for c in entries)

    def _recorded(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.dir / "tip.json").read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _stamp(self) -> list[Any]:
        """Identity of the files that change when the main worktree's HEAD moves:
        HEAD, the branch's loose ref, packed-refs.  Only a trigger: a refill asks git."""
        dot_git = self.root / ".git"
        files = [dot_git / "HEAD", dot_git / "packed-refs"]
        try:
            head = files[0].read_text().strip()
        except OSError:
            head = ""
        if head.startswith("ref: "):
            files.append(dot_git / head.removeprefix("ref: "))
        return [_identity(f) for f in files]

    # -- refilling (one process at a time) -----------------------------------------

    def refill(self, size: int) -> list[str]:
        """Bring the pool to ``size`` clean worktrees at the main worktree's HEAD; what was done."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = lock.open_lock(self.dir / "refill.lock")
        try:
            if not lock.try_lock(fd):
                return ["another refill runs"]
            done: list[str] = []
            for _ in range(3):  # again if HEAD moved while we worked
                stamp = self._stamp()
                done += self._refill_once(size, stamp)
                if self._stamp() == stamp:
                    break
            return done
        finally:
            os.close(fd)

    def _refill_once(self, size: int, stamp: list[Any]) -> list[str]:
        done = [f"removed leftover {p.name}" for p in self._sweep()]
        tip = self._tip()
        entries = self.entries()
        if size == 0 or tip is None:
            for entry in entries:
                self._retire(entry)
                done.append(f"removed {entry.path.name}")
        else:
            fresh = [e for e in entries if e.commit == tip]
            stale = [e for e in entries if e.commit != tip]
            for entry in fresh[size:]:
                self._retire(entry)
                done.append(f"removed {entry.path.name} (more than {size})")
            room = max(0, size - len(fresh))
            for entry in stale[:room]:
                if self._refresh(entry, tip):
                    done.append(f"refreshed {entry.path.name} to {tip[:12]}")
            for entry in stale[room:]:
                self._retire(entry)
                done.append(f"removed {entry.path.name} (stale)")
            for _ in range(2 * size):  # claims may take entries meanwhile: bounded
                if sum(e.commit == tip for e in self.entries()) >= size:
                    break
                done.append(f"added {self._add(tip).name}")
        atomic.write_json(self.dir / "tip.json", {"commit": tip, "stamp": stamp})
        return done

    def _tip(self) -> str | None:
        try:
            return git(self.root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        except GitError:
            return None  # an unborn branch: nothing to check out yet

    def _building(self) -> Path:
        return self.dir / f"{_BUILDING}{os.urandom(4).hex()}"

    def _add(self, tip: str) -> Path:
        """A new worktree at ``tip``, its files written outside the repository's
        worktree lock (``add_worktree``): it blocks no claim and no task's workspace."""
        from cairn.vcs.worktrees import add_worktree

        for attempt in range(3):
            building = self._building()
            try:
                add_worktree(self.root, building, tip, detach=True)
                break
            except GitError:
                # A git of the user's own may race with ours (git does not guard
                # .git/worktrees against concurrent writers): again, a little later.
                self._remove(building)
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))
        return self._publish(building, tip)

    def _publish(self, building: Path, commit: str) -> Path:
        ready = self.dir / f"{commit}-{building.name.removeprefix(_BUILDING)}"
        with lock.held(self.dir / "lock", timeout=60):
            git(self.root, "worktree", "move", str(building), str(ready))
        return ready

    def _hide(self, entry: Entry) -> Path | None:
        """Take an entry out of sight of claims; None if a claim took it first."""
        hidden = self._building()
        with lock.held(self.dir / "lock", timeout=60):
            if not entry.path.is_dir():
                return None
            git(self.root, "worktree", "move", str(entry.path), str(hidden))
        return hidden

    def _refresh(self, entry: Entry, tip: str) -> bool:
        hidden = self._hide(entry)
        if hidden is None:
            return False
        try:
            git(hidden, "checkout", "--quiet", "--force", "--detach", tip)
            git(hidden, "clean", "-ffdq")
        except GitError:
            self._remove(hidden)
            return False
        self._publish(hidden, tip)
        return True

    def _retire(self, entry: Entry) -> None:
        hidden = self._hide(entry)
        if hidden is not None:
            self._remove(hidden)

    def _sweep(self) -> list[Path]:
        """What a refill that died left half made (only ever called under refill.lock)."""
        try:
            leftovers = [self.dir / n for n in os.listdir(self.dir) if n.startswith(_BUILDING)]
        except OSError:
            return []
        for path in leftovers:
            self._remove(path)
        return leftovers

    def _remove(self, path: Path) -> None:
        """Delete a worktree nobody else uses (hidden, or just claimed and failed):
        its files first, then git's record of it (``prune``: a short turn at the lock)."""
        shutil.rmtree(path, ignore_errors=True)
        git(self.root, "worktree", "prune", check=False)


def _commit_of(name: str) -> str | None:
    """``<commit>-<tag>``: the name of a ready entry (no regex: compiling one costs
    more than this whole module's other imports)."""
    commit, dash, tag = name.partition("-")
    if dash and len(commit) in (40, 64) and tag.isalnum() and _HEX.issuperset(commit):
        return commit
    return None


def _identity(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


# -- the hooks -------------------------------------------------------------------


def claim(root: Path, branch: str, base: str, path: Path) -> bool:
    """For ``GitWorkspaces.create``: a pooled worktree at ``base`` put at ``path``
    on ``branch``; False means none was taken and the caller makes one fresh.

    The pool is that of the state directory the runner serves (``CAIRN_HOME``,
    always set for a runner); without it, or without ready entries, this costs
    one listdir of a directory that does not exist.
    """
    home = os.environ.get("CAIRN_HOME")
    if not home:
        return False
    return Pool(root, Path(home)).claim(branch, base, path)


_refiller: Any = None  # the running refill: a Popen, or the standby's handle
_failed_at = -RETRY_AFTER


def top_up_soon(settings: Settings, fork: Callable[[], Any] | None = None) -> bool:
    """For the scheduler, after each turn: start a detached refill if the pool
    needs one and none runs; True if one was started.  Never raises.
    ``fork``: the scheduler's standby, which forks the refill (``refill_here``)
    with its imports done instead of starting an interpreter for each; it
    returns a handle to ``poll()``, or None when it cannot (then as without)."""
    global _refiller, _failed_at
    if _refiller is not None:
        code = _refiller.poll()
        if code is None:
            return False
        if code != 0:
            _failed_at = time.monotonic()
        _refiller = None
    if settings.root is None or time.monotonic() - _failed_at < RETRY_AFTER:
        return False
    home: Path = settings.layout.home
    pool = Pool(settings.root, home)
    try:
        if not pool.wants_refill(settings.config.pool.size) or lock.is_held(pool.dir / "refill.lock"):
            return False
        pool.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _refiller = fork() if fork is not None else None
        if _refiller is not None:
            return True
        with atomic.open_private(pool.dir / "refill.log") as log:
            _refiller = subprocess.Popen(
                [sys.executable, "-m", "cairn.backends.git.pool", "refill", str(home)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=home,
            )
    except OSError:
        _failed_at = time.monotonic()
        return False
    return True


def refill_here(home: Path) -> int:
    """A refill in this process, as ``python -m cairn.backends.git.pool refill
    HOME`` makes one, its output in ``pool/refill.log``: for a child the
    standby forked, in a session of its own (cairn/engine/standby.py)."""
    directory = pool_dir(Path(home))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    log = os.open(directory / "refill.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return main(["refill", str(home)])


def main(argv: list[str] | None = None) -> int:
    """``python -m cairn.backends.git.pool refill|drain|list [HOME]``."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("refill", "drain", "list"):
        print("usage: python -m cairn.backends.git.pool refill|drain|list [CAIRN_HOME]", file=sys.stderr)
        return 2
    if len(args) > 1:
        os.environ["CAIRN_HOME"] = args[1]
    from cairn.config.load import resolve

    settings = resolve()
    if settings.root is None:
        print("pool: no repository is known for this state directory", file=sys.stderr)
        return 2
    pool = Pool(settings.root, settings.layout.home)
    if args[0] == "list":
        for entry in pool.entries():
            print(entry.path)
        return 0
    if args[0] == "refill":
        os.nice(10)  # behind the agents and the commands people type
    size = settings.config.pool.size if args[0] == "refill" else 0
    try:
        for line in pool.refill(size):
            print(line)
    except (GitError, lock.LockTimeout, OSError) as error:
        print(f"pool: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
