"""What can be configured, with its defaults.  Documented in docs/configuration.md.

Records (cairn/core/records.py), so the commands people type can use a cached, already
validated configuration without importing pydantic.  pydantic validates them
when a source changed (cairn/config/validate.py): the ``Annotated`` markers
below teach it durations, sizes and lower bounds, and import pydantic only
when pydantic asks for them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from cairn.core.durations import parse_duration, parse_size
from cairn.core.records import field, record

_STRICT_KEYS = {"extra": "forbid"}


class _Parsed:
    """Accept a human string (``"10m"``, ``"2G"``) where a number is stored."""

    def __init__(self, parse: Any) -> None:
        self.parse = parse

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def before(value: Any) -> Any:
            return self.parse(value) if isinstance(value, str) else value

        return core_schema.no_info_before_validator_function(before, handler(source))


class _AtLeast:
    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def check(value: Any) -> Any:
            if value is not None and value < self.minimum:
                raise ValueError(f"must be at least {self.minimum}, got {value}")
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))


class _NotABoolean:
    """``max_agents = true`` is a mistake, not 1: pydantic's lax mode would
    take a boolean as a number (strict mode would refuse the strings that
    environment variables are, so only booleans are refused here)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def refuse(value: Any) -> Any:
            if isinstance(value, bool):
                raise ValueError(f"must be a number, not a boolean (got {str(value).lower()})")
            return value

        return core_schema.no_info_before_validator_function(refuse, handler(source))


#: Seconds, written ``90s``, ``10m``, ``2h``, ``1d`` (or a number of seconds in JSON).
Duration = Annotated[float, _Parsed(parse_duration), _AtLeast(0), _NotABoolean()]
#: Bytes, written ``500M``, ``2G``.
Size = Annotated[int, _Parsed(parse_size), _AtLeast(0), _NotABoolean()]
Count = Annotated[int, _AtLeast(0), _NotABoolean()]
Positive = Annotated[int, _AtLeast(1), _NotABoolean()]
Argv = list[str]


@record
class StuckRule:
    """A state the agent never leaves by itself (a login prompt, an endless reconnect)."""

    __pydantic_config__ = _STRICT_KEYS
    #: A regular expression searched for in each line the agent prints.
    output: str
    #: The task's failure reason when it matched ``times`` times.
    reason: str
    times: Positive = 1


@record
class Credentials:
    """Where an agent finds its credentials: any one of these is enough."""

    __pydantic_config__ = _STRICT_KEYS
    #: Environment variables, any one set and non-empty.
    env: list[str] = field(default_factory=list)
    #: Files (``~`` is the agent's HOME), any one present.
    files: list[str] = field(default_factory=list)
    #: What to do when none is there (``run `claude /login` or set ANTHROPIC_API_KEY``).
    hint: str = ""


@record
class AgentProfile:
    __pydantic_config__ = _STRICT_KEYS
    #: argv; ``{prompt}``, ``{prompt_file}``, ``{workspace}``, ``{task_id}`` are filled in.
    command: Argv
    #: True: the prompt goes to the agent's standard input as well.
    stdin: bool = False
    env: dict[str, str] = field(default_factory=dict)
    description: str = ""
    #: Lines (regular expressions) that mean the agent failed whatever its exit status says...
    failure_output: list[str] = field(default_factory=list)
    #: ...unless one of these comes after them (the agent recovered and went on).
    success_output: list[str] = field(default_factory=list)
    #: Stuck states: the task fails early with the rule's reason (docs/agents.md).
    stuck: list[StuckRule] = field(default_factory=list)
    #: Globs of files the agent keeps for itself in its workspace: never part of its work.
    scratch: list[str] = field(default_factory=list)
    #: Credentials checked before the agent's first task; unset: none needed.
    credentials: Credentials | None = None
    #: argv that prints the agent's version (``cairn agents``); empty: not asked.
    version: Argv = field(default_factory=list)
    #: The machine-readable output the agent prints (cairn/agents/reports.py): claude, codex, gemini, opencode, amp.
    report: Literal["claude", "codex", "gemini", "opencode", "amp"] | None = None
    #: argv for ``cairn retry --continue`` when the last attempt reported its session: ``{session}`` too.
    resume: Argv = field(default_factory=list)
    #: Variables its agent needs, as patterns (``ANTHROPIC_*``): exceptions to ``[env] drop``.
    env_pass: list[str] = field(default_factory=list)
    #: What its agent must write in the sandbox besides its workspace (``~/.claude/``);
    #: a trailing ``/`` names a directory, made when missing.
    writable: list[str] = field(default_factory=list)
    #: None: the configuration's ``sandbox`` / ``sandbox_network``.
    sandbox: Literal["auto", "none", "bwrap"] | None = None
    sandbox_network: bool | None = None


@record
class Bootstrap:
    __pydantic_config__ = _STRICT_KEYS
    #: Files copied from the main worktree into each new workspace (``.env``).
    copy: list[str] = field(default_factory=list)
    #: Paths symlinked from the main worktree (``node_modules``).
    symlink: list[str] = field(default_factory=list)
    #: Commands run in the new workspace before the agent; one failing fails the task.
    setup: list[Argv] = field(default_factory=list)
    setup_timeout: Duration = 600.0
    #: Commands run in a workspace before it is removed (stop a dev server, drop a
    #: test database); a failing one is logged, the workspace still goes.
    teardown: list[Argv] = field(default_factory=list)


@record
class ChecksConfig:
    __pydantic_config__ = _STRICT_KEYS
    commands: list[Argv] = field(default_factory=list)
    timeout: Duration = 600.0


@record
class AcceptConfig:
    __pydantic_config__ = _STRICT_KEYS
    strategy: Literal["rebase", "squash", "merge", "apply"] = "rebase"
    delete_branch: bool = True


@record
class ReviewerConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: A profile name from ``agents``; unset: no reviewer.
    agent: str | None = None
    #: Rounds of automatic retry when the reviewer requests changes.
    auto_retry: Count = 0


@record
class MaxAge:
    __pydantic_config__ = _STRICT_KEYS
    accepted: Duration = 7 * 86400.0
    rejected: Duration = 14 * 86400.0
    failed: Duration = 14 * 86400.0
    cancelled: Duration = 7 * 86400.0


@record
class GcConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: How often ``cairn up`` runs gc; None: never (run ``cairn gc`` yourself).
    interval: Duration | None = None
    max_age: MaxAge = field(default_factory=MaxAge)
    #: Keep the newest N finished workspaces whatever their age.
    keep: Count = 0
    #: Remove the oldest finished workspaces while all together exceed this.
    max_size: Size | None = None
    #: Agent logs of finished tasks older than this are compressed.
    log_age: Duration = 3 * 86400.0


@record
class NotifyConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: argv run on review-ready, failed, idle and accepted; ``{id}``, ``{state}``, ``{title}``.
    command: Argv | None = None
    desktop: bool = False


@record
class PoolConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: Worktrees kept ready at the target's tip under ``$CAIRN_HOME/pool`` (cairn/backends/git/pool.py); 0: no pool.
    size: Count = 0


@record
class RayExecutor:
    """``[executors.ray]``: Ray Jobs through the head's REST API (docs/executors.md)."""

    __pydantic_config__ = _STRICT_KEYS
    #: The dashboard's address (``http://head:8265``); unset: ``$RAY_ADDRESS``.
    address: str | None = None
    max_agents: Positive = 4
    #: A git URL the nodes can fetch and push; unset: the base travels as a
    #: bundle in the job's working_dir, and the work comes back through ``shared_dir``.
    remote: str | None = None
    #: A directory this machine and the nodes both see (results without a remote).
    shared_dir: str | None = None
    #: How a node starts Cairn's remote runner (pip, ``nix run``, ``devenv shell``).
    command: Argv = field(default_factory=lambda: ["cairn-remote-run"])
    #: CPUs Ray reserves for each task's entrypoint.
    num_cpus: float = 1.0
    #: Names of variables read from this machine's environment and sent with
    #: the job.  Ray shows them to anyone who can reach its API: never secrets.
    env: list[str] = field(default_factory=list)


@record
class SlurmExecutor:
    """``[executors.slurm]``: ``sbatch``, ``squeue``/``sacct``, ``scancel`` (docs/executors.md)."""

    __pydantic_config__ = _STRICT_KEYS
    max_agents: Positive = 4
    remote: str | None = None
    #: A directory this machine and the nodes both see: job scripts, output,
    #: bundles.  Required.
    shared_dir: str | None = None
    command: Argv = field(default_factory=lambda: ["cairn-remote-run"])
    partition: str | None = None
    #: ``--time``; unset: the task's own timeout plus a margin.
    time_limit: Duration | None = None
    cpus: Positive = 1
    #: ``--mem`` (``4G``); unset: the partition's default.
    memory: str | None = None
    #: More ``sbatch`` options, verbatim (``["--account=lab"]``).
    sbatch_args: list[str] = field(default_factory=list)
    #: Names of variables this machine's environment lends the job (``--export``);
    #: nothing else goes, so the agent's credentials are the node's own.
    env: list[str] = field(default_factory=lambda: ["PATH", "HOME"])


@record
class ExecutorsConfig:
    __pydantic_config__ = _STRICT_KEYS
    ray: RayExecutor = field(default_factory=RayExecutor)
    slurm: SlurmExecutor = field(default_factory=SlurmExecutor)


@record
class BudgetConfig:
    """Limits on what agents report spending (docs/agents.md); unset: no limit."""

    __pydantic_config__ = _STRICT_KEYS
    #: US dollars one task's agent may report; over it, the task is stopped and failed.
    per_task: Annotated[float, _AtLeast(0)] | None = None
    #: Dollars all tasks may report in a day; once spent, nothing more starts that day.
    per_day: Annotated[float, _AtLeast(0)] | None = None
    #: The same in tokens (input + output), for agents that report no cost.
    per_task_tokens: Count | None = None
    per_day_tokens: Count | None = None


@record
class TuiConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: Ask before `a` accepts or `x` rejects, showing what would land or go; false: act at once.
    confirm: bool = True


@record
class PlannerConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: The profile ``cairn plan`` runs (a name from ``agents``); unset: ``default_agent``.
    agent: str | None = None
    #: How long the planner may run.
    timeout: Duration = 1200.0


@record
class ScheduleConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: A queued task whose ``--lock`` globs overlap what a task in review changes waits for it.
    avoid_conflicts: bool = False


@record
class EnvConfig:
    """What of Cairn's environment reaches agents, setup, checks (cairn/core/environment.py).
    ``pass`` in TOML: a Python keyword, hence the field's name."""

    __pydantic_config__ = _STRICT_KEYS
    pass_: list[str] = field(default_factory=list)
    #: None: cairn.core.environment.DEFAULT_DROP.
    drop: list[str] | None = None
    set: dict[str, str] = field(default_factory=dict)


@record
class PortsConfig:
    __pydantic_config__ = _STRICT_KEYS
    #: The first port handed out; blocks follow each other from here.
    base: Annotated[int, _AtLeast(1)] = 20000
    #: Consecutive ports per running task: CAIRN_PORT .. CAIRN_PORT + per_task - 1.
    per_task: Positive = 10


#: Credentials under $HOME a sandboxed program must not read (files read as
#: empty, directories as empty directories).
DEFAULT_HIDE = [
    "~/.ssh/", "~/.gnupg/", "~/.aws/", "~/.azure/", "~/.config/gcloud/", "~/.kube/", "~/.docker/",
    "~/.config/gh/", "~/.netrc", "~/.git-credentials", "~/.pypirc", "~/.npmrc",
]


@record
class Config:
    __pydantic_config__ = _STRICT_KEYS
    #: The state directory; relative paths are relative to the repository root.
    home: str | None = None
    default_agent: str = "claude"
    max_agents: Positive = 4
    vcs: Literal["auto", "git", "clone", "jj"] = "auto"
    #: Where task workspaces live; default ``$CAIRN_HOME/workspaces``.
    workspace_dir: str | None = None
    #: Default time an agent may run; None: no limit.
    timeout: Duration | None = 7200.0
    #: Silence after which a running agent is flagged idle.
    idle_after: Duration = 600.0
    #: ``auto``: agents run in tmux sessions when tmux is installed.
    tmux: Literal["auto", "always", "never"] = "auto"
    agents: dict[str, AgentProfile] = field(default_factory=dict)
    #: Check an agent's binary and credentials before starting its tasks (docs/agents.md).
    preflight: bool = True
    #: How long an agent's queue pauses after it reports a rate limit without saying when it resets.
    rate_limit_backoff: Duration = 900.0
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    bootstrap: Bootstrap = field(default_factory=Bootstrap)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    accept: AcceptConfig = field(default_factory=AcceptConfig)
    reviewer: ReviewerConfig = field(default_factory=ReviewerConfig)
    gc: GcConfig = field(default_factory=GcConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    #: Where a task's agent runs unless ``cairn queue --executor`` says otherwise.
    executor: Literal["local", "ray", "slurm"] = "local"
    executors: ExecutorsConfig = field(default_factory=ExecutorsConfig)
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    #: A directory the scheduler takes ticket files from (relative: to the repository root); unset: none.
    backlog_dir: str | None = None
    #: ``auto``: bubblewrap where it works, else unconfined (said in the log and
    #: ``cairn status ID``); ``bwrap``: always, a task fails rather than run unconfined.
    sandbox: Literal["auto", "none", "bwrap"] = "auto"
    sandbox_network: bool = True
    #: Writable in the sandbox for every program Cairn starts there (``~/.npm/``).
    sandbox_writable: list[str] = field(default_factory=list)
    sandbox_hide: list[str] = field(default_factory=lambda: list(DEFAULT_HIDE))
    env: EnvConfig = field(default_factory=EnvConfig)
    ports: PortsConfig = field(default_factory=PortsConfig)
    tui: TuiConfig = field(default_factory=TuiConfig)
