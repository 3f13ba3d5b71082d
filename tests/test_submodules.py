"""A repository with a git submodule: a task's workspace does not initialise it,
and files an agent (or a person) puts inside it are never silently lost."""

from __future__ import annotations

from conftest import git, state_of


def with_submodule(repo, tmp_path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    git(library, "init", "-q", "-b", "main")
    (library / "lib.txt").write_text("lib\n")
    git(library, "add", "-A")
    git(library, "commit", "-qm", "library")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "lib")
    git(repo, "commit", "-qm", "add the library")


def test_files_an_agent_writes_inside_a_submodule_fail_the_task_and_are_kept(cairn, repo, home, tmp_path):
    with_submodule(repo, tmp_path)
    (repo / "cairn.toml").write_text('[agents.sub]\ncommand = ["sh", "-c", "echo top > top.txt; echo mine > lib/new.txt"]\n')
    assert cairn("queue", "-a", "sub", "edit the library").returncode == 0
    assert cairn("spawn", "1", "--wait").returncode == 1
    state = state_of(home, 1)
    assert state["state"] == "failed"
    assert "inside a git submodule (lib/new.txt)" in state["reason"] and "kept in the workspace" in state["reason"]
    assert git(repo, "show", "cairn/1:top.txt") == "top", "what could be committed is"
    assert (home / "workspaces" / "1" / "lib" / "new.txt").read_text() == "mine\n"


def test_a_workspace_holding_files_in_a_submodule_is_never_removed(cairn, repo, home, tmp_path):
    with_submodule(repo, tmp_path)
    assert cairn("queue", "-a", "demo", "write top.txt: top").returncode == 0
    assert cairn("spawn", "1", "--wait").returncode == 0
    stray = home / "workspaces" / "1" / "lib" / "notes.txt"
    stray.write_text("written by hand\n")
    rejected = cairn("reject", "1")
    assert rejected.returncode == 1
    assert "lib/notes.txt" in rejected.stderr and "leaves it as it is" in rejected.stderr
    assert stray.read_text() == "written by hand\n"
    assert state_of(home, 1)["state"] == "review"
    stray.unlink()
    assert cairn("reject", "1").returncode == 0
