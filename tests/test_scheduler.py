"""`cairn up` starts queued work: within the limit, by priority, after dependencies, around locks."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, events, git, state_of


def agent_spans(home: Path) -> dict[int, tuple[float, float]]:
    """task id -> (agent started, task finished), from the journal's timestamps."""
    from cairn.core.codec import text_to_instant

    started: dict[int, float] = {}
    spans: dict[int, tuple[float, float]] = {}
    for event in events(home):
        when = text_to_instant(event["ts"])
        if event["event"] == "agent-started":
            started[event["task"]] = when
        elif event["event"] in ("review", "failed", "cancelled") and event["task"] in started:
            spans[event["task"]] = (started[event["task"]], when)
    return spans


def max_overlap(spans: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    current = peak = 0
    for _, delta in points:
        current += delta
        peak = max(peak, current)
    return peak


def test_several_agents_run_at_once_within_the_limit(cairn, home):
    for n in range(5):
        assert cairn("queue", "-a", "demo", f"task {n}\nsleep 0.6\nwrite f{n}.txt: {n}").returncode == 0
    result = cairn("up", "--until-idle", "--max-agents", "2")
    assert result.returncode == 0, result.stderr
    spans = agent_spans(home)
    assert sorted(spans) == [1, 2, 3, 4, 5]
    assert max_overlap(list(spans.values())) == 2
    assert all(state_of(home, i)["state"] == "review" for i in range(1, 6))


def test_higher_priority_starts_first_then_older(cairn, home):
    for priority, name in [("low", "a"), ("normal", "b"), ("urgent", "c"), ("high", "d"), ("normal", "e")]:
        cairn("queue", "-a", "demo", "-p", priority, f"write {name}.txt: x")
    assert cairn("up", "--until-idle", "--max-agents", "1").returncode == 0
    order = [e["task"] for e in events(home) if e["event"] == "agent-started"]
    assert order == [3, 4, 2, 5, 1]


def test_a_task_after_a_failed_one_fails_and_says_why(cairn, home):
    cairn("queue", "-a", "demo", "exit 1")
    cairn("queue", "-a", "demo", "--after", "1", "write x.txt: x")
    result = cairn("up", "--until-idle")
    assert result.returncode == 0
    assert state_of(home, 1)["state"] == "failed"
    dependent = state_of(home, 2)
    assert dependent["state"] == "failed"
    assert "waits for task 1, which was failed" in dependent["reason"]
    assert not any(e["event"] == "agent-started" and e["task"] == 2 for e in events(home))


def test_a_task_after_one_in_review_waits_and_status_says_so(cairn, home):
    cairn("queue", "-a", "demo", "write a.txt: a")
    cairn("queue", "-a", "demo", "--after", "1", "write b.txt: b")
    result = cairn("up", "--until-idle")
    assert result.returncode == 0
    assert "task 2 still waits: after task 1 (review)" in result.stdout
    assert state_of(home, 2)["state"] == "queued"
    assert "after task 1 (review)" in cairn("status").stdout


def test_overlapping_locks_never_run_together_disjoint_ones_do(cairn, home):
    # Tasks 1 and 3 each wait for the other's file: they can only finish if
    # they run side by side, whatever the machine's load.
    spaces = home / "workspaces"
    cairn("queue", "-a", "demo", "--lock", "src/**", f"write src/a.py: a\nwait-for {spaces / '3' / 'docs' / 'c.md'}")
    cairn("queue", "-a", "demo", "--lock", "src/app.py", "write src/b.py: b")
    cairn("queue", "-a", "demo", "--lock", "docs/**", f"write docs/c.md: c\nwait-for {spaces / '1' / 'src' / 'a.py'}")
    assert cairn("up", "--until-idle", "--max-agents", "4").returncode == 0
    spans = agent_spans(home)
    one, two, three = spans[1], spans[2], spans[3]
    assert one[1] <= two[0] or two[1] <= one[0], "tasks 1 and 2 share src/ and must take turns"
    assert three[0] < one[1] and one[0] < three[1], "task 3 locks only docs/ and runs beside task 1"


def test_status_names_the_lock_holder_while_a_task_waits(cairn, home, repo):
    cairn("queue", "-a", "demo", "--lock", "src/**", "wait-for go\nwrite src/a.py: a")
    cairn("queue", "-a", "demo", "--lock", "src/app.py", "write src/b.py: b")
    scheduler = subprocess.Popen([str(BIN / "cairn"), "up"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while state_of(home, 1)["state"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        status = cairn("status").stdout
        assert "lock overlap with task 1 (src/app.py ~ src/**)" in status or "lock overlap with task 1" in status
        (home / "workspaces" / "1" / "go").write_text("")
        assert cairn("wait", "1", "2", "--timeout", "30s").returncode == 0
    finally:
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=10) == 0


def test_a_second_scheduler_is_refused_naming_the_first(cairn, repo, home):
    first = subprocess.Popen([str(BIN / "cairn"), "up"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while cairn("status", "--scheduler").returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        second = cairn("up", timeout=10)
        assert second.returncode == 1
        assert f"a scheduler already runs for {home} (pid {first.pid})" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0
    assert cairn("status", "--scheduler").returncode == 1


def test_the_scheduler_reacts_to_a_new_task_while_running(cairn, repo, home):
    scheduler = subprocess.Popen([str(BIN / "cairn"), "up"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while cairn("status", "--scheduler").returncode != 0:
            time.sleep(0.05)
        cairn("queue", "-a", "demo", "write late.txt: late")
        assert cairn("wait", "1", "--timeout", "20s").returncode == 0
        assert "late.txt" in (home / "tasks" / "1" / "preview.diff").read_text()
    finally:
        scheduler.send_signal(signal.SIGINT)
        assert scheduler.wait(timeout=10) == 0


def test_the_work_is_committed_on_its_branch_with_title_and_id(cairn, repo, home):
    cairn("queue", "-a", "demo", "--title", "Greet", "write hello.txt: hello")
    assert cairn("up", "--until-idle").returncode == 0
    assert git(repo, "log", "-1", "--format=%B", "cairn/1").splitlines()[:3] == ["Greet", "", "Cairn task 1"]
    assert git(repo, "show", "cairn/1:hello.txt") == "hello"
    assert git(repo, "status", "--porcelain") == "", "the main worktree never sees Cairn's files"
    stat = (home / "tasks" / "1" / "preview.stat").read_text()
    assert "hello.txt" in stat and "1 file changed" in stat
    assert state_of(home, 1)["changed"] == {"files": 1, "insertions": 1, "deletions": 0}


def test_an_agent_that_changes_nothing_says_so(cairn, home):
    cairn("queue", "-a", "demo", "say nothing to do")
    result = cairn("up", "--until-idle")
    assert "the agent changed nothing" in result.stdout
    assert "no changes" in cairn("status").stdout
    assert any(e["event"] == "no-changes" for e in events(home))


def test_the_agent_sees_its_environment_and_gets_the_prompt_as_one_argument(cairn, repo, home):
    script = repo.parent / "show-env.py"
    script.write_text(
        "import os, sys, pathlib\n"
        "pathlib.Path('seen.txt').write_text('\\n'.join([os.environ['CAIRN_TASK_ID'], os.environ['CAIRN_WORKSPACE'],"
        " os.environ['CAIRN_HOME'], os.environ['CAIRN_PROMPT_FILE'], os.getcwd(), str(len(sys.argv)), sys.argv[1]]))\n"
    )
    (repo / "cairn.toml").write_text(
        f'[agents.show]\ncommand = ["python3", "{script}", "{{prompt}}", "{{task_id}}"]\nenv = {{ EXTRA = "1" }}\n'
    )
    prompt = "it's $(rm -rf /) `x` ; echo {task_id} \"quoted\""
    cairn("queue", "-a", "show", prompt)
    assert cairn("up", "--until-idle").returncode == 0
    workspace = home / "workspaces" / "1"
    task_id, ws, cairn_home, prompt_file, cwd, argc, argv1 = git(repo, "show", "cairn/1:seen.txt").split("\n", 6)
    assert (task_id, ws, cairn_home, cwd) == ("1", str(workspace), str(home), str(workspace))
    assert Path(prompt_file).read_text() == prompt
    assert argc == "3" and argv1 == prompt


def test_bootstrap_copies_links_and_runs_setup(cairn, repo, home):
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "node_modules").mkdir()
    (repo / "node_modules" / "lib.js").write_text("x")
    (repo / "cairn.toml").write_text(
        '[bootstrap]\ncopy = [".env"]\nsymlink = ["node_modules"]\nsetup = [["sh", "-c", "echo set-up > setup.out"]]\n'
    )
    cairn("queue", "-a", "demo", "say hi")
    assert cairn("up", "--until-idle").returncode == 0
    workspace = home / "workspaces" / "1"
    assert (workspace / ".env").read_text() == "SECRET=1\n"
    assert (workspace / "node_modules").is_symlink()
    log = (home / "tasks" / "1" / "agent.log").read_text()
    assert "copied .env" in log and "linked node_modules" in log


def test_a_failing_setup_fails_the_task_with_its_output_in_the_log(cairn, repo, home):
    (repo / "cairn.toml").write_text('[bootstrap]\nsetup = [["sh", "-c", "echo npm exploded; exit 7"]]\n')
    cairn("queue", "-a", "demo", "write never.txt: x")
    assert cairn("up", "--until-idle").returncode == 0
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert "setup command failed with exit status 7" in state["reason"]
    assert "npm exploded" in cairn("logs", "1").stdout
    assert not any(e["event"] == "agent-started" for e in events(home))


def test_spawn_starts_one_task_without_a_scheduler_and_waits(cairn, home):
    cairn("queue", "-a", "demo", "write a.txt: a")
    cairn("queue", "-a", "demo", "write b.txt: b")
    result = cairn("spawn", "2", "--wait")
    assert result.returncode == 0, result.stderr
    assert state_of(home, 2)["state"] == "review"
    assert state_of(home, 1)["state"] == "queued"


def test_spawn_refuses_tasks_that_are_not_queued_or_must_wait(cairn, home):
    cairn("queue", "-a", "demo", "write a.txt: a")
    cairn("queue", "-a", "demo", "--after", "1", "write b.txt: b")
    waits = cairn("spawn", "2")
    assert waits.returncode == 4 and "waits (after task 1 (queued))" in waits.stderr
    assert cairn("spawn", "1", "--wait").returncode == 0
    again = cairn("spawn", "1")
    assert again.returncode == 4 and "task 1 is review" in again.stderr
    assert cairn("spawn", "9").returncode == 3


def test_wait_exits_nonzero_when_a_task_failed_and_on_timeout(cairn, home):
    cairn("queue", "-a", "demo", "exit 2")
    assert cairn("spawn", "1", "--wait").returncode == 1
    assert cairn("wait", "1").returncode == 1
    cairn("queue", "-a", "demo", "sleep 30")
    cairn("spawn", "2")
    timed = cairn("wait", "2", "--timeout", "0.3s")
    assert timed.returncode == 1 and "timed out" in timed.stderr
    assert cairn("cancel", "2").returncode == 0
    assert cairn("wait", "2", "--timeout", "x").returncode == 2


def test_logs_follow_until_the_agent_ends(cairn, home):
    cairn("queue", "-a", "demo", "say first\nsleep 0.5\nsay second")
    cairn("spawn", "1")
    followed = cairn("logs", "-f", "1", timeout=30)
    assert followed.returncode == 0
    assert followed.stdout.index("first") < followed.stdout.index("second")
    assert "task 1 is now review" in followed.stdout


def test_attach_to_a_headless_task_says_how_to_follow_it(cairn):
    cairn("queue", "-a", "demo", "sleep 30")
    cairn("spawn", "1")
    result = cairn("attach", "1")
    assert result.returncode == 4
    assert "runs headless" in result.stderr and "cairn logs -f 1" in result.stderr
    cairn("cancel", "1")


def test_a_crew_s_runners_are_forked_by_one_standby_of_the_scheduler(cairn, repo, home, tmp_path):
    """No runner pays an interpreter start of its own: the scheduler's standby
    (cairn/engine/standby.py) forks each, and each is still a runner in full."""
    seen = tmp_path / "seen"
    seen.mkdir()
    script = tmp_path / "family.sh"  # its parent (the runner), the runner's parent, and that one's
    script.write_text(f"r=$PPID; s=$(cut -d' ' -f4 /proc/$r/stat); u=$(cut -d' ' -f4 /proc/$s/stat); echo \"$r $s $u\" > {seen}/$CAIRN_TASK_ID\n")
    (repo / "cairn.toml").write_text(f'[agents.family]\ncommand = ["sh", "{script}"]\n')
    for n in range(4):
        assert cairn("queue", "-a", "family", f"task {n}").returncode == 0
    assert cairn("up", "--until-idle", "--max-agents", "2").returncode == 0
    (scheduler,) = [e["pid"] for e in events(home) if e["event"] == "scheduler-started"]
    lines = {int(p.name): p.read_text().split() for p in seen.iterdir()}
    assert sorted(lines) == [1, 2, 3, 4]
    runners = {int(r) for r, _, _ in lines.values()}
    standbys = {int(s) for _, s, _ in lines.values()}
    assert len(runners) == 4, "one runner per task"
    assert len(standbys) == 1 and scheduler not in standbys, lines
    assert {int(u) for _, _, u in lines.values()} == {scheduler}, "the standby is the scheduler's own child"
    assert all(state_of(home, i)["state"] == "review" for i in range(1, 5))


def test_only_a_new_task_a_new_state_or_a_cancel_wakes_the_scheduler(tmp_path):
    """A runner rewrites its running record several times and everyone reads
    records: none of that changes what a turn decides, so none of it wakes one."""
    import threading

    from cairn.engine.scheduler import Waker

    tasks = tmp_path / "tasks"
    (tasks / "7").mkdir(parents=True)
    record = tasks / "7" / "state.json"
    wake = threading.Event()
    waker = Waker(wake)

    def woken(kind: str, path: Path, dest: Path | None = None, state: str | None = None) -> bool:
        if state is not None:
            record.write_text(f'{{"state": "{state}", "since": "2026-01-01T00:00:00.000Z"}}\n')
        wake.clear()
        waker.saw(kind, str(path), str(dest) if dest else "")
        return wake.is_set()

    temporary = tasks / "7" / ".state.json.1.tmp"
    assert woken("moved", tasks / ".new-7", tasks / "7")  # a task queued
    assert woken("moved", temporary, record, state="queued")
    assert woken("moved", temporary, record, state="running")  # claimed
    assert not woken("moved", temporary, record, state="running")  # its workspace, its agent's pid
    assert not woken("opened", record) and not woken("closed_no_write", record)  # read
    assert not woken("modified", tasks / "7")  # a file made in the task's directory
    assert not woken("closed", tasks / "7" / "agent.log")
    assert woken("moved", temporary, record, state="review")  # its slot is free
    assert woken("moved", tmp_path / "signals" / ".x", tmp_path / "signals" / "cancel-8")
    assert woken("deleted", tasks / "7")


def test_the_scheduler_sees_records_published_in_task_directories_made_after_it_began_watching(tmp_path):
    """Its own inotify reader watches ``tasks/`` and each task directory one
    level down, adding a new one's watch as it appears (and waking once more
    then, so a record published before that watch is still scanned)."""
    import threading

    from cairn.state import atomic
    from cairn.state.inotify import open_watch

    tasks = tmp_path / "tasks"
    (tasks / "1").mkdir(parents=True)
    wake = threading.Event()
    seen: list[tuple[str, str]] = []
    arrived = threading.Condition()

    def saw(kind: str, path: str, dest: str) -> None:
        with arrived:
            seen.append((kind, os.path.relpath(dest or path, tasks)))
            arrived.notify_all()

    def wait_for(event: tuple[str, str]) -> None:
        with arrived:
            assert arrived.wait_for(lambda: event in seen, timeout=30), seen

    watch = open_watch(saw, wake)
    if watch is None:
        pytest.skip("no inotify here")
    try:
        assert watch.tasks(tasks)
        watch.start()
        atomic.write_json(tasks / "1" / "state.json", {"state": "queued"})
        wait_for(("moved", "1/state.json"))
        (tasks / "2").mkdir()
        wait_for(("created", "2"))
        assert wake.wait(30)  # woken once its watch is in place
        atomic.write_json(tasks / "2" / "state.json", {"state": "queued"})
        wait_for(("moved", "2/state.json"))
        (tasks / "2" / "state.json").unlink()
        wait_for(("deleted", "2/state.json"))
        assert watch.complete
    finally:
        watch.stop()
