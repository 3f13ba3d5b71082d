"""A state directory written by format 1 stays readable: the records in
tests/fixtures/state-v1/ were written by Cairn and are kept as they were."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "state-v1"


def install_fixture(repo: Path) -> Path:
    home = repo / ".cairn"
    shutil.copytree(FIXTURE, home)
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
    lines = (FIXTURE / "events.jsonl").read_text().splitlines()
    assert lines and all(json.loads(line)["event"] for line in lines)


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
