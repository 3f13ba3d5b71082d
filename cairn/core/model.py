"""The task: its request (``task.json``, written once) and its lifecycle record
(``state.json``, replaced as the task moves).

Each lifecycle state is its own record class (cairn/core/records.py) carrying only the data that state
has; ``State`` is their union, told apart by the ``state`` field.  The on-disk
shape of every class here is specified in docs/state-directory.md: change one,
change the other, and bump ``FORMAT`` when an old reader would misread.
"""

from __future__ import annotations

from typing import Literal, TypeVar, Union

from cairn.core.codec import Instant
from cairn.core.records import field, record
from cairn.core.vocabulary import FORMAT

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITY_NAMES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
T = TypeVar("T", bound=str)
Sandbox = Literal["auto", "none", "bwrap"]
SANDBOXES: tuple[Sandbox, ...] = ("auto", "none", "bwrap")
#: How work lands (``cairn accept --rebase``, …); a backend offers some of them.
Strategy = Literal["rebase", "squash", "merge", "apply"]


def one_of(name: str, names: tuple[T, ...]) -> T | None:
    """``name`` as one of ``names`` (a tuple of a ``Literal``'s values), or None."""
    return next((known for known in names if known == name), None)


@record
class Task:
    """What was asked: immutable once queued."""

    format: int = FORMAT
    id: int
    title: str
    prompt: str
    priority: Priority = "normal"
    agent: str
    created: Instant
    #: The branch checked out when the task was queued: where its work lands.
    target: str | None = None
    #: Where the workspace starts: a revision, or None for the target's tip.
    base: str | None = None
    #: Start only once each of these tasks is accepted.
    after: list[int] = field(default_factory=list)
    #: Path globs the task will touch; overlapping tasks never run together.
    locks: list[str] = field(default_factory=list)
    #: Seconds the agent may run before it is stopped; None: the configured default.
    timeout: float | None = None
    #: The attempt this one retries, if any.
    retry_of: int | None = None
    #: Start from this branch instead of the target (``retry --continue``).
    continue_from: str | None = None
    #: Where its agent runs (``local``, ``ray``, ``slurm``): fixed when it is
    #: queued, so a changed default never moves queued work.  None: ``local``.
    executor: str | None = None
    #: The agent's own session to resume (``retry --continue``, when the last
    #: attempt reported one and the profile can resume).
    resume_session: str | None = None
    #: Queued by Cairn when the attempt before it hit a rate limit (retried once, no more).
    after_rate_limit: bool = False
    #: The plan it was queued with (``plans/<id>.json``), if any.
    plan: str | None = None
    #: ``queue --sandbox``: overrides the profile's and the configuration's.
    sandbox: Sandbox | None = None


@record
class DiffStat:
    files: int = 0
    insertions: int = 0
    deletions: int = 0


@record
class Checks:
    status: Literal["passed", "failed", "skipped"]
    #: Per command: its argv joined for display, exit code, seconds taken.
    results: list[CheckResult] = field(default_factory=list)


@record
class CheckResult:
    command: list[str]
    exit_code: int | None
    seconds: float
    timed_out: bool = False


@record
class _OnBranch:
    """The fields git and clone work share: a branch ``cairn/<id>`` of the user's repository."""

    workspace: str
    branch: str
    base_commit: str
    #: The commit holding the agent's work (set once it is committed).
    head_commit: str | None = None

    @property
    def label(self) -> str:
        """Where the work is, for a message: the branch."""
        return self.branch


@record
class GitWork(_OnBranch):
    """A git worktree of the user's repository, on branch ``cairn/<id>``."""

    backend: Literal["git"] = "git"


@record
class CloneWork(_OnBranch):
    """A repository of its own (``git clone --shared``); its branch ``cairn/<id>``
    is handed back to the user's repository under the same name."""

    backend: Literal["clone"] = "clone"


@record
class JjWork:
    """A jj workspace whose working-copy commit is the task's one change."""

    backend: Literal["jj"] = "jj"
    workspace: str
    #: The jj workspace's name, ``cairn-<id>`` (``<name>@`` is its working copy).
    name: str
    base_commit: str
    head_commit: str | None = None
    change_id: str
    #: The operation id recorded just before Cairn last rewrote the change
    #: (accept, reject); ``jj op restore`` to it undoes that rewrite.
    operation: str | None = None

    @property
    def label(self) -> str:
        return f"jj workspace {self.name}"


#: Where a task's work lives once it has a workspace: one record per backend,
#: told apart by ``backend`` (cairn/backends/).
Work = Union[GitWork, CloneWork, JjWork]
#: The work the git and clone backends serve: on a branch of the user's repository.
BranchWork = Union[GitWork, CloneWork]


@record
class GitKept:
    """A rejected git task's work: kept under a ref until gc expires it."""

    backend: Literal["git"] = "git"
    #: ``refs/cairn/trash/<id>``.
    ref: str


@record
class CloneKept:
    backend: Literal["clone"] = "clone"
    ref: str


@record
class JjKept:
    """A rejected jj task's work: the abandoned change (its commit is the
    previous review's ``head_commit``) and the operation that abandoned it,
    which ``cairn restore`` reverts while jj's operation log holds it."""

    backend: Literal["jj"] = "jj"
    operation: str | None = None


#: What a rejected task keeps, per backend.
Kept = Union[GitKept, CloneKept, JjKept]


@record
class Queued:
    state: Literal["queued"] = "queued"
    format: int = FORMAT
    since: Instant


@record
class Running:
    state: Literal["running"] = "running"
    format: int = FORMAT
    since: Instant
    #: None while the workspace is being made.
    work: Work | None = None
    #: The runner: holds ``tasks/<id>/runner.lock`` for as long as the agent lives.
    runner_pid: int
    #: The agent's process (leader of its own process group) and its start time,
    #: so a recycled pid is never mistaken for it.  Hints for killing only.
    agent_pid: int | None = None
    agent_started: float | None = None
    #: Written just before the agent is started: a runner that dies after
    #: that, even one a full disk kept from writing ``agent_pid``, leaves
    #: recovery knowing the workspace may hold the agent's work.
    agent_launched: Instant | None = None
    tmux_session: str | None = None
    #: When the agent fell silent, once silence flagged it idle; None while it talks.
    idle_since: Instant | None = None
    deadline: Instant | None = None
    #: A remote task (docs/executors.md): the engine that runs it and its job
    #: there.  ``job_id`` is written before the job is submitted when the
    #: engine lets Cairn choose it (Ray), else right after (Slurm), so a
    #: restarted Cairn finds the job instead of running the task twice.
    executor: str | None = None
    job_id: str | None = None


@record
class Review:
    state: Literal["review"] = "review"
    format: int = FORMAT
    since: Instant
    started: Instant
    work: Work
    exit_code: int = 0
    changed: DiffStat = field(default_factory=DiffStat)
    checks: Checks | None = None
    #: Paths that conflicted at the last accept attempt; empty when none did.
    conflict: list[str] = field(default_factory=list)
    #: The reviewer agent's verdict, when one ran.
    verdict: Literal["approve", "request-changes"] | None = None
    #: What the last merge train found about this task, when it stopped there.
    finding: str | None = None


@record
class Failed:
    state: Literal["failed"] = "failed"
    format: int = FORMAT
    since: Instant
    reason: str
    started: Instant | None = None
    exit_code: int | None = None
    #: The work, committed and kept, when the agent got as far as a workspace.
    work: Work | None = None
    changed: DiffStat = field(default_factory=DiffStat)


@record
class Accepted:
    state: Literal["accepted"] = "accepted"
    format: int = FORMAT
    since: Instant
    strategy: Strategy
    target: str
    #: The target's commit after landing (None for ``apply``: nothing committed).
    commit: str | None = None
    work: Work | None = None


@record
class Rejected:
    state: Literal["rejected"] = "rejected"
    format: int = FORMAT
    since: Instant
    reason: str | None = None
    #: Where the work is kept until gc; None when nothing was recorded to keep.
    kept: Kept | None = None
    previous: Review | None = None

    @property
    def trash_ref(self) -> str | None:
        """git and clone: the ref keeping the work (``refs/cairn/trash/<id>``)."""
        return self.kept.ref if isinstance(self.kept, (GitKept, CloneKept)) else None

    @property
    def operation(self) -> str | None:
        """jj: the operation that abandoned the change."""
        return self.kept.operation if isinstance(self.kept, JjKept) else None


@record
class Cancelled:
    state: Literal["cancelled"] = "cancelled"
    format: int = FORMAT
    since: Instant
    reason: str
    work: Work | None = None


State = Union[Queued, Running, Review, Failed, Accepted, Rejected, Cancelled]
