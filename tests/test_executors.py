"""Tasks run on a real Ray cluster and a real Slurm cluster; review and accept stay here.

Each engine is one session-scoped fixture (tests/clusters.py): a Ray head on
127.0.0.1, a one-node Slurm cluster under a temporary directory.  A bare
repository stands in for the team's git remote.  The same scenarios run on
both engines; the scripted demo agent is the only fake.

Marked ``ray`` / ``slurm``: ``make test`` runs them after the rest, in one
process (one cluster each, not one per xdist worker).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import clusters
from conftest import BIN, events, git, run_cairn, state_of

ENGINES = [pytest.param("slurm", marks=pytest.mark.slurm), pytest.param("ray", marks=pytest.mark.ray)]


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory):
    missing = clusters.slurm_missing()
    if missing:
        pytest.skip(missing)
    cluster = clusters.start_slurm(tmp_path_factory.mktemp("slurm"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    missing = clusters.ray_missing()
    if missing:
        pytest.skip(missing)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    try:
        head = clusters.start_ray(tmp_path_factory.mktemp("ray"), env)
    except RuntimeError as error:
        # Only Ray's own start-up deadline can end here (clusters.start_ray):
        # the machine was too busy for the head's agents, three times over.
        pytest.skip(f"the Ray head could not start on this machine now: {str(error)[-300:]}")
    yield head
    head.stop()


class Engine:
    """One engine as a test sees it: its configuration, and questions to it."""

    def __init__(self, name: str, cluster, tmp_path: Path, repo: Path) -> None:
        self.name = name
        self.cluster = cluster
        self.remote = tmp_path / "remote.git"
        self.shared = tmp_path / "shared"
        git(tmp_path, "init", "-q", "--bare", str(self.remote))

    def config(self, *, bundles: bool = False, command: list[str] | None = None) -> str:
        command = command or [str(BIN / "cairn-remote-run")]
        lines = [f"[executors.{self.name}]", f"command = {json.dumps(command)}", "max_agents = 4"]
        lines.append(f'shared_dir = "{self.shared}"' if bundles or self.name == "slurm" else "")
        if not bundles:
            lines.append(f'remote = "{self.remote}"')
        if self.name == "ray":
            lines.append(f'address = "{self.cluster.address}"')
            lines.append('env = ["PATH"]')
        return "\n".join(lines) + "\n"

    def environment(self) -> dict[str, str]:
        if self.name == "slurm":
            return {"SLURM_CONF": self.cluster.env["SLURM_CONF"]}
        return {"RAY_AUTH_TOKEN": self.cluster.env["RAY_AUTH_TOKEN"]}

    def job_phase(self, job_id: str) -> str:
        from cairn.config.schema import RayExecutor, SlurmExecutor

        if self.name == "slurm":
            from cairn.executors.slurm import Slurm

            return Slurm(SlurmExecutor(shared_dir=str(self.shared)), self.shared).status(job_id).phase
        from cairn.executors.ray import RayJobs

        return RayJobs(RayExecutor(address=self.cluster.address)).status(job_id).phase

    def remote_refs(self) -> str:
        return git(self.remote, "for-each-ref", "--format=%(refname)")


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    cluster = request.getfixturevalue(f"{request.param}_cluster")
    chosen = Engine(request.param, cluster, tmp_path, repo)
    for key, value in chosen.environment().items():
        monkeypatch.setenv(key, value)
    (repo / ".cairn").mkdir(exist_ok=True)
    (repo / ".cairn" / "config.toml").write_text(chosen.config())
    return chosen


def wait_for(condition, what: str, timeout: float = 180):
    return clusters.wait_for(condition, timeout, what)


def start_up(repo: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "cairn"), "up"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen[str], number: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(number)
    process.wait(timeout=60)


def log_of(home: Path, task_id: int) -> str:
    path = home / "tasks" / str(task_id) / "agent.log"
    return path.read_text(errors="replace") if path.exists() else ""


def submitted(home: Path, task_id: int) -> list[dict]:
    return [e for e in events(home) if e["event"] == "submitted" and e["task"] == task_id]


def test_a_task_runs_on_the_cluster_and_is_accepted_here(engine, cairn, repo, home):
    queued = cairn("queue", "--executor", engine.name, "-a", "demo", "write src/remote.txt: made on the cluster\nsay hello from the node")
    assert queued.returncode == 0, queued.stderr
    result = cairn("up", "--until-idle", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    state = state_of(home, 1)
    assert state["state"] == "review", log_of(home, 1)
    assert "hello from the node" in log_of(home, 1)
    [event] = submitted(home, 1)
    assert event["executor"] == engine.name and event["job"]
    # Its agent's start is journalled before its end, even when the job was
    # over before Cairn first saw it running (a short job often is).
    order = [e["event"] for e in events(home) if e.get("task") == 1 and e["event"] in ("agent-started", "review")]
    assert order == ["agent-started", "review"], order
    assert "+made on the cluster" in cairn("diff", "1").stdout
    accepted = cairn("accept", "1")
    assert accepted.returncode == 0, accepted.stderr
    assert (repo / "src" / "remote.txt").read_text() == "made on the cluster\n"
    assert engine.remote_refs() == ""  # base ref and branch are gone from the remote once the work is here


def test_the_base_and_the_work_can_travel_as_bundles(engine, cairn, repo, home):
    (home / "config.toml").write_text(engine.config(bundles=True))
    cairn("queue", "--executor", engine.name, "-a", "demo", "write bundled.txt: by bundle")
    result = cairn("up", "--until-idle", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert state_of(home, 1)["state"] == "review", log_of(home, 1)
    assert cairn("accept", "1").returncode == 0
    assert (repo / "bundled.txt").read_text() == "by bundle\n"
    assert engine.remote_refs() == ""
    assert list(engine.shared.iterdir()) == []  # bundles, scripts and specs are removed


def test_a_cancelled_remote_task_stops_and_sends_nothing_back(engine, cairn, repo, home, tmp_path):
    gate = tmp_path / "never"
    (repo / "cairn.toml").write_text('idle_after = "2s"\n')
    cairn("queue", "--executor", engine.name, "-a", "demo", f"write partial.txt: half done\nsay waiting now\nwait-for {gate}")
    up = start_up(repo)
    try:
        wait_for(lambda: "waiting now" in log_of(home, 1), "the agent to run on the node")
        # A silent remote agent is flagged idle as a local one is.
        wait_for(lambda: state_of(home, 1).get("idle_since"), "the silent remote agent to be flagged idle")
        assert any(e["event"] == "idle" and e["task"] == 1 for e in events(home))
        job_id = state_of(home, 1)["job_id"]
        result = cairn("cancel", "1", timeout=120)
        assert result.returncode == 0, result.stderr
        state = state_of(home, 1)
        assert state["state"] == "cancelled"
        wait_for(lambda: engine.job_phase(job_id) in ("stopped", "failed"), "the engine to stop the job")
    finally:
        stop(up)
    assert "cairn/1" not in engine.remote_refs()
    assert git(repo, "branch", "--list", "cairn/1") == ""


def test_a_failing_job_fails_the_task_with_the_engines_reason(engine, cairn, repo, home):
    cairn("queue", "--executor", engine.name, "-a", "demo", "write tried.txt: something\nexit 3")
    result = cairn("up", "--until-idle", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    state = state_of(home, 1)
    assert state["state"] == "failed"
    job_id = submitted(home, 1)[0]["job"]
    assert f"the {engine.name} job {job_id} failed (exit status 3)" in state["reason"]
    assert state["work"] is not None  # the work the agent made before failing is kept, as for a local task
    assert git(repo, "show", "cairn/1:tried.txt") == "something"


def test_a_node_without_cairn_fails_the_task_before_the_agent(engine, cairn, repo, home):
    (home / "config.toml").write_text(engine.config(command=["/nonexistent/cairn-remote-run"]))
    cairn("queue", "--executor", engine.name, "-a", "demo", "write x.txt: x")
    result = cairn("up", "--until-idle", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert engine.name in state["reason"] and "failed" in state["reason"]


def test_a_restarted_cairn_picks_up_a_remote_task_and_never_runs_it_twice(engine, cairn, repo, home, tmp_path):
    gate = tmp_path / "go"
    cairn("queue", "--executor", engine.name, "-a", "demo", "--title", "survive a restart", f"say before the restart\nwait-for {gate}\nwrite done.txt: survived")
    up = start_up(repo)
    wait_for(lambda: "before the restart" in log_of(home, 1), "the agent to run on the node")
    watcher = state_of(home, 1)["runner_pid"]
    # This machine loses every Cairn process; the cluster goes on.
    stop(up, signal.SIGKILL)
    os.kill(watcher, signal.SIGKILL)
    wait_for(lambda: not _alive(watcher), "the watcher to die")
    assert state_of(home, 1)["state"] == "running"
    gate.write_text("")
    result = cairn("up", "--until-idle", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert state_of(home, 1)["state"] == "review", log_of(home, 1)
    assert len(submitted(home, 1)) == 1
    assert log_of(home, 1).count("before the restart") == 1  # the log is copied once, not again from the start
    assert any(e["event"] == "adopted" for e in events(home))
    assert cairn("accept", "1").returncode == 0
    assert (repo / "done.txt").read_text() == "survived\n"


def test_logs_follow_shows_the_remote_output_while_it_runs(engine, cairn, repo, home, tmp_path):
    gate = tmp_path / "go"
    cairn("queue", "--executor", engine.name, "-a", "demo", f"say first line from the node\nwait-for {gate}\nsay last line")
    up = start_up(repo)
    follow = subprocess.Popen([str(BIN / "cairn"), "logs", "-f", "1"], cwd=repo, stdout=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in follow.stdout:  # type: ignore[union-attr]
            seen.append(line)
            if "first line from the node" in line:
                break
        running = state_of(home, 1)
        assert running["state"] == "running"
        assert f"{engine.name} job {running['job_id']}" in cairn("status").stdout
        gate.write_text("")
        rest = follow.communicate(timeout=300)[0]
        assert "last line" in rest
        assert follow.returncode == 0
    finally:
        if follow.poll() is None:
            follow.kill()
        stop(up)
    assert state_of(home, 1)["state"] == "review"


def test_a_job_the_engine_lost_fails_with_that_reason_and_is_not_run_again(engine, cairn, repo, home, tmp_path):
    gate = tmp_path / "go"
    cairn("queue", "--executor", engine.name, "-a", "demo", f"say running\nwait-for {gate}\nwrite lost.txt: x")
    up = start_up(repo)
    wait_for(lambda: "running" in log_of(home, 1) and "agent started" in log_of(home, 1), "the agent to run on the node")
    state = state_of(home, 1)
    stop(up, signal.SIGKILL)
    os.kill(state["runner_pid"], signal.SIGKILL)
    wait_for(lambda: not _alive(state["runner_pid"]), "the watcher to die")
    gate.write_text("")
    wait_for(lambda: engine.job_phase(state["job_id"]) == "succeeded", "the job to finish")
    _forget(engine, state["job_id"])
    assert engine.job_phase(state["job_id"]) == "lost"
    result = cairn("up", "--until-idle", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    final = state_of(home, 1)
    assert final["state"] == "failed"
    # The engine's own words: Ray may report a forgotten job's supervisor as died (failed) instead of lost.
    assert state["job_id"] in final["reason"]
    assert f"{engine.name} lost job" in final["reason"] or "died" in final["reason"], final["reason"]
    if f"{engine.name} lost job" in final["reason"]:
        assert "not run again" in log_of(home, 1)  # said only where the engine lost it
    assert len(submitted(home, 1)) == 1, "submitted once, never again"


def test_eight_tasks_four_at_a_time_with_locks_and_after_across_executors(engine, cairn, repo, home, tmp_path):
    from test_scheduler import agent_spans, max_overlap

    def queue_all(cwd: Path, executor: str, local: str) -> None:
        for n in range(1, 8):
            where = local if n == 3 else executor  # task 3 shares task 2's lock from the other executor
            extra = ["--lock", "src/shared/**"] if n in (2, 3) else []
            prompt = f"sleep 0.5\nwrite out/{n}.txt: task {n}"
            if n in (2, 3):
                prompt += f"\nwrite src/shared/{n}.txt: under the lock"
            result = run_cairn(cwd, "queue", "--executor", where, "-a", "demo", *extra, prompt)
            assert result.returncode == 0, result.stderr
        result = run_cairn(cwd, "queue", "--executor", local, "-a", "demo", "--after", "1", "write out/8.txt: after task 1")
        assert result.returncode == 0, result.stderr

    twin = tmp_path / "twin"
    subprocess.run(["git", "clone", "-q", str(repo), str(twin)], check=True)
    queue_all(repo, engine.name, "local")
    up = start_up(repo)
    try:
        wait_for(lambda: all(state_of(home, n)["state"] == "review" for n in range(1, 8)), "seven tasks to reach review", timeout=600)
        assert state_of(home, 8)["state"] == "queued"  # it waits for task 1's acceptance
        for n in range(1, 8):
            accepted = cairn("accept", str(n), timeout=120)
            assert accepted.returncode == 0, accepted.stderr
        wait_for(lambda: state_of(home, 8)["state"] == "review", "task 8 to reach review")
        assert cairn("accept", "8").returncode == 0
    finally:
        stop(up)
    spans = agent_spans(home)
    remote = [spans[n] for n in range(1, 8) if n != 3]
    assert max_overlap(remote) <= 4
    assert max_overlap([spans[2], spans[3]]) == 1  # the lock held across executors
    accepted_1 = next(e["ts"] for e in events(home) if e["event"] == "accepted" and e["task"] == 1)
    started_8 = next(e["ts"] for e in events(home) if e["event"] == "agent-started" and e["task"] == 8)
    assert started_8 > accepted_1
    assert sum(1 for e in events(home) if e["event"] == "submitted") == 6

    # The same crew, all local, in a clone of the same repository: the same tree lands.
    queue_all(twin, "local", "local")
    local_env = dict(os.environ)
    assert run_cairn(twin, "up", "--until-idle", env=local_env, timeout=300).returncode == 0
    for n in range(1, 8):
        assert run_cairn(twin, "accept", str(n)).returncode == 0
    assert run_cairn(twin, "up", "--until-idle", timeout=300).returncode == 0
    assert run_cairn(twin, "accept", "8").returncode == 0
    assert git(twin, "rev-parse", "main^{tree}") == git(repo, "rev-parse", "main^{tree}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _forget(engine: Engine, job_id: str) -> None:
    """Make the engine lose a finished job, as each really can: Ray deletes
    it; Slurm's controller restarts without its saved state."""
    if engine.name == "ray":
        request = urllib.request.Request(f"{engine.cluster.address}/api/jobs/{job_id}", method="DELETE",
                                         headers={"Authorization": f"Bearer {engine.cluster.env['RAY_AUTH_TOKEN']}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    else:
        engine.cluster.restart_controller(clean=True)
