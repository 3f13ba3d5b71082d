"""A state directory written by format 1 stays readable: the records in
tests/fixtures/state-v1/ and tests/fixtures/state-v1-mixed/ were written by
Cairn (format 1; tests/fixtures/make-state-v1-mixed.sh says how) and are kept as they were.
They are read here as Cairn reads them: through the store (format 1 migrated
on read, cairn/core/migrate.py), the journal reader, gc's record reader, and
the installed commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "state-v1"
#: Git and jj tasks in one directory, one of every state, after a gc run
#: (gc.json of a removed workspace, a git trash and a jj trash expired).
MIXED = Path(__file__).parent / "fixtures" / "state-v1-mixed"


def install_fixture(repo: Path, fixture: Path = FIXTURE) -> Path:
    home = repo / ".cairn"
    shutil.copytree(fixture, home)
    meta = json.loads((home / "meta.json").read_text())
    meta["repo"] = str(repo)
    (home / "meta.json").write_text(json.dumps(meta))
    return home


def test_every_state_of_format_1_is_read(cairn, repo):
    install_fixture(repo)
    listed = cairn("status", "--json")
    assert listed.returncode == 0 and listed.stderr == ""
    states = {row["id"]: row["state"] for row in listed.json()}
    assert states == {1: "accepted", 2: "rejected", 3: "failed", 4: "cancelled", 5: "queued", 6: "review", 7: "running"}
    for task_id in states:
        shown = cairn("status", str(task_id), "--json")
        assert shown.returncode == 0, shown.stderr
        assert shown.json()["id"] == task_id


def test_a_format_1_directory_takes_new_tasks_after_its_last_id(cairn, repo):
    install_fixture(repo)
    assert cairn("queue", "-a", "demo", "write z.txt: z").stdout.strip() == "8"


def test_the_journal_of_format_1_parses(repo):
    from cairn.state.journal import Reader

    for fixture in (FIXTURE, MIXED):
        entries = Reader(fixture / "events.jsonl").read()
        lines = (fixture / "events.jsonl").read_bytes().count(b"\n")
        assert len(entries) == lines > 0, "every line is whole"
        assert all(entry.record is not None and entry.record["event"] for entry in entries), "every line is a record"


def test_format_1_records_read_through_the_store_as_format_2(repo):
    """Migrated on read (cairn/core/migrate.py): the records on disk stay as
    they are until a command writes the task's state again."""
    from cairn.core.model import GitKept, GitWork, Rejected, Review
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    home = install_fixture(repo)
    store = Store(Layout(home))
    review = store.read_state(6)
    assert isinstance(review, Review) and isinstance(review.work, GitWork)
    assert (review.work.branch, review.work.head_commit) == ("cairn/6", "281d3bba8b460a46df76c75ca6be872f87d22d6b")
    rejected = store.read_state(2)
    assert isinstance(rejected, Rejected) and rejected.kept == GitKept(ref="refs/cairn/trash/2")
    assert rejected.trash_ref == "refs/cairn/trash/2" and rejected.previous is not None
    assert json.loads((home / "tasks" / "2" / "state.json").read_text())["format"] == 1, "reading writes nothing"


def test_a_format_1_jj_record_keeps_its_workspace_name_and_operation(repo):
    from cairn.core.model import JjKept, JjWork, Rejected
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    home = install_fixture(repo)
    path = home / "tasks" / "2" / "state.json"
    old = json.loads(path.read_text())
    old["operation"], old["trash_ref"] = "ab" * 64, None
    old["previous"]["work"] = {
        "backend": "jj", "workspace": "/tmp/fx/ws/2", "branch": "cairn-2", "base_commit": "1" * 40,
        "head_commit": "2" * 40, "change_id": "kqzz", "operation": "cd" * 64,
    }
    path.write_text(json.dumps(old))
    state = Store(Layout(home)).read_state(2)
    assert isinstance(state, Rejected) and state.kept == JjKept(operation="ab" * 64)
    work = state.previous.work if state.previous else None
    assert work == JjWork(workspace="/tmp/fx/ws/2", name="cairn-2", base_commit="1" * 40, head_commit="2" * 40, change_id="kqzz", operation="cd" * 64)


def test_the_first_write_upgrades_the_header_and_writes_format_2(cairn, repo, home):
    install_fixture(repo)
    assert cairn("cancel", "5").returncode == 0
    assert json.loads((home / "meta.json").read_text())["format"] == 2, "an older Cairn now refuses the directory"
    assert json.loads((home / "tasks" / "5" / "state.json").read_text())["format"] == 2
    assert json.loads((home / "tasks" / "6" / "state.json").read_text())["format"] == 1, "untouched records stay as they were"
    upgraded = [json.loads(line) for line in (home / "events.jsonl").read_text().splitlines() if '"format-upgraded"' in line]
    assert [e["format"] for e in upgraded] == [2]
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    assert cairn("status", "6", "--json").returncode == 0
    assert Store(Layout(home)).read_state(6).work.branch == "cairn/6"  # type: ignore[union-attr]


# --- state-v1-mixed: git and jj tasks of every state, after a gc run -------


def test_a_task_of_every_state_reads_through_the_store_as_format_2(repo):
    from typing import get_args

    from cairn.core.model import Accepted, GitKept, GitWork, JjKept, JjWork, Rejected, Review, Running, State
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    store = Store(Layout(install_fixture(repo, MIXED)))
    states = {task_id: store.read_state(task_id) for task_id in store.task_ids()}
    assert {type(state) for state in states.values()} == set(get_args(State)), "one task of each state the model has"
    assert all(state.format == 2 for state in states.values())
    assert all(store.read_task(task_id).id == task_id for task_id in states)
    review_jj, review_git = states[8], states[7]
    assert isinstance(review_jj, Review) and isinstance(review_jj.work, JjWork)
    assert review_jj.work.name == "cairn-8" and review_jj.work.change_id == "qssvwmrnwkuuwovwowrkowzpklomqxlm"
    assert isinstance(review_git, Review) and isinstance(review_git.work, GitWork) and review_git.work.branch == "cairn/7"
    rejected_jj, rejected_git = states[4], states[2]
    assert isinstance(rejected_jj, Rejected) and isinstance(rejected_jj.kept, JjKept)
    assert rejected_jj.operation is not None and rejected_jj.operation.startswith("31ba70b8bbca")
    assert rejected_jj.previous is not None and isinstance(rejected_jj.previous.work, JjWork)
    assert isinstance(rejected_git, Rejected) and rejected_git.kept == GitKept(ref="refs/cairn/trash/2")
    accepted_jj = states[5]
    assert isinstance(accepted_jj, Accepted) and accepted_jj.strategy == "squash" and isinstance(accepted_jj.work, JjWork)
    running = states[10]
    assert isinstance(running, Running) and isinstance(running.work, GitWork) and running.agent_pid == 1317
    assert {summary.id: summary.state for summary in store.scan().summaries} == {i: s.state for i, s in states.items()}


def test_gc_records_of_format_1_read_as_gc_wrote_them(repo):
    from cairn.state.gc_record import read_record
    from cairn.state.layout import Layout

    layout = Layout(install_fixture(repo, MIXED))
    workspace_gone = read_record(layout.gc_record(3))
    assert workspace_gone.workspace is not None and workspace_gone.workspace.path == "/tmp/fx2/.cairn/workspaces/3"
    assert workspace_gone.branch is not None and workspace_gone.branch.name == "cairn/3" and workspace_gone.branch.archive_ref is None
    git_trash = read_record(layout.gc_record(2)).trash
    assert git_trash is not None and git_trash.ref == "refs/cairn/trash/2" and git_trash.operation is None
    jj_trash = read_record(layout.gc_record(4)).trash
    assert jj_trash is not None and jj_trash.ref is None and jj_trash.operation is not None
    assert jj_trash.commit == "9a59c1774b631012d93bb22e1e5b02bf9fff08e3"
    assert read_record(layout.gc_record(7)) == read_record(layout.gc_record(999)), "no gc.json: an empty record"


def test_status_lists_git_and_jj_tasks_of_format_1(cairn, repo):
    install_fixture(repo, MIXED)
    table = cairn("status")
    assert table.returncode == 0, table.stderr
    rows = {line.split()[0]: line.split()[1] for line in table.stdout.splitlines()[1:] if line.split()[:1] != ["no"]}
    assert rows == {"1": "accepted", "2": "rejected", "3": "failed", "4": "rejected", "5": "accepted", "6": "cancelled",
                    "7": "review", "8": "review", "9": "queued", "10": "running"}
    assert "its runner is gone" in table.stdout, "the running task whose runner is not there says so"
    jj_review = cairn("status", "8", "--json")
    assert jj_review.returncode == 0, jj_review.stderr
    work = jj_review.json()["detail"]["state"]["work"]
    assert (work["backend"], work["name"], jj_review.json()["detail"]["state"]["format"]) == ("jj", "cairn-8", 2)
    assert "branch" not in work, "format 1's jj branch became the workspace's name"
    jj_rejected = cairn("status", "4", "--json").json()["detail"]["state"]
    assert jj_rejected["kept"]["backend"] == "jj" and jj_rejected["kept"]["operation"].startswith("31ba70b8bbca")


def test_events_and_metrics_read_the_journal_of_format_1(cairn, repo):
    from cairn.state.journal import read_events

    home = install_fixture(repo, MIXED)
    recorded = read_events(home / "events.jsonl")
    listed = cairn("events", "--json")
    assert listed.returncode == 0, listed.stderr
    shown = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["event"], e.get("task")) for e in shown[: len(recorded)]] == [(e["event"], e.get("task")) for e in recorded]
    of_four = [json.loads(line) for line in cairn("events", "--task", "4", "--json").stdout.splitlines()]
    assert [e["event"] for e in of_four] == ["queued", "running", "agent-started", "review", "rejected", "gc"]
    assert of_four[-1]["action"] == "expire-trash"
    readable = cairn("events", "--task", "3").stdout
    assert "remove-workspace" in readable and "delete-branch" in readable
    metrics = cairn("metrics", "--json")
    assert metrics.returncode == 0, metrics.stderr
    assert "accepted" in metrics.stdout and "rejected" in metrics.stdout


def test_gc_honours_what_a_format_1_gc_recorded(cairn, repo):
    """The jj trash of task 4 expires by its gc.json: read, gc leaves it be;
    without it, the same gc would expire that trash again."""
    home = install_fixture(repo, MIXED)
    honoured = cairn("gc", "--dry-run", "--max-age", "1s", "--json")
    assert honoured.returncode == 0, honoured.stderr
    assert honoured.json()["trash"] == 0 and honoured.json()["dry_run"] is True
    (home / "tasks" / "4" / "gc.json").unlink()
    forgotten = cairn("gc", "--dry-run", "--max-age", "1s")
    assert forgotten.returncode == 0, forgotten.stderr
    assert "would expire trash of task 4 (jj commit 9a59c1774b63)" in forgotten.stdout


def test_restore_refuses_work_a_format_1_gc_expired(cairn, repo):
    install_fixture(repo, MIXED)
    jj_task = cairn("restore", "4")
    assert jj_task.returncode == 1
    assert "the work of task 4 expired: gc expired its trash on 2026-12-02" in jj_task.stderr
    git_task = cairn("restore", "2")
    assert git_task.returncode == 1 and "refs/cairn/trash/2: gc expired it" in git_task.stderr


def test_diff_of_a_format_1_task_shows_its_recorded_proposal(cairn, repo):
    install_fixture(repo, MIXED)
    shown = cairn("diff", "7")
    assert shown.returncode == 0, shown.stderr
    assert "+++ b/g.txt" in shown.stdout and "+g" in shown.stdout
