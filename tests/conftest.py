"""Every test gets its own world under ``tmp_path``: HOME, git identity and
config, fixed commit dates, no editor, a fresh repository, its own CAIRN_HOME.
Nothing depends on the current directory or on another test, so
``pytest -n auto`` is safe.

``cairn`` runs the installed console scripts as real subprocesses; tests that
need many quick calls may use ``cairn_inprocess`` instead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    for key in list(os.environ):
        if key.startswith(("CAIRN_", "GIT_")) or key in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "TMUX", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
            monkeypatch.delenv(key, raising=False)
    values = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "GIT_EDITOR": "false",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": os.pathsep.join([str(BIN), str(REPO / ".tools" / "bin"), os.environ.get("PATH", "")]),
        "TMUX_TMPDIR": str(tmp_path / "tmux"),
        "LC_ALL": "C.UTF-8",
        # Agents run headless unless a test asks for tmux (tests/test_tmux.py).
        "CAIRN_TMUX": "never",
        # Tasks queued for profiles whose CLI is not here must still reach the
        # runner; tests of preflight turn it on (tests/test_preflight.py).
        "CAIRN_PREFLIGHT": "false",
        # Agents run unconfined unless a test asks for the sandbox (tests/test_sandbox.py):
        # many tests' agents keep their scripts and records in tmp_path, under /tmp.
        "CAIRN_SANDBOX": "none",
    }
    (tmp_path / "tmux").mkdir()
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    subprocess.run(["git", "config", "--global", "init.defaultBranch", "main"], check=True)
    return dict(os.environ)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit on ``main``; the test runs inside it."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# demo\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def hello():\n    return 'hello'\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def home(repo: Path) -> Path:
    return repo / ".cairn"


def run_cairn(cwd: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
    command = [str(BIN / "cairn"), *args]
    completed = subprocess.run(
        command, cwd=cwd, input=input, capture_output=True, text=True, errors="surrogateescape", env=env, timeout=timeout
    )
    return Result(list(args), completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def cairn(repo: Path, env: dict[str, str]):
    """``cairn("queue", "do it")``: the installed dispatcher, a real subprocess, run in the repo."""

    def call(*args: str, input: str | None = None, cwd: Path | None = None, extra_env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        environment = dict(os.environ)
        if extra_env:
            environment.update(extra_env)
        return run_cairn(cwd or repo, *args, input=input, env=environment, timeout=timeout)

    return call


@pytest.fixture
def tmux_server(tmp_path: Path, env: dict[str, str]) -> Iterator[None]:
    """A private tmux server for the test (TMUX_TMPDIR under tmp_path), killed after."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    yield
    subprocess.run(["tmux", "kill-server"], capture_output=True)


@pytest.fixture
def store(home: Path):
    """The Store of the test's state directory, for setting up records a test
    cannot reach through commands (a running task, a corrupt file)."""
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    return Store(Layout(home))


@pytest.fixture
def set_running(store, repo: Path):
    """``set_running(3)``: move queued task 3 to ``running`` as a runner would,
    without starting anything (no agent, no workspace, no runner lock)."""

    from cairn.core.model import Running, GitWork

    def move(task_id: int) -> None:
        work = GitWork(
            workspace=str(store.layout.workspaces / str(task_id)),
            branch=f"cairn/{task_id}",
            base_commit=git(repo, "rev-parse", "HEAD"),
        )
        store.move(task_id, "running", lambda _: Running(since=time.time(), work=work, runner_pid=os.getpid()))

    return move


def events(home: Path) -> list[dict]:
    """The journal, parsed."""
    path = home / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def state_of(home: Path, task_id: int) -> dict:
    return json.loads((home / "tasks" / str(task_id) / "state.json").read_text())


@pytest.fixture
def add_task(store, repo: Path):
    """``add_task("Fix it", priority="high", locks=["src/**"])``: a queued task
    written through the store as ``cairn queue`` writes it, without starting a
    process; returns its id.  For tests about what happens to tasks, not about
    queueing them."""

    from cairn.core.model import Queued, Task
    from cairn.core.queueing import make_title

    def add(prompt: str, **fields: object) -> int:
        store.ensure(repo)
        fields.setdefault("title", make_title(prompt, None))
        fields.setdefault("agent", "claude")
        fields.setdefault("target", "main")

        def build(task_id: int) -> Task:
            return Task(id=task_id, prompt=prompt, created=time.time(), **fields)  # type: ignore[arg-type]

        task = store.create_task(build, lambda t: Queued(since=t.created))
        store.journal("queued", task=task.id, title=task.title, agent=task.agent, priority=task.priority)
        return task.id

    return add


@pytest.fixture
def warm_config(repo: Path, env: dict[str, str]) -> None:
    """Validate the repository's configuration once in this process, so the
    commands a test runs find the per-user cache filled, as they do after a
    user's first command.  Saves each test the subprocess that imports
    pydantic; a test that then writes a config file invalidates the cache as
    a user's edit would.  Opt in per module with
    ``pytestmark = pytest.mark.usefixtures("warm_config")``."""
    from cairn.config.load import resolve

    resolve(repo)


def run_task(cairn, prompt: str, *extra: str, must_reach_review: bool = True) -> int:
    """Queue a task for the scripted agent and run it to its end with `cairn spawn --wait`; its id."""
    queued = cairn("queue", "-a", "demo", *extra, prompt)
    assert queued.returncode == 0, queued.stderr
    task_id = int(queued.stdout)
    spawned = cairn("spawn", str(task_id), "--wait")
    if must_reach_review:
        assert spawned.returncode == 0, spawned.stdout + spawned.stderr
    else:
        assert spawned.stdout.startswith(f"task {task_id}: "), spawned.stdout + spawned.stderr
    return task_id


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real, tiny filesystem (a 2 MiB tmpfs) at ``tmp_path/small``, for tests
    about a full disk or a read-only one; unmounted after.  Mounting needs
    root: elsewhere the test is skipped, saying so."""
    if os.geteuid() != 0:
        pytest.skip("a real full or read-only filesystem needs a tmpfs mount, which needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def remount(mount: Path, option: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{option}", str(mount)], check=True, capture_output=True)


def wait_until(predicate, timeout: float = 60.0, what: str = "condition", step: float = 0.05):  # type: ignore[no-untyped-def]
    """Wait for the condition a test is about, never for "long enough": polled
    every ``step`` seconds; its first true value, or a TimeoutError naming
    ``what`` once ``timeout`` has passed (tests/clusters.py, shared with bench/)."""
    from clusters import wait_for

    return wait_for(predicate, timeout, what, step)


def pytest_configure(config: pytest.Config) -> None:
    """A suite started as a background job (``make test &``, a CI step's
    shell) begins with SIGINT ignored, and every command it starts would
    inherit that: tests of what Ctrl-C does would see no Ctrl-C at all.  A
    handler here is reset to the default in every command the tests exec."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The cluster suites share one Ray head and one Slurm cluster per session:
    under xdist each worker would start its own, on one machine.  They run in
    one process (``make test`` does: ``pytest -m "ray or slurm"`` without -n)."""
    if not hasattr(config, "workerinput"):
        return
    skip = pytest.mark.skip(reason='cluster suites run in one process: pytest -m "ray or slurm" without -n (make test does)')
    for item in items:
        if item.get_closest_marker("ray") or item.get_closest_marker("slurm"):
            item.add_marker(skip)


# -- no test leaves a process behind --------------------------------------------------

def _marked_processes(marker: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``marker`` (the test's private
    ``TMUX_TMPDIR=...``, which every command it runs inherits, agents included)."""
    found = []
    needle = marker.encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                if needle not in handle.read().split(b"\0"):
                    continue
            process = psutil.Process(int(entry.name))
            if process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (OSError, psutil.Error):
            continue
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    """After a test and its fixtures are done, nothing it started may still
    run: a leaked scheduler, runner or agent loads the machine for every test
    after it (and on a 2-core CI runner, makes them flake).  Whatever is left
    gets a few seconds to end on its own, is then killed, and fails the test.
    The cluster suites share their session's Ray head and Slurm daemons, and
    are left out."""
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    result = yield
    if tmp_path is None or item.get_closest_marker("ray") or item.get_closest_marker("slurm") or sys.platform != "linux":
        return result
    marker = f"TMUX_TMPDIR={tmp_path / 'tmux'}"
    deadline = time.monotonic() + 10
    left = _marked_processes(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _marked_processes(marker)
    if not left:
        return result
    described = []
    for process in left:
        try:
            described.append(f"{process.pid} {' '.join(process.cmdline())[:200]}")
            process.kill()
        except psutil.Error:
            pass  # it ended meanwhile
    raise AssertionError("the test left processes running (killed now):\n  " + "\n  ".join(described))
