"""The local runner of a remote task: it submits the job and watches it.

It plays the part a local runner plays towards everything else — it holds
``runner.lock``, copies what the job prints into ``agent.log`` (so
``cairn logs -f`` and the TUI show it live), turns a cancel into the engine's
stop, keeps the task's own timeout — and when the job ends it fetches
``cairn/<id>``, gives it a local workspace, and hands over to finish.py:
proposal, checks and reviewer run here, as for a local task.

A watcher that is stopped without a cancel (SIGTERM from a shutdown, SIGKILL)
leaves the task ``running`` with its job id: the job goes on, and the next
Cairn to look (recovery.py) starts a watcher that adopts it.  A job the
engine no longer knows fails the task with that reason; nothing is ever
submitted twice for a task.
"""

from __future__ import annotations

import json
import time
from typing import Any

from cairn.core.model import Running, Task
from cairn.core.records import replace
from cairn.engine.idleness import Silence
from cairn.engine.outcome import Outcome
from cairn.engine.remote_runner import EXIT_SETUP_FAILED, EXIT_STOPPED, SPEC_FORMAT
from cairn.errors import CairnError
from cairn.executors.base import EngineUnreachable, Job, JobStatus
from cairn.executors.select import executor_for, route_for
from cairn.executors.shipping import clean_up, fetch_result, job_name, result_spec, ship_base
from cairn.state import atomic

#: How often a running job is asked about.
POLL = 1.0
#: After the task's timeout, how long the job may take to send its work back
#: before Cairn stops it itself.
GRACE = 300.0
#: How long a stopped job may take to end before the task ends anyway.
STOP_WAIT = 60.0


class Watch:
    def __init__(self, runner: Any, task: Task) -> None:
        self.runner = runner
        self.task = task
        self.store = runner.store
        self.settings = runner.settings
        self.name = task.executor or "local"
        self.executor = executor_for(self.settings, self.name)
        self.route = route_for(self.settings, self.name)
        self.job_name = job_name(self.settings.root, task.id)
        self.job_file = runner.layout.task_dir(task.id) / "job.json"

    def run(self) -> Outcome | None:
        """The outcome to finish the task with; None: leave it running for a later watcher."""
        state = self.store.read_state(self.task.id)
        assert isinstance(state, Running)
        job_id = state.job_id or self._submit()
        if job_id is None:
            return self._stopped()
        try:
            return self._watch(job_id)
        except CairnError:
            # The task fails here; the job must not go on working for no one.
            try:
                self.executor.cancel(job_id)
            except CairnError:
                pass
            raise

    # -- submitting -------------------------------------------------------------

    def _submit(self) -> str | None:
        from cairn.backends.git import GitBackend as GitWorkspaces

        task = self.task
        base = GitWorkspaces(self.settings.root).resolve_base(task)
        base_spec, files = ship_base(self.settings.root, task.id, base, self.route, self.job_name)
        self._save_job(base=base, log_offset=0)
        if self.runner.stop_reason is not None:
            return None
        profile = self.settings.config.agents.get(task.agent)
        if profile is None:
            raise CairnError(f"agent profile {task.agent!r} is no longer configured")
        timeout = task.timeout if task.timeout is not None else self.settings.config.timeout
        spec = {
            "format": SPEC_FORMAT, "task_id": task.id, "title": task.title, "prompt": task.prompt,
            "branch": f"cairn/{task.id}",
            "agent": {"command": list(profile.command), "stdin": profile.stdin, "env": dict(profile.env)},
            "setup": [list(argv) for argv in self.settings.config.bootstrap.setup],
            "setup_timeout": self.settings.config.bootstrap.setup_timeout,
            "timeout": timeout, "base": base_spec,
            "result": result_spec(task.id, self.route, self.job_name),
        }
        spec_name = f"{self.job_name}.spec.json"
        files = {**files, spec_name: json.dumps(spec).encode()}
        config = getattr(self.settings.config.executors, self.name)
        env = {name: value for name in getattr(config, "env", []) if (value := _environ(name)) is not None} if self.name == "ray" else {}
        job = Job(name=self.job_name, argv=[*config.command, spec_name], files=files, timeout=timeout, env=env)
        chosen = job.name if self.name == "ray" else None  # Ray takes the id Cairn gives it
        if chosen is not None:
            self._record(chosen)
        self.runner._say(f"submitting to {self.name} as {job.name}")
        job_id = self.executor.submit(job)
        if job_id != chosen:
            self._record(job_id)
        self.store.journal("submitted", task=task.id, executor=self.name, job=job_id)
        self.runner._say(f"{self.name} job {job_id} submitted")
        return job_id

    def _record(self, job_id: str) -> None:
        timeout = self.task.timeout if self.task.timeout is not None else self.settings.config.timeout
        deadline = time.time() + timeout + GRACE if timeout else None
        self.store.update(self.task.id, lambda s: replace(s, executor=self.name, job_id=job_id, deadline=deadline))

    # -- watching ---------------------------------------------------------------

    def _watch(self, job_id: str) -> Outcome | None:
        offset = self._offset()
        started = False
        unreachable_said = False
        cancelled_at: float | None = None
        silence = Silence(self.settings.config.idle_after, self.runner._set_idle)
        while True:
            try:
                status = self.executor.status(job_id)
                before, offset = offset, self._copy_log(job_id, offset)
                if status.phase == "running":
                    silence.saw(grew=offset != before)
                unreachable_said = False
            except EngineUnreachable as error:
                if not unreachable_said:
                    self.runner._say(f"{error}; asking again")
                    unreachable_said = True
                status = JobStatus("running")
            if not started and status.phase in ("running", "succeeded", "failed"):
                # A short job can start and end between two polls: it ran all
                # the same, and the journal says so before it says how it ended.
                started = True
                self.store.journal("agent-started", task=self.task.id, job=job_id,
                                   **({} if status.phase == "running" else {"seen": "ended"}))
            if status.finished:
                return self._ended(job_id, status)
            reason = self.runner.stop_reason
            if reason is not None and reason[0] != "cancelled":
                return None  # this machine is going away, not the task: a later watcher adopts the job
            state = self.store.read_state(self.task.id)
            deadline = getattr(state, "deadline", None)
            if cancelled_at is None and (reason is not None or (deadline is not None and time.time() >= deadline)):
                self.runner._say(f"stopping {self.name} job {job_id}")
                self.executor.cancel(job_id)
                cancelled_at = time.monotonic()
            elif cancelled_at is not None and time.monotonic() - cancelled_at > STOP_WAIT:
                self.runner._say(f"{self.name} job {job_id} did not stop within {STOP_WAIT:g}s; the task ends anyway")
                return self._ended(job_id, JobStatus("stopped"))
            self.runner._wait(POLL)

    def _ended(self, job_id: str, status: JobStatus) -> Outcome:
        now = time.time()
        cancel = self.runner.stop_reason
        if cancel is not None and cancel[0] == "cancelled":
            clean_up(self.settings.root, self.task.id, self.route, self.job_name)
            return Outcome(ending="cancelled", finished=now, reason=cancel[1])
        state = self.store.read_state(self.task.id)
        deadline = getattr(state, "deadline", None)
        if status.phase == "stopped" and deadline is not None and now >= deadline:
            clean_up(self.settings.root, self.task.id, self.route, self.job_name)
            return Outcome(ending="timeout", finished=now, reason=f"the {self.name} job did not end within the task's timeout")
        if status.phase == "lost":
            # Nothing is cleaned up: what the job may still send is kept for the user.
            self.runner._say(f"{status.reason}; it is not run again")
            return Outcome(ending="terminated", finished=now, reason=f"{self.name} lost job {job_id}: {status.reason}")
        self._take_work()
        clean_up(self.settings.root, self.task.id, self.route, self.job_name)
        code = status.exit_code
        if status.phase == "succeeded":
            return Outcome(ending="exited", finished=now, exit_code=0)
        if status.phase == "stopped" or code == EXIT_STOPPED:
            return Outcome(ending="terminated", finished=now, reason=f"the {self.name} job {job_id} was stopped outside Cairn: {status.reason or 'no reason given'}")
        if code == 124:
            return Outcome(ending="timeout", finished=now, exit_code=code, reason="timed out on the node; its work so far was kept")
        if code == EXIT_SETUP_FAILED:
            return Outcome(ending="not-started", finished=now, reason=f"the {self.name} job {job_id} failed before the agent ran: {self._last_error()}")
        detail = f" (exit status {code})" if code is not None else ""
        return Outcome(ending="terminated", finished=now, exit_code=code,
                       reason=f"the {self.name} job {job_id} failed{detail}: {status.reason or 'no reason given'}")

    def _take_work(self) -> None:
        """Fetch ``cairn/<id>`` and give it a local workspace, so finish.py sees a task like any other."""
        from cairn.backends.git import GitBackend as GitWorkspaces

        head = fetch_result(self.settings.root, self.task.id, self.route, self.job_name)
        if head is None:
            self.runner._say("the job sent no work back")
            return
        backend = GitWorkspaces(self.settings.root)
        base = self._job_record().get("base") or head
        work = backend.attach(self.task, self.settings.workspace_dir / str(self.task.id), base)
        self.store.update(self.task.id, lambda s: replace(s, work=work))
        self.runner._say(f"fetched {work.branch} at {head[:12]} into {work.workspace}")

    def _last_error(self) -> str:
        try:
            lines = self.runner.layout.agent_log(self.task.id).read_text(errors="replace").splitlines()
        except OSError:
            return "see its log"
        errors = [line.removeprefix("[cairn] error: ") for line in lines if line.startswith("[cairn] error: ")]
        return errors[-1] if errors else "see its log"

    def _stopped(self) -> Outcome:
        ending, reason = self.runner.stop_reason
        return Outcome(ending=ending, finished=time.time(), reason=reason)

    # -- the log ----------------------------------------------------------------

    def _copy_log(self, job_id: str, offset: int) -> int:
        data = self.executor.read_log(job_id, offset)
        if not data:
            return offset
        self.runner.log.write(data)
        offset += len(data)
        self._save_job(log_offset=offset)
        return offset

    def _offset(self) -> int:
        offset = self._job_record().get("log_offset")
        return offset if isinstance(offset, int) else 0

    # ``job.json``: the base the job started from (the target may move while
    # it runs) and how much of its log is already in agent.log, so a watcher
    # that adopts the job copies the rest and nothing twice.
    def _job_record(self) -> dict[str, Any]:
        try:
            record = json.loads(self.job_file.read_bytes())
            return record if isinstance(record, dict) else {}
        except (OSError, ValueError):
            return {}

    def _save_job(self, **fields: Any) -> None:
        atomic.write_json(self.job_file, {**self._job_record(), **fields})


def _environ(name: str) -> str | None:
    import os

    return os.environ.get(name)
