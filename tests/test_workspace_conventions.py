"""The workspace conventions users already have: ``.worktreeinclude`` copies
ignored files into each new workspace, ``bootstrap.teardown`` runs before a
workspace is removed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import git, run_task


@pytest.fixture(autouse=True)
def sandbox_as_configured(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs agents unconfined (conftest); here the configured default, auto, holds."""
    monkeypatch.delenv("CAIRN_SANDBOX", raising=False)


def test_worktreeinclude_copies_ignored_files_and_the_commit_never_holds_them(repo: Path, home: Path, cairn) -> None:
    (repo / ".gitignore").write_text(".env\nnode_modules/\nbuild/\n.cairn/\n")
    (repo / ".worktreeinclude").write_text("# what a fresh workspace needs\n.env\nnode_modules/\nREADME.md\n")
    git(repo, "add", ".gitignore", ".worktreeinclude")
    git(repo, "commit", "-q", "-m", "ignore")
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "node_modules" / "left-pad").mkdir(parents=True)
    (repo / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_text("binary\n")
    (repo / "README.md").write_text("# changed in the checkout, not committed\n")

    task_id = run_task(cairn, "append .env: EDITED=1\nwrite src/new.py: x = 1")

    workspace = home / "workspaces" / str(task_id)
    assert (workspace / ".env").read_text() == "SECRET=1\nEDITED=1\n"
    assert (workspace / "node_modules" / "left-pad" / "index.js").exists()
    assert not (workspace / "build").exists()  # ignored, but not listed
    assert (workspace / "README.md").read_text() == "# demo\n"  # tracked: the commit's content, never the checkout's
    committed = git(repo, "diff", "--name-only", f"main..cairn/{task_id}").split()
    assert committed == ["src/new.py"]
    assert "copied .env (.worktreeinclude)" in (home / "tasks" / str(task_id) / "agent.log").read_text()


def test_teardown_runs_before_the_workspace_goes_and_a_failing_one_does_not_keep_it(repo: Path, home: Path, cairn, env) -> None:
    record = Path(env["HOME"]) / "td"
    (repo / "cairn.toml").write_text(
        'sandbox_writable = ["~/td/"]\n[bootstrap]\nteardown = [\n'
        '  ["sh", "-c", "test -d \\"$CAIRN_WORKSPACE\\" && echo \\"$CAIRN_TASK_ID present\\" >> $HOME/td/log"],\n'
        '  ["sh", "-c", "exit 3"],\n]\n'
    )
    task_id = run_task(cairn, "write a.txt: a")
    workspace = home / "workspaces" / str(task_id)
    assert workspace.is_dir()

    rejected = cairn("reject", str(task_id))

    assert rejected.returncode == 0, rejected.stderr
    assert (record / "log").read_text() == f"{task_id} present\n"
    assert not workspace.exists()
    log = (home / "tasks" / str(task_id) / "agent.log").read_text()
    assert "teardown command failed (exit status 3)" in log


def test_teardown_runs_when_gc_removes_a_workspace(repo: Path, home: Path, cairn, env) -> None:
    (repo / "cairn.toml").write_text(
        'sandbox_writable = ["~/td/"]\n[bootstrap]\nteardown = [["sh", "-c", "echo $CAIRN_TASK_ID >> $HOME/td/log"]]\n'
    )
    task_id = run_task(cairn, "write a.txt: a\nexit 1", must_reach_review=False)
    assert (home / "workspaces" / str(task_id)).is_dir()
    state = home / "tasks" / str(task_id) / "state.json"
    record = json.loads(state.read_text())
    record["since"] = "2026-01-01T00:00:00.000Z"  # long finished (rewritten atomically, as gc's own tests do)
    (state.parent / ".state.json.test").write_text(json.dumps(record))
    os.replace(state.parent / ".state.json.test", state)

    gc = cairn("gc")
    assert gc.returncode == 0, gc.stdout + gc.stderr

    assert not (home / "workspaces" / str(task_id)).exists(), gc.stdout + gc.stderr
    assert (Path(env["HOME"]) / "td" / "log").read_text() == f"{task_id}\n"
