"""``cairn demo``: the README's first command runs Cairn's main job offline,
for real (queue, the scheduler, review, accept, reject), and leaves a
repository whose history shows it."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import git


def test_the_demo_lands_three_tasks_rejects_one_and_keeps_the_repository_it_was_given(cairn, tmp_path: Path):
    target = tmp_path / "demo"
    shown = cairn("demo", str(target), timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert "$ cairn up --until-idle" in shown.stdout and f"The demo repository is kept in {target}" in shown.stdout
    states = {row["id"]: row["state"] for row in json.loads(cairn("status", "--json", cwd=target).stdout)}
    assert states == {1: "accepted", 2: "accepted", 3: "rejected", 4: "accepted"}
    calc = (target / "calc.py").read_text()
    assert "def mul(a, b)" in calc and "def div(a, b)" in calc, "task 4 ran after task 1 landed, on top of it"
    assert "Functions: add, sub, mul." in (target / "README.md").read_text()
    assert not (target / "test_sub.py").exists(), "the rejected task's work did not land"
    assert git(target, "status", "--porcelain", "--untracked-files=no") == ""
    assert len(git(target, "log", "--oneline").splitlines()) >= 4


def test_the_demo_refuses_a_directory_that_is_not_empty(cairn, tmp_path: Path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine\n")
    refused = cairn("demo", str(occupied))
    assert refused.returncode == 2
    assert "is not empty: give a new directory, or none for a temporary one" in refused.stderr
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"], "nothing was written into it"
