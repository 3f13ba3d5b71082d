"""The conflict radar: which tasks in review collide, before anyone accepts."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import git, run_task, state_of


def _seed(repo):
    (repo / "src" / "app.py").write_text("one\ntwo\nthree\n")
    git(repo, "commit", "-qam", "three lines")


def test_the_same_line_conflicts_files_of_one_folder_only_overlap(cairn, repo, home):
    _seed(repo)
    first = run_task(cairn, "replace src/app.py: two => TWO")
    second = run_task(cairn, "replace src/app.py: two => deux")
    neighbour = run_task(cairn, "write src/other.py: other")
    apart = run_task(cairn, "write docs/guide.md: guide")

    report = cairn("conflicts", "--json")
    assert report.returncode == 0, report.stderr
    data = report.json()
    assert data["review"] == [first, second, neighbour, apart]
    pairs = {tuple(p["tasks"]): p for p in data["pairs"]}
    assert pairs[(first, second)]["conflict"] is True
    assert pairs[(first, second)]["conflict_paths"] == ["src/app.py"]
    assert pairs[(first, neighbour)] == {"tasks": [first, neighbour], "overlap": ["src/"], "conflict": False, "conflict_paths": []}
    assert (second, neighbour) in pairs
    assert not any(apart in key for key in pairs), "a proposal in another folder overlaps nothing"

    text = cairn("conflicts").stdout
    assert f"task {first} and task {second} conflict in: src/app.py" in text
    assert f"task {first} and task {neighbour} overlap in src/, but merge cleanly" in text
    matrix = text.splitlines()
    assert matrix[0].split() == [str(i) for i in (first, second, neighbour, apart)]
    assert matrix[1].split() == [str(first), "-", "X", "~", "."]

    status = cairn("status").stdout
    assert f"conflicts with task {second}" in status and f"conflicts with task {first}" in status
    rows = {row["id"]: row for row in cairn("status", "--json").json()}
    assert rows[first]["conflicts_with"] == [second] and rows[neighbour]["conflicts_with"] == []
    # Nothing was checked out or written in the repository to find that out.
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"


def test_the_radar_sees_commits_made_in_review_and_a_running_tasks_touches(cairn, repo, home, tmp_path):
    _seed(repo)
    reviewed = run_task(cairn, "replace src/app.py: one => ONE")
    other = run_task(cairn, "write src/else.py: x")
    assert cairn("conflicts", "--json").json()["pairs"][0]["conflict"] is False
    # The human edits task 2's branch during review: now it touches the same line.
    workspace = state_of(home, other)["work"]["workspace"]
    app = f"{workspace}/src/app.py"
    with open(app, "w") as handle:
        handle.write("uno\ntwo\nthree\n")
    git(Path(workspace), "commit", "-qam", "by hand")
    live = cairn("conflicts", "--json").json()
    assert live["pairs"][0]["conflict"] is True and live["pairs"][0]["conflict_paths"] == ["src/app.py"]

    release = tmp_path / "release"
    queued = cairn("queue", "-a", "demo", f"write src/app.py: rewritten\nwait-for {release}")
    running = int(queued.stdout)
    assert cairn("spawn", str(running)).returncode == 0
    try:
        deadline = time.monotonic() + 60
        touches = []
        while time.monotonic() < deadline and not touches:
            touches = cairn("conflicts", "--json").json()["touches"]
        assert {"running": running, "review": reviewed, "overlap": ["src/app.py"]} in touches
        text = cairn("conflicts").stdout
        assert f"running task {running} has touched src/app.py, which task {reviewed} in review changes" in text
    finally:
        release.write_text("go")  # the agent never outlives the test, whatever failed
    assert cairn("wait", str(running)).returncode == 0


def test_avoid_conflicts_holds_a_queued_task_whose_locks_meet_a_proposal(cairn, repo, home):
    changed = run_task(cairn, "write src/app.py: new")
    held = int(cairn("queue", "-a", "demo", "--lock", "src/**", "write src/more.py: more").stdout)
    free = int(cairn("queue", "-a", "demo", "--lock", "docs/**", "write docs/a.md: a").stdout)
    rows = {row["id"]: row for row in cairn("status", "--json").json()}
    assert rows[held]["waiting"] is None, "off by default"

    (repo / "cairn.toml").write_text("[schedule]\navoid_conflicts = true\n")
    rows = {row["id"]: row for row in cairn("status", "--json").json()}
    assert rows[held]["waiting"] == f"conflict risk with task {changed} in review (src/app.py ~ src/**)"
    assert rows[free]["waiting"] is None
    refused = cairn("spawn", str(held))
    assert refused.returncode == 4 and "conflict risk with task" in refused.stderr
    assert cairn("up", "--until-idle").returncode == 0
    assert state_of(home, held)["state"] == "queued" and state_of(home, free)["state"] == "review"
    assert cairn("accept", str(changed)).returncode == 0
    assert cairn("up", "--until-idle").returncode == 0
    assert state_of(home, held)["state"] == "review"


def test_overlap_is_files_then_folders_never_the_root():
    from cairn.core.conflicts import overlap

    assert overlap(["a/x.py", "README.md"], ["a/x.py", "setup.py"]) == ["a/x.py"]
    assert overlap(["a/x.py"], ["a/y.py"]) == ["a/"]
    assert overlap(["README.md"], ["setup.py"]) == []
    assert overlap(["a/b/x.py", "c/d.py"], ["a/b/y.py", "c/d.py"]) == ["c/d.py", "a/b/"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a.py", "src/a.py", "src/b.py", "src/x/c.py", "docs/d.md", "docs/e.md"]),
                         max_size=4), max_size=8))
def test_only_pairs_sharing_a_file_or_folder_are_compared_and_none_is_missed(changes):
    from itertools import combinations

    from cairn.core.conflicts import Proposal, overlap, overlapping_pairs

    proposals = [Proposal(task_id=i + 1, head=f"h{i}", paths=paths) for i, paths in enumerate(changes)]
    every_pair = [(a.task_id, b.task_id, overlap(a.paths, b.paths)) for a, b in combinations(proposals, 2)]
    assert [(p.a, p.b, p.overlap) for p in overlapping_pairs(proposals)] == [t for t in every_pair if t[2]]
