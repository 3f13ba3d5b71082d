"""gc on the scheduler's clock (config ``gc.interval``; None, the default: never).

The scheduler must never wait for gc, so each run is a child process:

    python -m cairn.gc.periodic HOME

which runs gc with the configured policies and prints its counts as one JSON
object.  ``tick`` starts one when due and no other is running, and on a later
turn, once it has exited, says in one line what it did.  A run that finds
another gc holding ``locks/gc.lock`` just skips its turn.  The child has its
own session: stopping the scheduler never cuts a gc run short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cairn.state import atomic


def tick(
    settings: Any, interval: float, due: float | None, child: subprocess.Popen[bytes] | None, say: Callable[[str], None]
) -> tuple[float | None, subprocess.Popen[bytes] | None]:
    """The next due time and the running child, after reaping and starting as needed."""
    now = time.monotonic()
    if child is not None:
        if child.poll() is None:
            return due, child
        _report(settings, child, say)
        child = None
    if due is None or now >= due:
        child = _start(settings)
        due = now + interval
    return due, child


def _output(settings: Any) -> Path:
    return settings.layout.gc_periodic


def _start(settings: Any) -> subprocess.Popen[bytes] | None:
    home = str(settings.layout.home)
    env = dict(os.environ, CAIRN_HOME=home)
    try:
        with atomic.open_private(_output(settings)) as out:
            return subprocess.Popen(
                [sys.executable, "-m", "cairn.gc.periodic", home],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                cwd=str(settings.root or home), env=env, start_new_session=True,
            )
    except OSError:
        return None


def _report(settings: Any, child: subprocess.Popen[bytes], say: Callable[[str], None]) -> None:
    from cairn.core.gc import summary_line

    path = _output(settings)
    try:
        text = path.read_text()
        path.unlink()
        result = json.loads(text.strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        say(f"gc (pid {child.pid}) exited with status {child.returncode}")
        return
    if result.get("error"):
        say(f"gc failed: {result['error']}")
    elif any(result.get(key) for key in ("workspaces", "branches", "trash", "logs", "signals", "journal")):
        say(summary_line(result, dry_run=False))


def main(argv: list[str] | None = None) -> int:
    """The child: one gc run with the configured policies, its counts as JSON."""
    args = sys.argv[1:] if argv is None else argv
    os.environ["CAIRN_HOME"] = args[0]
    from cairn.config.load import resolve
    from cairn.errors import CairnError
    from cairn.gc.run import GcBusy, Options, collect_garbage

    try:
        report = collect_garbage(resolve(Path(args[0])), Options())
    except GcBusy:
        print(json.dumps({"busy": True}))
        return 0
    except CairnError as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps(report.as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
