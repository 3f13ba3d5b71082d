"""The store: whole writes, dense unique ids under concurrency, and damaged
files reported without stopping the listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from conftest import BIN, events

pytestmark = pytest.mark.usefixtures("warm_config")

# -- atomic writes ---------------------------------------------------------------


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """An empty directory of the test's own."""
    path = tmp_path / "records"
    path.mkdir()
    return path


def test_an_atomic_write_leaves_only_the_whole_file(directory: Path) -> None:
    from cairn.state import atomic

    target = directory / "record.json"
    value = {"text": "é" * 10_000, "n": list(range(500))}

    atomic.write_json(target, {"old": True})
    atomic.write_json(target, value)

    assert json.loads(target.read_text()) == value
    assert os.listdir(directory) == ["record.json"]
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_failed_atomic_write_keeps_the_old_content(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cairn.state import atomic

    target = directory / "state.json"
    atomic.write_json(target, {"version": 1})

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic.write_json(target, {"version": 2})

    assert json.loads(target.read_text()) == {"version": 1}
    assert os.listdir(directory) == ["state.json"]


def test_create_json_has_exactly_one_winner(directory: Path) -> None:
    from cairn.state import atomic

    target = directory / "meta.json"

    assert atomic.create_json(target, {"first": True}) is True
    assert atomic.create_json(target, {"second": True}) is False
    assert json.loads(target.read_text()) == {"first": True}
    assert os.listdir(directory) == ["meta.json"]


_REWRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cairn.core.model import Failed, Queued
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    store = Store(Layout(Path(sys.argv[1])))
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(200):
        # Alternate a small record and one of several hundred kilobytes, so a
        # reader catching a write half-done would see truncated JSON.
        if n % 2:
            state = Failed(since=time.time(), reason=f"round {n} " + "x" * 300_000)
        else:
            state = Queued(since=time.time())
        with store.locked(1):
            store.write_state(1, state)
    """
)


def test_a_reader_never_sees_half_a_state_record(add_task, store) -> None:
    add_task("rewritten under a reader")
    state_file = store.layout.state_file(1)
    writer = subprocess.Popen(
        [sys.executable, "-c", _REWRITER, str(store.layout.home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline() == "ready\n"
    writer.stdin.write("go\n")
    writer.stdin.flush()

    reads, seen = 0, set()
    while writer.poll() is None:
        data = state_file.read_bytes()
        record = json.loads(data)  # raises on half a record
        seen.add(record["state"])
        store.read_state(1)  # and the store's own reader decodes it whole
        reads += 1

    assert writer.wait() == 0
    assert reads > 0
    assert seen == {"queued", "failed"}, (reads, seen)
    assert json.loads(state_file.read_text())["state"] == "failed"
    assert sorted(os.listdir(state_file.parent)) == ["lock", "state.json", "task.json"]


# -- ids under concurrency ---------------------------------------------------------


@pytest.mark.slow
def test_32_queues_at_once_get_ids_1_to_32(cairn, repo: Path, home: Path) -> None:
    cairn("status")  # validate the configuration once; the store is still not there
    assert not home.exists()

    processes = [
        subprocess.Popen(
            [str(BIN / "cairn"), "queue", f"task number {n}"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(32)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]

    assert [p.returncode for p in processes] == [0] * 32, [err for _, err in outputs if err]
    ids = [int(out) for out, _ in outputs]
    assert sorted(ids) == list(range(1, 33))
    for n, task_id in enumerate(ids):
        task = json.loads((home / "tasks" / str(task_id) / "task.json").read_text())
        assert task["prompt"] == f"task number {n}"
    assert sorted(os.listdir(home / "tasks"), key=int) == [str(i) for i in range(1, 33)]
    queued = [e for e in events(home) if e["event"] == "queued"]
    assert sorted(e["task"] for e in queued) == list(range(1, 33))
    assert [e["event"] for e in events(home)].count("init") == 1
    assert (home / "next-id").read_text().strip() == "33"
    assert os.listdir(home / "tmp") == []


def test_a_task_that_fails_to_be_written_leaves_nothing_behind(store, repo: Path) -> None:
    import time

    from cairn.core.model import Queued, Task

    store.init(repo)

    def build(task_id: int) -> Task:
        return Task(id=task_id, title="t", prompt="p", agent="claude", created=time.time())

    def broken(task: Task) -> Queued:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        store.create_task(build, broken)

    assert os.listdir(store.layout.tmp) == []
    assert os.listdir(store.layout.tasks) == []
    assert store.create_task(build, lambda t: Queued(since=t.created)).id == 1


def test_ids_continue_after_the_id_counter_is_lost(cairn, home: Path) -> None:
    for n in range(3):
        cairn("queue", f"task {n}")
    (home / "next-id").unlink()

    assert cairn("queue", "after the loss").stdout.strip() == "4"


def test_ids_skip_a_directory_left_by_a_crash(cairn, home: Path) -> None:
    cairn("queue", "one")
    # A crash after the task directory was renamed in, before next-id moved on.
    (home / "next-id").write_text("1\n")

    assert cairn("queue", "two").stdout.strip() == "2"
    assert json.loads((home / "tasks" / "1" / "task.json").read_text())["prompt"] == "one"


# -- damaged files are reported, never fatal ------------------------------------


def queue_three(add_task) -> None:
    for title in ("first task", "second task", "third task"):
        add_task(title)


def listed_titles(result) -> list[str]:
    return [t["title"] for t in result.json()]


def test_status_reports_a_corrupt_state_record_and_lists_the_rest(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    broken = home / "tasks" / "2" / "state.json"
    broken.write_text('{"state": "queued", "since": ')

    result = cairn("status")

    assert result.returncode == 0
    assert "first task" in result.stdout and "third task" in result.stdout
    assert "second task" not in result.stdout
    assert str(broken) in result.stderr
    assert "Traceback" not in result.stderr


def test_status_reports_a_truncated_task_record(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    broken = home / "tasks" / "3" / "task.json"
    broken.write_bytes(broken.read_bytes()[:40])

    result = cairn("status", "--json")

    assert result.returncode == 0
    assert listed_titles(result) == ["first task", "second task"]
    assert str(broken) in result.stderr


def test_status_reports_a_record_of_the_wrong_shape(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    state = home / "tasks" / "1" / "state.json"
    state.write_text(json.dumps({"state": "exploded", "since": "2026-01-01T00:00:00.000Z"}))

    result = cairn("status", "--json")

    assert result.returncode == 0
    assert listed_titles(result) == ["second task", "third task"]
    assert str(state) in result.stderr and "exploded" in result.stderr


@pytest.mark.parametrize("name", ["notes.txt", "scratch", "7"])
def test_status_reports_a_foreign_entry_in_tasks(cairn, add_task, home: Path, name: str) -> None:
    queue_three(add_task)
    foreign = home / "tasks" / name
    if name == "scratch":
        foreign.mkdir()
    else:
        foreign.write_text("not Cairn's\n")

    result = cairn("status", "--json")

    assert result.returncode == 0, result.stderr
    assert listed_titles(result) == ["first task", "second task", "third task"]
    assert str(foreign) in result.stderr
    assert "Traceback" not in result.stderr


def test_status_reports_a_task_directory_without_its_state(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    missing = home / "tasks" / "2" / "state.json"
    missing.unlink()

    result = cairn("status")

    assert result.returncode == 0
    assert "first task" in result.stdout and "third task" in result.stdout
    assert str(missing) in result.stderr and "missing" in result.stderr


def test_status_skips_dot_files_in_tasks_silently(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    (home / "tasks" / ".task-9-1234").mkdir()

    result = cairn("status")

    assert result.returncode == 0
    assert "skipped" not in result.stderr and ".task-9" not in result.stderr


def test_status_json_on_a_damaged_store_is_still_json(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    (home / "tasks" / "1" / "state.json").write_text("")
    (home / "tasks" / "2" / "task.json").write_text("[1, 2")
    (home / "tasks" / "junk").write_text("junk")

    result = cairn("status", "--json")

    assert result.returncode == 0
    assert listed_titles(result) == ["third task"]
    assert len(result.stderr.splitlines()) == 3


def test_showing_a_corrupt_task_names_the_file(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    broken = home / "tasks" / "2" / "state.json"
    broken.write_text("{")

    result = cairn("status", "2")

    assert result.returncode == 1
    assert str(broken) in result.stderr
    assert "Traceback" not in result.stderr


def test_status_sees_a_state_change_made_after_it_cached_the_listing(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    assert [t["state"] for t in cairn("status", "--json").json()] == ["queued"] * 3

    cairn("cancel", "2")

    assert [t["state"] for t in cairn("status", "--json").json()] == ["queued", "cancelled", "queued"]


def test_the_status_cache_is_only_a_copy(cairn, add_task, home: Path) -> None:
    queue_three(add_task)
    before = cairn("status", "--json").json()
    cache = home / "cache" / "summaries.json"
    assert cache.exists()

    cache.write_text("{ garbage")
    assert cairn("status", "--json").json() == before
    cache.unlink()
    assert cairn("status", "--json").json() == before


def test_a_scan_with_a_memo_reads_the_cache_file_once_and_stays_true_to_the_records(add_task, store, home: Path) -> None:
    """The scheduler scans on every turn with its own copy of the cache (``memo``)."""
    from cairn.core.model import Cancelled

    queue_three(add_task)
    memo: dict = {}
    first = store.scan(memo=memo).summaries
    assert [s.state for s in first] == ["queued"] * 3 and sorted(memo) == ["1", "2", "3"]
    # A cache file claiming another title for an unchanged record: a reader
    # that goes by the file believes it; the memo's holder no longer reads it.
    cache = home / "cache" / "summaries.json"
    data = json.loads(cache.read_text())
    data["tasks"]["1"][1][list(data["tasks"]["1"][1]).index(first[0].title)] = "a title from the file"
    cache.write_text(json.dumps(data))
    assert store.scan().summaries[0].title == "a title from the file"
    assert store.scan(memo=memo).summaries[0].title == first[0].title
    with store.locked(2):
        store.write_state(2, Cancelled(since=first[1].since, reason="changed"))
    assert [s.state for s in store.scan(memo=memo).summaries] == ["queued", "cancelled", "queued"]


# -- the journal -----------------------------------------------------------------


def test_every_journal_line_is_a_json_record(cairn, home: Path) -> None:
    cairn("queue", "first\nwith a second line and “quotes”")
    cairn("queue", "second", "--priority", "high")
    cairn("cancel", "1", "--reason", "changed my mind")

    lines = (home / "events.jsonl").read_text().splitlines()

    records = [json.loads(line) for line in lines]
    assert all(isinstance(r, dict) for r in records)
    assert [r["event"] for r in records] == ["init", "queued", "queued", "cancelled"]
    for record in records:
        datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
    assert records[1]["task"] == 1 and records[2]["priority"] == "high"
    assert records[3] == {**records[3], "task": 1, "previous": "queued", "reason": "changed my mind"}


# -- moves under the lock ---------------------------------------------------------


def test_a_move_the_lifecycle_forbids_changes_nothing(add_task, store) -> None:
    import time

    from cairn.core.model import Review, GitWork
    from cairn.errors import WrongState

    add_task("not started")
    before = store.layout.state_file(1).read_bytes()
    work = GitWork(workspace="w", branch="b", base_commit="c")

    with pytest.raises(WrongState, match="task 1 is queued"):
        store.move(1, "review", lambda s: Review(since=time.time(), started=time.time(), work=work))

    assert store.layout.state_file(1).read_bytes() == before


def test_reading_an_unknown_task_says_no_such_task(add_task, store) -> None:
    from cairn.errors import NoSuchTask

    add_task("the only one")

    with pytest.raises(NoSuchTask):
        store.read_state(5)


def test_a_summary_noted_by_its_writer_equals_the_one_decoded_from_disk(home, repo):
    """A scan may find a new record before its writer's note: both ways give the same summary."""
    import time

    from cairn.core.model import Cancelled, Queued, Task
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    store = Store(Layout(home))
    store.init(repo)
    now = time.time() + 0.0004567  # sub-millisecond digits the records do not keep
    task = store.create_task(lambda i: Task(id=i, title="t", prompt="p", agent="demo", created=now, target="main"),  # type: ignore[arg-type]
                             lambda t: Queued(since=t.created))
    with store.locked(task.id):
        store.write_state(task.id, Cancelled(since=now, reason="r"))  # type: ignore[arg-type]
    (noted,) = store.scan().summaries
    (home / "cache" / "summaries.log").unlink()
    (home / "cache" / "summaries.json").unlink()

    (decoded,) = store.scan().summaries

    assert noted == decoded


def test_a_record_appears_only_once_its_summary_is_noted(home, repo, monkeypatch):
    """The scheduler wakes at the rename that publishes a record and scans at
    once: the writer's note must be there already, or that scan decodes the
    records (and rewrites the cache) on every turn of a busy crew."""
    import time

    from cairn.core.model import Cancelled, Queued, Task
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    store = Store(Layout(home))
    store.init(repo)
    memo: dict = {}
    seen = []

    def scan_without_decoding() -> None:
        with monkeypatch.context() as patched:
            patched.setattr(Store, "read_state", lambda *_: pytest.fail("the scan decoded a record"))
            seen.append([s.state for s in store.scan(memo=memo).summaries])

    publish_and_scan = {}
    for name in ("rename", "replace"):
        def published(src, dst, *, real=getattr(os, name)) -> None:
            real(src, dst)
            if os.path.basename(dst) in ("state.json", "1"):
                scan_without_decoding()  # what a scheduler woken by this rename sees
        publish_and_scan[name] = published
    store.scan(memo=memo)
    monkeypatch.setattr(os, "rename", publish_and_scan["rename"])
    monkeypatch.setattr(os, "replace", publish_and_scan["replace"])

    task = store.create_task(lambda i: Task(id=i, title="t", prompt="p", agent="demo", created=time.time(), target="main"),  # type: ignore[arg-type]
                             lambda t: Queued(since=t.created))
    with store.locked(task.id):
        store.write_state(task.id, Cancelled(since=time.time(), reason="r"))  # type: ignore[arg-type]

    assert seen == [["queued"], ["cancelled"]]


def test_the_scheduler_memo_reads_only_what_was_logged_since_its_last_scan(add_task, store, home: Path) -> None:
    """A crew logs a summary at every state it writes; the scheduler's scans
    take in only the lines since the last, and start over once the log is emptied."""
    from cairn.core.model import Cancelled
    from cairn.state.store import Memo

    queue_three(add_task)
    log = home / "cache" / "summaries.log"
    memo = Memo()
    store.scan(memo=memo)
    with store.locked(2):
        store.write_state(2, Cancelled(since=1.0, reason="changed"))
    assert [s.state for s in store.scan(memo=memo).summaries] == ["queued", "cancelled", "queued"]
    assert memo.log_read == log.stat().st_size > 0 and memo.log_lines == len(log.read_bytes().splitlines())
    before = memo.log_lines
    with open(log, "ab") as half:
        half.write(b'["3", [1, 2')  # a line still being written waits for its end
    assert [s.state for s in store.scan(memo=memo).summaries] == ["queued", "cancelled", "queued"]
    assert memo.log_lines == before
    os.truncate(log, 0)  # emptied by another reader's fold
    with store.locked(3):
        store.write_state(3, Cancelled(since=1.0, reason="changed"))
    assert [s.state for s in store.scan(memo=memo).summaries] == ["queued", "cancelled", "cancelled"]


def test_a_fold_that_could_not_empty_the_log_is_not_made_again_on_the_next_turn(add_task, store, home: Path, monkeypatch) -> None:
    """Under a busy crew the log often grows while a fold writes the cache;
    the scheduler then keeps those lines and folds again only after as many more."""
    from cairn.core.model import Cancelled
    from cairn.state import store as store_module
    from cairn.state.store import Memo

    queue_three(add_task)
    memo = Memo()
    store.scan(memo=memo)
    monkeypatch.setattr(store_module, "_LOG_FOLD", 2)
    for task_id in (1, 2, 3):
        with store.locked(task_id):
            store.write_state(task_id, Cancelled(since=1.0, reason="changed"))
    log = home / "cache" / "summaries.log"
    folds = []
    write_bytes = store_module.atomic.write_bytes

    def fold_while_a_line_comes(path: Path, data: bytes, **options) -> None:
        write_bytes(path, data, **options)
        if path.name == "summaries.json":
            folds.append(path)
            with open(log, "ab") as more:
                more.write(b"\n")

    monkeypatch.setattr(store_module.atomic, "write_bytes", fold_while_a_line_comes)
    assert [s.state for s in store.scan(memo=memo).summaries] == ["cancelled"] * 3
    assert len(folds) == 1 and log.stat().st_size > 0  # not emptied: a line came meanwhile
    assert [s.state for s in store.scan(memo=memo).summaries] == ["cancelled"] * 3
    assert len(folds) == 1
