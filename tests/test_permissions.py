"""Everything Cairn creates under the state directory and the workspace
directory is private to the user (0600 files, 0700 directories), whatever
the umask: prompts, logs and workspaces may hold secrets."""

from __future__ import annotations

import os
import stat

from conftest import run_task


def loose(root, skip=()) -> list[str]:
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(directory, d) not in skip]
        for name in [*dirs, *files]:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{oct(mode & 0o777)} {os.path.relpath(path, root)}")
    return found


def test_files_cairn_creates_are_private_under_umask_000(cairn, repo, home, tmp_path):
    workspaces = tmp_path / "elsewhere" / "workspaces"
    (repo / "cairn.toml").write_text(f'workspace_dir = "{workspaces}"\n[checks]\ncommands = [["true"]]\n')
    previous = os.umask(0)
    try:
        task = run_task(cairn, "write feature.txt: f")
        assert cairn("logs", str(task)).returncode == 0
    finally:
        os.umask(previous)
    for name in ("prompt.md", "agent.log", "exit.json", "preview.diff", "checks.log", "state.json"):
        assert stat.S_IMODE(os.stat(home / "tasks" / str(task) / name).st_mode) == 0o600, name
    assert loose(home) == []
    # The workspace directory itself: what git and the agent put inside is reachable by no one else.
    assert stat.S_IMODE(os.stat(workspaces).st_mode) == 0o700
