"""Confinement of the programs a task runs in its workspace: the agent, setup
commands, checks, the reviewer, teardown.

One ``Confinement`` per task says how: bubblewrap (cairn/core/sandbox.py builds
its argv) or nothing, the network on or off, the environment they get
(cairn/core/environment.py) and the task's port block.  Deciding is the only
I/O here: whether bwrap works (one real ``bwrap ... true``), which declared
paths exist, directories to make.

Never a silent unconfined run: ``sandbox = "bwrap"`` where bwrap is missing or
cannot make a sandbox fails the task before anything starts, naming what to
install; ``auto`` falls back to none and says so in the task's log, its
``isolation.json`` and ``cairn status ID``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cairn.core.environment import DEFAULT_DROP, EnvPolicy, compose
from cairn.core.records import field, record
from cairn.core.sandbox import PRIVATE_TMPFS, SandboxSpec, bwrap_argv
from cairn.errors import UsageError

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt install bubblewrap; Fedora: dnf install bubblewrap; "
    'Nix: pkgs.bubblewrap), or set sandbox = "none" to run agents unconfined'
)


class SandboxUnavailable(UsageError):
    """bwrap was asked for and cannot be had: nothing runs unconfined instead."""


def policy(config: Any) -> EnvPolicy:
    env = config.env
    drop = tuple(env.drop) if env.drop is not None else DEFAULT_DROP
    return EnvPolicy(passed=tuple(env.pass_), drop=drop, set=tuple(sorted(env.set.items())))


def requested(config: Any, profile: Any, task_sandbox: str | None) -> str:
    """The task's ``--sandbox``, else its profile's, else the configuration's."""
    return task_sandbox or getattr(profile, "sandbox", None) or config.sandbox


_probed: dict[str, str | None] = {}


def bwrap_problem() -> str | None:
    """None when bwrap can make a sandbox here; else why not, in a few words."""
    path = shutil.which("bwrap")
    if path is None:
        return "bubblewrap (bwrap) is not installed"
    if path not in _probed:
        probe = bwrap_argv(SandboxSpec(workspace="/", network=False), ["true"], bwrap=path)
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
            _probed[path] = None if done.returncode == 0 else (
                f"bwrap cannot make a sandbox here ({(done.stderr.strip().splitlines() or ['exit status ' + str(done.returncode)])[-1]})"
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            _probed[path] = f"bwrap cannot run: {error}"
    return _probed[path]


def choose(mode: str) -> tuple[str, str | None]:
    """(``bwrap`` | ``none``, why unconfined); raises when bwrap is required and unusable."""
    if mode == "none":
        return "none", 'sandbox = "none"'
    problem = bwrap_problem()
    if problem is None:
        return "bwrap", None
    if mode == "bwrap":
        raise SandboxUnavailable(f'sandbox = "bwrap" is selected, but {problem}; nothing was run unconfined', hint=INSTALL_HINT)
    return "none", f"sandbox = auto and {problem}"


@record
class Confinement:
    mode: str  # "bwrap" | "none"
    why: str | None  # why unconfined, when it is
    network: bool
    workspace: str
    env_policy: EnvPolicy
    #: The environment Cairn itself was given (the runner's, the scheduler's).
    base_env: dict[str, str]
    #: CAIRN_* for every program: task id, workspace, home, port block.
    cairn_env: dict[str, str]
    #: Writable for every program (workspace aside): ``sandbox_writable``.
    writable: tuple[str, ...] = ()
    readable: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    blanked: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def environment(self, *, needs: tuple[str, ...] = (), profile_set: dict[str, str] | None = None,
                    extra: dict[str, str] | None = None) -> dict[str, str]:
        env = compose(self.base_env, self.env_policy, needs=needs, profile_set=profile_set,
                      cairn={**self.cairn_env, **(extra or {})})
        if self.mode == "bwrap":
            env["TMPDIR"] = "/tmp"  # the private /tmp; a TMPDIR outside it may not exist in there
        return env

    def wrap(self, argv: list[str], writable: tuple[str, ...] = ()) -> list[str]:
        if self.mode != "bwrap":
            return list(argv)
        # A script named on the command line (``sh /tmp/x/agent.sh``) must stay
        # readable where a private /tmp or a hidden directory would cover it.
        covered = (*PRIVATE_TMPFS, *self.hidden)
        open_to_write = (self.workspace, *self.writable, *writable)
        named = tuple(
            path for path in (_real(part) for part in argv if os.path.isabs(part) and os.path.exists(part))
            if any(_inside(path, c) for c in covered) and not any(_inside(path, w) for w in open_to_write)
        )
        # So must the program itself where it is installed under /tmp (a venv
        # made there, a CI checkout's tools): its whole install, not only its
        # file.  Never what the policy hides on purpose (other agents' homes).
        # Cairn's own package too: its demo agent and helpers run in here, and an
        # editable install's sources live outside the venv's prefix.
        named += tuple(
            path for path in (*(_installs(argv[0], self.base_env.get("PATH")) if argv else ()), _CAIRN_SOURCES)
            if any(_inside(path, t) for t in PRIVATE_TMPFS) and not any(_inside(path, h) for h in self.hidden)
            and not any(_inside(path, w) for w in open_to_write) and path not in named
        )
        spec = SandboxSpec(
            workspace=self.workspace, writable=(*self.writable, *writable), readable=(*self.readable, *named),
            hidden=self.hidden, blanked=self.blanked, network=self.network,
        )
        return bwrap_argv(spec, argv, bwrap=shutil.which("bwrap") or "bwrap")


def confine(settings: Any, *, task_id: int, workspace: str, mode: str, network: bool, base_env: dict[str, str],
            cairn_env: dict[str, str], own_profile: Any = None) -> Confinement:
    """How programs in ``workspace`` run for this task.  Raises SandboxUnavailable (see choose)."""
    chosen, why = choose(mode)
    config = settings.config
    home_dir = base_env.get("HOME") or os.path.expanduser("~")
    notes: list[str] = []
    common = tuple(declared_paths(config.sandbox_writable, home_dir, notes)) if chosen == "bwrap" else ()
    own = set(declared_paths(getattr(own_profile, "writable", []) or [], home_dir, [], make=False))
    hidden: list[str] = []
    blanked: list[str] = []
    readable: list[str] = []
    if chosen == "bwrap":
        layout = settings.layout
        secret = [*config.sandbox_hide, *_other_profiles_paths(config, own_profile)]
        for path in declared_paths(secret, home_dir, [], make=False):
            if any(_inside(path, mine) or _inside(mine, path) for mine in (*own, *common)):
                continue
            (hidden if os.path.isdir(path) else blanked).append(path)
        state_dir = _real(str(layout.home))
        hidden.append(state_dir)  # other tasks' prompts, logs and records
        runtime = base_env.get("XDG_RUNTIME_DIR")
        if runtime and os.path.isdir(runtime):
            hidden.append(_real(runtime))  # the session bus, key agents' sockets
        wanted = [str(layout.task_dir(task_id)), home_dir, *(base_env.get("PATH", "").split(os.pathsep))]
        if settings.root is not None:
            wanted.append(str(settings.root))
        covered = (*PRIVATE_TMPFS, *hidden)
        readable = [p for p in (_real(w) for w in wanted if w) if any(_inside(p, c) for c in covered)]
    return Confinement(
        mode=chosen, why=why, network=network, workspace=_real(workspace), env_policy=policy(config),
        base_env=dict(base_env), cairn_env=dict(cairn_env), writable=common, readable=tuple(readable),
        hidden=tuple(hidden), blanked=tuple(blanked), notes=notes,
    )


def declared_paths(declared: list[str], home_dir: str, notes: list[str], make: bool = True) -> list[str]:
    """Absolute, resolved paths for ``~/.claude/``-style declarations.  A trailing
    ``/`` is a directory, made when missing (``make``); any other path is used only
    if it exists (a note says which were not)."""
    found = []
    for entry in declared:
        expanded = home_dir + entry[1:] if entry == "~" or entry.startswith("~/") else entry
        if not os.path.isabs(expanded):
            notes.append(f"not an absolute path, not made writable: {entry}")
            continue
        if entry.endswith("/") and make and not os.path.exists(expanded):
            try:
                os.makedirs(expanded, mode=0o700, exist_ok=True)
            except OSError as error:
                notes.append(f"cannot make {expanded}: {error.strerror}")
                continue
        if os.path.lexists(expanded):
            found.append(_real(expanded))
        elif make:
            notes.append(f"{expanded} does not exist, not made writable")
    return found


def _other_profiles_paths(config: Any, own_profile: Any) -> list[str]:
    """What other agents keep under $HOME (their logins, their sessions): a
    Claude agent has no business in ~/.codex."""
    own = set(getattr(own_profile, "writable", []) or [])
    return [p for profile in config.agents.values() if profile is not own_profile for p in profile.writable if p not in own]


#: The directory that holds the running Cairn's package (site-packages, or a checkout).
_CAIRN_SOURCES = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def _installs(command: str, search_path: str | None) -> tuple[str, ...]:
    """Where ``command`` and the interpreter of its ``#!`` line are installed,
    as real paths: the prefix above a ``bin/`` directory (a venv, an npm
    prefix: the program's libraries are there), else the file itself."""
    found = shutil.which(command, path=search_path)
    if found is None:
        return ()
    places = [_prefix(_real(found))]
    try:
        with open(found, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        first = b""
    if first.startswith(b"#!"):
        words = first[2:].decode(errors="replace").split()
        if words and os.path.isabs(words[0]):
            # The interpreter as named (a venv's bin/python is a link out of the venv).
            places.append(_prefix(os.path.abspath(words[0])))
    return tuple(places)


def _prefix(path: str) -> str:
    parent = os.path.dirname(path)
    return os.path.dirname(parent) if os.path.basename(parent) == "bin" else path


def _real(path: str) -> str:
    return os.path.realpath(path)


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")



@contextmanager
def for_task(settings: Any, task: Any, workspace: str, *, ports: bool = True) -> Iterator[Confinement]:
    """The confinement of programs run for ``task`` outside its runner (checks at
    accept time, teardown): its sandbox and environment, and a port block of
    its own held for the ``with`` block (the runner's went with it)."""
    from cairn.agents.launch import task_variables

    config = settings.config
    profile = config.agents.get(task.agent) if task is not None else None
    mode = requested(config, profile, getattr(task, "sandbox", None))
    network = profile.sandbox_network if profile is not None and profile.sandbox_network is not None else config.sandbox_network
    block = None
    if ports:
        from cairn.state.ports import allocate

        block = allocate(settings.layout, config.ports.base, config.ports.per_task, task.id if task is not None else 0)
    try:
        task_id = task.id if task is not None else 0
        variables = task_variables(task_id, workspace, str(settings.layout.home), str(settings.layout.prompt_file(task_id)), block)
        yield confine(settings, task_id=task_id, workspace=workspace, mode=mode, network=network,
                      base_env=dict(os.environ), cairn_env=variables)
    finally:
        if block is not None:
            from cairn.state.ports import release

            release(block)
