"""The standby: a runner's start-up paid once for a whole crew.

    python -m cairn.engine.standby HOME

The scheduler starts one (headless only; cairn/engine/launch.py) and keeps
it.  It imports everything a run needs (``runner._preload``), then reads task
ids on its stdin, one a line, and for each forks a child that is that task's
runner, exactly as ``python -m cairn.engine.runner HOME ID`` would be (its own
session, its output in the task's ``agent.log``), but with no interpreter
start and no imports of its own: on a crew of short tasks those were most of
a runner's CPU.  Every fork is taken from this process, which runs no task
and starts no thread, so each runner begins from the same fresh state.

A line ``refill`` forks the warm pool's refill the same way (in its own
session, its output in ``pool/refill.log``: ``refill_here`` in
cairn/backends/git/pool.py), which the scheduler would otherwise start as a
fresh interpreter each time a crew's claims leave the pool short.

On its stdout it says ``exited ID CODE`` when a runner it forked ends
(``exited refill CODE`` for a refill); the scheduler reads it to see a
runner that exited before claiming its task, as it would poll one it had
started itself.  At end of file on its stdin (the
scheduler stopped, or dismissed it) it exits; the runners it forked go on,
as runners outlive the scheduler.
"""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from cairn.state.layout import Layout


def serve(home: Path) -> int:
    """Fork a runner for each task id read on stdin until end of file; report each exit."""
    os.set_blocking(1, False)  # a report is never worth stopping for
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select()
    forked: dict[int, int | str] = {}  # pid -> task id, or "refill"
    pending = b""
    while True:
        try:
            ready, _, _ = select.select([0, wake_r], [], [])
        except InterruptedError:
            ready = []
        if wake_r in ready:
            _drain(wake_r)
        if not _report_exits(forked):
            return 0  # nobody reads us any more: the scheduler is gone
        if 0 not in ready:
            continue
        data = os.read(0, 4096)
        if not data:
            return 0
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            if line.strip().isdigit():
                task_id = int(line)
                forked[_fork_runner(home, task_id, (wake_r, wake_w))] = task_id
            elif line.strip() == b"refill":
                forked[_fork_refill(home, (wake_r, wake_w))] = "refill"


def _fork_runner(home: Path, task_id: int, own: tuple[int, ...]) -> int:
    def run() -> int:
        from cairn.engine.runner import Runner

        return Runner(home, task_id, tty=False).run()

    # Its output to the task's log: the scheduler's pipes are not the runner's, none is kept open here.
    return _fork(run, own, output=Layout(home).agent_log(task_id))


def _fork_refill(home: Path, own: tuple[int, ...]) -> int:
    """A child topping the warm pool up, as ``python -m cairn.backends.git.pool refill`` would
    (its output goes to ``pool/refill.log``: ``refill_here`` sees to it)."""
    def run() -> int:
        from cairn.backends.git.pool import refill_here

        return refill_here(home)

    return _fork(run, own, output=None)


def _fork(work: Callable[[], int], own: tuple[int, ...], *, output: Path | None) -> int:
    """The child's pid; the child runs ``work`` in a session of its own (as
    launch.py starts a runner, and the scheduler its own refill), stdin from
    /dev/null, stdout and stderr appended to ``output`` if given, and exits
    with what ``work`` returned.  A bug in it prints its trace there and ends
    the child only: the standby lives on."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in own:
            os.close(fd)
        os.setsid()
        if output is not None:
            log = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(log)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        code = work()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 — see above
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _report_exits(forked: dict[int, int | str]) -> bool:
    """Reap the runners that ended and say so; False when the scheduler no longer listens."""
    while forked:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            forked.clear()
            break
        if pid == 0:
            break
        task_id = forked.pop(pid, None)
        if task_id is None:
            continue
        try:
            os.write(1, f"exited {task_id} {os.waitstatus_to_exitcode(status)}\n".encode())
        except BlockingIOError:
            pass  # not read for a while: the scheduler then waits its claim grace, as for any runner
        except OSError:
            return False
    return True


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cairn.engine.standby CAIRN_HOME", file=sys.stderr)
        return 2
    home = Path(args[0])
    os.environ["CAIRN_HOME"] = str(home)
    from cairn.engine.runner import _preload

    _preload()
    _warm()
    return serve(home)


def _warm() -> None:
    """Fill, once, the caches every run fills the same way, so that each fork
    starts with them: the record classes' type hints (cairn/core/codec.py),
    the compiled patterns of the default environment filter, and whether
    bwrap can make a sandbox here.  Never fatal."""
    try:
        from fnmatch import fnmatchcase

        from cairn.core import codec
        from cairn.core.environment import DEFAULT_DROP
        from cairn.core.model import Failed, GitWork, Queued, Review, Running, State, Task
        from cairn.engine.outcome import Outcome

        work = GitWork(workspace="/", branch="cairn/0", base_commit="0" * 40)
        codec.decode(Task, codec.encode(Task(id=0, title="t", prompt="p", agent="a", created=0.0)))
        for state in (Queued(since=0.0), Running(since=0.0, runner_pid=1, work=work), Review(since=0.0, started=0.0, work=work),
                      Failed(since=0.0, reason="r", work=work)):
            codec.decode(State, codec.encode(state))
        codec.decode(Outcome, codec.encode(Outcome(ending="exited", finished=0.0)))
        for pattern in DEFAULT_DROP:
            fnmatchcase("", pattern)
        from cairn.agents.sandbox import bwrap_problem

        bwrap_problem()  # whether bwrap works here, asked once (it runs bwrap) rather than by every runner
    except Exception:  # noqa: BLE001 — only speed is at stake
        pass


if __name__ == "__main__":
    sys.exit(main())
