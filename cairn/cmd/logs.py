"""``cairn logs ID [-f]``: what the agent printed; ``-f`` follows until it ends."""

from __future__ import annotations

import sys
import time

from cairn.cmd._cli import TASK_ID, Number, argument, echo, entrypoint, option, settings, store_for, verb


@verb("Print a task's agent log; -f follows it while the agent runs.")
@argument("task_id", type=TASK_ID)
@option("-f", "--follow", is_flag=True, help="Keep printing new output until the task leaves running.")
@option("-n", "--lines", type=Number(int, min=0), help="Only the last N lines to begin with.")
def command(task_id: int, follow: bool, lines: int | None) -> None:
    current = settings()
    store = store_for(current)
    store.read_task(task_id)
    path = current.layout.agent_log(task_id)
    out = sys.stdout.buffer
    position = 0
    compressed = path.with_name(path.name + ".gz")
    if not path.exists() and compressed.exists():
        # gc compresses the logs of tasks finished long ago; they stay readable.
        import gzip

        data = gzip.decompress(compressed.read_bytes())
        if lines is not None:
            data = b"".join(data.splitlines(keepends=True)[-lines:]) if lines else b""
        out.write(data)
        out.flush()
        return
    if path.exists():
        data = path.read_bytes()
        if lines is not None:
            data = b"".join(data.splitlines(keepends=True)[-lines:]) if lines else b""
        out.write(data)
        out.flush()
        position = path.stat().st_size
    elif not follow:
        state = store.read_state(task_id).state
        echo(f"task {task_id} has no log yet ({state})", err=True)
        return
    if not follow:
        return
    from cairn.engine.recovery import recover, runner_alive

    delay = 0.05
    while True:
        state = store.read_state(task_id).state
        try:
            with open(path, "rb") as handle:
                handle.seek(position)
                chunk = handle.read()
        except FileNotFoundError:
            chunk = b""
        if chunk:
            out.write(chunk)
            out.flush()
            position += len(chunk)
            delay = 0.05
        elif state not in ("queued", "running"):
            return
        elif state == "running" and not runner_alive(store, task_id):
            recover(store, current, task_id)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


main = entrypoint(command, "logs")
