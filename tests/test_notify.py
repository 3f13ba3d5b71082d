"""Notifications: the configured command runs on review, failed, idle and
accepted, as an argv (no shell), and a slow or hanging one never holds anything up."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from conftest import events, state_of

RECORDER = """\
import json, os, sys, time
record = {"argv": sys.argv[2:], "pid": os.getpid(), "cwd": os.getcwd(),
          "env": {k: os.environ.get(k) for k in ("CAIRN_TASK_ID", "CAIRN_TASK_STATE", "CAIRN_TASK_TITLE")}}
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(record) + "\\n")
if "--hang" in sys.argv:
    time.sleep(600)
"""


@pytest.fixture
def calls(repo: Path, tmp_path: Path):
    """Configure a notify command that appends each call to a file; ``calls()`` reads them."""
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    log = tmp_path / "calls.jsonl"
    started: list[int] = []

    def configure(*extra: str, desktop: bool = False) -> None:
        argv = [sys.executable, str(script), str(log), "{id}", "{state}", "{title}", *extra]
        (repo / "cairn.toml").write_text(f"[notify]\ncommand = {json.dumps(argv)}\ndesktop = {'true' if desktop else 'false'}\n")

    def read() -> list[dict]:
        if not log.exists():
            return []
        found = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        started.extend(c["pid"] for c in found if c["pid"] not in started)
        return found

    read.configure = configure  # type: ignore[attr-defined]
    yield read
    read()
    for pid in started:  # hanging notifiers this test made
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_review_failed_and_accepted_each_run_the_command_once(cairn, repo, calls):
    calls.configure()
    cairn("queue", "-a", "demo", "--title", "Alpha", "write a.txt: a")
    cairn("queue", "-a", "demo", "--title", "Beta", "exit 1")
    assert cairn("up", "--until-idle").returncode == 0
    assert cairn("accept", "1").returncode == 0

    wait_until(lambda: len(calls()) >= 3)
    time.sleep(0.3)  # nothing more is coming: queued and running are not news
    seen = sorted(tuple(c["argv"]) for c in calls())
    assert seen == [("1", "accepted", "Alpha"), ("1", "review", "Alpha"), ("2", "failed", "Beta")]
    review = next(c for c in calls() if c["argv"][1] == "review")
    assert review["env"] == {"CAIRN_TASK_ID": "1", "CAIRN_TASK_STATE": "review", "CAIRN_TASK_TITLE": "Alpha"}
    assert review["cwd"] == str(repo)


def test_an_idle_agent_is_reported(cairn, home, calls):
    calls.configure()
    cairn("queue", "-a", "demo", "--title", "Ponder", "wait-for go\nwrite x.txt: x")
    assert cairn("spawn", "1", extra_env={"CAIRN_IDLE_AFTER": "1s"}).returncode == 0
    wait_until(lambda: any(c["argv"] == ["1", "idle", "Ponder"] for c in calls()))
    (home / "workspaces" / "1" / "go").write_text("")
    assert cairn("wait", "1", "--timeout", "20s").returncode == 0
    wait_until(lambda: any(c["argv"] == ["1", "review", "Ponder"] for c in calls()))
    assert [c["argv"][1] for c in calls()].count("idle") == 1


def test_a_hanging_notifier_holds_up_neither_the_scheduler_nor_accept(cairn, home, calls):
    from cairn.state.lock import is_held

    calls.configure("--hang")
    for n in range(3):
        cairn("queue", "-a", "demo", f"write f{n}.txt: {n}")
    began = time.monotonic()
    result = cairn("up", "--until-idle", "--max-agents", "1", timeout=240)
    assert result.returncode == 0, result.stderr
    assert all(state_of(home, i)["state"] == "review" for i in (1, 2, 3)), "one after the other, each finished and the next started"
    accepted = cairn("accept", "2", timeout=240)
    assert accepted.returncode == 0, accepted.stderr
    assert time.monotonic() - began < 300, "nobody waited for a notifier that sleeps for 600s"

    hanging = wait_until(lambda: len(calls()) >= 4 and calls())
    for call in hanging:
        os.kill(call["pid"], 0)  # still there: spawned, never waited for
    assert sorted(tuple(c["argv"][:2]) for c in hanging) == [("1", "review"), ("2", "accepted"), ("2", "review"), ("3", "review")]
    assert not any(is_held(home / "tasks" / str(i) / "runner.lock") for i in (1, 2, 3)), "every runner has exited"


def test_no_shell_ever_sees_the_title(cairn, repo, calls):
    calls.configure()
    title = "$(touch pwned) `touch pwned2`; echo {state} > x \"quoted\""
    cairn("queue", "-a", "demo", "--title", title, "write a.txt: a")
    assert cairn("spawn", "1", "--wait").returncode == 0
    call = wait_until(lambda: calls())[0]
    assert call["argv"] == ["1", "review", title], "one element, as it was, never substituted again"
    assert not (repo / "pwned").exists() and not (repo / "pwned2").exists() and not (repo / "x").exists()


def test_desktop_notifications_use_notify_send_only_when_enabled(cairn, repo, tmp_path, calls):
    fake = tmp_path / "fakebin"
    fake.mkdir()
    sent = tmp_path / "sent.jsonl"
    (fake / "notify-send").write_text(f"#!{sys.executable}\nimport json, sys\nopen({str(sent)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n")
    (fake / "notify-send").chmod(0o755)
    path = {"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}

    calls.configure(desktop=False)
    cairn("queue", "-a", "demo", "--title", "Quiet", "write a.txt: a")
    assert cairn("spawn", "1", "--wait", extra_env=path).returncode == 0
    wait_until(lambda: calls())

    calls.configure(desktop=True)
    cairn("queue", "-a", "demo", "--title", "Loud", "write b.txt: b")
    assert cairn("spawn", "2", "--wait", extra_env=path).returncode == 0
    wait_until(lambda: sent.exists())
    time.sleep(0.3)
    assert [json.loads(line) for line in sent.read_text().splitlines()] == [
        ["--app-name=cairn", "cairn: task 2 ready for review", "Loud"],
    ]


def test_a_notifier_that_cannot_start_is_journalled_and_the_task_goes_on(cairn, repo, home):
    (repo / "cairn.toml").write_text('[notify]\ncommand = ["no-such-notifier-anywhere", "{id}"]\n')
    cairn("queue", "-a", "demo", "write a.txt: a")
    assert cairn("spawn", "1", "--wait").returncode == 0
    assert state_of(home, 1)["state"] == "review"
    failed = [e for e in events(home) if e["event"] == "notify-failed"]
    assert len(failed) == 1 and failed[0]["task"] == 1 and failed[0]["command"] == ["no-such-notifier-anywhere"]


# -- the module itself ----------------------------------------------------------


def test_placeholders_are_filled_in_each_element_and_other_braces_stay():
    from cairn.notify import render

    argv = ["notify", "--id={id}", "{state}: {title}", "{other}", "{"]
    assert render(argv, 7, "review", "Fix {id} in {state}") == [
        "notify", "--id=7", "review: Fix {id} in {state}", "{other}", "{",
    ]


def test_notify_returns_at_once_and_reaps_without_waiting(tmp_path):
    from cairn import notify
    from cairn.config.load import Settings
    from cairn.config.schema import Config, NotifyConfig
    from cairn.state.layout import Layout

    go, marker = tmp_path / "go", tmp_path / "done"
    # The notifier waits for the test's word (60 s at most, so that a notify()
    # that waits for it fails the test instead of hanging it): only a notify()
    # that does not wait can return while it runs.
    script = (f"import os, pathlib, time\nend = time.time() + 60\n"
              f"while not os.path.exists({str(go)!r}) and time.time() < end: time.sleep(0.02)\n"
              f"pathlib.Path({str(marker)!r}).write_text('')")
    config = Config(notify=NotifyConfig(command=[sys.executable, "-c", script]))
    settings = Settings(tmp_path, Layout(tmp_path), config)
    notify.notify(settings, 1, "review", "a title")
    notify.notify(settings, 1, "running", "a title")  # not news: nothing runs
    assert not marker.exists() and notify.reap() == 1, "the notifier still runs, unwaited for"
    go.write_text("")
    wait_until(marker.exists)
    wait_until(lambda: notify.reap() == 0)
