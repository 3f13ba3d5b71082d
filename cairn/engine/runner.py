"""The runner: one small process per task that lives exactly as long as its agent.

    python -m cairn.engine.runner HOME TASK_ID [--env-file FILE] [--tty]

(or forked, already loaded, by a standby: cairn/engine/standby.py).

It holds ``tasks/<id>/runner.lock`` from before it claims the task until after
the outcome is on disk: whoever finds that lock free and the task still
``running`` knows the runner is gone (recovery.py).  It claims the task
(queued -> running) itself, under the task's lock, so a task never runs twice
however many schedulers or ``cairn spawn``s race for it.

Then: make the workspace, bootstrap it, start the agent in its own session
(its own process group), and supervise it: timeout, cancel (SIGTERM with a
``signals/cancel-<id>`` file), idleness.  The runner is a child subreaper, so
whatever the agent leaves behind is found and stopped.  Finally it records
``exit.json`` and finishes the task (finish.py).

``--tty`` (inside tmux): the agent gets a pseudo-terminal; the runner copies
its output to the tmux pane and to ``agent.log``, and the pane's keystrokes to
the agent, so ``cairn attach`` is a live, interactive view.  Headless, the
agent writes straight into ``agent.log``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from cairn.core.model import Running
from cairn.core.records import replace
from cairn.engine.finish import finish, record_outcome
from cairn.engine.outcome import Ending, Outcome, describe
from cairn.errors import CairnError, WrongState
from cairn.notify import notify
from cairn.progress import Progress
from cairn.state import atomic, lock
from cairn.state.layout import Layout
from cairn.state.store import Store, elapsed_ms

#: How often a quiet agent is looked at (idleness, timeout); signals wake us sooner.
TICK = 5.0


class Runner:
    def __init__(self, home: Path, task_id: int, tty: bool, adopt: bool = False) -> None:
        #: Adopt a remote task's job after its watcher died (recovery.py): no claim, no submit.
        self.adopt = adopt
        self.layout = Layout(home)
        self.store = Store(self.layout)
        self.task_id = task_id
        self.tty = tty
        self.log: IO[bytes] = atomic.open_private(self.layout.agent_log(task_id), append=True)
        self.wake_r, self.wake_w = os.pipe()
        self.stop_reason: tuple[Ending, str] | None = None
        self.master: int | None = None
        self.master_open = True
        self.pane_open = True
        #: The journal's side of each phase; the log's is written by _phase.
        self.progress = Progress(journal=self.store.journal, task=task_id)
        #: The agent's machine-readable output, when its profile has one (transcript.py).
        self.transcript: Any = None
        #: Headless with a transcript: the pipe of the agent's standard output.
        self.events_out: int | None = None
        self.reported = False
        self.last_report: Any = None
        self.ports: Any = None  # the task's port block, held until the task is finished
        self.confinement: Any = None
        #: Monotonic clocks of the phases, for the journal's ``duration_ms`` (docs/performance.md).
        self.began = time.monotonic()
        self.claimed = self.began
        self.agent_began: float | None = None

    # -- the life of a task ------------------------------------------------

    def run(self) -> int:
        fd = lock.open_lock(self.layout.runner_lock(self.task_id))
        deadline = time.monotonic() + 5
        while not lock.try_lock(fd):
            if time.monotonic() > deadline:
                return 0  # another runner has this task
            time.sleep(0.01)
        from cairn.config.load import resolve
        from cairn.errors import EXIT_CONFIG, ConfigError

        try:
            self.settings = resolve(self.layout.home)  # CAIRN_HOME is set: meta.json names the repository
        except ConfigError as error:
            # Not the task's fault: it stays queued, untouched; the scheduler
            # holds starts back until the configuration is fixed.
            self._say(f"not started: the configuration is invalid: {error}")
            return EXIT_CONFIG
        if self.adopt:
            state = self.store.read_state(self.task_id)
            if not isinstance(state, Running) or state.job_id is None:
                return 0  # finished meanwhile, or nothing to adopt
            self.store.update(self.task_id, lambda s: replace(s, runner_pid=os.getpid()) if isinstance(s, Running) else s)
            self._say(f"watching {state.executor} job {state.job_id} again")
        else:
            executor = self.store.read_task(self.task_id).executor
            try:
                self.store.move(
                    self.task_id,
                    "running",
                    lambda _: Running(since=time.time(), runner_pid=os.getpid(), tmux_session=self._tmux_session(),
                                      executor=executor),
                    verb="start",
                    duration_ms=elapsed_ms(self.began),
                )
            except WrongState:
                return 0  # someone else started it, or it was cancelled meanwhile
        self.claimed = time.monotonic()
        self._install_signals()
        from cairn.agents.processes import become_subreaper

        become_subreaper()
        from cairn.agents import children

        # Setup, checks and the reviewer are marked as this task's, and die with us.
        with children.working_for(self.layout.task_dir(self.task_id)):
            return self._run_claimed()

    def _run_claimed(self) -> int:
        try:
            outcome = self._work()
        except Exception as error:  # a bug: the task must still end, with the trace in its log
            import traceback

            self.log.write(traceback.format_exc().encode())
            outcome = Outcome(ending="not-started", finished=time.time(), reason=f"internal error in the runner: {error}")
        if outcome is None:
            self._say("this watcher stops; the job goes on, and the next Cairn to look watches it again")
            return 0
        try:
            record_outcome(self.store, self.task_id, outcome)
        except OSError as error:
            # A full disk or an unwritable task directory: the task stays
            # running with no runner, for recovery once it can be written.
            from cairn.errors import describe_os_error

            self._say(f"could not record how the agent ended: {describe_os_error(error)}")
            return 1
        if self.agent_began is not None:
            self.store.journal("agent-ended", task=self.task_id, ending=outcome.ending, exit_code=outcome.exit_code,
                               duration_ms=elapsed_ms(self.agent_began))
        from cairn.agents.processes import stop_descendants

        if stop_descendants():
            self._say("stopped processes the agent left behind")
        supersede = None
        try:
            if self._after_rate_limit(outcome):
                supersede = self._retry_after_rate_limit
        except CairnError as error:
            self._say(f"could not pause for the rate limit: {error}")
        try:
            state = finish(self.store, self.settings, self.task_id, outcome, self.log, interrupted=lambda: self.stop_reason,
                           confinement=self.confinement, supersede=supersede)
            self._say(f"task {self.task_id} is now {state}")
        except CairnError as error:
            self._say(f"could not finish: {error}")
        except OSError as error:
            # The outcome is on disk: the next look (recovery.py) finishes the
            # task from it once the state directory can be written again.
            from cairn.errors import describe_os_error

            self._say(f"could not finish, the task stays running until Cairn can write again: {describe_os_error(error)}")
            return 1
        finally:
            if self.ports is not None:
                from cairn.state.ports import release

                release(self.ports)
        return 0

    def _tmux_session(self) -> str | None:
        if not self.tty:
            return None
        from cairn.agents.tmux import session_name

        return session_name(self.layout.home, self.task_id)

    def _work(self) -> Outcome | None:
        task = self.store.read_task(self.task_id)
        from cairn.executors.local import is_remote

        if is_remote(task.executor):
            from cairn.engine.remote import Watch

            try:
                return Watch(self, task).run()
            except CairnError as error:
                self._say(str(error))
                state = self.store.read_state(self.task_id)
                submitted = isinstance(state, Running) and state.job_id is not None
                return Outcome(ending="terminated" if submitted else "not-started", finished=time.time(), reason=str(error))
        try:
            argv, env, cwd, stdin_text = self._prepare()
        except CairnError as error:
            self._say(str(error))
            if self.stop_reason is not None:
                return self._stopped_before_start()
            return Outcome(ending="not-started", finished=time.time(), reason=str(error))
        if self.stop_reason is not None:
            return self._stopped_before_start()
        try:
            process = self._start(argv, env, cwd, stdin_text)
        except OSError as error:
            reason = f"cannot start the agent {argv[0]!r}: {error.strerror or error}"
            if isinstance(error, FileNotFoundError):
                reason = f"agent command not found: {argv[0]!r} (is it installed and on PATH?)"
            self._say(reason)
            return Outcome(ending="not-started", finished=time.time(), reason=reason)
        outcome = self._supervise(process)
        if outcome.ending != "exited" and self.transcript is not None:
            # Stopped (timeout, cancel, a stuck state): what it reported so far still counts.
            if self.events_out is not None:
                self._read_events(until=time.monotonic() + 0.5)
            self._report()
        return outcome

    def _stopped_before_start(self) -> Outcome:
        assert self.stop_reason is not None
        ending, reason = self.stop_reason
        return Outcome(ending=ending, finished=time.time(), reason=reason)

    def _prepare(self) -> tuple[list[str], dict[str, str], Path, str | None]:
        from cairn.agents.launch import render_argv
        from cairn.agents.sandbox import requested
        from cairn.backends import backend_for
        from cairn.backends.bootstrap import bootstrap

        task = self.store.read_task(self.task_id)
        profile = self.settings.config.agents.get(task.agent)
        if profile is None:
            raise CairnError(f"agent profile {task.agent!r} is no longer configured")
        self._say(f"task {self.task_id}: {task.title}")
        mode = requested(self.settings.config, profile, task.sandbox)
        if mode == "bwrap":
            from cairn.agents.sandbox import choose

            choose(mode)  # before a workspace is made: bwrap required and missing fails here
        self._allocate_ports()
        path = self.settings.workspace_dir / str(self.task_id)
        # Private whatever the umask: the agent's workspace may hold secrets (.env).
        atomic.private_directory(self.settings.workspace_dir)
        self._phase("workspace", f"making the workspace {path}")
        work = backend_for(self.settings).create(task, path)
        path = Path(work.workspace)  # a backend may place it elsewhere (jj: outside the repository's tree)
        self.store.update(self.task_id, lambda s: replace(s, work=work))
        self._say(f"workspace {path} on {work.label} from {work.base_commit[:12]}")
        prompt_file = self.layout.prompt_file(self.task_id)
        # Not fsynced (nor isolation.json below): a copy of task.json's prompt and a
        # report, both made again by the next run; a crash that loses them ends this one.
        atomic.write_bytes(prompt_file, task.prompt.encode("utf-8", "surrogateescape"), durable=False)
        self.confinement = self._confine(task, profile, mode, str(path), str(prompt_file))
        confined = self.confinement
        env = confined.environment(needs=tuple(profile.env_pass), profile_set=profile.env)
        agent_paths = self._agent_paths(profile)
        self._record_isolation(env, agent_paths)
        if self.settings.root is not None:
            bootstrap(self.settings.config.bootstrap, self.settings.root, path, self.log,
                      confined.environment(), wrap=confined.wrap, progress=self.progress)
        self.store.journal("workspace-ready", task=self.task_id, duration_ms=elapsed_ms(self.claimed))
        argv = render_argv(profile, prompt=task.prompt, prompt_file=str(prompt_file), workspace=str(path), task_id=self.task_id,
                           session=task.resume_session)
        if task.resume_session and profile.resume:
            self._say(f"resuming the agent's session {task.resume_session}")
        argv = confined.wrap(argv, writable=agent_paths)
        self.profile = profile
        timeout = task.timeout if task.timeout is not None else self.settings.config.timeout
        self.deadline = time.monotonic() + timeout if timeout else None
        self.timeout = timeout
        return argv, env, path, task.prompt if profile.stdin else None

    # -- isolation (cairn/agents/sandbox.py, cairn/state/ports.py) -----------

    def _allocate_ports(self) -> None:
        from cairn.state.ports import allocate

        ports = self.settings.config.ports
        self.ports = allocate(self.layout, ports.base, ports.per_task, self.task_id)
        self._say(f"ports {self.ports.first}-{self.ports.first + self.ports.count - 1} (CAIRN_PORT={self.ports.first})")

    def _confine(self, task: Any, profile: Any, mode: str, workspace: str, prompt_file: str) -> Any:
        from cairn.agents.launch import task_variables
        from cairn.agents.sandbox import confine

        config = self.settings.config
        network = profile.sandbox_network if profile.sandbox_network is not None else config.sandbox_network
        confined = confine(
            self.settings, task_id=self.task_id, workspace=workspace, mode=mode, network=network,
            base_env=dict(os.environ), own_profile=profile,
            cairn_env=task_variables(self.task_id, workspace, str(self.layout.home), prompt_file, self.ports),
        )
        for note in confined.notes:
            self._say(f"sandbox: {note}")
        if confined.mode == "bwrap":
            self._say(f"sandboxed with bwrap: writes only in the workspace; network {'on' if confined.network else 'off'}")
        else:
            self._say(f"not sandboxed: {confined.why}")
        return confined

    def _agent_paths(self, profile: Any) -> tuple[str, ...]:
        from cairn.agents.sandbox import declared_paths

        if self.confinement.mode != "bwrap":
            return ()
        notes: list[str] = []
        home_dir = os.environ.get("HOME") or os.path.expanduser("~")
        paths = tuple(declared_paths(profile.writable, home_dir, notes))
        for note in notes:
            self._say(f"sandbox: {note}")
        return paths

    def _record_isolation(self, env: dict[str, str], agent_paths: tuple[str, ...]) -> None:
        from cairn.agents.processes import WORKS_FOR
        from cairn.core.environment import withheld
        from cairn.state import atomic

        confined = self.confinement
        atomic.write_bytes(self.layout.isolation_file(self.task_id), atomic.json_bytes({
            "sandbox": confined.mode,
            "reason": confined.why,
            "network": confined.network if confined.mode == "bwrap" else True,
            "writable": [confined.workspace, *confined.writable, *agent_paths] if confined.mode == "bwrap" else None,
            # What the agent receives: ``env`` plus the marker _start adds (processes.py).
            "env": sorted({*env, WORKS_FOR}),
            "withheld": withheld(os.environ, env),
            "port": self.ports.first,
            "port_count": self.ports.count,
        }) + b"\n", durable=False)

    def _start(self, argv: list[str], env: dict[str, str], cwd: Path, stdin_text: str | None) -> subprocess.Popen[bytes]:
        self._phase("agent", f"starting: {' '.join(argv[:1])} …")
        # Everything the log holds from here on is the agent's.
        self.output_start = self.scanned = self._log_size()
        if self.tty:
            import pty

            self.master, slave = pty.openpty()
            stdin: Any = slave if stdin_text is None else subprocess.PIPE
            out: Any = slave
        else:
            stdin = subprocess.DEVNULL if stdin_text is None else subprocess.PIPE
            out = self.log
        if self.profile.report is not None:
            from cairn.agents.transcript import Transcript

            self.transcript = Transcript(self.profile.report, self.log, self.layout.agent_events(self.task_id))
            if not self.tty:
                out = subprocess.PIPE  # the runner renders it into the log (transcript.py)
        from cairn.agents.processes import tied_to_parent, works_for

        # Before the agent can fill the disk: if this cannot be written, the
        # agent does not start (an OSError here is "cannot start the agent").
        self.store.update(self.task_id, lambda s: replace(s, agent_launched=time.time()) if isinstance(s, Running) else None)
        self.agent_began = time.monotonic()
        process = subprocess.Popen(
            argv, cwd=cwd, env={**env, **works_for(self.layout.task_dir(self.task_id))}, stdin=stdin, stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, detached from us and the scheduler
            # An agent never outlives its runner: no one would enforce its
            # timeout, and its exit status would be lost (recovery.py).
            preexec_fn=tied_to_parent(),
        )
        if process.stdout is not None:
            self.events_out = process.stdout.fileno()
            os.set_blocking(self.events_out, False)
        if self.tty:
            os.close(slave)
            if sys.stdin.isatty():
                import tty

                # Keystrokes in the tmux pane go to the agent as typed; its
                # own terminal echoes them.
                tty.setraw(sys.stdin.fileno())
        from cairn.agents.processes import start_time

        # The pid is on disk before anything can block, so whoever finds this
        # runner dead can still stop the agent.
        started = start_time(process.pid)
        deadline = time.time() + self.timeout if self.timeout else None
        try:
            self.store.update(
                self.task_id,
                lambda s: replace(s, agent_pid=process.pid, agent_started=started, deadline=deadline) if isinstance(s, Running) else None,
            )
            self.store.journal("agent-started", task=self.task_id, pid=process.pid)
        except OSError as error:
            # The agent is running (one may fill the disk in its first
            # instant): supervising it is worth more than the record; it dies
            # with this runner anyway, and ``agent_launched`` tells recovery
            # that the workspace may hold its work.
            from cairn.errors import describe_os_error

            self._say(f"could not record the agent's pid, supervising it all the same: {describe_os_error(error)}")
        if stdin_text is not None and process.stdin is not None:
            # From a thread: an agent that never reads a long prompt must not
            # stop the runner from enforcing its timeout or a cancel.
            import threading

            from cairn.agents.children import feed

            threading.Thread(target=feed, args=(process.stdin, stdin_text.encode()), daemon=True).start()
        return process

    # -- supervision ---------------------------------------------------------

    def _install_signals(self) -> None:
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(number, self._on_stop)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select()

    def _on_stop(self, number: int, _frame: Any) -> None:
        from cairn.agents import children

        # Setup, checks or the reviewer may be what runs now: stop them too.
        children.stop_all()
        if (self.layout.signals / f"cancel-{self.task_id}").exists():
            reason = _read_reason(self.layout.signals / f"cancel-{self.task_id}")
            self.stop_reason = ("cancelled", reason)
        elif self.stop_reason is None:
            name = signal.Signals(number).name
            self.stop_reason = ("terminated", f"the runner received {name}; the agent was stopped")

    def _supervise(self, process: subprocess.Popen[bytes]) -> Outcome:
        from cairn.core.agent_output import StuckWatch
        from cairn.engine.idleness import Silence

        silence = Silence(self.settings.config.idle_after, self._set_idle)
        silence.saw(grew=True)  # the agent just started: quiet from now on counts
        last_size = self._log_size()
        stuck = StuckWatch(self.profile.stuck)
        # Stuck states are read from the log: looked at every second, not every tick.
        tick = 1.0 if self.profile.stuck else TICK
        while True:
            code = process.poll()
            if code is not None:
                if self.master is not None:
                    self._drain()
                if self.events_out is not None:
                    # What it printed last is still in the pipe; a child it left may hold it open.
                    self._read_events(until=time.monotonic() + 2.0)
                return self._exited(code, stuck.feed(self._new_output()))
            stuck_reason = stuck.feed(self._new_output())
            if stuck_reason is not None and self.stop_reason is None:
                self._stop(process, stuck_reason)
                return Outcome(ending="stuck", finished=time.time(), exit_code=process.poll(), reason=stuck_reason)
            over = self._over_budget()
            if over is not None and self.stop_reason is None:
                self._stop(process, over)
                return Outcome(ending="over-budget", finished=time.time(), exit_code=process.poll(), reason=over)
            if self.stop_reason is not None:
                ending, reason = self.stop_reason
                self._stop(process, reason)
                return Outcome(ending=ending, finished=time.time(), exit_code=process.poll(), reason=reason)
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                from cairn.core.durations import format_duration

                reason = f"timed out after {format_duration(self.timeout or 0)}"
                self._stop(process, reason)
                return Outcome(ending="timeout", finished=time.time(), exit_code=process.poll(), reason=reason)
            size = self._log_size()
            silence.saw(grew=size != last_size)
            last_size = size
            # An idle agent is looked at every second so "active again" is prompt.
            wait = 1.0 if silence.idle else tick
            if self.deadline is not None:
                wait = min(wait, max(0.0, self.deadline - now))
            until_idle = silence.left()
            if until_idle is not None:
                wait = min(wait, max(0.05, until_idle))
            self._wait(wait)

    def _new_output(self) -> str:
        """What the agent printed since the last look (from the log, which it writes itself)."""
        try:
            with open(self.layout.agent_log(self.task_id), "rb") as log:
                log.seek(self.scanned)
                data = log.read(1 << 20)
        except OSError:
            return ""
        self.scanned += len(data)
        return data.decode(errors="replace")

    def _exited(self, code: int, stuck: str | None) -> Outcome:
        """The agent exited: in its own words, what went wrong, if anything.

        ``stuck``: a stuck rule matched its last output (amp takes a prompt on
        standard input for the login code it waits for, and gives up): that
        rule's reason says it best."""
        from cairn.core.agent_output import failure_in, last_words

        try:
            with open(self.layout.agent_log(self.task_id), "rb") as log:
                # The end is what explains an exit; a long transcript's start does not.
                log.seek(max(self.output_start, self._log_size() - (256 << 10)))
                said = log.read().decode(errors="replace")
        except OSError:
            said = ""
        error = failure_in(self.profile.failure_output, said, self.profile.success_output)
        report = self._report()
        if error is None and report is not None:
            error = report.error  # its own verdict, whatever its exit status says
        if error is None and code != 0:
            error = stuck or last_words(said)
        return Outcome(ending="exited", finished=time.time(), exit_code=code, agent_error=error)

    def _over_budget(self) -> str | None:
        budget = self.settings.config.budget
        if self.transcript is None or (budget.per_task is None and budget.per_task_tokens is None):
            return None
        from cairn.core.holds import over_the_task

        return over_the_task(self.transcript.report(), budget.per_task, budget.per_task_tokens)

    def _after_rate_limit(self, outcome: Outcome) -> bool:
        """The agent hit a usage or rate limit: pause its queue; whether the
        task is to be carried on by a retry once the pause ends (finish queues
        it through ``_retry_after_rate_limit``, with the work committed)."""
        report = self.last_report
        if report is None or not report.rate_limited or describe(outcome) is None:
            return False
        from cairn.state import atomic

        task = self.store.read_task(self.task_id)
        until = report.resets_at or time.time() + self.settings.config.rate_limit_backoff
        reason = f"{task.agent}: rate limited ({report.error or 'the agent said so'})"
        self.layout.pauses.mkdir(exist_ok=True)
        atomic.write_json(self.layout.pauses / f"{task.agent}.json", {"until": until, "reason": reason, "task": self.task_id})
        self.store.journal("rate-limited", task=self.task_id, agent=task.agent, until=until)
        self._say(f"{reason}: its queue pauses until {time.strftime('%H:%M', time.localtime(until))}")
        if task.after_rate_limit:
            return False  # once is enough: this was already the automatic retry
        state = self.store.read_state(self.task_id)
        if getattr(state, "work", None) is None:
            # No workspace, so nothing to carry on from: a plain second try.
            self._retry_after_rate_limit(None)
            return False
        return True

    def _retry_after_rate_limit(self, work: Any) -> tuple[int, Any]:
        """Queue the attempt that carries on after the pause, from ``work``
        (committed; kept by its backend until gc, like the reviewer's retries)
        and the agent's session; its id and where the work is kept."""
        from cairn.land.retry import queue_retry, session_to_resume

        task = self.store.read_task(self.task_id)
        start_from = kept = None
        if work is not None:
            from cairn.backends import backend_for

            start_from, kept = backend_for(self.settings, work).keep_for_retry(self.task_id, work)
        feedback = "The last attempt stopped at a usage or rate limit; carry on where it stopped."
        again = queue_retry(self.store, task, feedback=feedback, start_from=start_from, stat="", diff="",
                            resume_session=session_to_resume(self.store, self.settings, task, None), after_rate_limit=True)
        self._say(f"queued task {again.id} to carry on when the pause ends")
        return again.id, kept

    def _report(self) -> Any:
        """Fold the transcript into ``report.json``; None when the profile has no report format."""
        if self.transcript is None or self.reported:
            return None
        self.reported = True
        from cairn.agents.transcript import read_report
        from cairn.core import codec
        from cairn.state import atomic

        self.transcript.close()
        report = read_report(self.profile.report or "", self.layout.agent_events(self.task_id))
        atomic.write_json(self.layout.report_file(self.task_id), codec.encode(report))
        self.last_report = report
        return report

    def _wait(self, seconds: float) -> None:
        readers = [self.wake_r]
        # A terminal that reached its end stays "readable" forever: once a
        # side says EOF it is no longer watched, or this would spin.
        if self.master is not None and self.master_open:
            readers.append(self.master)
        if self.master is not None and self.pane_open and sys.stdin.isatty():
            readers.append(sys.stdin.fileno())
        if self.events_out is not None:
            readers.append(self.events_out)
        try:
            ready, _, _ = select.select(readers, [], [], seconds)
        except InterruptedError:
            return
        for fd in ready:
            if fd == self.wake_r:
                os.read(self.wake_r, 512)
            elif fd == self.master:
                self.master_open = self._copy_output()
            elif fd == self.events_out:
                self._read_events()
            else:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    self.pane_open = False
                elif self.master is not None:
                    os.write(self.master, data)

    def _read_events(self, until: float = 0.0) -> None:
        """Take what the agent printed on its pipe; with ``until``, keep reading to its end (or then)."""
        assert self.events_out is not None
        while True:
            try:
                data = os.read(self.events_out, 65536)
            except BlockingIOError:
                if time.monotonic() >= until:
                    return
                select.select([self.events_out], [], [], max(0.0, until - time.monotonic()))
                continue
            except OSError:
                data = b""
            if not data:
                os.close(self.events_out)
                self.events_out = None
                return
            self.transcript.feed(data)

    def _copy_output(self) -> bool:
        assert self.master is not None
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        if self.transcript is not None:
            data = self.transcript.feed(data).replace(b"\n", b"\r\n")
        else:
            self.log.write(data)
        try:
            os.write(sys.stdout.fileno(), data)
        except OSError:
            pass
        return True

    def _drain(self) -> None:
        while self.master is not None and select.select([self.master], [], [], 0.05)[0]:
            if not self._copy_output():
                break

    def _stop(self, process: subprocess.Popen[bytes], reason: str) -> None:
        from cairn.agents.processes import stop_tree

        self._say(f"stopping the agent: {reason}")
        stop_tree(process.pid)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _set_idle(self, since: float | None) -> None:
        self.store.update(self.task_id, lambda s: replace(s, idle_since=since) if isinstance(s, Running) else None)
        self.store.journal("idle" if since else "active", task=self.task_id)
        notify(self.settings, self.task_id, "idle" if since else "active")

    def _log_size(self) -> int:
        try:
            return os.fstat(self.log.fileno()).st_size
        except OSError:
            return 0

    def _phase(self, name: str, text: str) -> None:
        """A phase of the task's preparation: in its log and in the journal (cairn/progress.py)."""
        self._say(text)
        self.progress.phase(name, text)

    def _say(self, line: str) -> None:
        text = f"[cairn] {line}\n".encode()
        try:
            self.log.write(text)
        except OSError:
            pass  # a full disk: what is said matters less than going on
        if self.tty:
            try:
                os.write(sys.stdout.fileno(), text.replace(b"\n", b"\r\n"))
            except OSError:
                pass


def _read_reason(path: Path) -> str:
    try:
        return json.loads(path.read_text()).get("reason") or "cancelled"
    except (OSError, ValueError, AttributeError):
        return "cancelled"


#: Modules whose functions' imports a run needs: this file's, and those of
#: the finish and the workspace code it calls, which import on use too.
_LOADS_ON_USE = ("cairn.engine.runner", "cairn.engine.finish", "cairn.backends.git.workspaces", "cairn.vcs.worktrees",
                 "cairn.agents.launch", "cairn.backends.bootstrap", "cairn.land.checks")


#: What only a task on a cluster executor imports (hashing, shipping, each engine's client).
_LOADED_BY_REMOTE_RUNS = frozenset({"cairn.engine.remote"})


def _preload() -> None:
    """Import, while no task waits, every module a run imports inside its
    functions (they are there to keep a command that never runs a task fast):
    read from the sources themselves, so the list can never fall behind the
    code.  The backends are loaded too: ``backend_for`` imports them on use.
    Not the remote executors' (``_LOADED_BY_REMOTE_RUNS``): a task on a
    cluster loads them itself, once per run that takes seconds to start
    anyway, and a local crew's runners stay 4 MB smaller without them."""
    import ast
    import gc
    import importlib

    for name in _LOADS_ON_USE:
        source = importlib.import_module(name).__file__
        assert source is not None
        tree = ast.parse(Path(source).read_text())
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cairn."):
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names if alias.name.startswith("cairn.")]
                else:
                    continue
                for module in names:
                    if module not in _LOADED_BY_REMOTE_RUNS:
                        importlib.import_module(module)
    from cairn.backends import NAMES

    for name in NAMES:
        importlib.import_module(f"cairn.backends.{name}")
    gc.collect()  # the parsed sources: every fork would start with their pages


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    env_file = None
    tty = False
    adopt = False
    positional = []
    iterator = iter(args)
    for arg in iterator:
        if arg == "--env-file":
            env_file = next(iterator)
        elif arg == "--tty":
            tty = True
        elif arg == "--adopt":
            adopt = True
        else:
            positional.append(arg)
    home = Path(positional[0])
    task_id = int(positional[1])
    if tty:
        # In tmux our stderr is a pane that vanishes with us: errors go to the log.
        log = os.open(Layout(home).agent_log(task_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(log, 2)
        os.close(log)
    if env_file:
        # The environment of whoever launched us (the scheduler's), passed through
        # a private file because a tmux server has its own.
        path = Path(env_file)
        os.environ.clear()
        os.environ.update(json.loads(path.read_text()))
        path.unlink(missing_ok=True)
    os.environ["CAIRN_HOME"] = str(home)
    return Runner(home, task_id, tty, adopt=adopt).run()


if __name__ == "__main__":
    sys.exit(main())
