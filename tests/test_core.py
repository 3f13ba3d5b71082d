"""The pure core: durations and sizes, the record codec, lock globs, the
schedule, and the checks ``cairn queue`` applies.  No files, no processes."""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import datetime as datetime_type
from fnmatch import fnmatchcase

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.core import codec, lifecycle, model, queueing, vocabulary
from cairn.core.codec import DecodeError, decode, encode
from cairn.core.durations import format_duration, parse_duration, parse_size
from cairn.core.globs import first_overlap, globs_overlap
from cairn.core.model import (
    Accepted, Cancelled, CheckResult, Checks, CloneKept, CloneWork, DiffStat, Failed, GitKept, GitWork, JjKept, JjWork, Queued,
    Rejected, Review, Running, State, Task,
)
from cairn.core.schedule import plan, queue_order
from cairn.core.summary import Summary, summarize
from cairn.errors import UsageError

# -- durations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1w", 604800), ("1h30m", 5400),
        ("1.5h", 5400), (" 2 h ", 7200), ("2H", 7200), ("1d2h3m4s", 93784), ("0s", 0), ("30m1h", 5400),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "  ", "5", "5y", "h", "1h 30", "-5m", "1h-30m", "m5", "1,5h", "ten minutes", "1hh"])
def test_parse_duration_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="90s, 10m"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"), (45, "45s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (3600, "1h"), (3660, "1h01m"),
        (7500, "2h05m"), (86399, "23h59m"), (86400, "1d"), (93600, "1d2h"), (90000 + 59, "1d1h"), (-5, "0s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_a_formatted_duration_reads_back_to_within_its_last_unit(seconds: int) -> None:
    back = parse_duration(format_duration(seconds))

    lost = seconds - back
    unit = 1 if seconds < 60 else 60 if seconds < 86400 else 3600
    assert 0 <= lost < unit


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from("smhdw")), min_size=1, max_size=5))
def test_a_duration_is_the_sum_of_its_parts(parts: list[tuple[int, str]]) -> None:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

    assert parse_duration("".join(f"{n}{u}" for n, u in parts)) == sum(n * units[u] for n, u in parts)


# -- sizes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1024", 1024), ("500M", 500 << 20), ("2G", 2 << 30), ("1T", 1 << 40), ("1.5k", 1536), ("2GiB", 2 << 30),
        ("2gb", 2 << 30), ("10 MB", 10 << 20), ("0", 0), ("3b", 3),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "1X", "G", "1 G B", "1.G"])
def test_parse_size_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="500M"):
        parse_size(text)


# -- the codec --------------------------------------------------------------------

T0 = 1767225600.0  # 2026-01-01T00:00:00Z
WORK = GitWork(workspace="/w/3", branch="cairn/3", base_commit="a" * 40, head_commit="b" * 40)
REVIEW = Review(
    since=T0 + 60.5, started=T0 + 1.25, work=WORK, exit_code=0, changed=DiffStat(files=2, insertions=10, deletions=3),
    checks=Checks(status="failed", results=[
        CheckResult(command=["make", "test"], exit_code=2, seconds=3.5),
        CheckResult(command=["ruff", "check"], exit_code=None, seconds=600.0, timed_out=True),
    ]),
    conflict=["src/app.py"], verdict="request-changes",
)

#: One fully populated record of every state class (instants to the millisecond, as on disk).
EVERY_STATE: list[State] = [
    Queued(since=T0),
    Running(
        since=T0 + 1.001, work=JjWork(workspace="/j/3", name="cairn-3", base_commit="a" * 40, change_id="zzzz", operation="0" * 128), runner_pid=4242,
        agent_pid=4243, agent_started=123456.78, tmux_session="cairn-3", idle_since=T0 + 30.0, deadline=T0 + 7200.0,
    ),
    REVIEW,
    Failed(since=T0 + 2, reason="the agent exited with 1", started=T0 + 1, exit_code=1, work=WORK, changed=DiffStat(files=1)),
    Accepted(since=T0 + 3, strategy="squash", target="main", commit="c" * 40, work=WORK),
    Rejected(since=T0 + 4, reason="wrong approach", kept=GitKept(ref="refs/cairn/trash/3"), previous=REVIEW),
    Rejected(since=T0 + 4, reason=None, kept=JjKept(operation="1" * 128), previous=None),
    Cancelled(since=T0 + 5, reason="cancelled", work=CloneWork(workspace="/c/3", branch="cairn/3", base_commit="a" * 40)),
    Accepted(since=T0 + 3, strategy="squash", target="main", work=GitWork(workspace="/w/4", branch="cairn/4", base_commit="a" * 40)),
    Rejected(since=T0 + 4, kept=CloneKept(ref="refs/cairn/trash/5")),
    Cancelled(since=T0 + 5, reason="cancelled by the user", work=WORK),
]

TASK = Task(
    id=3, title="Fix it", prompt="Fix it\n— all of it ✓", priority="urgent", agent="codex", created=T0, target="main",
    base="v1.0", after=[1, 2], locks=["src/**"], timeout=5400.0, retry_of=2, continue_from="cairn/2",
)


def test_every_state_class_has_a_sample() -> None:
    assert {type(s).__name__.lower() for s in EVERY_STATE} == set(vocabulary.STATES)


@pytest.mark.parametrize("state", EVERY_STATE, ids=lambda s: s.state)
def test_every_state_round_trips_through_json(state: State) -> None:
    on_disk = json.loads(json.dumps(encode(state)))

    assert decode(State, on_disk) == state
    assert on_disk["state"] == state.state and on_disk["format"] == model.FORMAT


def test_a_task_round_trips_through_json() -> None:
    assert decode(Task, json.loads(json.dumps(encode(TASK)))) == TASK


def test_instants_are_iso_text_on_disk_and_none_is_kept() -> None:
    data = encode(Failed(since=T0 + 0.25, reason="x"))

    assert data["since"] == "2026-01-01T00:00:00.250Z"
    assert data["started"] is None and data["work"] is None
    assert data["changed"] == {"files": 0, "insertions": 0, "deletions": 0}


def test_instants_keep_milliseconds() -> None:
    assert decode(Queued, encode(Queued(since=T0 + 0.123456))).since == T0 + 0.123


def test_unknown_keys_are_ignored_for_newer_writers() -> None:
    data = {**encode(Queued(since=T0)), "added_later": {"x": 1}}

    assert decode(State, data) == Queued(since=T0)


def test_defaults_fill_fields_that_are_absent() -> None:
    task = decode(Task, {"id": 1, "title": "t", "prompt": "p", "agent": "claude", "created": "2026-01-01T00:00:00Z"})

    assert (task.priority, task.after, task.locks, task.timeout, task.format) == ("normal", [], [], None, model.FORMAT)


def _task_data(**changes: object) -> dict:
    return {**encode(TASK), **changes}


@pytest.mark.parametrize(
    ("hint", "data", "path", "message"),
    [
        (Task, _task_data(id="3"), "id", "expected int, got str"),
        (Task, _task_data(id=True), "id", "expected int, got bool"),
        (Task, _task_data(title=None), "title", "expected str, got NoneType"),
        (Task, _task_data(priority="asap"), "priority", "expected one of 'low', 'normal', 'high', 'urgent'"),
        (Task, _task_data(created="yesterday"), "created", "expected an ISO 8601 time"),
        (Task, _task_data(created=1767225600), "created", "expected an ISO 8601 time"),
        (Task, _task_data(after="1"), "after", "expected a list"),
        (Task, _task_data(after=[1, "2"]), "after[1]", "expected int"),
        (Task, _task_data(timeout=True), "timeout", "expected float"),
        (Task, {k: v for k, v in encode(TASK).items() if k != "prompt"}, "prompt", "missing"),
        (Task, [1, 2], "", "expected a table, got list"),
        (State, {"state": "exploded"}, "state", "expected one of queued, running"),
        (State, "queued", "state", "expected one of"),
        (State, {**encode(EVERY_STATE[1]), "work": {"backend": "git", "workspace": "w"}}, "work.branch", "missing"),
        (State, {**encode(EVERY_STATE[1]), "work": {**encode(WORK), "backend": "svn"}}, "work.backend", "expected one of"),
        (State, {**encode(REVIEW), "checks": {"status": "passed", "results": [{"command": "make", "exit_code": 0, "seconds": 1}]}},
         "checks.results[0].command", "expected a list"),
        (State, {**encode(REVIEW), "verdict": "maybe"}, "verdict", "expected one of 'approve', 'request-changes'"),
        (State, {**encode(EVERY_STATE[5]), "previous": {"state": "review"}}, "previous.since", "missing"),
    ],
)
def test_decode_errors_say_where(hint: object, data: object, path: str, message: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(hint, data)

    assert caught.value.path == path
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}: ") or not path


def test_decode_accepts_whole_numbers_as_floats_but_not_floats_as_ints() -> None:
    assert decode(CheckResult, {"command": ["x"], "exit_code": 0, "seconds": 3}).seconds == 3.0
    with pytest.raises(DecodeError):
        decode(CheckResult, {"command": ["x"], "exit_code": 0.0, "seconds": 3})


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
instants = st.integers(min_value=0, max_value=4_102_444_800_000).map(lambda ms: ms / 1000)


@given(
    st.builds(
        Task,
        id=st.integers(1, 10**9), title=text, prompt=text, priority=st.sampled_from(vocabulary.PRIORITIES), agent=text,
        created=instants, target=st.none() | text, base=st.none() | text, after=st.lists(st.integers(1, 10**6)),
        locks=st.lists(text, max_size=4), timeout=st.none() | st.floats(0, 1e9), retry_of=st.none() | st.integers(1, 10**6),
        continue_from=st.none() | text,
    )
)
def test_any_task_round_trips_through_json(task: Task) -> None:
    assert decode(Task, json.loads(json.dumps(encode(task), ensure_ascii=False))) == task


@given(
    st.one_of(
        st.builds(Queued, since=instants),
        st.builds(Failed, since=instants, reason=text, started=st.none() | instants, exit_code=st.none() | st.integers(-255, 255)),
        st.builds(Cancelled, since=instants, reason=text),
        st.builds(Rejected, since=instants, reason=st.none() | text, kept=st.none() | st.builds(GitKept, ref=text) | st.builds(JjKept, operation=st.none() | text)),
    )
)
def test_any_state_round_trips_through_json(state: State) -> None:
    assert decode(State, json.loads(json.dumps(encode(state)))) == state


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_encoding_an_instant_is_stable(instant: float) -> None:
    once = codec.instant_to_text(instant)

    assert codec.instant_to_text(codec.text_to_instant(once)) == once
    assert abs(instant - codec.text_to_instant(once)) < 0.001  # kept to the millisecond


@given(st.datetimes(min_value=datetime_type(1, 1, 1), max_value=datetime_type(9999, 12, 31, 23, 59, 59)))
def test_cairns_own_time_text_is_read_as_datetime_reads_it(moment) -> None:
    from datetime import timezone

    text = moment.replace(microsecond=moment.microsecond // 1000 * 1000).isoformat(timespec="milliseconds") + "Z"
    expected = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=timezone.utc).timestamp()

    assert codec.text_to_instant(text) == expected


@pytest.mark.parametrize("text", ["2026-02-30T00:00:00.000Z", "2026-+1-01T00:00:00.000Z", "2026-01-01T24:00:00.000Z",
                                  "0000-01-01T00:00:00.000Z", "2026-01-01T00:00:00.١٢٣Z"])
def test_time_text_datetime_refuses_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        codec.text_to_instant(text)


def test_other_iso_time_text_is_still_read() -> None:
    assert codec.text_to_instant("2026-01-01T00:00:00+00:00") == codec.text_to_instant("2026-01-01T00:00:00.000Z")


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_an_instant_as_stored_is_the_one_read_back(instant: float) -> None:
    from cairn.core.instants import as_stored

    assert as_stored(instant) == codec.text_to_instant(codec.instant_to_text(instant))


# -- the summary status lists -------------------------------------------------------


def test_summaries_carry_what_each_state_adds() -> None:
    review = summarize(TASK, REVIEW)
    running = summarize(TASK, EVERY_STATE[1])
    failed = summarize(TASK, EVERY_STATE[3])

    assert (review.state, review.checks, review.files, review.insertions, review.deletions) == ("review", "failed", 2, 10, 3)
    assert review.conflict == ["src/app.py"] and review.reason is None
    assert (running.tmux_session, running.idle_since, running.files) == ("cairn-3", T0 + 30.0, 0)
    assert (failed.reason, failed.files) == ("the agent exited with 1", 1)
    assert (review.id, review.title, review.priority, review.agent, review.after, review.locks) == (
        3, "Fix it", "urgent", "codex", [1, 2], ["src/**"],
    )
    assert Summary(*json.loads(json.dumps(list(review)))) == review


# -- lifecycle ----------------------------------------------------------------------


def test_the_lifecycle_moves() -> None:
    assert lifecycle.can_move("queued", "running") and lifecycle.can_move("queued", "cancelled")
    assert lifecycle.can_move("running", "review") and lifecycle.can_move("rejected", "review")
    assert not lifecycle.can_move("queued", "review")
    assert not any(lifecycle.can_move(end, s) for end in ("accepted", "failed", "cancelled") for s in vocabulary.STATES)
    assert set(lifecycle.ALLOWED) == set(vocabulary.STATES)


def test_a_refused_move_says_what_to_do_instead() -> None:
    message = lifecycle.wrong_state_message(7, "cancelled", "cancel")

    assert message.startswith("task 7 is cancelled, cannot cancel it")
    assert "cairn retry 7" in message


# -- lock globs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("src/a/**", "src/b/**", False),
        ("src/**", "src/app.py", True),
        ("src", "src/app.py", True),  # a directory covers what is under it
        ("src/app.py", "src/app.py", True),
        ("src/app.py", "src/api.py", False),
        ("docs/*.md", "docs/guide/intro.md", False),  # * stays within a segment
        ("docs/**/*.md", "docs/guide/intro.md", True),
        ("*.py", "src/app.py", False),  # globs are rooted at the repository
        ("**", "anything/at/all", True),
        ("", "src/x", True),
        ("./src/**", "src/x.py", True),
        ("/src/", "src/x.py", True),
        ("src/*.py", "src/*.md", False),
        ("src/test_*.py", "src/*_test.py", True),
        ("src/[ab].py", "src/c.py", False),
        ("src/[ab].py", "src/a.py", True),
        ("src/?.py", "src/ab.py", False),
        ("src/*/x", "src/*/y", False),
        ("tests/unit/**", "tests/integration/**", False),
        ("a/**/z", "a/b/c", True),  # sound, not exact: ** could be anything
    ],
)
def test_globs_overlap(a: str, b: str, overlap: bool) -> None:
    assert globs_overlap(a, b) is overlap
    assert globs_overlap(b, a) is overlap


def test_first_overlap_names_the_pair() -> None:
    assert first_overlap(["docs/**", "src/api/*.py"], ["tests/**", "src/**"]) == ("src/api/*.py", "src/**")
    assert first_overlap(["docs/**"], ["src/**"]) is None
    assert first_overlap([], ["**"]) is None


def _matches(glob: list[str], path: list[str]) -> bool:
    """Reference semantics: segments match with fnmatch, ``**`` spans any number
    of segments, and a glob naming a directory covers everything under it."""
    if not glob:
        return True
    if glob[0] == "**":
        return any(_matches(glob[1:], path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], glob[0]) and _matches(glob[1:], path[1:])


CHARS = "ab."
#: Path segments; "." and ".." are not names a path can have.
segments = st.text(CHARS, min_size=1, max_size=3).filter(lambda s: s not in (".", ".."))
paths = st.lists(segments, min_size=1, max_size=4)


@st.composite
def glob_segment(draw: st.DrawFn, segment: str) -> str:
    """A glob segment that matches ``segment``."""
    kind = draw(st.sampled_from(["literal", "star", "question", "prefix", "suffix", "class", "infix"]))
    if kind == "star":
        return "*"
    if kind == "question":
        return "".join("?" if draw(st.booleans()) else c for c in segment)
    if kind == "prefix":
        return segment[: draw(st.integers(0, len(segment)))] + "*"
    if kind == "suffix":
        return "*" + segment[draw(st.integers(0, len(segment))) :]
    if kind == "class":
        i = draw(st.integers(0, len(segment) - 1))
        members = "".join(sorted(set(segment[i] + draw(st.text(CHARS, max_size=2)))))
        return segment[:i] + f"[{members}]" + segment[i + 1 :]
    if kind == "infix" and len(segment) >= 2:
        return segment[0] + "*" + segment[-1]
    return segment


@st.composite
def glob_matching(draw: st.DrawFn, path: list[str]) -> str:
    """A glob that matches ``path`` (or a directory above it)."""
    covered = path[: draw(st.integers(1, len(path)))]
    parts: list[str] = []
    i = 0
    while i < len(covered):
        if draw(st.integers(0, 4)) == 0:
            span = draw(st.integers(0, len(covered) - i))
            parts.append("**")
            i += span
        else:
            parts.append(draw(glob_segment(covered[i])))
            i += 1
    return "/".join(parts) or "**"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(st.data())
def test_two_globs_matching_one_path_overlap(data: st.DataObject) -> None:
    path = data.draw(paths)
    a = data.draw(glob_matching(path))
    b = data.draw(glob_matching(path))
    assert _matches(a.split("/"), path) and _matches(b.split("/"), path)  # the strategy's promise

    assert globs_overlap(a, b), (a, b, "/".join(path))


glob_segments = st.one_of(segments, st.sampled_from(["*", "**", "?", "a*", "*a", "[ab]", "?.", "a?b", "*.*", "[!a]*"]))
#: Every segment a witness path may use: all names over CHARS up to four characters.
WITNESSES = [w for n in range(1, 5) for w in map("".join, itertools.product(CHARS, repeat=n)) if w not in (".", "..")]


def _share_a_path(a: list[str], b: list[str]) -> bool:
    """Reference: is there a path (of WITNESSES segments) that both globs match?
    Walks both globs at once, as the product of two automata."""
    seen: set[tuple[int, int]] = set()

    def walk(i: int, j: int) -> bool:
        if i == len(a) or j == len(b):
            return True  # one glob matched a directory above the rest of the path
        if (i, j) in seen:
            return False
        seen.add((i, j))
        if a[i] == "**" and (walk(i + 1, j) or walk(i, j + 1)):
            return True
        if b[j] == "**" and (walk(i, j + 1) or walk(i + 1, j)):
            return True
        if a[i] == "**" or b[j] == "**":
            return False
        candidates = [a[i], b[j], *WITNESSES]  # a literal segment is its own witness
        return any(fnmatchcase(w, a[i]) and fnmatchcase(w, b[j]) for w in candidates) and walk(i + 1, j + 1)

    return walk(0, 0)


@settings(max_examples=300)
@given(st.lists(glob_segments, min_size=1, max_size=4), st.lists(glob_segments, min_size=1, max_size=4))
def test_globs_that_share_a_path_are_never_called_disjoint(a: list[str], b: list[str]) -> None:
    if _share_a_path(a, b):
        assert globs_overlap("/".join(a), "/".join(b)), (a, b)


def test_the_reference_finds_shared_paths() -> None:
    assert _share_a_path(["src", "**"], ["src", "a.b"])
    assert _share_a_path(["*", "a*"], ["b", "**", "*a"])
    assert not _share_a_path(["src", "a"], ["src", "b"])
    assert not _share_a_path(["*.a"], ["*.b"])


@given(st.lists(glob_segments, min_size=1, max_size=4), st.lists(glob_segments, min_size=1, max_size=4))
def test_overlap_is_symmetric(a: list[str], b: list[str]) -> None:
    assert globs_overlap("/".join(a), "/".join(b)) == globs_overlap("/".join(b), "/".join(a))


# -- the schedule ---------------------------------------------------------------------


def task(
    id: int, state: str = "queued", priority: str = "normal", created: float | None = None,
    after: tuple[int, ...] = (), locks: tuple[str, ...] = (), executor: str = "local",
) -> Summary:
    return Summary(
        id=id, title=f"task {id}", state=state, priority=priority, agent="claude",
        created=float(id) if created is None else created, since=0.0, after=list(after), locks=list(locks),
        target="main", retry_of=None, checks=None, files=0, insertions=0, deletions=0, conflict=[], reason=None,
        idle_since=None, tmux_session=None, executor=executor, job_id=None,
    )


def test_each_executor_has_its_own_concurrency_limit() -> None:
    tasks = [task(1, "running"), task(2, "running", executor="ray"), task(3), task(4, executor="ray"),
             task(5, executor="ray"), task(6, executor="slurm"), task(7)]

    decided = plan(tasks, max_agents=2, limits={"ray": 2, "slurm": 1})

    assert decided.start == [3, 4, 6]
    assert decided.waiting == {
        5: "concurrency limit (2 agents at once on ray)",
        7: "concurrency limit (2 agents at once)",
    }


def test_locks_and_dependencies_hold_across_executors() -> None:
    tasks = [task(1, "running", locks=("src/**",), executor="ray"), task(2, locks=("src/a.py",)),
             task(3, "review", executor="slurm"), task(4, after=(3,), executor="ray")]

    decided = plan(tasks, max_agents=4, limits={"ray": 4})

    assert decided.start == []
    assert decided.waiting == {2: "lock overlap with task 1 (src/a.py ~ src/**)", 4: "after task 3 (review)"}


def test_plan_starts_by_priority_then_age_then_id() -> None:
    tasks = [
        task(1, priority="low", created=1), task(2, priority="urgent", created=5), task(3, created=3),
        task(4, created=2), task(5, created=2), task(6, priority="high", created=9),
    ]

    assert plan(tasks, max_agents=10).start == [2, 6, 4, 5, 3, 1]
    assert [t.id for t in queue_order(tasks)] == [2, 6, 4, 5, 3, 1]


def test_plan_keeps_to_the_concurrency_limit() -> None:
    tasks = [task(1, "running"), task(2), task(3, priority="high"), task(4)]

    decided = plan(tasks, max_agents=2)

    assert decided.start == [3]
    assert decided.waiting == {2: "concurrency limit (2 agents at once)", 4: "concurrency limit (2 agents at once)"}
    assert decided.fail == {}


def test_plan_starts_nothing_when_running_tasks_fill_the_limit() -> None:
    decided = plan([task(1, "running"), task(2, "running"), task(3)], max_agents=2)

    assert decided.start == [] and 3 in decided.waiting


def test_spawn_ignores_the_limit_but_not_locks_or_dependencies() -> None:
    tasks = [task(1, "running", locks=("src/**",)), task(2), task(3, locks=("src/x",)), task(4, after=(2,))]

    decided = plan(tasks, max_agents=1, ignore_limit=True)

    assert decided.start == [2]
    assert set(decided.waiting) == {3, 4}


def test_plan_can_decide_for_some_tasks_only() -> None:
    decided = plan([task(1), task(2), task(3)], max_agents=5, only={3})

    assert decided.start == [3]
    assert decided.waiting == {} and decided.fail == {}


@pytest.mark.parametrize("state", ["queued", "running", "review"])
def test_a_task_waits_until_its_dependency_is_accepted(state: str) -> None:
    decided = plan([task(1, state), task(2, after=(1,))], max_agents=5)

    assert 2 not in decided.start
    assert decided.waiting[2] == f"after task 1 ({state})"


def test_a_task_starts_once_its_dependencies_are_accepted() -> None:
    decided = plan([task(1, "accepted"), task(2, "accepted"), task(3, after=(1, 2))], max_agents=5)

    assert decided.start == [3]


@pytest.mark.parametrize("state", ["rejected", "failed", "cancelled"])
def test_a_task_after_a_doomed_dependency_fails(state: str) -> None:
    decided = plan([task(1, state), task(2, after=(1,)), task(3)], max_agents=5)

    assert decided.fail == {2: f"it waits for task 1, which was {state}"}
    assert decided.start == [3]


def test_a_task_after_a_missing_task_fails() -> None:
    decided = plan([task(2, after=(1,))], max_agents=5)

    assert decided.fail == {2: "it waits for task 1, which does not exist"}


def test_a_task_waits_while_its_locks_overlap_a_running_task() -> None:
    tasks = [task(1, "running", locks=("src/**",)), task(2, locks=("src/app.py",)), task(3, locks=("docs/**",)), task(4)]

    decided = plan(tasks, max_agents=5)

    assert decided.waiting == {2: "lock overlap with task 1 (src/app.py ~ src/**)"}
    assert decided.start == [3, 4]


def test_a_task_waits_while_its_locks_overlap_one_started_in_the_same_plan() -> None:
    tasks = [task(1, locks=("src/**",)), task(2, locks=("src/**",), priority="urgent"), task(3, locks=("src/api/**",))]

    decided = plan(tasks, max_agents=5)

    assert decided.start == [2]
    assert decided.waiting == {1: "lock overlap with task 2 (src/**)", 3: "lock overlap with task 2 (src/api/** ~ src/**)"}


def test_a_waiting_task_neither_holds_locks_nor_takes_a_slot() -> None:
    tasks = [
        task(1, "queued"),
        task(2, after=(1,), locks=("src/**",), priority="urgent"),
        task(3, locks=("src/**",)),
    ]

    decided = plan(tasks, max_agents=2)

    assert decided.start == [1, 3]
    assert decided.waiting == {2: "after task 1 (queued)"}


def test_plan_leaves_its_input_alone() -> None:
    tasks = [task(1, "running", locks=("a",)), task(2, locks=("a",)), task(3)]
    before = list(tasks)

    plan(tasks, max_agents=1)

    assert tasks == before


STATE_NAMES = st.sampled_from(["queued", "queued", "queued", "running", "review", "accepted", "failed", "cancelled"])
LOCKS = st.lists(st.sampled_from(["src/**", "src/a.py", "src/b/*", "docs/**", "tests/*.py", "*"]), max_size=2)


@st.composite
def task_sets(draw: st.DrawFn) -> list[Summary]:
    count = draw(st.integers(1, 10))
    return [
        task(
            i, draw(STATE_NAMES), draw(st.sampled_from(vocabulary.PRIORITIES)), draw(st.integers(0, 5)),
            tuple(draw(st.lists(st.integers(1, count + 1), max_size=2))), tuple(draw(LOCKS)),
        )
        for i in range(1, count + 1)
    ]


@given(task_sets(), st.integers(1, 4))
def test_every_plan_is_safe(tasks: list[Summary], max_agents: int) -> None:
    decided = plan(tasks, max_agents)
    by_id = {t.id: t for t in tasks}
    queued = {t.id for t in tasks if t.state == "queued"}
    running = [t for t in tasks if t.state == "running"]

    # Every queued task gets exactly one decision, and only queued tasks get one.
    decisions = [*decided.start, *decided.waiting, *decided.fail]
    assert sorted(decisions) == sorted(queued)
    # The limit holds (running tasks above it are not stopped).
    assert len(decided.start) <= max(0, max_agents - len(running))
    # Whatever starts has every dependency accepted.
    for started in decided.start:
        assert all(by_id.get(d) is not None and by_id[d].state == "accepted" for d in by_id[started].after)
    # Nothing that runs after this plan shares a lock glob with another.
    active = running + [by_id[i] for i in decided.start]
    for i, one in enumerate(active):
        for other in active[i + 1 :]:
            if one.state == "queued" or other.state == "queued":
                assert first_overlap(one.locks, other.locks) is None, (one.id, other.id)


# -- what cairn queue checks ------------------------------------------------------------


def test_make_title() -> None:
    assert queueing.make_title("\n  Fix  the\tbug \nmore", None) == "Fix the bug"
    assert queueing.make_title("ignored", "  A  title ") == "A title"
    long = queueing.make_title("x" * 200, None)
    assert len(long) == queueing.TITLE_WIDTH and long.endswith("…")
    with pytest.raises(UsageError, match="title is empty"):
        queueing.make_title("p", " \t ")


def test_check_prompt() -> None:
    assert queueing.check_prompt("  keep me  \n") == "  keep me  \n"
    for empty in ("", "  ", "\n\t\n"):
        with pytest.raises(UsageError, match="prompt is empty"):
            queueing.check_prompt(empty)
    with pytest.raises(UsageError, match="not valid UTF-8"):
        queueing.check_prompt("bad \udcff")


def test_check_agent_lists_the_known_agents() -> None:
    assert queueing.check_agent("codex", ["claude", "codex"]) == "codex"
    with pytest.raises(UsageError, match="unknown agent 'gpt'; known agents: claude, codex"):
        queueing.check_agent("gpt", ["codex", "claude"])


def test_check_timeout() -> None:
    assert queueing.check_timeout(None) is None
    assert queueing.check_timeout("1h30m") == 5400
    with pytest.raises(UsageError, match="--timeout: cannot read"):
        queueing.check_timeout("soon")
    with pytest.raises(UsageError, match="longer than zero"):
        queueing.check_timeout("0m")


@pytest.mark.parametrize("glob", ["/abs/**", "../up", "src/../../x", " ", ""])
def test_check_locks_refuses_paths_outside_the_repository(glob: str) -> None:
    with pytest.raises(UsageError):
        queueing.check_locks(("src/**", glob))


def test_check_locks_keeps_relative_globs() -> None:
    assert queueing.check_locks((" src/** ", "docs/*.md", "..hidden/x")) == ["src/**", "docs/*.md", "..hidden/x"]


def test_sandbox_mounts_come_after_what_they_sit_in_and_writable_wins() -> None:
    from cairn.core.sandbox import SandboxSpec, bwrap_argv, mounts

    spec = SandboxSpec(workspace="/tmp/r/.cairn/workspaces/1", readable=("/tmp/r", "/tmp/r/.cairn/tasks/1", "/root/.claude"),
                       hidden=("/tmp/r/.cairn",), blanked=("/root/.netrc",), writable=("/root/.claude",), network=False)
    assert mounts(spec) == [
        ("tmpfs", "/tmp"), ("blank", "/root/.netrc"), ("tmpfs", "/dev/shm"), ("read", "/tmp/r"), ("write", "/root/.claude"),
        ("tmpfs", "/tmp/r/.cairn"), ("read", "/tmp/r/.cairn/tasks/1"), ("write", "/tmp/r/.cairn/workspaces/1"),
    ]
    argv = bwrap_argv(spec, ["agent", "--flag"])
    assert argv[:4] == ["bwrap", "--ro-bind", "/", "/"] and argv[-3:] == ["--", "agent", "--flag"]
    assert "--unshare-net" in argv and "--cap-drop" in argv
    assert "--unshare-net" not in bwrap_argv(SandboxSpec(workspace="/w"), ["agent"])
