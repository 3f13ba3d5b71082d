"""Port blocks: ``per_task`` consecutive ports for each running task, from ``base``.

A block is held by a flock on its lease file, ``$CAIRN_HOME/ports/<first>``,
for as long as its holder (a task's runner, or ``cairn accept`` while it runs
the checks) lives: two holders can never have the same block, and the kernel
frees the block of a holder that crashed, so the next task takes it again —
no pid is ever trusted.  The file says who holds it (``{"task", "pid"}``) for
people; the lock alone decides.  Lease files are truncated on release and
never deleted: deleting a flocked file lets a second holder lock a new file
of the same name while the first still holds the old one.

A block in which any port is already bound on this machine (another
repository's dev server, an unrelated program) is passed over.
"""

from __future__ import annotations

import json
import os
import socket

from cairn.core.records import record
from cairn.errors import OperationFailed
from cairn.state import lock
from cairn.state.layout import Layout

HIGHEST = 65535


@record(kw_only=False)
class PortBlock:
    first: int
    count: int
    fd: int

    @property
    def ports(self) -> range:
        return range(self.first, self.first + self.count)


def candidates(base: int, per_task: int) -> range:
    """The first port of every block that fits below 65536.  Pure."""
    return range(base, HIGHEST - per_task + 2, per_task)


def allocate(layout: Layout, base: int, per_task: int, task_id: int) -> PortBlock:
    """The lowest block no live holder has and no program uses; held until ``release``."""
    layout.ports.mkdir(parents=True, exist_ok=True, mode=0o700)
    for first in candidates(base, per_task):
        fd = lock.open_lock(layout.ports / str(first))
        if not lock.try_lock(fd):
            os.close(fd)
            continue
        if not all(_free(port) for port in range(first, first + per_task)):
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps({"task": task_id, "pid": os.getpid()}) + "\n").encode(), 0)
        return PortBlock(first, per_task, fd)
    raise OperationFailed(
        f"no free block of {per_task} ports from {base} up: every one is held by a running task or in use",
        hint="set [ports] base to another range, or lower max_agents",
    )


def release(block: PortBlock) -> None:
    try:
        os.ftruncate(block.fd, 0)
    except OSError:
        pass
    os.close(block.fd)


def holders(layout: Layout) -> dict[int, int | None]:
    """First port -> task id, for each block held right now (``cairn status``, the tests)."""
    held: dict[int, int | None] = {}
    try:
        names = os.listdir(layout.ports)
    except FileNotFoundError:
        return held
    for name in names:
        if not name.isdigit() or not lock.is_held(layout.ports / name):
            continue
        try:
            held[int(name)] = json.loads((layout.ports / name).read_text()).get("task")
        except (OSError, ValueError, AttributeError):
            held[int(name)] = None
    return held


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
