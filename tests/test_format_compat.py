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
