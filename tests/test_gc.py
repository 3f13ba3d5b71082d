"""`cairn gc`: what finished tasks left behind goes; the work itself never does.

Age is simulated by moving a record's ``since`` back in time: records are
plain JSON.  Everything else is real: git worktrees, branches and refs made by
real runs of the scripted agent, real processes, real signals.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BIN, events, git, state_of

DAY = 86400


def finish_tasks(cairn, home: Path, *prompts: str) -> list[int]:
    """Queue a scripted agent per prompt and run them all at once to their end."""
    ids = []
    for prompt in prompts:
        queued = cairn("queue", "-a", "demo", prompt)
        assert queued.returncode == 0, queued.stderr
        ids.append(int(queued.stdout))
    ran = cairn("up", "--until-idle", "--max-agents", str(len(prompts)), timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    wait_for_runners(home, ids)
    return ids


def wait_for_runners(home: Path, ids: list[int]) -> None:
    """A runner lingers a moment after its task's record is final, and gc
    leaves a workspace alone while its runner lives: wait them out."""
    from cairn.state.lock import is_held

    deadline = time.monotonic() + 20
    while any(is_held(home / "tasks" / str(i) / "runner.lock") for i in ids):
        assert time.monotonic() < deadline, "a runner never exited"
        time.sleep(0.02)


def failed_with_work(cairn, home: Path, *names: str) -> list[int]:
    """Tasks that failed with work committed on their branch, workspace still there."""
    return finish_tasks(cairn, home, *(f"write {name}.txt: {name}\nexit 1" for name in names))


def set_age(home: Path, task_id: int, days: float) -> None:
    """Move the task's last transition ``days`` into the past, as an atomic rewrite."""
    from cairn.core.codec import instant_to_text

    path = home / "tasks" / str(task_id) / "state.json"
    record = json.loads(path.read_text())
    record["since"] = instant_to_text(time.time() - days * DAY)
    temporary = path.with_name(".state.json.test")
    temporary.write_text(json.dumps(record))
    os.replace(temporary, path)


def workspace(home: Path, task_id: int) -> Path:
    return home / "workspaces" / str(task_id)


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "--format=%(refname:short)", "cairn/*").split()


def ref_exists(repo: Path, ref: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], cwd=repo, capture_output=True).returncode == 0


def gc_json(cairn, *args: str) -> dict:
    result = cairn("gc", "--json", *args)
    assert result.returncode == 0, result.stderr
    return result.json()


# -- the age rule, keep, the size limit -------------------------------------------------


def test_an_old_workspace_goes_and_a_recent_one_stays(cairn, repo, home):
    old, recent = failed_with_work(cairn, home, "old", "recent")
    set_age(home, old, days=20)
    result = cairn("gc")
    assert result.returncode == 0, result.stderr
    assert f"removed workspace of task {old} ({workspace(home, old)}" in result.stdout
    assert "failed 20d ago, past max age 14d" in result.stdout
    assert not workspace(home, old).exists()
    assert (workspace(home, recent) / "recent.txt").read_text() == "recent\n"
    assert branches(repo) == [f"cairn/{recent}"]
    assert str(workspace(home, old)) not in git(repo, "worktree", "list")
    record = json.loads((home / "tasks" / str(old) / "gc.json").read_text())
    assert record["workspace"]["path"] == str(workspace(home, old))
    assert record["branch"] == {
        "name": f"cairn/{old}", "commit": state_of(home, old)["work"]["head_commit"],
        "deleted": record["branch"]["deleted"], "archive_ref": f"refs/cairn/archive/{old}",
    }
    actions = [e["action"] for e in events(home) if e["event"] == "gc"]
    assert actions == ["remove-workspace", "archive-branch", "delete-branch", "compress"], "20 days is past the log age too"
    assert cairn("gc", "--json").json()["workspaces"] == 0, "a second run finds nothing more"


def test_keep_3_of_five_finished_workspaces_keeps_the_three_newest(cairn, repo, home):
    ids = failed_with_work(cairn, home, "a", "b", "c", "d", "e")
    for hours, task_id in enumerate(ids, start=1):
        set_age(home, task_id, days=(10 - hours) / 24)  # the first queued is the oldest
    counts = gc_json(cairn, "--keep", "3")
    assert (counts["workspaces"], counts["branches"]) == (2, 0), counts  # young branches stay: keep counts workspaces
    assert [workspace(home, i).exists() for i in ids] == [False, False, True, True, True]
    assert len(branches(repo)) == 5


def test_the_size_limit_removes_the_oldest_first(cairn, repo, home):
    (repo / ".gitignore").write_text("build/\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-qm", "ignore build output")
    ids = failed_with_work(cairn, home, "x", "y", "z")
    for days, task_id in zip((3, 2, 1), ids):
        set_age(home, task_id, days)
        build = workspace(home, task_id) / "build"
        build.mkdir()
        (build / "blob.bin").write_bytes(os.urandom(1 << 20))  # ignored: a build output, not work
    counts = gc_json(cairn, "--max-size", "2.5M")
    assert counts["workspaces"] == 1 and counts["bytes_freed"] >= 1 << 20
    assert [workspace(home, i).exists() for i in ids] == [False, True, True]
    assert gc_json(cairn, "--max-size", "1G")["workspaces"] == 0


# -- safety ---------------------------------------------------------------------------


def test_a_trashed_task_is_restorable_until_its_age_then_purged(cairn, repo, home):
    (task,) = finish_tasks(cairn, home, "write kept.txt: kept")
    assert cairn("reject", str(task)).returncode == 0
    trash = f"refs/cairn/trash/{task}"
    assert gc_json(cairn)["trash"] == 0 and ref_exists(repo, trash)
    assert cairn("restore", str(task)).returncode == 0, "restorable before its age"
    assert (workspace(home, task) / "kept.txt").exists()
    assert cairn("reject", str(task)).returncode == 0
    set_age(home, task, days=15)
    result = cairn("gc")
    assert f"expired trash {trash} of task {task}: rejected 15d ago, past max age 14d" in result.stdout
    assert not ref_exists(repo, trash)
    assert not git(repo, "for-each-ref", "refs/cairn/archive/"), "rejected work is not archived: a human rejected it"
    restore = cairn("restore", str(task))
    assert restore.returncode == 1
    assert f"the work of task {task} is gone from {trash}: gc expired it" in restore.stderr
    assert json.loads((home / "tasks" / str(task) / "gc.json").read_text())["trash"]["ref"] == trash


def test_unmerged_work_is_archived_and_can_be_recovered(cairn, repo, home):
    (task,) = finish_tasks(cairn, home, "write precious.txt: precious work\nexit 1")
    head = state_of(home, task)["work"]["head_commit"]
    set_age(home, task, days=30)
    result = cairn("gc")
    assert f"archived branch cairn/{task} of task {task} to refs/cairn/archive/{task}: it holds commits not on main" in result.stdout
    assert branches(repo) == []
    assert git(repo, "rev-parse", f"refs/cairn/archive/{task}") == head
    git(repo, "branch", "rescued", f"refs/cairn/archive/{task}")
    assert git(repo, "show", "rescued:precious.txt") == "precious work"


def test_purge_skips_the_archive_and_a_merged_branch_never_needs_one(cairn, repo, home):
    (repo / "cairn.toml").write_text("[accept]\ndelete_branch = false\n")
    landed, dropped = finish_tasks(cairn, home, "write landed.txt: landed", "write dropped.txt: dropped\nexit 1")
    assert cairn("accept", str(landed)).returncode == 0
    assert branches(repo) == [f"cairn/{landed}", f"cairn/{dropped}"]
    set_age(home, landed, days=8)
    set_age(home, dropped, days=30)
    counts = gc_json(cairn, "--purge")
    assert (counts["branches"], counts["archived"]) == (2, 0)
    assert branches(repo) == [] and not git(repo, "for-each-ref", "refs/cairn/archive/")
    assert (repo / "landed.txt").exists(), "the landed work is on main"


def test_a_branch_a_queued_retry_continues_from_stays_until_it_has_started(cairn, repo, home):
    (task,) = failed_with_work(cairn, home, "half")
    retry = cairn("retry", str(task), "--continue", "--feedback", "finish it")
    assert retry.returncode == 0, retry.stderr
    set_age(home, task, days=30)
    result = cairn("gc")
    assert f"skipped branch cairn/{task} of task {task}: task {int(retry.stdout)} starts from it" in result.stdout
    assert not workspace(home, task).exists(), "the workspace may go: the retry starts from the branch"
    assert branches(repo) == [f"cairn/{task}"]


def test_a_running_or_reviewed_task_is_never_touched(cairn, repo, home):
    (review,) = finish_tasks(cairn, home, "write review.txt: for review")
    running = int(cairn("queue", "-a", "demo", "write wip.txt: work in progress\nsleep 60").stdout)
    assert cairn("spawn", str(running)).returncode == 0
    deadline = time.monotonic() + 20
    while not (workspace(home, running) / "wip.txt").exists():
        assert time.monotonic() < deadline, "the agent never started"
        time.sleep(0.05)
    set_age(home, review, days=365)
    result = cairn("gc", "--max-age", "0s", "--max-size", "0", "--purge", "--force", "--orphans")
    assert result.returncode == 0, result.stderr
    assert f"task {running}" not in result.stdout and f"task {review}" not in result.stdout
    assert (workspace(home, running) / "wip.txt").exists() and (workspace(home, review) / "review.txt").exists()
    assert branches(repo) == sorted([f"cairn/{review}", f"cairn/{running}"])
    assert state_of(home, running)["state"] == "running"
    assert cairn("cancel", str(running)).returncode == 0


def test_a_process_inside_a_workspace_blocks_its_removal_until_force(cairn, repo, home):
    (task,) = failed_with_work(cairn, home, "busy")
    set_age(home, task, days=30)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=workspace(home, task))
    try:
        result = cairn("gc")
        assert result.returncode == 0, result.stderr
        assert f"skipped workspace of task {task} ({workspace(home, task)}): process {sleeper.pid} (" in result.stdout
        assert "works inside it; --force ends it first" in result.stdout
        assert workspace(home, task).exists() and branches(repo) == [f"cairn/{task}"], "its branch stays with it"
        forced = gc_json(cairn, "--force")
        assert forced["workspaces"] == 1 and forced["branches"] == 1
        assert sleeper.wait(timeout=10) is not None
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not workspace(home, task).exists()


def test_uncommitted_changes_in_a_workspace_keep_it_even_with_force(cairn, repo, home):
    (task,) = failed_with_work(cairn, home, "edited")
    (workspace(home, task) / "by-hand.txt").write_text("a human's fix\n")
    set_age(home, task, days=30)
    result = cairn("gc", "--force")
    assert f"skipped workspace of task {task} ({workspace(home, task)}): uncommitted changes in it (1 path): commit or discard them" in result.stdout
    assert (workspace(home, task) / "by-hand.txt").exists() and branches(repo) == [f"cairn/{task}"]


def test_orphans_are_reported_and_removed_only_with_orphans(cairn, repo, home):
    assert cairn("init").returncode == 0
    stray = home / "workspaces" / "99"
    git(repo, "worktree", "add", "-q", "-b", "cairn/99", str(stray))
    (stray / "lost.txt").write_text("work nobody queued\n")
    git(stray, "add", "lost.txt")
    git(stray, "commit", "-qm", "lost work")
    git(repo, "branch", "cairn/old-idea")
    result = cairn("gc")
    assert result.returncode == 0
    hint = "no task behind it; `cairn gc --orphans` removes it"
    assert f"orphan worktree {stray}: {hint}" in result.stdout
    assert f"orphan branch cairn/99: {hint}" in result.stdout and f"orphan branch cairn/old-idea: {hint}" in result.stdout
    assert stray.exists() and branches(repo) == ["cairn/99", "cairn/old-idea"]
    counts = gc_json(cairn, "--orphans")
    assert (counts["workspaces"], counts["branches"], counts["archived"]) == (1, 2, 1)
    assert not stray.exists() and branches(repo) == []
    assert git(repo, "show", "refs/cairn/archive/orphans/cairn/99:lost.txt") == "work nobody queued"


def test_dry_run_changes_nothing_and_says_what_would_go(cairn, repo, home):
    old, rejected = finish_tasks(cairn, home, "write old.txt: old\nexit 1", "write no.txt: no")
    assert cairn("reject", str(rejected)).returncode == 0
    set_age(home, old, days=30)
    set_age(home, rejected, days=30)
    (home / "signals" / f"cancel-{old}").write_text("{}")
    os.utime(home / "signals" / f"cancel-{old}", (time.time() - 3600,) * 2)
    git(repo, "branch", "cairn/orphan")
    cairn("status")  # the summary cache is a cache: let it settle first

    def snapshot() -> tuple:
        files = sorted(
            (str(p), p.stat().st_size, p.stat().st_mtime_ns)
            for p in [*home.rglob("*"), *(repo / ".git").rglob("*")]
            if p.is_file() and "cache" not in p.parts
        )
        return files, git(repo, "for-each-ref"), git(repo, "worktree", "list", "--porcelain")

    before = snapshot()
    result = cairn("gc", "--dry-run")
    assert result.returncode == 0, result.stderr
    for line in (
        f"would remove workspace of task {old} ({workspace(home, old)}",
        f"would archive branch cairn/{old} of task {old} to refs/cairn/archive/{old}",
        f"would delete branch cairn/{old} of task {old}: failed 30d ago, past max age 14d",
        f"would expire trash refs/cairn/trash/{rejected} of task {rejected}: rejected 30d ago, past max age 14d",
        f"would compress {home / 'tasks' / str(old) / 'agent.log'}",
        f"would remove signal file {home / 'signals' / f'cancel-{old}'}: task {old} is failed",
        "orphan branch cairn/orphan",
        "nothing was changed",
    ):
        assert line in result.stdout, line
    loud = cairn("gc", "--dry-run", "--json", "--purge", "--orphans", "--force", "--max-age", "0s", "--keep", "0", "--max-size", "0")
    counts = loud.json()
    assert counts["dry_run"] is True and counts["workspaces"] == 1 and counts["trash"] == 1 and counts["branches"] == 2
    after = snapshot()
    assert after[0] == before[0], set(after[0]) ^ set(before[0])
    assert after == before


# -- logs, signal files, the journal ------------------------------------------------------


def test_old_logs_are_compressed_stale_signals_removed_and_a_big_journal_rotated(cairn, repo, home):
    (task,) = finish_tasks(cairn, home, "say hello from the agent\nexit 1")
    log = home / "tasks" / str(task) / "agent.log"
    original = log.read_bytes()
    set_age(home, task, days=4)
    signal_file = home / "signals" / f"cancel-{task}"
    signal_file.write_text("{}")
    os.utime(signal_file, (time.time() - 3600,) * 2)
    filler = json.dumps({"ts": "2026-01-01T00:00:00.000Z", "event": "filler", "pad": "x" * 1000}) + "\n"
    with open(home / "events.jsonl", "a") as journal:
        journal.write(filler * (9 * 1024))  # past the 8 MiB the journal may grow to
    counts = gc_json(cairn)
    assert (counts["logs"], counts["signals"], counts["journal"]) == (1, 1, 1)
    assert not log.exists() and gzip.decompress(log.with_name("agent.log.gz").read_bytes()) == original
    assert not signal_file.exists()
    (segment,) = home.glob("events-*.jsonl")
    assert segment.stat().st_size > 8 << 20
    assert [e["event"] for e in events(home)][-1] == "gc-run", "new events go to a fresh journal"
    assert json.loads((home / "tasks" / str(task) / "gc.json").read_text())["logs"] == {"agent.log": "compressed"}
    assert "failed" in cairn("status").stdout
    os.utime(segment, (time.time() - 3600,) * 2)
    assert gc_json(cairn)["journal"] == 1, "an old segment is compressed"
    assert not segment.exists() and segment.with_name(segment.name + ".gz").exists()


# -- the command line --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-age", "ten days"], "cannot read 'ten days' as a duration"),
        (["--max-age", "-1d"], "as a duration"),
        (["--max-size", "12X"], "cannot read '12X' as a size"),
        (["--keep", "-1"], "--keep"),
        (["--keep", "many"], "--keep"),
        (["--every", "0s"], "must be longer than zero"),
        (["--every", "soon"], "as a duration"),
        (["--no-such-flag"], "No such option"),
    ],
)
def test_bad_input_is_a_usage_error(cairn, repo, args, message):
    result = cairn("gc", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2, "one line and a hint"


def test_only_one_gc_runs_at_a_time(cairn, home):
    assert cairn("init").returncode == 0
    fd = os.open(home / "locks" / "gc.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        busy = cairn("gc")
        assert busy.returncode == 1 and "another gc is running" in busy.stderr
        assert cairn("gc", "--dry-run").returncode == 0, "a dry run changes nothing and needs no lock"
    finally:
        os.close(fd)
    assert cairn("gc").returncode == 0


def test_gc_every_runs_until_sigterm_stops_it_cleanly(cairn, repo, home, env):
    (task,) = failed_with_work(cairn, home, "later")
    process = subprocess.Popen([str(BIN / "cairn"), "gc", "--every", "1s"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The first round has looked (each round says so, flushed) before the task ages.
        first = process.stdout.readline()
        assert "gc: nothing to collect" in first, first + process.stderr.read()
        set_age(home, task, days=30)
        deadline = time.monotonic() + 20
        while workspace(home, task).exists() or branches(repo):
            assert time.monotonic() < deadline, "gc --every never removed the old workspace"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "gc: 1 workspace, 1 branch (1 archived)" in out


def test_the_scheduler_runs_gc_on_its_interval_without_waiting_for_it(cairn, repo, home):
    (task,) = failed_with_work(cairn, home, "scheduled")
    (repo / "cairn.toml").write_text('[gc]\ninterval = "1h"\n[gc.max_age]\nfailed = "1m"\n')
    set_age(home, task, days=1)
    up = cairn("up", "--until-idle")
    assert up.returncode == 0, up.stderr
    deadline = time.monotonic() + 20
    while workspace(home, task).exists() or branches(repo):
        assert time.monotonic() < deadline, "the scheduler's gc never ran"
        time.sleep(0.1)
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/cairn/archive/") == f"refs/cairn/archive/{task}"


def test_a_compressed_log_is_still_shown_by_cairn_logs(cairn, repo, home):
    import gzip

    cairn("queue", "-a", "demo", "say remember me")
    assert cairn("spawn", "1", "--wait").returncode == 0
    log = home / "tasks" / "1" / "agent.log"
    log.with_name("agent.log.gz").write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    shown = cairn("logs", "1")
    assert shown.returncode == 0 and "remember me" in shown.stdout


def test_retry_continue_finds_work_gc_archived(cairn, repo, home):
    from conftest import git

    cairn("queue", "-a", "demo", "write kept.txt: kept\nexit 1")
    assert cairn("spawn", "1", "--wait").returncode == 1
    head = git(repo, "rev-parse", "cairn/1")
    git(repo, "update-ref", "refs/cairn/archive/1", head)
    git(repo, "worktree", "remove", "--force", str(home / "workspaces" / "1"))
    git(repo, "branch", "-D", "cairn/1")
    retried = cairn("retry", "1", "--continue")
    assert retried.returncode == 0, retried.stderr
    new = retried.stdout.strip()
    assert cairn("spawn", new, "--wait").returncode == 1  # the script still exits 1
    assert git(repo, "show", f"cairn/{new}:kept.txt") == "kept"
