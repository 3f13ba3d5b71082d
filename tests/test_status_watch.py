"""`cairn status --watch`: the plain table, redrawn when a task changes."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time

from conftest import BIN


class Watcher:
    """`cairn status --watch` with its output in a pipe, read frame by frame."""

    def __init__(self, repo) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "cairn"), "status", "--watch"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.output = b""

    def frames(self) -> list[str]:
        return [f for f in self.output.decode().split("-- ") if f]

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        """The first frame holding ``text``, reading more output until one does."""
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames():
                if text in frame:
                    return frame
            left = deadline - time.monotonic()
            assert left > 0, f"no frame with {text!r} in:\n{self.output.decode()}"
            if self.selector.select(min(left, 0.2)):
                self.output += os.read(self.process.stdout.fileno(), 65536)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=10)


def test_piped_a_new_frame_comes_only_when_a_task_changes(cairn, repo):
    cairn("init")
    watcher = Watcher(repo)
    try:
        assert "no tasks yet" in watcher.wait_for("no tasks yet")
        cairn("queue", "-a", "demo", "--title", "Watch me", "say hi")
        frame = watcher.wait_for("Watch me")
        assert frame.splitlines()[1].split() == ["ID", "STATE", "PRIORITY", "AGENT", "AGE", "TITLE"]
        assert frame.splitlines()[2].split()[:2] == ["1", "queued"]
        time.sleep(1.5)
        cairn("cancel", "1")
        watcher.wait_for("cancelled")
        assert len(watcher.frames()) == 3, "ages ticking are no reason for a new frame"
    finally:
        assert watcher.stop() == 0


def test_watch_does_not_mix_with_json_or_ids(cairn):
    cairn("queue", "-a", "demo", "say hi")
    for args in (["--json"], ["1"], ["--scheduler"]):
        result = cairn("status", "--watch", *args)
        assert result.returncode == 2
        assert "--watch redraws the task list" in result.stderr


def tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True)


def test_on_a_terminal_the_table_is_redrawn_in_place(cairn, repo, tmux_server):
    cairn("queue", "-a", "demo", "--title", "First", "say one")
    assert tmux("new-session", "-d", "-s", "watch", "-x", "80", "-y", "24", "-c", str(repo), "--", "cairn", "status", "--watch").returncode == 0

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "=watch:").stdout

    def wait_for(text: str) -> list[str]:
        deadline = time.monotonic() + 15
        while text not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.1)
        return screen().splitlines()

    lines = wait_for("First")
    assert lines[0].startswith("cairn status --watch") and lines[0].endswith("Ctrl-C stops")
    assert lines[2].split()[:6] == ["ID", "STATE", "PRIORITY", "AGENT", "AGE", "TITLE"]
    cairn("queue", "-a", "demo", "--title", "Second", "say two")
    lines = wait_for("Second")
    assert [line.split()[1] for line in lines[3:5]] == ["queued", "queued"], "redrawn in place, not scrolled"
    tmux("send-keys", "-t", "=watch:", "C-c")
    deadline = time.monotonic() + 10
    while tmux("has-session", "-t", "=watch").returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
