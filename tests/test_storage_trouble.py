"""A full disk, a read-only or unreadable state directory, damaged files of the
state directory itself: a clear error with the path, the documented exit code,
nothing half-made left behind, and no scheduler that loops hot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, events, git, remount, state_of


def agent_config(workspaces) -> str:
    # An agent that fills the state directory's filesystem, then finishes its work normally.
    return (
        f'workspace_dir = "{workspaces}"\n'
        '[agents.filler]\n'
        'command = ["sh", "-c", "cat /dev/zero > \\"$CAIRN_HOME/filler\\" 2>/dev/null; echo done > out.txt"]\n'
    )


def test_a_full_disk_is_said_once_backs_off_and_until_idle_ends(cairn, repo, small_fs, tmp_path):
    home = small_fs / "state"
    (repo / "cairn.toml").write_text(agent_config(tmp_path / "workspaces"))
    extra = {"CAIRN_HOME": str(home)}
    assert cairn("queue", "-a", "filler", "fill it", extra_env=extra).returncode == 0
    up = cairn("up", "--until-idle", extra_env=extra, timeout=120)
    assert up.returncode == 1, up.stdout + up.stderr
    lines = (up.stdout + up.stderr).splitlines()
    told = [line for line in lines if "No space left on device (ENOSPC)" in line]
    assert 1 <= len(told) <= 2, "\n".join(lines)  # once when it happens, once when --until-idle ends
    assert str(home / "tasks" / "1") in told[0]
    assert len(lines) < 15, "\n".join(lines)
    assert "Traceback" not in up.stderr
    # Space again: the next look finishes the task, the agent's work kept.
    (home / "filler").unlink()
    again = cairn("up", "--until-idle", extra_env=extra, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    state = state_of(home, 1)
    # Which write the full disk refused first is the filesystem's to say: the
    # agent's pid (the task fails, its runner having died), or only a file
    # written after the outcome (the task is finished from that outcome).
    assert (state["state"] == "failed" and "runner died" in state["reason"]) or state["state"] == "review", state
    assert git(repo, "show", "cairn/1:out.txt") == "done"
    assert "Traceback" not in (home / "tasks" / "1" / "agent.log").read_text()


def test_a_read_only_state_directory_is_a_clear_error_and_changes_nothing(cairn, repo, small_fs):
    home = small_fs / "state"
    extra = {"CAIRN_HOME": str(home)}
    assert cairn("queue", "-a", "demo", "first", extra_env=extra).returncode == 0
    remount(small_fs, "ro")
    try:
        queued = cairn("queue", "-a", "demo", "second", extra_env=extra)
        assert queued.returncode == 2, queued.stderr
        assert "Read-only file system (EROFS)" in queued.stderr and str(home) in queued.stderr
        assert "internal error" not in queued.stderr and "Traceback" not in queued.stderr
        status = cairn("status", extra_env=extra)
        assert status.returncode == 0 and "first" in status.stdout  # reading still works
    finally:
        remount(small_fs, "rw")
    assert sorted(os.listdir(home / "tasks")) == ["1"]


def test_a_state_directory_that_cannot_be_created_is_a_clear_error(cairn, repo, small_fs):
    remount(small_fs, "ro")
    try:
        queued = cairn("queue", "-a", "demo", "never", extra_env={"CAIRN_HOME": str(small_fs / "state")})
    finally:
        remount(small_fs, "rw")
    assert queued.returncode == 2, queued.stderr
    assert "cannot write" in queued.stderr and "(EROFS)" in queued.stderr


def test_a_task_directory_made_unwritable_backs_off_and_until_idle_ends(cairn, repo, home, add_task, set_running):
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount of one task directory needs root")
    task = add_task("write x.txt: x", agent="demo")
    set_running(task)  # running, and no runner holds its lock: the scheduler must recover it
    directory = home / "tasks" / str(task)
    subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
    try:
        remount(directory, "bind,ro")
        up = cairn("up", "--until-idle", timeout=120)
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)
    assert up.returncode == 1, up.stdout + up.stderr
    told = [line for line in up.stdout.splitlines() if "(EROFS)" in line]
    assert 1 <= len(told) <= 2, up.stdout
    assert str(directory) in told[0]


def test_status_of_an_unreadable_state_directory_is_an_error_not_an_empty_list(repo, env, tmp_path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run Cairn as another user (root reads everything)")
    # A world-traversable place for a state directory that user "nobody" owns.
    home = tmp_path / "shared" / "state"
    home.parent.mkdir()
    for directory in (tmp_path, home.parent):
        directory.chmod(0o755)
    os.chmod(tmp_path.parent, 0o755)
    from cairn.state.layout import Layout
    from cairn.state.store import Store

    Store(Layout(home)).init(None)
    (home / "tasks").chmod(0o000)
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(BIN / "cairn"), "status"]
    environment = {**env, "CAIRN_HOME": str(home), "HOME": str(home.parent), "XDG_CACHE_HOME": str(home.parent / "cache")}
    home.parent.chmod(0o777)
    shutil.chown(home, 65534, 65534)
    done = subprocess.run(as_nobody, cwd=home.parent, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Permission denied (EACCES)" in done.stderr and "no tasks" not in done.stdout


@pytest.mark.parametrize("damage", ["next-id", "events.jsonl"])
def test_a_damaged_record_of_the_directory_refuses_and_creates_no_task(cairn, home, damage):
    assert cairn("queue", "-a", "demo", "first").returncode == 0
    target = home / damage
    target.unlink()
    target.mkdir()
    queued = cairn("queue", "-a", "demo", "second")
    assert queued.returncode == 2, queued.stderr
    assert f"{target} is not a regular file" in queued.stderr
    assert sorted(os.listdir(home / "tasks")) == ["1"], "nothing was created"


def test_locks_made_a_file_refuses_clearly(cairn, home):
    assert cairn("queue", "-a", "demo", "first").returncode == 0
    shutil.rmtree(home / "locks")
    (home / "locks").write_text("oops\n")
    queued = cairn("queue", "-a", "demo", "second")
    assert queued.returncode == 2, queued.stderr
    assert f"{home / 'locks'} is not a directory" in queued.stderr
    assert sorted(os.listdir(home / "tasks")) == ["1"]


def test_a_truncated_meta_json_is_exit_2(cairn, home):
    assert cairn("queue", "-a", "demo", "first").returncode == 0
    (home / "meta.json").write_text('{"format": ')
    for args in (("queue", "-a", "demo", "second"), ("status",)):
        done = cairn(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "meta.json is not a Cairn state-directory header" in done.stderr


def test_a_failed_journal_append_after_the_task_exists_still_reports_success(cairn, home, small_fs):
    state = small_fs / "state"
    extra = {"CAIRN_HOME": str(state)}
    assert cairn("queue", "-a", "demo", "first", extra_env=extra).returncode == 0
    # Fill the disk, leaving room for a task's small records but not for much else.
    filler = os.open(small_fs / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(filler, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(filler)
    queued = cairn("queue", "-a", "demo", "second", extra_env=extra)
    made = sorted(os.listdir(state / "tasks"))
    if queued.returncode == 0:
        assert made == ["1", "2"] and queued.stdout.strip() == "2"
    else:
        assert queued.returncode == 2 and made == ["1"], "an error leaves nothing behind"
        assert "(ENOSPC)" in queued.stderr
    assert json.loads((state / "tasks" / "1" / "state.json").read_text())["state"] == "queued"
    assert all(e.get("task") in (1, 2, None) for e in events(state))
