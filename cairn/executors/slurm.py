"""Slurm through its commands: ``sbatch --parsable``, ``squeue``, ``scontrol``/``sacct``, ``scancel``.

A task's job is a two-line batch script on the shared filesystem that execs
Cairn's remote runner on the spec beside it; the prompt is in the spec (mode
0600), never in the script or on a command line.  Output goes to
``<shared_dir>/<job name>.<job id>.out``, which this machine reads as the job's log.

The environment: ``--export`` names only the variables in ``env`` (default
PATH and HOME), so this machine's secrets never become part of the job; the
agent's credentials are the node's own.

Status, without guessing: ``squeue`` knows pending and running jobs,
``scontrol show job`` knows finished ones for ``MinJobAge`` (300 s by
default), ``sacct`` knows them afterwards where accounting is enabled.  A job
none of them knows is lost.
"""

from __future__ import annotations

import math
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

from cairn.errors import OperationFailed
from cairn.executors.base import EngineUnreachable, Job, JobStatus

#: Slurm's job states, as Cairn's phases.
RUNNING = {"RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STOPPED", "RESIZING", "SIGNALING", "STAGE_OUT", "REQUEUED"}
PENDING = {"PENDING", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
WHY = {
    "TIMEOUT": "it reached Slurm's time limit",
    "NODE_FAIL": "its node failed",
    "OUT_OF_MEMORY": "it ran out of memory",
    "PREEMPTED": "it was preempted",
    "BOOT_FAIL": "its node failed to boot",
    "DEADLINE": "it missed its deadline",
}
#: Above the task's own timeout, Slurm's limit leaves the remote runner time
#: to clone, set up, and send the work back.
MARGIN = 600.0


class Slurm:
    name = "slurm"

    def __init__(self, config: Any, shared_dir: Path) -> None:
        self.config = config
        self.shared_dir = shared_dir
        #: job id -> its output file, ``<shared_dir>/<job name>.<job id>.out``.
        self.outputs: dict[str, Path] = {}

    def submit(self, job: Job) -> str:
        for name, data in job.files.items():
            _write_private(self.shared_dir / name, data)
        script = self.shared_dir / f"{job.name}.sh"
        argv = [*job.argv[:-1], str(self.shared_dir / job.argv[-1])]
        _write_private(script, f"#!/bin/sh\nexec {shlex.join(argv)}\n".encode(), mode=0o700)
        env = dict(os.environ)
        env.update(job.env)
        exported = [n for n in [*self.config.env, *job.env] if n in env]
        command = [
            "sbatch", "--parsable", f"--job-name={job.name}", f"--output={self.shared_dir}/{job.name}.%j.out",
            f"--chdir={self.shared_dir}", f"--cpus-per-task={self.config.cpus}",
            "--export=" + (",".join(dict.fromkeys(exported)) if exported else "NONE"),
        ]
        limit = self.config.time_limit or ((job.timeout + MARGIN) if job.timeout else None)
        if limit:
            command.append(f"--time={max(1, math.ceil(limit / 60))}")
        if self.config.partition:
            command.append(f"--partition={self.config.partition}")
        if self.config.memory:
            command.append(f"--mem={self.config.memory}")
        command += [*self.config.sbatch_args, str(script)]
        out = _run(command, env=env)
        job_id = out.strip().split(";")[0]
        if not job_id.isdigit():
            raise OperationFailed(f"sbatch answered {out.strip()!r}, not a job id")
        return job_id

    def status(self, job_id: str) -> JobStatus:
        queued = _run(["squeue", "-h", "-j", job_id, "-o", "%T|%r"], ok_codes=(0, 1)).strip()
        if queued and "|" in queued:
            state, reason = queued.splitlines()[0].split("|", 1)
            if state in PENDING:
                return JobStatus("pending", reason=reason if reason not in ("None", "") else None)
            if state in RUNNING:
                return JobStatus("running")
            return _finished(state, None, reason)
        shown = _run(["scontrol", "-o", "show", "job", job_id], ok_codes=(0, 1))
        fields = dict(part.split("=", 1) for part in shown.split() if "=" in part)
        if fields.get("JobId") == job_id and "JobState" in fields:
            return _finished(fields["JobState"], fields.get("ExitCode"), fields.get("Reason"))
        accounted = _run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State,ExitCode"], ok_codes=(0, 1)).strip()
        if accounted and "|" in accounted:
            state, code = accounted.splitlines()[0].split("|", 1)
            return _finished(state.split()[0], code, None)
        return JobStatus("lost", reason=f"Slurm does not know job {job_id} (purged, or the controller lost its state)")

    def read_log(self, job_id: str, offset: int) -> bytes:
        path = self.outputs.get(job_id)
        if path is None:
            found = sorted(self.shared_dir.glob(f"*.{job_id}.out"))
            if not found:
                return b""
            path = self.outputs[job_id] = found[0]
        try:
            with open(path, "rb") as output:
                output.seek(offset)
                return output.read()
        except FileNotFoundError:
            return b""

    def cancel(self, job_id: str) -> None:
        _run(["scancel", job_id], ok_codes=(0, 1))


def _finished(state: str, exit_code: str | None, reason: str | None) -> JobStatus:
    code = None
    if exit_code and ":" in exit_code:
        status, signal_number = exit_code.split(":", 1)
        code = int(status) if status.isdigit() else None
        if signal_number.isdigit() and int(signal_number):
            code = -int(signal_number)
    if state == "COMPLETED":
        return JobStatus("succeeded", exit_code=code)
    if state.startswith("CANCELLED"):
        return JobStatus("stopped", reason="it was cancelled in Slurm (scancel)", exit_code=code)
    why = WHY.get(state) or f"Slurm says {state}" + (f" ({reason})" if reason and reason != "None" else "")
    return JobStatus("failed", reason=why, exit_code=code)


def _write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(staging, path)


#: What Slurm's commands print when the controller cannot be asked: unknown, not lost.
UNREACHABLE = ("Unable to contact", "Connection refused", "Socket timed out", "Zero Bytes were transmitted", "Communication connection failure")


def _run(argv: list[str], *, env: dict[str, str] | None = None, ok_codes: tuple[int, ...] = (0,)) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    except FileNotFoundError:
        raise OperationFailed(f"{argv[0]} is not installed here: the slurm executor needs Slurm's client commands",
                              hint="install Slurm's clients (Debian: slurm-client) and its configuration") from None
    except subprocess.TimeoutExpired:
        raise EngineUnreachable(f"{argv[0]} did not answer within 60s") from None
    detail = (done.stderr or "").strip().splitlines() or (done.stdout or "").strip().splitlines()
    last = detail[-1] if detail else f"exit status {done.returncode}"
    if done.returncode != 0 and any(sign in (done.stderr or "") for sign in UNREACHABLE):
        raise EngineUnreachable(f"{argv[0]} cannot reach the Slurm controller: {last}")
    if done.returncode not in ok_codes:
        raise OperationFailed(f"{' '.join(argv[:2])} failed: {last}")
    return done.stdout if done.returncode == 0 else ""
