"""The warm workspace pool: a new task takes a ready worktree at the target's tip.

Real git, real runners (`cairn spawn`), the real scheduler; the pool lives in
``$CAIRN_HOME/pool`` (cairn/backends/git/pool.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import git, state_of

from cairn.backends.git.pool import Pool, is_pool_path


def pool_on(cairn, home: Path, size: int = 2) -> None:
    assert cairn("init").returncode == 0
    (home / "config.toml").write_text(f"[pool]\nsize = {size}\n")


def pool_command(home: Path, verb: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "cairn.backends.git.pool", verb, str(home)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


def entries(home: Path) -> list[Path]:
    pool = home / "pool"
    if not pool.is_dir():
        return []
    return sorted(p for p in pool.iterdir() if p.is_dir() and not p.name.startswith("."))


def head(path: Path) -> str:
    return git(path, "rev-parse", "HEAD")


def clean(path: Path) -> bool:
    return git(path, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_new_task_takes_a_pooled_worktree_at_the_target_tip(cairn, repo, home):
    pool_on(cairn, home, size=2)
    pool_command(home, "refill")
    tip = head(repo)
    ready = entries(home)
    assert len(ready) == 2
    assert all(p.name.startswith(f"{tip}-") and head(p) == tip and clean(p) for p in ready)
    pooled = {p.stat().st_ino for p in ready}

    cairn("queue", "-a", "demo", "pooled work\nwrite src/new.py: x = 1\nreplace README.md: demo => pooled")
    result = cairn("spawn", "1", "--wait")
    assert result.returncode == 0, result.stderr

    state = state_of(home, 1)
    assert state["state"] == "review"
    workspace = Path(state["work"]["workspace"])
    assert workspace.stat().st_ino in pooled  # the pooled directory, renamed into place
    assert len(entries(home)) == 1
    assert state["work"]["base_commit"] == tip
    # The task's work is its own, on its own branch, on top of exactly the tip.
    assert git(workspace, "symbolic-ref", "--short", "HEAD") == "cairn/1"
    assert git(repo, "rev-parse", "cairn/1^") == tip
    assert git(repo, "diff", "--name-only", tip, "cairn/1").splitlines() == ["README.md", "src/new.py"]
    assert git(repo, "show", "cairn/1:README.md") == "# pooled"
    assert clean(workspace)
    # Nobody else was touched: the main worktree, and the entry still waiting.
    assert head(repo) == tip and clean(repo)
    (left,) = entries(home)
    assert head(left) == tip and clean(left)
    assert "[cairn]" in (home / "tasks" / "1" / "agent.log").read_text()


def test_a_moved_target_refreshes_the_pool(cairn, repo, home):
    pool_on(cairn, home, size=2)
    pool_command(home, "refill")
    pool = Pool(repo, home)
    assert not pool.wants_refill(2)

    (repo / "README.md").write_text("# moved on\n")
    (repo / "src" / "added.py").write_text("y = 2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the target moves")
    tip = head(repo)
    assert pool.wants_refill(2)

    done = pool_command(home, "refill")
    assert done.stdout.count("refreshed") == 2
    assert not pool.wants_refill(2)
    ready = entries(home)
    assert len(ready) == 2
    for entry in ready:
        assert entry.name.startswith(f"{tip}-") and head(entry) == tip and clean(entry)
        assert (entry / "README.md").read_text() == "# moved on\n"
        assert (entry / "src" / "added.py").is_file()

    pooled = {p.stat().st_ino for p in ready}
    cairn("queue", "-a", "demo", "write b.txt: b")
    assert cairn("spawn", "1", "--wait").returncode == 0
    state = state_of(home, 1)
    assert Path(state["work"]["workspace"]).stat().st_ino in pooled
    assert state["work"]["base_commit"] == tip


def test_a_task_on_another_base_gets_a_fresh_worktree_and_the_pool_stays(cairn, repo, home):
    first = head(repo)
    (repo / "README.md").write_text("# second\n")
    git(repo, "commit", "-q", "-am", "second")
    pool_on(cairn, home, size=1)
    pool_command(home, "refill")
    (entry,) = entries(home)

    cairn("queue", "-a", "demo", "--base", first, "write c.txt: c")
    assert cairn("spawn", "1", "--wait").returncode == 0
    state = state_of(home, 1)
    workspace = Path(state["work"]["workspace"])
    assert workspace.stat().st_ino != entry.stat().st_ino
    assert state["work"]["base_commit"] == first
    assert git(repo, "rev-parse", "cairn/1^") == first
    assert entries(home) == [entry] and head(entry) == head(repo) and clean(entry)


def test_the_scheduler_keeps_the_pool_topped_up(cairn, repo, home):
    pool_on(cairn, home, size=1)
    for n in range(2):
        cairn("queue", "-a", "demo", f"write f{n}.txt: {n}")
    result = cairn("up", "--until-idle")
    assert result.returncode == 0, result.stderr
    assert [state_of(home, n)["state"] for n in (1, 2)] == ["review", "review"]
    # The refill runs detached and may outlive `cairn up --until-idle`.
    pool = Pool(repo, home)
    deadline = time.monotonic() + 60
    while pool.wants_refill(1) and time.monotonic() < deadline:
        time.sleep(0.1)
    (entry,) = entries(home)
    assert head(entry) == head(repo) and clean(entry)


def test_without_a_pool_nothing_changes_and_drain_empties_one(cairn, repo, home):
    cairn("queue", "-a", "demo", "write d.txt: d")
    assert cairn("spawn", "1", "--wait").returncode == 0
    assert not (home / "pool").exists()  # off by default: not even a directory

    pool_on(cairn, home, size=2)
    pool_command(home, "refill")
    assert len(entries(home)) == 2
    (home / "config.toml").write_text("[pool]\nsize = 0\n")
    assert Pool(repo, home).wants_refill(0)
    pool_command(home, "drain")
    assert entries(home) == []
    listed = git(repo, "worktree", "list", "--porcelain")
    assert str(home / "pool") not in listed


def test_one_entry_goes_to_exactly_one_of_two_claims(cairn, repo, home):
    pool_on(cairn, home, size=1)
    pool_command(home, "refill")
    tip = head(repo)
    pool = Pool(repo, home)
    results: dict[int, bool] = {}

    def take(n: int) -> None:
        results[n] = pool.claim(f"cairn/{n}", tip, home / "workspaces" / str(n))

    threads = [threading.Thread(target=take, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [False, True]
    (winner,) = [n for n, won in results.items() if won]
    workspace = home / "workspaces" / str(winner)
    assert git(workspace, "symbolic-ref", "--short", "HEAD") == f"cairn/{winner}"
    assert head(workspace) == tip and clean(workspace)
    assert entries(home) == []
    assert is_pool_path(home, home / "pool" / "anything") and not is_pool_path(home, workspace)
    assert os.path.isdir(workspace)


def test_the_scheduler_standby_forks_the_refill(cairn, repo, home, monkeypatch):
    """Under a scheduler with a standby, a refill is a child the standby forks
    (no interpreter start for each); it ends as the standalone refill does."""
    from cairn.config.load import resolve
    from cairn.engine.launch import start_standby

    pool_on(cairn, home, size=1)
    (home / "config.toml").write_text('tmux = "never"\n[pool]\nsize = 1\n')
    monkeypatch.setenv("CAIRN_HOME", str(home))
    settings = resolve(repo, home=home)
    standby = start_standby(settings)
    assert standby is not None
    try:
        refill = standby.refill()
        assert refill is not None
        deadline = time.monotonic() + 120
        while refill.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert refill.poll() == 0, (home / "pool" / "refill.log").read_text()
    finally:
        standby.dismiss()
        standby.process.wait(timeout=60)
    (entry,) = entries(home)
    assert head(entry) == head(repo) and clean(entry)
    assert "added" in (home / "pool" / "refill.log").read_text()
