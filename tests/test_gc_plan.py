"""gc's pure plan (cairn/core/gc.py): which workspaces, branches, trash, logs,
signal files and journal segments go, and why.  No files, no processes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.core.gc import (
    FINISHED, PROTECTED, ArchiveBranch, Branch, CompressLog, DeleteBranch, DropLog, ExpireTrash, Facts, JournalFile,
    LogFile, Note, Policy, Process, Ref, RemoveSignal, RemoveWorkspace, RotateJournal, SignalFile, Stray, TaskFacts,
    Workspace, archive_name, blocker, describe, format_bytes, newest_first, owner_of, plan, summary_line, tally,
)
from cairn.core.records import replace

DAY = 86400.0
NOW = 1_800_000_000.0
AGES = {"accepted": 7 * DAY, "rejected": 14 * DAY, "failed": 14 * DAY, "cancelled": 7 * DAY}


def policy(**changes) -> Policy:
    return Policy(max_age=changes.pop("max_age", AGES), **changes)


def task(task_id: int, state: str = "failed", days: float = 1, *, workspace: bool = True, size: int | None = None,
         blocked: str | None = None, processes: tuple[Process, ...] = (), branch: bool = True, merged: bool = False,
         trash: bool = False, logs: tuple[LogFile, ...] = (), target: str | None = "main") -> TaskFacts:
    return TaskFacts(
        id=task_id,
        state=state,
        since=NOW - days * DAY,
        target=target,
        workspace=Workspace(f"/ws/{task_id}", size, blocked, processes) if workspace else None,
        branch=Branch(f"cairn/{task_id}", f"c{task_id}", merged) if branch else None,
        trash=Ref(f"refs/cairn/trash/{task_id}", f"t{task_id}") if trash else None,
        logs=logs,
    )


def facts(*tasks: TaskFacts, **changes) -> Facts:
    changes.setdefault("known_ids", frozenset(t.id for t in tasks))
    return Facts(tasks=tuple(tasks), **changes)


def of(kind, result) -> list:
    return [a for a in result.actions if isinstance(a, kind)]


def removed(result) -> list[int]:
    return sorted(a.task for a in of(RemoveWorkspace, result))


# -- the age rule ---------------------------------------------------------------


def test_an_old_workspace_goes_and_a_recent_one_stays():
    result = plan(facts(task(1, days=20), task(2, days=2)), policy(), NOW)
    assert removed(result) == [1]
    (action,) = of(RemoveWorkspace, result)
    assert action.path == "/ws/1"
    assert action.reason == "failed 20d ago, past max age 14d"


@pytest.mark.parametrize(("state", "days", "goes"), [
    ("accepted", 8, True), ("accepted", 6, False), ("cancelled", 8, True), ("cancelled", 6, False),
    ("failed", 15, True), ("failed", 13, False), ("rejected", 15, True), ("rejected", 13, False),
])
def test_each_finished_state_has_its_own_max_age(state, days, goes):
    assert removed(plan(facts(task(1, state, days)), policy(), NOW)) == ([1] if goes else [])


@pytest.mark.parametrize("state", sorted(PROTECTED))
def test_queued_running_and_review_tasks_are_never_touched_however_old(state):
    old = task(1, state, days=1000, trash=True, logs=(LogFile("/t/1/agent.log", 10, False),))
    result = plan(facts(old), policy(max_age=dict.fromkeys(FINISHED, 0.0), keep=0, max_size=0, log_age=0, purge=True, orphans=True, force=True), NOW)
    assert result.actions == ()


def test_a_max_age_of_zero_takes_every_finished_workspace():
    result = plan(facts(task(1, days=0.001), task(2, "accepted", days=0.001)), policy(max_age=dict.fromkeys(FINISHED, 0.0)), NOW)
    assert removed(result) == [1, 2]


# -- keep -----------------------------------------------------------------------------


def test_keep_3_of_five_keeps_the_three_newest_whatever_their_age():
    tasks = [task(n, days=days) for n, days in [(1, 1), (2, 30), (3, 2), (4, 40), (5, 3)]]
    result = plan(facts(*tasks), policy(keep=3), NOW)
    assert removed(result) == [2, 4]
    reasons = {a.task: a.reason for a in of(RemoveWorkspace, result)}
    assert reasons[2] == "failed 30d ago, past max age 14d", "the age says why when both rules apply"
    result = plan(facts(*[task(n, days=100 + n) for n in range(1, 6)]), policy(keep=3), NOW)
    assert removed(result) == [4, 5], "the newest three stay however old"


def test_keep_removes_young_workspaces_beyond_the_newest_n():
    result = plan(facts(*[task(n, days=n / 10) for n in range(1, 6)]), policy(keep=3), NOW)
    assert removed(result) == [4, 5]
    assert all(a.reason == "older than the newest 3 finished workspaces (keep 3)" for a in of(RemoveWorkspace, result))


def test_keep_zero_means_no_count_rule():
    assert removed(plan(facts(*[task(n, days=1) for n in range(1, 20)]), policy(keep=0), NOW)) == []


def test_newest_first_breaks_ties_by_the_higher_id():
    assert [t.id for t in newest_first([task(1, days=1), task(3, days=1), task(2, days=0.5)])] == [2, 3, 1]


# -- the size limit -------------------------------------------------------------------


def test_the_size_limit_removes_the_oldest_first_until_under():
    tasks = [task(n, days=10 - n, size=100) for n in range(1, 6)]  # task 1 is the oldest
    result = plan(facts(*tasks), policy(max_size=250), NOW)
    assert removed(result) == [1, 2, 3]
    assert "over max size 250 B" in of(RemoveWorkspace, result)[0].reason
    assert result.notes == ()


def test_active_workspaces_count_toward_the_size_limit_but_never_go():
    tasks = [task(1, days=5, size=100), task(2, days=4, size=100), task(3, "running", days=9, size=None)]
    assert removed(plan(facts(*tasks, active_bytes=150), policy(max_size=250), NOW)) == [1]


def test_the_size_limit_skips_a_blocked_workspace_and_takes_the_next_oldest():
    tasks = [task(1, days=9, size=100, blocked="uncommitted changes"), task(2, days=8, size=100), task(3, days=7, size=100)]
    result = plan(facts(*tasks), policy(max_size=200), NOW)
    assert removed(result) == [2]


def test_the_size_limit_overrides_keep_and_says_when_it_cannot_be_met():
    tasks = [task(1, days=2, size=100), task(2, days=1, size=100, blocked="locked")]
    result = plan(facts(*tasks, active_bytes=500), policy(max_size=100, keep=5), NOW)
    assert removed(result) == [1]
    (note,) = result.notes
    assert note.what == "size limit" and "still take 600 B, over 100 B" in note.reason


def test_a_blocked_workspace_picked_by_age_is_noted_with_its_reason():
    result = plan(facts(task(1, days=30, blocked="uncommitted changes in it (2 paths): commit or discard them")), policy(), NOW)
    assert removed(result) == [] and of(DeleteBranch, result) == []
    assert result.notes == (Note("skipped", "workspace of task 1 (/ws/1)", "uncommitted changes in it (2 paths): commit or discard them", 1),)


def test_a_process_inside_blocks_unless_force_which_ends_it_first():
    sleeper = (Process(4242, "sleep"),)
    result = plan(facts(task(1, days=30, processes=sleeper)), policy(), NOW)
    assert removed(result) == []
    assert result.notes[0].reason == "process 4242 (sleep) works inside it; --force ends it first"
    forced = plan(facts(task(1, days=30, processes=sleeper)), policy(force=True), NOW)
    assert of(RemoveWorkspace, forced)[0].end_processes == sleeper


def test_blocker_lists_at_most_three_processes():
    many = tuple(Process(n, "sh") for n in range(5))
    assert blocker(Workspace("/w", processes=many), False) == "process 0 (sh), 1 (sh), 2 (sh) and 2 more works inside it; --force ends it first"
    assert blocker(Workspace("/w", processes=many, blocked="locked"), True) == "locked"
    assert blocker(Workspace("/w", processes=many), True) is None


# -- branches ---------------------------------------------------------------------------


def test_an_unmerged_branch_is_archived_before_it_is_deleted():
    result = plan(facts(task(1, days=30)), policy(), NOW)
    kinds = [type(a) for a in result.actions]
    assert kinds == [RemoveWorkspace, ArchiveBranch, DeleteBranch]
    archive, delete = result.actions[1], result.actions[2]
    assert (archive.ref, archive.commit, archive.reason) == ("refs/cairn/archive/1", "c1", "it holds commits not on main")
    assert (delete.branch, delete.commit, delete.archived) == ("cairn/1", "c1", "refs/cairn/archive/1")


def test_a_merged_branch_is_deleted_without_an_archive():
    result = plan(facts(task(1, "accepted", days=30, merged=True, workspace=False)), policy(), NOW)
    assert [type(a) for a in result.actions] == [DeleteBranch]
    assert result.actions[0].archived is None


def test_purge_deletes_an_unmerged_branch_without_an_archive():
    result = plan(facts(task(1, days=30)), policy(purge=True), NOW)
    assert [type(a) for a in result.actions] == [RemoveWorkspace, DeleteBranch]
    assert result.actions[1].archived is None


def test_a_branch_stays_while_its_workspace_does():
    kept_by_keep = plan(facts(task(1, days=30), task(2, days=31)), policy(keep=2), NOW)
    assert kept_by_keep.actions == ()
    young_workspace_removed_by_size = plan(facts(task(1, days=1, size=10)), policy(max_size=0), NOW)
    assert [type(a) for a in young_workspace_removed_by_size.actions] == [RemoveWorkspace], "the branch lives to its max age"


def test_a_branch_checked_out_in_another_worktree_is_not_deleted():
    checked = replace(task(1, days=30, workspace=False), branch=Branch("cairn/1", "c1", False, checked_out_in="/elsewhere"))
    result = plan(facts(checked), policy(), NOW)
    assert result.actions == ()
    assert result.notes[0].reason == "checked out in /elsewhere"


def test_a_branch_or_trash_a_queued_task_starts_from_stays():
    failed = task(1, days=30, workspace=False)
    rejected = task(2, "rejected", days=30, workspace=False, branch=False, trash=True)
    needed = {"refs/heads/cairn/1": 5, "refs/cairn/trash/2": 6, "refs/heads/cairn/idea": 7}
    result = plan(facts(failed, rejected, task(5, "queued"), task(6, "queued"), task(7, "running"),
                        stray_branches=(Branch("cairn/idea", "ci", False),), needed=needed), policy(orphans=True), NOW)
    assert result.actions == ()
    assert [(n.what, n.reason) for n in result.notes] == [
        ("branch cairn/1 of task 1", "task 5 starts from it"),
        ("trash refs/cairn/trash/2 of task 2", "task 6 starts from it"),
        ("branch cairn/idea", "task 7 starts from it"),
    ]


def test_an_archive_ref_taken_by_other_commits_gets_the_next_free_name():
    assert archive_name("refs/cairn/archive/1", "c1", {}, set()) == ("refs/cairn/archive/1", False)
    assert archive_name("refs/cairn/archive/1", "c1", {"refs/cairn/archive/1": "c1"}, set()) == ("refs/cairn/archive/1", True)
    taken = {"refs/cairn/archive/1": "old", "refs/cairn/archive/1-2": "older"}
    assert archive_name("refs/cairn/archive/1", "c1", taken, set()) == ("refs/cairn/archive/1-3", False)
    assert archive_name("refs/cairn/archive/1", "c1", {}, {"refs/cairn/archive/1"}) == ("refs/cairn/archive/1-2", False)


def test_a_branch_already_archived_is_only_deleted():
    result = plan(facts(task(1, days=30, workspace=False), refs={"refs/cairn/archive/1": "c1"}), policy(), NOW)
    assert [type(a) for a in result.actions] == [DeleteBranch]
    assert result.actions[0].archived == "refs/cairn/archive/1"


def test_a_task_without_a_target_archives_saying_so():
    result = plan(facts(task(1, days=30, target=None)), policy(), NOW)
    assert of(ArchiveBranch, result)[0].reason == "it holds commits on no other branch"


# -- trash ------------------------------------------------------------------------------------


def test_trash_expires_with_the_rejected_max_age():
    old = task(1, "rejected", days=15, workspace=False, branch=False, trash=True)
    young = task(2, "rejected", days=13, workspace=False, branch=False, trash=True)
    result = plan(facts(old, young), policy(), NOW)
    assert result.actions == (ExpireTrash(1, "refs/cairn/trash/1", "t1", "rejected 15d ago, past max age 14d"),)


def test_trash_is_never_archived_even_when_unmerged():
    result = plan(facts(task(1, "rejected", days=30, workspace=False, branch=False, trash=True)), policy(), NOW)
    assert of(ArchiveBranch, result) == []


# -- orphans ------------------------------------------------------------------------------------


def orphan_facts(**changes) -> Facts:
    base = dict(
        known_ids=frozenset({1, 2}),
        strays=(Stray(Workspace("/ws/99"), "cairn/99"), Stray(Workspace("/ws/2"), None), Stray(Workspace("/wt/x"), "cairn/1")),
        stray_branches=(Branch("cairn/99", "c99", False, checked_out_in="/ws/99"), Branch("cairn/1", "c1", False), Branch("cairn/old-idea", "co", True)),
        refs={"refs/cairn/trash/2": "t2", "refs/cairn/trash/77": "t77", "refs/cairn/archive/5": "a5"},
    )
    base.update(changes)
    return Facts(**base)


def test_orphans_are_reported_not_removed():
    result = plan(orphan_facts(), policy(), NOW)
    assert result.actions == ()
    assert [(n.kind, n.what) for n in result.notes] == [
        ("orphan", "worktree /ws/99"), ("orphan", "branch cairn/99"), ("orphan", "branch cairn/old-idea"), ("orphan", "trash refs/cairn/trash/77"),
    ]
    assert all(n.reason == "no task behind it; `cairn gc --orphans` removes it" for n in result.notes)


def test_with_orphans_they_go_archived_unless_merged():
    result = plan(orphan_facts(), policy(orphans=True), NOW)
    assert result.actions == (
        RemoveWorkspace(None, "/ws/99", "no task behind it"),
        ArchiveBranch(None, "cairn/99", "c99", "refs/cairn/archive/orphans/cairn/99", "it holds commits not on HEAD"),
        DeleteBranch(None, "cairn/99", "c99", "no task behind it", archived="refs/cairn/archive/orphans/cairn/99"),
        DeleteBranch(None, "cairn/old-idea", "co", "no task behind it"),
        ExpireTrash(None, "refs/cairn/trash/77", "t77", "no task behind it"),
    )


def test_an_orphan_branch_checked_out_in_a_worktree_that_stays_is_kept():
    strays = (Stray(Workspace("/ws/99", blocked="uncommitted changes"), "cairn/99"),)
    result = plan(orphan_facts(strays=strays), policy(orphans=True), NOW)
    assert not [a for a in result.actions if getattr(a, "branch", None) == "cairn/99"]
    assert ("skipped", "orphan branch cairn/99", "checked out in /ws/99") in [(n.kind, n.what, n.reason) for n in result.notes]


def test_names_of_existing_tasks_are_never_orphans_even_with_unreadable_records():
    assert owner_of("7", frozenset({7})) == 7
    assert owner_of("cairn/7", frozenset({7})) == 7
    assert owner_of("cairn/7", frozenset({8})) is None
    assert owner_of("cairn/x7", frozenset({7})) is None
    assert owner_of("/ws/7", frozenset({7})) is None, "a basename, not a path"


# -- logs, signal files, the journal -----------------------------------------------------------


def test_logs_are_compressed_after_log_age_and_dropped_only_with_purge():
    logs = (LogFile("/t/1/agent.log", 1000, False), LogFile("/t/1/checks.log.gz", 50, True))
    old = task(1, days=4, workspace=False, branch=False, logs=logs)
    young = task(2, days=2, workspace=False, branch=False, logs=(LogFile("/t/2/agent.log", 5, False),))
    result = plan(facts(old, young), policy(), NOW)
    assert result.actions == (CompressLog(1, "/t/1/agent.log", 1000, "failed 4d ago, past log age 3d"),)
    purged = plan(facts(old, young), policy(purge=True), NOW)
    assert [(type(a), a.path) for a in purged.actions] == [(DropLog, "/t/1/agent.log"), (DropLog, "/t/1/checks.log.gz")]


def test_a_cancel_signal_is_stale_once_its_task_left_running():
    signals = (
        SignalFile("/s/cancel-1", 1, 120), SignalFile("/s/cancel-2", 2, 120), SignalFile("/s/cancel-3", 3, 120),
        SignalFile("/s/cancel-9", 9, 120), SignalFile("/s/cancel-4", 4, 5), SignalFile("/s/other", None, 9999),
        SignalFile("/s/cancel-5", 5, 120),
    )
    tasks = (task(1, "cancelled"), task(2, "running"), task(3, "queued"), task(4, "failed"))
    result = plan(Facts(tasks=tasks, known_ids=frozenset({1, 2, 3, 4, 5}), signals=signals), policy(), NOW)
    assert result.actions == (RemoveSignal(1, "/s/cancel-1", "task 1 is cancelled"), RemoveSignal(9, "/s/cancel-9", "there is no task 9"))


def test_the_journal_rotates_past_its_limit_and_old_segments_are_compressed():
    journal = (
        JournalFile("/h/events.jsonl", 2000, 0, current=True),
        JournalFile("/h/events-1.jsonl", 500, 3600, current=False),
        JournalFile("/h/events-2.jsonl", 500, 10, current=False),
        JournalFile("/h/events-0.jsonl.gz", 50, 9999, current=False, compressed=True),
    )
    result = plan(Facts(journal=journal), policy(journal_limit=1000), NOW)
    assert result.actions == (
        RotateJournal("/h/events.jsonl", 2000, "2.0 KiB, over 1000 B"),
        CompressLog(None, "/h/events-1.jsonl", 500, "a rotated journal segment"),
    )
    assert tally(result.actions)["journal"] == 2 and tally(result.actions)["logs"] == 0
    assert plan(Facts(journal=journal[:1]), policy(), NOW).actions == ()


# -- words and numbers ----------------------------------------------------------------------


def test_describe_says_what_and_why_in_one_line():
    assert describe(RemoveWorkspace(3, "/ws/3", "failed 20d ago, past max age 14d", 12 << 20), done=True) == (
        "removed workspace of task 3 (/ws/3, 12 MiB): failed 20d ago, past max age 14d"
    )
    assert describe(RemoveWorkspace(None, "/ws/x", "no task behind it", end_processes=(Process(7, "sh"),)), done=False) == (
        "remove orphan worktree (/ws/x) after ending process 7 (sh): no task behind it"
    )
    assert describe(DeleteBranch(3, "cairn/3", "c", "old", archived="refs/cairn/archive/3"), done=True) == (
        "deleted branch cairn/3 of task 3: old; its commits stay in refs/cairn/archive/3"
    )
    assert describe(ExpireTrash(4, "refs/cairn/trash/4", "c", "old"), done=False) == "expire trash refs/cairn/trash/4 of task 4: old"
    assert describe(RemoveSignal(4, "/s/cancel-4", "task 4 is failed"), done=True) == "removed signal file /s/cancel-4: task 4 is failed"


def test_summary_line_names_only_what_happened():
    counts = {"workspaces": 2, "branches": 1, "archived": 1, "trash": 0, "logs": 3, "signals": 1, "journal": 0, "bytes_freed": 3 << 20}
    assert summary_line(counts, dry_run=False) == "gc: 2 workspaces, 1 branch (1 archived), 3 logs, 1 signal file; 3.0 MiB freed"
    assert summary_line(counts, dry_run=True) == "gc --dry-run: 2 workspaces, 1 branch (1 archived), 3 logs, 1 signal file would go; 3.0 MiB freed; nothing was changed"
    assert summary_line(dict.fromkeys(counts, 0), dry_run=False, stopped=True) == "gc: nothing to collect (stopped early)"


@pytest.mark.parametrize(("count", "text"), [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (15 << 20, "15 MiB"), (3 << 30, "3.0 GiB"), (5000 << 40, "5000 TiB")])
def test_format_bytes(count, text):
    assert format_bytes(count) == text


def test_with_workspaces_replaces_by_path_in_tasks_and_strays():
    before = Facts(tasks=(task(1),), strays=(Stray(Workspace("/ws/9")),))
    after = before.with_workspaces({"/ws/1": Workspace("/ws/1", 5, "x"), "/ws/9": Workspace("/ws/9", 7)})
    assert after.tasks[0].workspace == Workspace("/ws/1", 5, "x") and after.strays[0].workspace.bytes == 7


# -- properties over any set of tasks ---------------------------------------------------------

STATES = ("queued", "running", "review", *FINISHED)


@st.composite
def task_facts(draw, task_id: int) -> TaskFacts:
    state = draw(st.sampled_from(STATES))
    has_workspace = draw(st.booleans())
    workspace = None
    if has_workspace:
        workspace = Workspace(
            f"/ws/{task_id}",
            draw(st.integers(0, 1000)),
            draw(st.sampled_from([None, None, None, "uncommitted changes"])),
            draw(st.sampled_from([(), (), (Process(task_id, "sh"),)])),
        )
    branch = None
    if draw(st.booleans()):
        elsewhere = draw(st.sampled_from([None, None, None, "/elsewhere"]))
        branch = Branch(f"cairn/{task_id}", f"c{task_id}", draw(st.booleans()), elsewhere)
    trash = Ref(f"refs/cairn/trash/{task_id}", f"t{task_id}") if state == "rejected" and draw(st.booleans()) else None
    logs = (LogFile(f"/t/{task_id}/agent.log", 10, draw(st.booleans())),) if draw(st.booleans()) else ()
    since = NOW - draw(st.integers(0, 40)) * DAY - task_id  # distinct: "newest" is unambiguous
    return TaskFacts(task_id, state, since, "main", workspace, branch, trash, logs)


@st.composite
def worlds(draw) -> tuple[Facts, Policy]:
    count = draw(st.integers(0, 12))
    tasks = tuple(draw(task_facts(n)) for n in range(1, count + 1))
    refs = {f"refs/cairn/archive/{n}": draw(st.sampled_from([f"c{n}", "other"])) for n in draw(st.sets(st.integers(1, 12), max_size=3))}
    facts = Facts(tasks=tasks, known_ids=frozenset(range(1, count + 1)), active_bytes=draw(st.integers(0, 1000)), refs=refs)
    chosen = Policy(
        max_age=dict.fromkeys(FINISHED, draw(st.sampled_from([0, 7, 14, 100])) * DAY),
        keep=draw(st.integers(0, 6)),
        max_size=draw(st.sampled_from([None, 0, 500, 3000])),
        log_age=3 * DAY,
        purge=draw(st.booleans()),
        orphans=draw(st.booleans()),
        force=draw(st.booleans()),
    )
    return facts, chosen


PROPERTY = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(worlds())
def test_no_plan_ever_touches_a_queued_running_or_review_task(world):
    facts, chosen = world
    states = {t.id: t.state for t in facts.tasks}
    result = plan(facts, chosen, NOW)
    for item in (*result.actions, *result.notes):
        if item.task is not None:
            assert states[item.task] in FINISHED, item


@PROPERTY
@given(worlds())
def test_every_deleted_unmerged_branch_is_archived_first_unless_purged(world):
    facts, chosen = world
    result = plan(facts, chosen, NOW)
    archived: dict[str, str] = dict(facts.refs)
    for action in result.actions:
        if isinstance(action, ArchiveBranch):
            assert action.ref not in archived, "an archive never overwrites a ref"
            archived[action.ref] = action.commit
        if isinstance(action, DeleteBranch):
            merged = next(t.branch.merged for t in facts.tasks if t.branch and t.branch.name == action.branch)
            if not merged and not chosen.purge:
                assert archived.get(action.archived) == action.commit


@PROPERTY
@given(worlds())
def test_a_branch_goes_only_after_its_workspace_and_never_a_blocked_workspace(world):
    facts, chosen = world
    result = plan(facts, chosen, NOW)
    by_id = {t.id: t for t in facts.tasks}
    gone: set[int] = set()
    for action in result.actions:
        if isinstance(action, RemoveWorkspace):
            assert blocker(by_id[action.task].workspace, chosen.force) is None
            gone.add(action.task)
        if isinstance(action, (ArchiveBranch, DeleteBranch)):
            owner = by_id[action.task]
            assert owner.workspace is None or action.task in gone
            assert owner.branch.checked_out_in is None


@PROPERTY
@given(worlds())
def test_keep_n_keeps_the_n_newest_and_no_more(world):
    facts, chosen = world
    chosen = replace(chosen, max_size=None)
    result = plan(facts, chosen, NOW)
    finished = newest_first(t for t in facts.tasks if t.state in FINISHED and t.workspace is not None)
    going = {a.task for a in of(RemoveWorkspace, result)}
    if chosen.keep:
        newest = finished[: chosen.keep]
        assert not going & {t.id for t in newest}
        for older in finished[chosen.keep:]:
            assert (older.id in going) == (blocker(older.workspace, chosen.force) is None)


@PROPERTY
@given(worlds())
def test_the_size_limit_is_met_oldest_first_or_nothing_more_can_go(world):
    facts, chosen = world
    if chosen.max_size is None:
        return
    result = plan(facts, chosen, NOW)
    going = {a.task for a in of(RemoveWorkspace, result)}
    finished = [t for t in facts.tasks if t.state in FINISHED and t.workspace is not None]
    staying = [t for t in finished if t.id not in going]
    total = facts.active_bytes + sum(t.workspace.bytes for t in staying)
    removable_staying = [t for t in staying if blocker(t.workspace, chosen.force) is None]
    if total > chosen.max_size:
        assert not removable_staying
        assert any(n.what == "size limit" for n in result.notes)
    by_size = [a for a in of(RemoveWorkspace, result) if "max size" in a.reason]
    if by_size:
        youngest_removed = max(t.since for t in finished if t.id in {a.task for a in by_size})
        assert all(t.since > youngest_removed for t in removable_staying)


@PROPERTY
@given(worlds())
def test_workspaces_go_before_any_branch(world):
    facts, chosen = world
    kinds = [type(a) for a in plan(facts, chosen, NOW).actions]
    first_branch = next((i for i, k in enumerate(kinds) if k in (ArchiveBranch, DeleteBranch)), len(kinds))
    assert RemoveWorkspace not in kinds[first_branch:]
