"""The bench's world: a private directory holding the Cairn under test, an
environment, repositories, state directories and task-spooler servers; and
taking it all down again, whatever happened.

The Cairn under test is, by default, a regular (non-editable) ``pip install``
of this checkout into a temporary venv: an editable install adds an import
hook to every start, which is not what users run.  ``--install current``
measures the environment the bench runs in instead (the quick run does, to
stay fast), and the report says which it was.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.harness import BenchError, run

CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Scale:
    name: str
    tasks: int = 1000  # in the state directory that queue and status see
    startup_runs: int = 40
    latency_samples: int = 30
    big_files: int = 10_000
    small_files: int = 100
    workspace_runs: int = 5
    accept_runs: int = 10
    throughput_tasks: int = 200
    throughput_agents: int = 8
    gc_tasks: int = 1000
    resident_agents: int = 50
    idle_seconds: float = 10.0
    pool_size: int = 2
    conflict_tasks: int = 20  # tasks in review for the conflict radar, in the big repository
    conflict_runs: int = 5
    crew_tasks: int = 500  # of crew_seconds each, on throughput_agents slots
    crew_seconds: float = 1.0


FULL = Scale("full")
QUICK = Scale(
    "quick", tasks=20, startup_runs=2, latency_samples=1, big_files=200, small_files=20, workspace_runs=1,
    accept_runs=1, throughput_tasks=3, throughput_agents=2, gc_tasks=10, resident_agents=2, idle_seconds=0.5,
    conflict_tasks=3, conflict_runs=1,
    crew_tasks=4, crew_seconds=0.2,
)


class World:
    def __init__(self, scale: Scale, directory: Path, install: str) -> None:
        self.scale = scale
        self.dir = directory
        self.processes: list[subprocess.Popen[bytes]] = []
        #: Unix socket paths must be short (108 bytes): tsp's live in /tmp, not under a long TMPDIR.
        self.sockets = Path(tempfile.mkdtemp(prefix="cairn-tsp-", dir="/tmp" if os.path.isdir("/tmp") else None))
        (directory / "home").mkdir(parents=True)
        (directory / "tmp").mkdir()
        self.bin, self.install = self._install(install)
        self.python = self.bin / "python"
        self.env = {
            "PATH": os.pathsep.join([str(self.bin), str(CHECKOUT / ".tools" / "bin"), os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": str(directory / "home"),
            "XDG_CACHE_HOME": str(directory / "home" / ".cache"),
            "XDG_CONFIG_HOME": str(directory / "home" / ".config"),
            "TMPDIR": str(directory / "tmp"),
            "LC_ALL": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Bench",
            "GIT_AUTHOR_EMAIL": "bench@example.com",
            "GIT_COMMITTER_NAME": "Bench",
            "GIT_COMMITTER_EMAIL": "bench@example.com",
            # Headless: tmux sessions are measured nowhere here.
            "CAIRN_TMUX": "never",
        }
        self._repos: dict[str, Path] = {}

    # -- the Cairn under test ---------------------------------------------------------

    def _install(self, mode: str) -> tuple[Path, str]:
        if mode == "current":
            here = Path(sys.executable).parent
            if not (here / "cairn").exists():
                raise BenchError(f"no `cairn` next to {sys.executable}: install Cairn there, or use --install venv")
            return here, f"the bench's own environment ({here.parent}; an editable install there adds an import hook to each start)"
        source = self.dir / "src"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            if (CHECKOUT / name).exists():
                shutil.copy2(CHECKOUT / name, source / name)
        shutil.copytree(CHECKOUT / "cairn", source / "cairn", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        venv = self.dir / "venv"
        run([sys.executable, "-m", "venv", str(venv)], dict(os.environ), self.dir)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)]
        done = run(pip, dict(os.environ), self.dir, check=False, timeout=600)
        if done.returncode != 0:
            raise BenchError(
                "could not pip install Cairn into a temporary venv (offline?): "
                f"{done.stderr.strip()[-300:]}; `--install current` measures the bench's own environment instead"
            )
        return venv / "bin", "a regular (non-editable) pip install of this checkout into a temporary venv"

    # -- environments ------------------------------------------------------------------

    def cairn_env(self, home: Path, **extra: str) -> dict[str, str]:
        return {**self.env, "CAIRN_HOME": str(home), **extra}

    def cairn(self, home: Path, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run([str(self.bin / "cairn"), *args], self.cairn_env(home), self.repo("small"), check=check, timeout=timeout)

    # -- repositories ----------------------------------------------------------------------

    def repo(self, name: str) -> Path:
        """``small`` (a small project) or ``big`` (``big_files`` files); made once."""
        if name not in self._repos:
            files = self.scale.big_files if name == "big" else self.scale.small_files
            self._repos[name] = self._make_repo(self.dir / f"repo-{name}", files)
        return self._repos[name]

    def _make_repo(self, root: Path, files: int) -> Path:
        root.mkdir()
        run(["git", "init", "-q", "-b", "main"], self.env, root)
        per_directory = 100
        for n in range(files):
            directory = root / "src" / f"pkg{n // per_directory:03d}"
            if n % per_directory == 0:
                directory.mkdir(parents=True)
            (directory / f"mod{n % per_directory:03d}.py").write_text(f'"""Module {n}."""\n\nVALUE = {n}\n\n\ndef f():\n    return VALUE * 2\n')
        (root / "README.md").write_text(f"# bench repository ({files} files)\n")
        run(["git", "add", "-A"], self.env, root, timeout=600)
        run(["git", "commit", "-q", "-m", "initial"], self.env, root, timeout=600)
        return root

    def commit(self, repo: Path, path: str, text: str, message: str) -> str:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        run(["git", "add", "--", path], self.env, repo)
        run(["git", "commit", "-q", "-m", message], self.env, repo)
        return run(["git", "rev-parse", "HEAD"], self.env, repo).stdout.strip()

    # -- state directories ---------------------------------------------------------------------

    def home(self, name: str, repo: Path, config: str = "") -> Path:
        """A state directory for ``repo`` with ``config`` as its config.toml; the config cache warmed."""
        home = self.dir / "homes" / name
        home.parent.mkdir(exist_ok=True)
        # Cairn keeps one state directory per repository; the bench compares
        # configurations side by side on one repository, so it forgets the
        # record of the previous one on purpose.
        (repo / ".git" / "cairn-home").unlink(missing_ok=True)
        run([str(self.bin / "cairn"), "init"], self.cairn_env(home), repo)
        (home / "config.toml").write_text(config)
        run([str(self.bin / "cairn"), "status"], self.cairn_env(home), repo)
        return home

    def seed(self, home: Path, states: list[str], *, agent: str, title: str = "bench task") -> list[int]:
        """Tasks written straight into the state directory in the store's format
        (as ``cairn queue`` would, without its fsyncs: this is setup, not measured)."""
        from cairn.core import codec
        from cairn.core.model import Accepted, Queued, Task
        from cairn.state.layout import Layout

        layout = Layout(home)
        try:
            first = int(layout.next_id.read_text())
        except (OSError, ValueError):
            first = 1
        now = time.time() - 3600
        ids = []
        for offset, state in enumerate(states):
            task_id = first + offset
            task = Task(id=task_id, title=f"{title} {task_id}", prompt=f"{title} {task_id}", agent=agent, created=now, target="main")  # type: ignore[arg-type]
            record: Any = Queued(since=now) if state == "queued" else Accepted(since=now, strategy="rebase", target="main")  # type: ignore[arg-type]
            directory = layout.task_dir(task_id)
            directory.mkdir(mode=0o700)
            (directory / "task.json").write_text(_json(codec.encode(task)))
            (directory / "state.json").write_text(_json(codec.encode(record)))
            ids.append(task_id)
        layout.next_id.write_text(f"{first + len(states)}\n")
        return ids

    # -- processes ---------------------------------------------------------------------------

    def start(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            process = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # -- task-spooler ------------------------------------------------------------------------

    def tsp_env(self, name: str, slots: int) -> dict[str, str]:
        """A task-spooler of our own: its socket, its output directory, its limits."""
        base = self.dir / "tsp"
        (base / f"{name}-out").mkdir(parents=True)
        socket = self.sockets / f"{name}.sock"
        return {**self.env, "TS_SOCKET": str(socket), "TS_SLOTS": str(slots), "TS_MAXFINISHED": "5000", "TMPDIR": str(base / f"{name}-out")}

    def tsp_server(self, env: dict[str, str]) -> psutil.Process | None:
        """The server is the tsp process listening on the socket."""
        socket = env["TS_SOCKET"]
        for process in psutil.process_iter(["name"]):
            if process.info["name"] not in ("tsp", "ts"):
                continue
            try:
                if any(c.laddr == socket for c in process.net_connections("unix")):
                    return process
            except psutil.Error:
                continue
        return None

    # -- taking it down ------------------------------------------------------------------------

    def close(self, keep: bool) -> None:
        for process in self.processes:
            self.stop(process, timeout=10)
        self._kill_leftovers()
        shutil.rmtree(self.sockets, ignore_errors=True)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_leftovers(self) -> None:
        """Every process still carrying one of our markers: a tsp socket, a state directory of ours."""
        mine = (str(self.dir), str(self.sockets))
        found = []
        for process in psutil.process_iter(["pid"]):
            if process.pid == os.getpid():
                continue
            try:
                environment = process.environ()
            except psutil.Error:
                continue
            if environment.get("TS_SOCKET", "").startswith(mine) or environment.get("CAIRN_HOME", "").startswith(mine):
                found.append(process)
        for process in found:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(found, timeout=5)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def machine(load: str) -> dict[str, Any]:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    tsp = shutil.which("tsp")
    tsp_version = "not installed"
    if tsp:
        done = subprocess.run([tsp, "-V"], capture_output=True, text=True)
        words = (done.stdout + done.stderr).split()
        tsp_version = next((w.removeprefix("v") for w in words if w[:1] == "v" and w[1:2].isdigit()), "?")
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip().removeprefix("git version ")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "git": git,
        "tsp": tsp_version,
        "load_before": load,
        "load_after": load,
    }


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"
