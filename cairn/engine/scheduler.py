"""``cairn up``: a loop that starts queued work when its turn comes.

Disk is the truth: each turn of the loop rebuilds everything from a fresh
scan; inotify (watchdog) only says when to look again, and where it is
missing the loop looks every second instead.  The scheduler holds
``locks/scheduler.lock`` for its life (one per state directory) and owns no
task: runners do the work and survive it, so killing the scheduler with any
signal at any moment loses nothing, and the next one adopts what runs.
"""

from __future__ import annotations

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
from cairn.engine.launch import launch
from cairn.engine.recovery import recover, runner_alive
from cairn.errors import OperationFailed, WrongState
from cairn.state import atomic, lock
from cairn.state.scheduler_info import running_scheduler
from cairn.state.store import Store
from cairn.workspaces.pool import top_up_soon

#: Without inotify: how often to look.  With it: a safety net only.
POLL = 1.0
SAFETY_RESCAN = 30.0
#: A launched runner must claim its task within this long, or it is launched again.
CLAIM_GRACE = 30.0
#: Runners that exit without claiming their task this many times fail it, so a
#: broken installation never turns into a tight relaunch loop.
MAX_LAUNCHES = 3


class Scheduler:
    def __init__(self, settings: Any, *, max_agents: int, until_idle: bool, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.store = Store(settings.layout)
        self.max_agents = max_agents
        self.until_idle = until_idle
        self.say = say
        self.wake = threading.Event()
        self.stopping = False
        #: task id -> (runner process or None under tmux, when launched), until the task leaves queued.
        self.launched: dict[int, tuple[subprocess.Popen[bytes] | None, float]] = {}
        self.failed_launches: dict[int, int] = {}
        #: A runner started ahead of need (launch.py), so a new task skips its start-up.
        self.standby: subprocess.Popen[bytes] | None = None
        #: Every runner this scheduler started, polled each turn so none stays a zombie.
        self.children: list[subprocess.Popen[bytes]] = []
        #: task id -> errors in a row while handling it (see _contained).
        self.errors: dict[int, int] = {}
        self.seen: dict[int, str] = {}
        self.gc_due: float | None = None
        #: The running periodic gc (cairn/gc/periodic.py), reaped on a later turn.
        self.gc_child: subprocess.Popen[bytes] | None = None

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
        from cairn.engine.launch import dismiss, start_standby

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
                # The warm pool, when configured: a detached refill if it runs short or stale.
                top_up_soon(self.settings)
                if self.until_idle and idle:
                    break
                self.wake.wait(SAFETY_RESCAN if observer else POLL)
        finally:
            dismiss(self.standby)
            if observer is not None:
                observer.stop()
            self.store.journal("scheduler-stopped", pid=os.getpid())
            os.close(fd)
        return 0

    def _on_signal(self, number: int, _frame: Any) -> None:
        self.stopping = True
        self.wake.set()

    def _watch(self) -> Any:
        """An inotify watch that sets ``self.wake`` when a task appears or changes state."""
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers.inotify import InotifyObserver
        except ImportError:
            return None
        wake = self.wake

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                path = getattr(event, "dest_path", "") or event.src_path
                name = os.path.basename(path)
                # Agent output would wake us for nothing: only records count.
                if name in ("state.json", "exit.json") or name.isdigit() or "/signals" in path:
                    wake.set()

        try:
            observer = InotifyObserver()
            handler = Handler()
            observer.schedule(handler, str(self.settings.layout.tasks), recursive=True)
            observer.schedule(handler, str(self.settings.layout.signals), recursive=False)
            from cairn.engine import backlog

            backlog.watch(observer, self.settings, wake)
            observer.start()
            return observer
        except OSError:
            return None

    # -- one turn -----------------------------------------------------------

    def turn(self) -> bool:
        """Look at everything once and act; True when nothing runs and nothing can start."""
        self._backlog()
        scan = self.store.scan()
        summaries = scan.summaries
        self._report(summaries)
        for summary in summaries:
            if summary.state == "running" and not runner_alive(self.store, summary.id):
                # Recovery does the same thing every time: one failure is enough to know.
                self._contained(summary.id, "recovering it", self._recover, summary.id, give_up_after=1)
        self._reap(summaries)
        self._gc_tick()
        view = [s._replace(state="running") if s.id in self.launched and s.state == "queued" else s for s in summaries]
        from cairn.land.radar import paths_to_avoid

        decided = plan(view, self.max_agents, review_paths=paths_to_avoid(self.store, self.settings, summaries))
        for task_id, reason in decided.fail.items():
            self._contained(task_id, "failing it", self._fail, task_id, reason)
        for task_id in decided.start:
            self._contained(task_id, "starting it", self._start, task_id)
        if self.standby is not None and self.standby.poll() is not None:
            self.standby = None  # it died: a new one below
        # Runners are our children until they exit: wait for them, no zombies.
        self.children = [child for child in self.children if child.poll() is None]
        if self.standby is None and not decided.start and not any(s.id in self.launched for s in summaries if s.state == "queued"):
            from cairn.engine.launch import start_standby

            self.standby = start_standby(self.settings)
        running = any(s.state == "running" for s in view) or bool(decided.start) or bool(self.launched)
        if self.until_idle and not running and not decided.fail:
            for task_id, why in decided.waiting.items():
                self.say(f"task {task_id} still waits: {why}")
            return True
        return False

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
            self.store.move(task_id, "failed", lambda s: Failed(since=time.time(), reason=reason, work=getattr(s, "work", None)),  # type: ignore[arg-type]
                            verb="fail", reason=reason)
            self.say(f"task {task_id} failed: {reason}")

    def _start(self, task_id: int) -> None:
        from cairn.engine.launch import hand_over

        if hand_over(self.standby, task_id):
            self.launched[task_id] = (self.standby, time.monotonic())
            self.children.append(self.standby)
            # The next standby starts once this task is claimed (see turn):
            # its imports would otherwise compete with the claim for the CPU.
            self.standby = None
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
            self.store.move(task_id, "failed", lambda _: Failed(since=time.time(), reason=reason), verb="fail", reason=reason)  # type: ignore[arg-type]
            self.say(f"task {task_id} failed: {reason}")
        except WrongState:
            return
        from cairn.notify import notify

        notify(self.settings, task_id, "failed", self.store.read_task(task_id).title)

    def _report(self, summaries: list[Summary]) -> None:
        for summary in summaries:
            before = self.seen.get(summary.id)
            if before == summary.state:
                continue
            self.seen[summary.id] = summary.state
            if before is None and summary.state not in ("queued", "running"):
                continue
            self.say(_describe(summary))


def _describe(summary: Summary) -> str:
    head = f"task {summary.id} {summary.state}"
    if summary.state == "review":
        if summary.files == 0:
            return f"{head}: the agent changed nothing — {summary.title}"
        return f"{head}: {summary.files} files +{summary.insertions} -{summary.deletions} — {summary.title}"
    if summary.reason:
        return f"{head}: {summary.reason}"
    return f"{head} — {summary.title}"

