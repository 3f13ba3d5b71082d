"""``cairn up``: a loop that starts queued work when its turn comes.

Disk is the truth: each turn of the loop rebuilds everything from a fresh
scan; inotify (read here by cairn/state/inotify.py, through watchdog where
that cannot be had) only says when to look again, and where it is missing,
or lost an event, the loop looks every second instead.  The scheduler holds
``locks/scheduler.lock`` for its life (one per state directory) and owns no
task: runners do the work and survive it, so killing the scheduler with any
signal at any moment loses nothing, and the next one adopts what runs.

Trouble that is not a task's fault never fails a task:
- a configuration made invalid while it runs stops new starts; the error
  (file and key) is said once, and starts resume when it is fixed;
- a persistent I/O error on a task (disk full, a directory made unwritable)
  is said once with the path and the errno, and that task is looked at again
  only after a growing pause, so nothing loops hot; ``--until-idle`` ends
  when all that is left is such a task (exit 1, naming it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from cairn.core.model import Failed
from cairn.core.schedule import plan
from cairn.core.summary import Summary
from cairn.engine.launch import ForkedRunner, Standby, launch
from cairn.engine.recovery import recover, runner_alive
from cairn.errors import EXIT_CONFIG, CairnError, ConfigError, OperationFailed, WrongState, describe_os_error
from cairn.state import atomic, lock
from cairn.state.inotify import FLAT_MASK
from cairn.state.scheduler_info import running_scheduler
from cairn.state.store import Memo, Store

#: Without inotify: how often to look.  With it: a safety net only.
POLL = 1.0
SAFETY_RESCAN = 30.0
#: A launched runner must claim its task within this long, or it is launched again.
CLAIM_GRACE = 30.0
#: Runners that exit without claiming their task this many times fail it, so a
#: broken installation never turns into a tight relaunch loop.
MAX_LAUNCHES = 3
#: Pauses before a task that hit an I/O error is looked at again: doubling up to this.
MAX_BACKOFF = 60.0


class Scheduler:
    def __init__(self, settings: Any, *, max_agents: int, until_idle: bool, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.store = Store(settings.layout)
        self.max_agents = max_agents
        self.limits = settings.executor_limits
        self.until_idle = until_idle
        self.say = say
        self.wake = threading.Event()
        self.stopping = False
        #: task id -> (its runner, None under tmux; when launched), until the task leaves queued.
        self.launched: dict[int, tuple[subprocess.Popen[bytes] | ForkedRunner | None, float]] = {}
        self.failed_launches: dict[int, int] = {}
        #: Forks runners that have paid their start-up already (standby.py); None under tmux.
        self.standby: Standby | None = None
        #: Every runner this scheduler started, polled each turn so none stays a zombie.
        self.children: list[subprocess.Popen[bytes]] = []
        #: task id -> errors in a row while handling it (see _contained).
        self.errors: dict[int, int] = {}
        self.seen: dict[int, str] = {}
        #: The summaries cache as of the last turn (Store.scan): not read from disk on every turn.
        self.summaries_memo = Memo()
        #: agent -> why its tasks are held, as last said.
        self.held: dict[str, str] = {}
        #: The day's budget, once spent: why, as last said and notified.
        self.budget_said: str | None = None
        #: A rate-limit pause holds some queued task; when the first one ends.
        self.pausing = False
        self.pause_ends: float | None = None
        self.gc_due: float | None = None
        #: The running periodic gc (cairn/gc/periodic.py), reaped on a later turn.
        self.gc_child: subprocess.Popen[bytes] | None = None
        #: task id -> (look again after, the pause, what was said) for persistent I/O errors.
        self.backoff: dict[int, tuple[float, float, str]] = {}
        #: The configuration's error while it is invalid (no new starts meanwhile).
        self.config_error: str | None = None

    def run(self) -> int:
        layout = self.settings.layout
        fd = lock.open_lock(layout.scheduler_lock)
        if not lock.try_lock(fd):
            pid = running_scheduler(layout)
            raise OperationFailed(
                f"a scheduler already runs for {layout.home} (pid {pid})",
                hint="one scheduler per state directory; stop that one first, or use it",
            )
        atomic.write_json(layout.scheduler_info, {"pid": os.getpid(), "started": time.time(), "max_agents": self.max_agents})
        self.store.journal("scheduler-started", pid=os.getpid(), max_agents=self.max_agents)
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._on_signal)
        observer = self._watch()
        from cairn.engine.launch import start_standby

        self.standby = start_standby(self.settings)
        from cairn.engine.backlog import leftovers

        for ticket in leftovers(self.settings):
            self.say(f"backlog: {ticket} was claimed by a scheduler that stopped; check `cairn status`, then rename it")
        self.say(f"scheduler running for {layout.home} (pid {os.getpid()}, max {self.max_agents} agents, {'inotify' if observer else 'polling'})")
        try:
            while not self.stopping:
                self.wake.clear()
                try:
                    idle = self.turn()
                except Exception as error:  # noqa: BLE001 — the loop must outlive a bad turn
                    self.say(f"error while looking at the tasks: {type(error).__name__}: {error}; looking again shortly")
                    idle = False
                    self.wake.wait(POLL)
                # Workspaces made ahead (git's warm pool, when configured): never fails a turn.
                self._top_up()
                if self.until_idle and idle:
                    break
                trusted = observer is not None and getattr(observer, "complete", True)
                wait = self._pause(SAFETY_RESCAN if trusted else POLL)
                if self.pause_ends is not None:  # no file changes when a pause ends: look then
                    wait = max(0.05, min(wait, self.pause_ends - time.time()))
                self.wake.wait(wait)
        finally:
            if self.standby is not None:
                self.standby.dismiss()
            if observer is not None:
                observer.stop()
            try:
                self.store.journal("scheduler-stopped", pid=os.getpid())
            except OSError as error:
                self.say(f"could not journal the scheduler's stop: {describe_os_error(error)}")
            self.settings.layout.holds.unlink(missing_ok=True)
            os.close(fd)
        if self.until_idle and (self.backoff or self.config_error):
            return 1
        return 0

    def _top_up(self) -> None:
        """The backend of new work prepares workspaces ahead, if it does; a problem waits for the next turn."""
        from cairn.backends import backend_for

        # Forked by the standby where there is one: no interpreter start for each refill.
        fork = self.standby.refill if self.standby is not None else None
        try:
            backend_for(self.settings).top_up(self.settings, fork)
        except CairnError:
            pass

    def _pause(self, longest: float) -> float:
        """How long to sleep: until the next look a backed-off task or a
        broken configuration needs, at most ``longest``."""
        if self.config_error is not None:
            longest = min(longest, POLL)  # a fix to a config file wakes no inotify watch of ours
        now = time.monotonic()
        for retry_at, _, _ in self.backoff.values():
            longest = min(longest, max(0.0, retry_at - now))
        return longest

    def _on_signal(self, number: int, _frame: Any) -> None:
        self.stopping = True
        self.wake.set()

    def _watch(self) -> Any:
        """An inotify watch that sets ``self.wake`` when a task appears, changes
        state or is cancelled; nothing else a crew writes wakes it (see ``Waker``).
        Its own reader of inotify where it can (cairn/state/inotify.py: a crew's
        events through watchdog cost more than the turns), else watchdog's."""
        from cairn.state.inotify import open_watch

        waker = Waker(self.wake)
        watch = open_watch(waker.saw, self.wake)
        if watch is not None:
            layout = self.settings.layout
            if watch.tasks(layout.tasks) and watch.add(str(layout.signals), FLAT_MASK) is not None:
                watch.start()
                return Watching(watch, self._watch_backlog())
            watch.stop()
        return self._watch_with_watchdog(waker)

    def _watch_backlog(self) -> Any:
        """watchdog's observer of the backlog directory, if one is configured (a few files an hour)."""
        if not self.settings.config.backlog_dir:
            return None
        try:
            from watchdog.observers.inotify import InotifyObserver

            from cairn.engine import backlog

            observer = InotifyObserver()
            backlog.watch(observer, self.settings, self.wake)
            observer.start()
            return observer
        except (ImportError, OSError):
            return None

    def _watch_with_watchdog(self, waker: Waker) -> Any:
        try:
            from watchdog.events import (
                DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent, FileDeletedEvent,
                FileMovedEvent, FileSystemEventHandler,
            )
            from watchdog.observers.inotify import InotifyObserver
        except ImportError:
            return None

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                waker.saw(event.event_type, event.src_path, getattr(event, "dest_path", "") or "")

        # What a record's publication is made of (a rename into place, or a
        # close after writing, a new or removed directory), asked of inotify
        # itself so that agents' output and reads of records cost us nothing.
        wanted = [FileMovedEvent, FileClosedEvent, FileCreatedEvent, FileDeletedEvent, DirCreatedEvent, DirMovedEvent, DirDeletedEvent]
        try:
            observer = InotifyObserver()
            handler = Handler()
            for path, recursive in ((self.settings.layout.tasks, True), (self.settings.layout.signals, False)):
                try:
                    observer.schedule(handler, str(path), recursive=recursive, event_filter=wanted)
                except TypeError:  # a watchdog without event filters: Waker sorts them out
                    observer.schedule(handler, str(path), recursive=recursive)
            from cairn.engine import backlog

            backlog.watch(observer, self.settings, self.wake)
            observer.start()
            return observer
        except OSError:
            return None

    # -- one turn -----------------------------------------------------------

    def turn(self) -> bool:
        """Look at everything once and act; True when nothing runs and nothing can start."""
        self._backlog()
        scan = self.store.scan(memo=self.summaries_memo)
        summaries = scan.summaries
        self._report(summaries)
        now = time.monotonic()
        waiting_out = {i for i, (retry_at, _, _) in self.backoff.items() if retry_at > now}
        for summary in summaries:
            if summary.state == "running" and summary.id not in waiting_out and not runner_alive(self.store, summary.id):
                # Recovery does the same thing every time: one failure is enough to know.
                self._contained(summary.id, "recovering it", self._recover, summary.id, give_up_after=1)
        self._reap(summaries)
        self._gc_tick()
        self._check_config()
        view = [s._replace(state="running") if s.id in self.launched and s.state == "queued" else s for s in summaries]
        from cairn.land.radar import paths_to_avoid

        decided = plan(view, self.max_agents, review_paths=paths_to_avoid(self.store, self.settings, summaries),
                       held=self._holds(view), limits=self.limits)
        if self.config_error is not None:
            decided.start = []  # a bad configuration holds every new start back
        for task_id, reason in decided.fail.items():
            if task_id not in waiting_out:
                self._contained(task_id, "failing it", self._fail, task_id, reason)
        for task_id in decided.start:
            if task_id not in waiting_out:
                self._contained(task_id, "starting it", self._start, task_id)
        if self.standby is not None:
            self.standby.read_exits()  # every turn, so its reports never fill the pipe
        if self.standby is not None and not self.standby.alive():
            self.standby = None  # it died: a new one below (its runners live on)
        # Runners are our children until they exit: wait for them, no zombies.
        self.children = [child for child in self.children if child.poll() is None]
        if self.standby is None and not decided.start and not any(s.id in self.launched for s in summaries if s.state == "queued"):
            from cairn.engine.launch import start_standby

            self.standby = start_standby(self.settings)
        # A task stuck on an I/O error is not "running" for --until-idle: no one can move it now.
        stuck = set(self.backoff)
        running = any(s.state == "running" and s.id not in stuck for s in view) or bool(decided.start) or bool(self.launched)
        pending_fail = set(decided.fail) - stuck
        # A task held by a rate-limit pause will start when the pause ends: not idle yet.
        if self.until_idle and not running and not pending_fail and not self.pausing:
            for task_id, why in decided.waiting.items():
                self.say(f"task {task_id} still waits: {why}")
            if self.config_error is not None:
                self.say(f"queued tasks wait for a valid configuration: {self.config_error}")
            for task_id, (_, _, said) in sorted(self.backoff.items()):
                self.say(f"task {task_id} is left as it is for now: {said.removeprefix(f'task {task_id}: ')}")
            return True
        return False

    def _check_config(self) -> None:
        """The configuration as a runner would load it now: invalid, no new starts."""
        from cairn.config.load import resolve

        try:
            resolve(self.settings.root or self.settings.home, home=self.settings.home)
            problem = None
        except ConfigError as error:
            problem = str(error)
        if problem != self.config_error:
            if problem is not None:
                self.say(f"the configuration is invalid: {problem}; no new task starts until it is fixed (running ones go on)")
            else:
                self.say("the configuration is valid again: starting queued tasks")
        self.config_error = problem

    def _holds(self, summaries: list[Summary]) -> dict[str, str]:
        """Agents whose queued tasks may not start (preflight), said once each time it changes."""
        from cairn.agents.preflight import holds

        queued = {s.agent for s in summaries if s.state == "queued"}
        held = holds(self.settings, queued)
        pauses = self._paused()
        held.update(pauses)
        self.pausing = bool(pauses)
        spent = self._day_spent(summaries)
        if spent is not None:
            if self.budget_said != spent:
                from cairn.notify import notify

                self.store.journal("budget-spent", reason=spent)
                notify(self.settings, 0, "budget", spent)
            held.update({agent: spent for agent in queued})
        self.budget_said = spent
        for agent, why in held.items():
            if self.held.get(agent) != why:
                self.say(f"{why}; its tasks wait in queued")
        for agent in set(self.held) - set(held):
            self.say(f"{agent}: ready again; its tasks may start")
        if held != self.held or not self.settings.layout.holds.exists():
            # For `cairn status` and the dashboard, which must not run the checks themselves.
            atomic.write_json(self.settings.layout.holds, held)
        self.held = held
        return held

    def _paused(self) -> dict[str, str]:
        """Agents whose queue a rate limit paused; an ended pause's file is removed."""
        import json

        from cairn.core.holds import paused

        pauses = {}
        for path in self.settings.layout.pauses.glob("*.json") if self.settings.layout.pauses.is_dir() else []:
            try:
                pauses[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
        now = time.time()
        held = paused(pauses, now)
        ends = [p["until"] for a, p in pauses.items() if a in held]
        self.pause_ends = min(ends) if ends else None
        for agent in set(pauses) - set(held):
            (self.settings.layout.pauses / f"{agent}.json").unlink(missing_ok=True)
        return held

    def _day_spent(self, summaries: list[Summary]) -> str | None:
        """Why nothing more starts today (budget.per_day), or None."""
        budget = self.settings.config.budget
        if budget.per_day is None and budget.per_day_tokens is None:
            return None
        from cairn.state.reports import read_report
        from cairn.core.holds import over_the_day

        midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
        today = [s.id for s in summaries if s.state not in ("queued", "running") and s.since >= midnight]
        reports = [r for r in (read_report(self.settings.layout, i) for i in today) if r]
        return over_the_day(reports, budget.per_day, budget.per_day_tokens)

    def _backlog(self) -> None:
        """``backlog_dir``: ticket files become tasks before the scan that plans them."""
        if self.settings.config.backlog_dir:
            from cairn.engine.backlog import intake

            try:
                intake(self.store, self.settings, self.say)
            except Exception as error:  # noqa: BLE001 — the backlog's trouble is never the crew's
                self.say(f"backlog: {type(error).__name__}: {error}")

    def _contained(self, task_id: int, doing: str, action: Callable[..., None], *args: Any, give_up_after: int = MAX_LAUNCHES) -> None:
        """One task's trouble is that task's, never the crew's: the error is
        reported and the loop goes on; a task that keeps failing the same way
        is failed with the reason, so it cannot stop the scheduler."""
        try:
            action(*args)
            self.errors.pop(task_id, None)
            if self.backoff.pop(task_id, None) is not None:
                self.say(f"task {task_id}: its files can be written again")
        except OSError as error:
            # The machine's trouble (a full disk, an unwritable directory),
            # not the task's: said once, looked at again after a growing pause.
            _, pause, said = self.backoff.get(task_id, (0.0, 0.5, ""))
            pause = min(pause * 2, MAX_BACKOFF)
            message = f"task {task_id}: cannot go on {doing}: {describe_os_error(error)}"
            self.backoff[task_id] = (time.monotonic() + pause, pause, message)
            if message != said:
                self.say(f"{message}; trying again after growing pauses (up to {MAX_BACKOFF:g}s), quietly unless it changes")
        except Exception as error:  # noqa: BLE001 — contained on purpose, reported below
            count = self.errors.get(task_id, 0) + 1
            self.errors[task_id] = count
            self.say(f"task {task_id}: error while {doing}: {error}")
            if count >= give_up_after and action != self._fail:
                try:
                    self._fail_stuck(task_id, f"Cairn could not handle it ({doing}): {error}")
                except Exception as again:  # noqa: BLE001
                    self.say(f"task {task_id}: cannot record the failure either: {again}")

    def _recover(self, task_id: int) -> None:
        new = recover(self.store, self.settings, task_id)
        if new:
            self.say(f"task {task_id}: its runner was gone; now {new}")

    def _fail_stuck(self, task_id: int, reason: str) -> None:
        """Fail a queued or running task whose handling keeps raising."""
        state = self.store.read_state(task_id)
        if state.state in ("queued", "running"):
            self.store.move(task_id, "failed", lambda s: Failed(since=time.time(), reason=reason, work=getattr(s, "work", None)),
                            verb="fail", reason=reason)
            self._said_failed(task_id, reason)

    def _start(self, task_id: int) -> None:
        forked = self.standby.give(task_id) if self.standby is not None else None
        if forked is not None:
            self.launched[task_id] = (forked, time.monotonic())
            return
        try:
            process = launch(self.settings, task_id)
        except OSError as error:
            # Raised so _contained counts it: a launch that keeps failing fails the task.
            raise OperationFailed(f"could not start its runner: {error}") from None
        self.launched[task_id] = (process, time.monotonic())
        if process is not None:
            self.children.append(process)

    def _reap(self, summaries: list[Summary]) -> None:
        states = {s.id: s.state for s in summaries}
        for task_id, (process, when) in list(self.launched.items()):
            exited = process is not None and process.poll() is not None
            still_queued = states.get(task_id) == "queued"
            if not still_queued or exited or time.monotonic() - when > CLAIM_GRACE:
                del self.launched[task_id]
            if exited and still_queued and process is not None and process.returncode == EXIT_CONFIG:
                continue  # the configuration broke under it: _check_config holds starts back
            if still_queued and (exited or time.monotonic() - when > CLAIM_GRACE):
                self.failed_launches[task_id] = self.failed_launches.get(task_id, 0) + 1
                if self.failed_launches[task_id] >= MAX_LAUNCHES:
                    log = self.settings.layout.agent_log(task_id)
                    self._fail(task_id, f"its runner could not start {MAX_LAUNCHES} times; see {log}")

    def _gc_tick(self) -> None:
        """gc.interval: start gc when due, as a child process, so no turn ever waits for it."""
        interval = self.settings.config.gc.interval
        if interval:
            from cairn.gc.periodic import tick

            self.gc_due, self.gc_child = tick(self.settings, interval, self.gc_due, self.gc_child, self.say)

    def _fail(self, task_id: int, reason: str) -> None:
        try:
            self.store.move(task_id, "failed", lambda _: Failed(since=time.time(), reason=reason), verb="fail", reason=reason)
            self._said_failed(task_id, reason)
        except WrongState:
            return
        from cairn.notify import notify

        notify(self.settings, task_id, "failed", self.store.read_task(task_id).title)

    def _said_failed(self, task_id: int, reason: str) -> None:
        self.say(f"task {task_id} failed: {reason}")
        self.seen[task_id] = "failed"  # said: the next scan's report must not say it again

    def _report(self, summaries: list[Summary]) -> None:
        for summary in summaries:
            before = self.seen.get(summary.id)
            if before == summary.state:
                continue
            self.seen[summary.id] = summary.state
            if before is None and summary.state not in ("queued", "running"):
                continue
            self.say(_describe(summary))


class Watching:
    """The scheduler's watches (cairn/state/inotify.py, and the backlog's
    watchdog observer): stopped together; ``complete`` while no event was lost."""

    def __init__(self, tasks: Any, backlog: Any) -> None:
        self.tasks = tasks
        self.backlog = backlog

    @property
    def complete(self) -> bool:
        return bool(self.tasks.complete)

    def stop(self) -> None:
        self.tasks.stop()
        if self.backlog is not None:
            self.backlog.stop()


class Waker:
    """Decides which file events wake the scheduler: a task directory made or
    removed, a cancel signal, and a ``state.json`` whose state name is not the
    one last seen.  A runner rewrites its running task's record several times
    (its workspace, its agent's pid, idleness) and everyone reads records;
    none of that changes what a turn decides, so none of it costs a turn."""

    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake
        self.states: dict[str, str | None] = {}

    def saw(self, kind: str, path: str, dest: str) -> None:
        if kind in ("opened", "closed_no_write", "modified"):
            return  # a read, or a write still under way
        where = dest or path
        name = os.path.basename(where)
        if "/signals" in where:
            self.wake.set()
        elif name == "state.json":
            if kind == "deleted" or self._new_state(where):
                self.wake.set()
        elif name.isdigit() and kind in ("created", "moved", "deleted"):
            self.wake.set()

    def _new_state(self, path: str) -> bool:
        try:
            with open(path, "rb") as record:
                state = json.loads(record.read()).get("state")
        except (OSError, ValueError, AttributeError):
            state = None  # unreadable now: a turn will say what it is
        before = self.states.get(path, "")
        self.states[path] = state
        return state is None or state != before


def _describe(summary: Summary) -> str:
    head = f"task {summary.id} {summary.state}"
    if summary.state == "review":
        if summary.files == 0:
            return f"{head}: the agent changed nothing — {summary.title}"
        return f"{head}: {summary.files} files +{summary.insertions} -{summary.deletions} — {summary.title}"
    if summary.reason:
        return f"{head}: {summary.reason}"
    return f"{head} — {summary.title}"

