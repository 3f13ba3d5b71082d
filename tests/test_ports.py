"""A port block per running task: disjoint among running tasks, released at
the end, taken again after its holder crashed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cairn.state.layout import Layout
from cairn.state.ports import allocate, candidates, holders, release

HOLD = """
import sys
from pathlib import Path
from cairn.state.layout import Layout
from cairn.state.ports import allocate
block = allocate(Layout(Path(sys.argv[1])), 24000, 10, int(sys.argv[2]))
print(block.first, flush=True)
sys.stdin.read()
"""


def _holder(home: Path, task_id: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", HOLD, str(home), str(task_id)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_eight_concurrent_holders_get_eight_disjoint_blocks_and_a_crashed_ones_is_reused(tmp_path: Path) -> None:
    home = tmp_path / "state"
    home.mkdir()
    processes = [_holder(home, n) for n in range(1, 9)]
    firsts = [int(p.stdout.readline()) for p in processes]

    assert len(set(firsts)) == 8
    starts = sorted(firsts)
    assert all(b - a >= 10 for a, b in zip(starts, starts[1:]))  # disjoint blocks, not only distinct starts
    assert sorted(holders(Layout(home))) == sorted(firsts)

    crashed = processes[3]
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()
    again = allocate(Layout(home), 24000, 10, 99)
    assert again.first == firsts[3]  # the kernel freed it; no pid was consulted
    release(again)
    for process in processes:
        if process.poll() is None:
            process.stdin.close()
            process.wait()
    assert holders(Layout(home)) == {}


def test_a_block_with_a_port_in_use_is_passed_over(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        block = allocate(Layout(tmp_path), port - 2, 5, 1)
        assert port not in block.ports
        release(block)


def test_blocks_fit_below_65536() -> None:
    assert list(candidates(65530, 3)) == [65530, 65533]


@pytest.fixture
def gate(tmp_path: Path):
    """A file the demo agents wait for; made at the end whatever happened, so none outlives the test."""
    path = tmp_path / "gate"
    yield path
    path.write_text("go")


def test_concurrent_tasks_hold_disjoint_blocks_and_release_them(repo: Path, home: Path, cairn, gate: Path) -> None:
    (repo / "cairn.toml").write_text("max_agents = 8\n[ports]\nbase = 25000\nper_task = 10\n")
    ids = [int(cairn("queue", "-a", "demo", f"wait-for {gate}\nwrite t{n}.txt: {n}").stdout) for n in range(8)]
    for task_id in ids:
        assert cairn("spawn", str(task_id)).returncode == 0
    deadline = time.monotonic() + 120
    layout = Layout(home)
    records = [home / "tasks" / str(i) / "isolation.json" for i in ids]
    while len(holders(layout)) < 8 or not all(r.exists() for r in records):
        assert time.monotonic() < deadline, "8 tasks never held 8 blocks at once"
        time.sleep(0.1)
    held = holders(layout)
    assert sorted(held.values()) == ids
    ports = [json.loads((home / "tasks" / str(i) / "isolation.json").read_text())["port"] for i in ids]
    assert sorted(ports) == sorted(held) and len(set(ports)) == 8
    gate.write_text("go")
    for task_id in ids:
        assert cairn("wait", str(task_id), timeout=180).returncode == 0
    assert holders(layout) == {}


def test_a_crashed_runners_block_is_taken_by_the_next_task(repo: Path, home: Path, cairn, gate: Path) -> None:
    (repo / "cairn.toml").write_text("[ports]\nbase = 26000\n")
    first = int(cairn("queue", "-a", "demo", f"wait-for {gate}").stdout)
    cairn("spawn", str(first))
    layout = Layout(home)
    deadline = time.monotonic() + 60
    while first not in holders(layout).values() or not (home / "tasks" / str(first) / "isolation.json").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runner = json.loads((home / "tasks" / str(first) / "state.json").read_text())["runner_pid"]
    os.kill(runner, signal.SIGKILL)
    while holders(layout):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    second = int(cairn("queue", "-a", "demo", "write b.txt: b").stdout)
    assert cairn("spawn", str(second), "--wait").returncode == 0

    port_of = lambda i: json.loads((home / "tasks" / str(i) / "isolation.json").read_text())["port"]  # noqa: E731
    assert port_of(second) == port_of(first) == 26000
    cairn("wait", str(first), timeout=60)  # recovery finishes the crashed task and stops its agent


@pytest.mark.parametrize("base,per_task", [(65535, 10)])
def test_no_room_for_a_block_is_a_clear_error(tmp_path: Path, base: int, per_task: int) -> None:
    from cairn.errors import OperationFailed

    with pytest.raises(OperationFailed, match="no free block of 10 ports"):
        allocate(Layout(tmp_path), base, per_task, 1)
