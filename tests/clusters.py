"""Real cluster engines on this machine, for the executor tests and the bench.

``slurm_cluster``: munged, slurmctld and slurmd for one node, every file
(configuration, state, spool, logs, munge key and socket) under one
directory; Debian's packages start no services, so nothing else is shared.
``ray_head``: a Ray head from the venv ``.ci/tools.sh`` makes under
``.tools/ray``, on 127.0.0.1 only, with token authentication on.

Both wait for a condition (the node idle, the Jobs API answering), never a
fixed time, and stop everything they started.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAY = ROOT / ".tools" / "ray" / "bin" / "ray"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, what: str, step: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(step)


def slurm_missing() -> str | None:
    for tool in ("munged", "slurmctld", "slurmd", "sbatch"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (.ci/tools.sh slurm installs Debian's slurm-wlm and munge)"
    if os.geteuid() != 0:
        return "slurmd runs its jobs as their user: these tests need root"
    return None


def ray_missing() -> str | None:
    if not RAY.exists():
        return f"{RAY} is missing (.ci/tools.sh ray installs ray[default] there)"
    return None


@dataclass
class Slurm:
    directory: Path
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, *argv: str) -> str:
        return subprocess.run(list(argv), env=self.env, capture_output=True, text=True, check=True, timeout=60).stdout

    def restart_controller(self, clean: bool) -> None:
        """Stop slurmctld and start it again; ``clean``: without its saved state
        (``-c``), so it forgets every job, as a controller that lost its disk does."""
        controller = self.processes[1]
        controller.send_signal(signal.SIGTERM)
        controller.wait(timeout=60)
        conf = self.env["SLURM_CONF"]
        self.processes[1] = subprocess.Popen(["slurmctld", "-D", "-i", *(["-c"] if clean else []), "-f", conf], env=self.env,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(lambda: _node_ready(self.env), 120, "the Slurm node to be back", step=0.5)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_slurm(directory: Path, cpus: int = 8) -> Slurm:
    """A one-node cluster: the node claims ``cpus`` CPUs so that several
    single-CPU jobs run at once even on a two-core machine."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("state", "spool", "log", "munge"):
        (directory / name).mkdir(exist_ok=True)
    munge = directory / "munge"
    os.chmod(munge, 0o700)
    key = munge / "munge.key"
    key.write_bytes(secrets.token_bytes(128))
    os.chmod(key, 0o400)
    sock = munge / "munge.socket"
    host = socket.gethostname()
    ctld_port, slurmd_port = free_port(), free_port()
    conf = directory / "slurm.conf"
    conf.write_text(f"""\
ClusterName=cairntest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={directory}/state
SlurmdSpoolDir={directory}/spool
SlurmctldPidFile={directory}/slurmctld.pid
SlurmdPidFile={directory}/slurmd.pid
SlurmctldLogFile={directory}/log/slurmctld.log
SlurmdLogFile={directory}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
""")
    env = dict(os.environ, SLURM_CONF=str(conf))
    cluster = Slurm(directory, env)
    try:
        cluster.processes.append(subprocess.Popen(
            ["munged", "-F", "-f", f"--socket={sock}", f"--key-file={key}", f"--pid-file={munge}/munged.pid",
             f"--log-file={munge}/munged.log", f"--seed-file={munge}/munged.seed"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        wait_for(sock.exists, 30, "munged's socket")
        cluster.processes.append(subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(conf)], env=env,
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        cluster.processes.append(subprocess.Popen(["slurmd", "-D", "-f", str(conf)], env=env,
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))

        def idle() -> bool:
            for process in cluster.processes:
                if process.poll() is not None:
                    log = (directory / "log").glob("*.log")
                    raise RuntimeError(f"a Slurm daemon exited ({process.args[0]}); logs: {[str(p) for p in log]}")
            return _node_ready(env)

        wait_for(idle, 120, "the Slurm node to be idle", step=0.5)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _node_ready(env: dict[str, str]) -> bool:
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() in ("idle", "mix", "alloc")


@dataclass
class RayHead:
    address: str
    env: dict[str, str]
    temp_dir: Path

    def stop(self) -> None:
        """Stop this head's processes only: each names the head's temp directory."""
        import psutil

        mine = []
        for process in psutil.process_iter(["cmdline"]):
            try:
                if any(str(self.temp_dir) in part for part in process.info["cmdline"] or []):
                    mine.append(process)
            except (psutil.Error, TypeError):
                continue
        for process in mine:
            try:
                process.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(mine, timeout=20)
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def start_ray(directory: Path, env: dict[str, str], attempts: int = 3) -> RayHead:
    """A head on 127.0.0.1, every port chosen free and the workers' kept to
    their own block (20000-20999), token authentication on.

    The raylet gives its agents a fixed minute to report their ports and
    aborts past it; on two cores busy with other work their imports can take
    longer.  So the head starts at a higher priority, and an abort is
    detected (``ray start`` fails or hangs) and the head started afresh, a
    bounded number of times."""
    for attempt in range(1, attempts + 1):
        try:
            return _start_ray_once(directory, env, attempt)
        except (RuntimeError, TimeoutError) as error:
            if attempt == attempts:
                raise RuntimeError(f"{attempts} attempts; the last: {error}") from error
    raise AssertionError("unreachable")


def _start_ray_once(directory: Path, env: dict[str, str], attempt: int) -> RayHead:
    directory.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    env = dict(env, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
               RAY_USAGE_STATS_ENABLED="0", RAY_DISABLE_DOCKER_CPU_WARNING="1",
               # On two loaded cores the head's agents can take minutes to come up:
               # Ray's own start-up deadlines are raised rather than racing them.
               RAY_raylet_start_wait_time_s="600", RAY_agent_register_timeout_ms="600000")
    env.pop("RAY_ADDRESS", None)
    gcs, dashboard, client = free_port(), free_port(), free_port()
    # Every port fixed up front: with port 0 the raylet waits a hard-coded
    # minute for its agents to write theirs, which two loaded cores can miss.
    agent_grpc, agent_http, runtime_env, metrics, node_manager, object_manager = (free_port() for _ in range(6))
    # Ray's own temp directory must be a short path (unix socket names).
    temp = Path(f"/tmp/ray-cairn-{os.getpid()}-{attempt}")
    argv = [str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={gcs}",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard}", f"--ray-client-server-port={client}",
            "--include-dashboard=true", "--num-cpus=8", "--disable-usage-stats",
            f"--dashboard-agent-grpc-port={agent_grpc}", f"--dashboard-agent-listen-port={agent_http}",
            f"--runtime-env-agent-port={runtime_env}", f"--metrics-export-port={metrics}",
            f"--node-manager-port={node_manager}", f"--object-manager-port={object_manager}",
            "--min-worker-port=20000", "--max-worker-port=20999", f"--temp-dir={temp}"]
    head = RayHead(f"http://127.0.0.1:{dashboard}", env, temp)
    # Ahead of the other work on the machine (as root, a negative nice is
    # allowed): the agents must report within the raylet's minute.
    boost = ["nice", "-n", "-10"] if os.geteuid() == 0 else []
    starting = subprocess.Popen([*boost, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    raylet_log = temp / "session_latest" / "logs" / "raylet.out"

    def settled() -> bool:
        if starting.poll() is not None:
            return True
        try:
            return "Check failed" in raylet_log.read_text(errors="replace")  # the raylet aborted: ray start would hang
        except OSError:
            return False

    try:
        wait_for(settled, 240, "ray start", step=0.5)
    except TimeoutError:
        pass
    if starting.poll() is None or starting.returncode != 0:
        if starting.poll() is None:
            starting.kill()
        output = starting.communicate()[0] or ""
        head.stop()
        raise RuntimeError(f"ray start failed: {output[-2000:]}")

    def answers() -> bool:
        request = urllib.request.Request(f"{head.address}/api/jobs/", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(answers, 180, "Ray's Jobs API", step=0.5)
    except BaseException:
        head.stop()
        raise
    return head
